import json

import pandas as pd
import pytest
import requests
import soundfile as sf

from core.catalog import explore
from core.catalog.store import Catalog
from core.collect import sources
from core.collect.importer import column_mapping, import_table
from core.errors import HitlensError, UsageError
from core.learning.dataset import modelling_tracks
from tests.helpers import run_cli, shared_file, tone
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
        stats = explore.artist_stats(catalog).set_index("artist")
        drake = explore.search_artists(catalog, "Drake")
    assert stats.loc["Drake", "tracks"] >= 1
    assert drake.iloc[0]["with_audio"] == 0
    assert report.insert.inserted + report.insert.updated + sum(report.insert.skipped.values()) == 440


def test_artists_split_on_semicolons_not_commas_and_local_audio_is_verified(home, tmp_path):
    rate = 22_050
    sf.write(tmp_path / "song.wav", tone(220, 8, rate, amplitude=0.2), rate)
    (tmp_path / "broken.wav").write_bytes(b"RIFF nonsense")
    (tmp_path / "tracks.csv").write_text(
        'title,who,pop,file\nSong A,"Tyler, The Creator; Frank Ocean",61,song.wav\nSong B,Someone,20,broken.wav\n'
    )
    report = import_table(
        home,
        tmp_path / "tracks.csv",
        overrides={"title": "name", "who": "artists", "pop": "popularity", "file": "audio_path"},
    )
    assert report.with_audio == 1 and next(iter(report.audio_errors.values())).startswith(
        "'broken.wav' could not be decoded"
    )
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
    from core.catalog.track_writer import ArtistRef, TrackRecord
    from core.collect.resolve import MIN_MATCH_SCORE, match_score

    record = TrackRecord(
        "x", "1", "Money Trees", [ArtistRef("k", "Kendrick Lamar")], 90, "spotify", duration_ms=386_000
    )
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


# Import validation: unreadable tables stop in one line, bad rows are rejected and reported.

GOOD = "track_name,track_artist,track_popularity\nKept,Someone,50\n"


def _import_cli(home, capsys, *args):
    from core import cli

    status = cli.main(["import", *map(str, args), "--no-resolve"])
    out, err = capsys.readouterr()
    return status, out, err


def _stored(home):
    with Catalog.open(home) as catalog:
        return sorted(catalog.tracks()["name"])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "'bad.csv' is empty"),
        (b"\n  \n", "'bad.csv' is empty"),
        (b"track_name,track_artist,track_popularity\n", "'bad.csv' has a header but no rows"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)) * 4, "'bad.csv' is not a text table"),
        (b'track_name,track_artist,track_popularity\n"Open quote,Someone,50\nB,C,20\n', "the row starting on line 2"),
        (b'track_name,track_artist,track_popularity\n"A"B,Someone,50\n', "the row starting on line 2"),
        (b"name,name,popularity\nA,B,50\n", "names the column 'name' twice"),
    ],
    ids=["empty", "blank", "header-only", "binary", "unclosed-quote", "stray-quote", "duplicate-column"],
)
def test_each_unreadable_table_is_one_line_and_exit_2_and_keeps_the_catalog(home, tmp_path, capsys, content, expected):
    (tmp_path / "good.csv").write_text(GOOD)
    assert _import_cli(home, capsys, tmp_path / "good.csv")[0] == 0
    (tmp_path / "bad.csv").write_bytes(content)
    status, out, err = _import_cli(home, capsys, tmp_path / "bad.csv")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err, err
    assert _stored(home) == ["Kept"]


def test_a_damaged_parquet_table_is_one_line_and_exit_2(home, tmp_path, capsys):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really parquet")
    status, _, err = _import_cli(home, capsys, tmp_path / "bad.parquet")
    assert status == 2 and err.count("\n") == 1 and "'bad.parquet' is not a readable Parquet file" in err


