import json

import numpy as np
import pandas as pd
import pytest
import requests
import soundfile as sf

from core.catalog import Catalog
from core.collect import sources
from core.collect.importer import column_mapping, import_table
from core.dataset import modelling_tracks
from core.errors import UsageError
from tests.conftest import run_cli, shared_file
from tests.recorded import FakeClock, FakeDeezer, ReplaySession, mp3_clips


def test_tidytuesday_rap_rows_import_without_audio(home):
    table = shared_file("data/spotify-metadata/tidytuesday_2020_spotify_songs.csv")
    report = import_table(home, table, where={"playlist_genre": "rap"})
    assert report.rows_read == 32833 and report.rows_kept == 5746
    assert report.popularity_scale == "spotify"
    assert report.with_audio == 0
    with Catalog.open(home) as catalog:
        summary = catalog.summary()
        tracks = catalog.tracks()
    # The same track sits in several playlists: one catalog row each, the rest are updates.
    assert summary.tracks == report.insert.inserted == tracks["source_id"].nunique() == report.without_audio
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
        # A local file is audio to train on, though the row has no preview URL.
        assert modelling_tracks(catalog)["name"].tolist() == ["Song A"]


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
    result = run_cli("import", str(table), "--where", "playlist_genre=rap", "--no-resolve", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "5746 of 32833 rows kept" in result.stdout and "With audio: 0 " in result.stdout
    info = json.loads(run_cli("info", "--json", home=tmp_path, check=True).stdout)
    assert info["synthetic"] is False and info["with_audio"] == 0 and info["popularity"]["scale"] == "spotify"


@pytest.fixture
def deezer_world(monkeypatch):
    world = FakeDeezer(mp3_clips(2))
    monkeypatch.setattr(sources, "new_session", lambda: ReplaySession(world))
    return world


def test_previews_are_resolved_by_url_isrc_or_a_close_artist_title_match(home, tmp_path, deezer_world):
    (tmp_path / "chart.csv").write_text(
        "track_id,track_name,track_artist,track_popularity,duration_ms,isrc,preview_url\n"
        "a,By ISRC,Whoever,50,,USRC11000000,\n"
        "b,Song 1-2 (feat. Guest),MC 1001,40,164000,,\n"  # a close title/artist/duration match
        "c,Song 1-2,Unrelated Singer,30,400000,,\n"  # same title, another artist and length: rejected
        f"d,Has URL,Someone,20,,,{deezer_world.preview_url(1000100)}\n"
    )
    resolver, downloader = sources.preview_resolver(home, clock=FakeClock())
    report = import_table(home, tmp_path / "chart.csv", resolver=resolver, downloader=downloader)
    assert (report.resolved, report.with_audio, report.without_audio, report.resolve_stopped) == (3, 3, 1, None)
    with Catalog.open(home) as catalog:
        tracks = catalog.tracks().set_index("source_id")
    assert tracks["audio_path"].notna().to_dict() == {"a": True, "b": True, "c": False, "d": True}


def test_match_score_rejects_another_song_with_the_same_title():
    from core.catalog import ArtistRef, TrackRecord
    from core.collect.resolve import MIN_MATCH_SCORE, match_score

    record = TrackRecord("x", "1", "Money Trees", [ArtistRef("k", "Kendrick Lamar")], 90, "spotify", duration_ms=386_000)
    same = {"title": "Money Trees", "artist": {"name": "Kendrick Lamar"}, "duration": 387}
    cover = {"title": "Money Trees", "artist": {"name": "Piano Covers Band"}, "duration": 200}
    assert match_score(record, same) > 0.95 >= MIN_MATCH_SCORE > match_score(record, cover)


def test_without_network_rows_stay_without_audio_and_are_counted(home, monkeypatch):
    table = shared_file("data/spotify-metadata/hiphop_artists_440.csv")

    def refuse(request):
        raise requests.ConnectionError("network is unreachable")

    monkeypatch.setattr(sources, "new_session", lambda: ReplaySession(refuse))
    resolver, downloader = sources.preview_resolver(home, clock=FakeClock())
    report = import_table(home, table, resolver=resolver, downloader=downloader)
    assert report.resolved == 0 and report.with_audio == 0
    with Catalog.open(home) as catalog:
        assert report.without_audio == catalog.track_count() == report.insert.inserted
    assert report.resolve_stopped.startswith("Cannot reach Deezer")
