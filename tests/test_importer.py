import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from core.catalog import Catalog
from core.collect.importer import column_mapping, import_table
from core.errors import UsageError
from tests.conftest import run_cli, shared_file


def test_tidytuesday_rap_rows_import_without_audio(home):
    table = shared_file("data/spotify-metadata/tidytuesday_2020_spotify_songs.csv")
    report = import_table(home, table, where={"playlist_genre": "rap"})
    assert report.rows_read == 32833 and report.rows_kept == 5746
    assert report.popularity_scale == "spotify"
    assert report.with_audio == 0 and report.without_audio == 5746
    with Catalog.open(home) as catalog:
        summary = catalog.summary()
        tracks = catalog.tracks()
    # The same track sits in several playlists: one catalog row each, the rest are updates.
    assert summary.tracks == report.insert.inserted == tracks["source_id"].nunique()
    assert report.insert.inserted + report.insert.updated + sum(report.insert.skipped.values()) == 5746
    assert summary.popularity_scale == "spotify" and not summary.synthetic
    assert set(tracks["source"]) == {"spotify"}


def test_the_440_track_table_imports_with_its_own_column_names(home):
    table = shared_file("data/spotify-metadata/hiphop_artists_440.csv")
    report = import_table(home, table)
    assert report.rows_read == 440
    with Catalog.open(home) as catalog:
        stats = catalog.artist_stats().set_index("artist")
        drake = catalog.search_artists("Drake")
    assert stats.loc["Drake", "tracks"] >= 1
    assert drake.iloc[0]["with_audio"] == 0
    assert report.insert.inserted + report.insert.updated + sum(report.insert.skipped.values()) == 440


def test_artists_split_on_semicolons_not_commas_and_local_audio_is_verified(home, tmp_path):
    rate = 22_050
    sf.write(tmp_path / "song.wav", 0.2 * np.sin(np.arange(8 * rate) / rate * 2 * np.pi * 220).astype(np.float32), rate)
    (tmp_path / "broken.wav").write_bytes(b"RIFF nonsense")
    (tmp_path / "tracks.csv").write_text(
        "title,who,pop,file\n"
        "Song A,\"Tyler, The Creator; Frank Ocean\",61,song.wav\n"
        "Song B,Someone,20,broken.wav\n"
    )
    report = import_table(home, tmp_path / "tracks.csv", overrides={"title": "name", "who": "artists", "pop": "popularity", "file": "audio_path"})
    assert report.with_audio == 1 and list(report.audio_errors.values())[0].startswith("'broken.wav' could not be decoded")
    with Catalog.open(home) as catalog:
        tracks = catalog.tracks().set_index("name")
        assert tracks.loc["Song A", "artists"] == "Tyler, The Creator; Frank Ocean"
        assert catalog.audio_file(tracks.loc["Song A", "audio_path"]).is_file()
        assert pd.isna(tracks.loc["Song B", "audio_path"])


def test_mapping_errors_say_what_to_do():
    with pytest.raises(UsageError, match="--map COLUMN=popularity"):
        column_mapping(["title", "artist"], {})
    with pytest.raises(UsageError, match="Unknown field"):
        column_mapping(["a"], {"a": "nonsense"})


def test_import_refuses_to_mix_real_tracks_into_the_demo(demo_home):
    table = shared_file("data/spotify-metadata/hiphop_artists_440.csv")
    result = run_cli("import", str(table), home=demo_home.home)
    assert result.returncode == 2 and "synthetic demo" in result.stderr


def test_import_cli_reports_counts(tmp_path):
    table = shared_file("data/spotify-metadata/tidytuesday_2020_spotify_songs.csv")
    result = run_cli("import", str(table), "--where", "playlist_genre=rap", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "5746 of 32833 rows kept" in result.stdout and "without audio: 5746" in result.stdout
    info = json.loads(run_cli("info", "--json", home=tmp_path, check=True).stdout)
    assert info["synthetic"] is False and info["with_audio"] == 0 and info["popularity"]["scale"] == "spotify"