@pytest.mark.parametrize(
    ("encoding", "prefix", "shown"),
    [
        ("utf-8", b"\xef\xbb\xbf", "UTF-8"),
        ("utf-16", b"", "UTF-16"),
        ("cp1252", b"", "Windows-1252"),
        ("latin-1", b"", "Windows-1252"),
    ],
)
def test_common_encodings_are_decoded(home, tmp_path, encoding, prefix, shown):
    text = "track_name,track_artist,track_popularity\nCafé Crème,Beyoncé,50\n"
    if encoding == "cp1252":
        text = text.replace("Café Crème", "“Café” – Crème")
    (tmp_path / "t.csv").write_bytes(prefix + text.encode(encoding))
    report = import_table(home, tmp_path / "t.csv")
    assert report.encoding == shown and report.rows_kept == 1
    with Catalog.open(home) as catalog:
        tracks = catalog.tracks()
    assert tracks["name"].tolist() == [text.splitlines()[1].split(",")[0]] and tracks["artists"].tolist() == ["Beyoncé"]


BAD_ROWS = (
    "track_name,track_artist,track_popularity,duration_ms,release_date,audio_path\n"
    "Good one,A,50,200000,2019-06-14,\n"  # row 2
    "Not a number,A,abc,200000,2019,\n"  # row 3
    "Negative,A,-5,200000,2019,\n"  # row 4
    "Infinite,A,inf,200000,2019,\n"  # row 5
    "Huge,A,1e308,200000,2019,\n"  # row 6
    "Good two,B,0,,2019-06,\n"  # row 7
    "Backwards,A,40,-3000,2019,\n"  # row 8
    "Bad date,A,40,200000,2019-02-30,\n"  # row 9
    "Far future,A,40,200000,9999-12-31,\n"  # row 10
    ",A,40,200000,2019,\n"  # row 11
    "Escapes,A,40,200000,2019,../outside.wav\n"  # row 12
    "Too,many,40,1,2,3,4\n"  # row 13
)


def test_bad_rows_are_rejected_counted_and_shown_and_good_rows_stored(home, tmp_path):
    (tmp_path / "t.csv").write_text(BAD_ROWS)
    report = import_table(home, tmp_path / "t.csv")
    assert (report.rows_read, report.rows_kept, len(report.rejected)) == (12, 2, 10)
    assert [(r.row, r.column, r.value) for r in report.rejected] == [
        (3, "track_popularity", "abc"),
        (4, "track_popularity", "-5"),
        (5, "track_popularity", "inf"),
        (6, "track_popularity", "1e308"),
        (8, "duration_ms", "-3000"),
        (9, "release_date", "2019-02-30"),
        (10, "release_date", "9999-12-31"),
        (11, "track_name", ""),
        (12, "audio_path", "../outside.wav"),
        (13, "", "Too,many,40,1,2,3,4"),
    ]
    assert str(report.rejected[0]) == "row 3, track_popularity 'abc': not a number"
    assert "outside Spotify popularity, 0-100" in str(report.rejected[1])
    assert "--allow-outside" in report.rejected[8].reason and "7 values where the header has 6" in str(
        report.rejected[9]
    )
    assert report.popularity_scale == "spotify"
    assert _stored(home) == ["Good one", "Good two"]


def test_the_cli_reports_the_rejected_count_and_the_first_examples(home, tmp_path, capsys):
    (tmp_path / "t.csv").write_text(BAD_ROWS)
    status, out, _ = _import_cli(home, capsys, tmp_path / "t.csv")
    assert status == 0 and "2 of 12 rows kept" in out
    assert "10 rows rejected (not stored): row 3, track_popularity 'abc': not a number; row 4, " in out
    assert "row 5, track_popularity 'inf': not a finite number; and 7 more" in out and "row 6" not in out


def test_a_table_with_no_usable_row_is_one_line_and_exit_2(home, tmp_path, capsys):
    (tmp_path / "junk.csv").write_text("track_name,track_artist,track_popularity\n" + "x,y,zzz\n" * 100_000)
    status, _out, err = _import_cli(home, capsys, tmp_path / "junk.csv")
    assert status == 2 and err.count("\n") == 1
    assert (
        "No row of 'junk.csv' can be imported: 100000 rows rejected (not stored): row 2, track_popularity 'zzz'" in err
    )
    with Catalog.open(home, create=True) as catalog:
        assert catalog.track_count() == 0


