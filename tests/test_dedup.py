import pandas as pd

from core.catalog.dedup import (
    duplicate_preview_urls,
    exact_duplicates,
    missing_audio,
    normalise_title,
    same_name_duration_popularity,
    study_dedup,
)


def _rows(*rows):
    columns = [
        "source_id",
        "name",
        "artists",
        "album",
        "album_type",
        "release_date",
        "duration_ms",
        "popularity",
        "preview_url",
    ]
    return pd.DataFrame(rows, columns=columns)


BASE = ("a", "Song", "X", "Album", "album", "2020-01-01", 180000, 40, "http://p/a")


def test_exact_duplicates_flag_the_second_identical_row_only():
    tracks = _rows(BASE, BASE, ("b", *BASE[1:8], "http://p/b"))
    assert exact_duplicates(tracks).tolist() == [False, True, False]


def test_missing_audio_flags_null_and_blank_preview_urls_in_a_study_table():
    tracks = _rows(BASE, (*BASE[:8], None), (*BASE[:8], "  "))
    assert missing_audio(tracks).tolist() == [False, True, True]


def test_in_the_catalog_audio_means_an_audio_file_whatever_its_origin():
    tracks = _rows(BASE, (*BASE[:8], None), ("c", *BASE[1:])).assign(audio_path=["demo/a.mp3", "local/b.wav", None])
    assert missing_audio(tracks).tolist() == [False, False, True]  # b: a local file, no preview URL


def test_duplicate_preview_url_keeps_first_and_ignores_missing_urls():
    tracks = _rows(BASE, ("b", *BASE[1:]), ("c", *BASE[1:8], None), ("d", *BASE[1:8], None))
    assert duplicate_preview_urls(tracks).tolist() == [False, True, False, False]


def test_same_name_duration_popularity_keeps_other_releases_with_other_popularity():
    single = ("s", "Song", "X", "Song", "single", "2019-06-01", 180000, 31, "http://p/s")
    deluxe = ("d", "Song", "X", "Album (Deluxe)", "album", "2020-06-01", 180000, 40, "http://p/d")
    tracks = _rows(BASE, single, deluxe)
    assert same_name_duration_popularity(tracks).tolist() == [False, False, True]


def test_study_dedup_applies_rules_in_order_and_counts_each():
    tracks = _rows(
        BASE,
        BASE,  # exact duplicate
        ("b", "Other", "Y", "A", "album", "2020", 1, 5, None),  # no preview: no audio
        ("c", "Third", "Z", "A", "album", "2020", 2, 6, "http://p/a"),  # same preview as BASE
        ("d", "Song", "X", "B", "single", "2020", 180000, 40, "http://p/d"),  # same name/duration/pop
        ("e", "Song", "X", "B", "single", "2020", 180000, 33, "http://p/e"),  # kept: other popularity
    )
    result = study_dedup(tracks)
    assert result.dropped == {
        "exact duplicate": 1,
        "no audio": 1,
        "duplicate preview URL": 1,
        "same name, duration and popularity": 1,
    }
    assert result.kept["source_id"].tolist() == ["a", "e"]


def test_normalise_title_groups_releases_of_one_song():
    variants = [
        "Money Trees (feat. Jay Rock)",
        "Money Trees",
        "MONEY TREES - Remastered 2020",
        "Money Trees [Deluxe Edition]",
    ]
    assert {normalise_title(v) for v in variants} == {"money trees"}
    assert normalise_title("Money Trees II") != normalise_title("Money Trees")