def test_one_value_above_100_stops_and_asks_for_the_scale(home, tmp_path, capsys):
    (tmp_path / "t.csv").write_text(GOOD + "Typo,Someone,101\nOther,Someone,99\n")
    status, _, err = _import_cli(home, capsys, tmp_path / "t.csv")
    assert status == 2 and err.count("\n") == 1
    assert "mixes scales: 2 values fit Spotify's 0-100 and 1 is above (row 3: 101)" in err and "--scale spotify" in err
    report = import_table(home, tmp_path / "t.csv", scale="spotify")
    assert report.rows_kept == 2 and [(r.row, r.value) for r in report.rejected] == [(3, "101")]
    with Catalog.open(home) as catalog:
        assert set(catalog.tracks()["popularity_scale"]) == {"spotify"}


def test_ranks_all_above_100_are_read_as_deezer_ranks(home, tmp_path):
    (tmp_path / "t.csv").write_text("track_name,track_artist,rank\nA,B,845000\nC,D,120000\nE,F,2000000\n")
    report = import_table(home, tmp_path / "t.csv")
    assert report.popularity_scale == "deezer_rank" and report.rows_kept == 2
    assert "outside Deezer rank" in report.rejected[0].reason


def test_audio_paths_stay_inside_the_tables_folder_unless_allowed(home, tmp_path):
    rate = 22_050
    sf.write(tmp_path / "outside.wav", tone(220, 8, rate, amplitude=0.2), rate)
    folder = tmp_path / "tables"
    folder.mkdir()
    (folder / "t.csv").write_text(
        "track_name,track_artist,track_popularity,audio_path\n"
        f"A,B,50,../outside.wav\nC,D,40,{tmp_path / 'outside.wav'}\n"
    )
    with pytest.raises(HitlensError, match=r"No row of 't.csv' can be imported.*outside the table's folder"):
        import_table(home, folder / "t.csv")
    report = import_table(home, folder / "t.csv", allow_outside=True)
    assert report.rows_kept == 2 and report.with_audio == 2 and not report.rejected


@pytest.mark.parametrize("column", ["artist_followers", "followers", "artist_fans", "nb_fan"])
def test_an_artist_followers_column_is_stored_with_the_import_date(home, tmp_path, column):
    from datetime import UTC, datetime

    (tmp_path / "t.csv").write_text(
        f"track_name,track_artist,track_popularity,{column}\n"
        "One,Lead; Guest,50,120000\n"  # row 2: the first artist's fans
        "Two,Quiet,40,\n"  # row 3: none given
        "Three,Lead,45,1.5\n"  # row 4
        "Four,Lead,45,-3\n"  # row 5
        "Five,Lead,45,many\n"  # row 6
        "Six,Other,45,0\n"  # row 7
    )
    started = datetime.now(UTC).replace(microsecond=0)
    report = import_table(home, tmp_path / "t.csv")
    assert [(r.row, r.column, r.value) for r in report.rejected] == [
        (4, column, "1.5"),
        (5, column, "-3"),
        (6, column, "many"),
    ]
    assert str(report.rejected[0]) == f"row 4, {column} '1.5': not a whole number of 0 or more"
    assert report.rejected[2].reason == "not a number"
    with Catalog.open(home) as catalog:
        artists = {
            row[0]: tuple(row[1:]) for row in catalog.conn.execute("SELECT name, fans, context_read_at FROM artists")
        }
        tracks = catalog.tracks().set_index("name")
    assert {name: fans for name, (fans, _) in artists.items()} == {
        "Lead": 120000,
        "Guest": None,
        "Quiet": None,
        "Other": 0,
    }
    assert started <= datetime.fromisoformat(artists["Lead"][1]) <= datetime.now(UTC)
    assert tracks.loc[["One", "Six"], "primary_artist_fans"].tolist() == [120000, 0]
    assert pd.isna(tracks.loc["Two", "primary_artist_fans"]) and len(tracks) == 3
