import sqlite3
from pathlib import Path

import pytest

from core.catalog import explore
from core.catalog.database import SCHEMA_VERSION
from core.catalog.store import Catalog
from core.catalog.track_writer import ArtistRef, TrackRecord
from core.errors import CatalogMissing


def _track(source_id, name="Song", artists=("Ann",), popularity=40.0, preview="auto", **extra):
    return TrackRecord(
        source="test",
        source_id=source_id,
        name=name,
        artists=[ArtistRef(a.lower(), a) for a in artists],
        popularity=popularity,
        popularity_scale="spotify",
        duration_ms=extra.pop("duration_ms", 180_000),
        preview_url=f"http://p/{source_id}" if preview == "auto" else preview,
        **extra,
    )


@pytest.fixture
def catalog(home):
    with Catalog.open(home, create=True) as catalog:
        yield catalog


def test_open_without_catalog_says_how_to_build_one(home):
    with pytest.raises(CatalogMissing, match="python -m core demo"):
        Catalog.open(home)


def test_new_catalog_is_migrated_and_in_wal_mode(catalog):
    assert catalog.schema_version == SCHEMA_VERSION
    assert catalog.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in catalog.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"tracks", "artists", "track_artists", "jobs", "job_events", "runs", "scores"} <= tables


def test_reopening_an_old_version_applies_missing_migrations(home):
    home.data_dir.mkdir(parents=True)
    sqlite3.connect(home.catalog_path).close()  # version 0: an empty file
    with Catalog.open(home) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION


def test_a_catalog_at_the_previous_version_gains_the_artist_context_columns(home):
    """A catalog written before artists had fans keeps its rows and gains the columns, empty."""
    from core.catalog.database import MIGRATIONS

    home.data_dir.mkdir(parents=True)
    old = sqlite3.connect(home.catalog_path)
    previous = next(version for version, script in enumerate(MIGRATIONS) if "ADD COLUMN fans" in script)
    for script in MIGRATIONS[:previous]:
        old.executescript(script)
    old.execute(f"PRAGMA user_version = {previous}")
    old.execute("INSERT INTO artists (source, source_id, name) VALUES ('test', 'ann', 'Ann')")
    old.commit()
    old.close()
    with Catalog.open(home) as catalog:
        assert catalog.schema_version == SCHEMA_VERSION
        row = catalog.conn.execute("SELECT name, fans, albums, context_read_at FROM artists").fetchone()
        assert tuple(row) == ("Ann", None, None, None)
        catalog.add_tracks([_track("1", artists=("Ann",))])
        assert catalog.tracks()["primary_artist_fans"].isna().all()


def test_artist_context_keeps_the_newest_reading(catalog):
    def credited(source_id, fans=None, albums=None, read_at=None, name="Song"):
        record = _track(source_id, name=name, preview=None, popularity=float(source_id))
        record.artists = [ArtistRef("ann", "Ann", fans, albums, read_at), ArtistRef("bob", "Bob")]
        return record

    catalog.add_tracks([credited("1", fans=100, albums=3, read_at="2025-01-01T00:00:00+00:00")])
    catalog.add_tracks([credited("2", name="Two")])  # nothing read: the reading stays
    catalog.add_tracks([credited("3", name="Three", fans=90, read_at="2024-06-01T00:00:00+00:00")])  # older
    artists = catalog.conn.execute("SELECT name, fans, albums, context_read_at FROM artists ORDER BY name")
    assert [tuple(row) for row in artists] == [
        ("Ann", 100, 3, "2025-01-01T00:00:00+00:00"),
        ("Bob", None, None, None),
    ]
    catalog.add_tracks([credited("1", fans=150, read_at="2025-03-01T00:00:00+00:00")])  # an update, newer
    ann = catalog.conn.execute("SELECT fans, albums, context_read_at FROM artists WHERE name = 'Ann'").fetchone()
    assert tuple(ann) == (150, 3, "2025-03-01T00:00:00+00:00")  # albums not read again: kept
    tracks = catalog.tracks().set_index("source_id")
    assert tracks["primary_artist_fans"].tolist() == [150, 150, 150]


def test_insert_rules(catalog):
    report = catalog.add_tracks(
        [
            _track("1"),
            _track("1", popularity=55.0),  # same id: an update, not a second row
            _track("2", name="Other", preview="http://p/1"),  # preview URL taken
            _track("3", preview=None, popularity=55.0),  # same name, duration, popularity as "1"
            _track("4", popularity=12.0, preview=None),  # another release: kept, even without preview
        ]
    )
    assert (report.inserted, report.updated) == (2, 1)
    assert report.skipped == {"duplicate preview URL": 1, "same name, duration and popularity": 1}
    tracks = catalog.tracks().set_index("source_id")
    assert tracks.loc["1", "popularity"] == 55.0
    assert sorted(tracks.index) == ["1", "4"]


def test_a_failed_insert_keeps_what_was_stored(catalog):
    catalog.add_tracks([_track("1")])
    bad = _track("2", name="Other")
    bad.popularity_scale = "no-such-scale"
    with pytest.raises(ValueError):
        catalog.add_tracks([_track("3", name="Third"), bad])
    assert catalog.tracks()["source_id"].tolist() == ["1"]


def test_every_credited_artist_is_counted_in_artist_statistics(catalog):
    catalog.add_tracks(
        [
            _track("1", artists=("Ann", "Bob"), popularity=60.0),
            _track("2", name="B", artists=("Ann",), popularity=20.0),
            _track("3", name="C", artists=("Cy",), popularity=50.0),
        ]
    )
    stats = explore.artist_stats(catalog).set_index("artist")
    assert stats.loc["Ann", "tracks"] == 2
    assert stats.loc["Ann", "mean_popularity"] == 40.0
    assert stats.loc["Bob", "tracks"] == 1
    assert list(explore.artist_stats(catalog, min_tracks=2)["artist"]) == ["Ann"]
    tracks = catalog.tracks().set_index("source_id")
    assert tracks.loc["1", "artists"] == "Ann; Bob"
    assert tracks.loc["1", "primary_artist"] == "Ann"


def test_artist_search_reports_completeness(catalog):
    catalog.add_tracks(
        [
            _track("1", name="A", artists=("Drake",), release_date="2019-05-01", audio_path="a.mp3", audio_sha256="x"),
            _track("2", name="B", artists=("Drake",), release_date="2021-02-01"),
            _track("3", name="C", artists=("Kanye West",)),
        ]
    )
    found = explore.search_artists(catalog, "drak").set_index("artist")
    assert found.loc["Drake", "tracks"] == 2
    assert found.loc["Drake", "with_audio"] == 1
    assert (found.loc["Drake", "first_year"], found.loc["Drake", "last_year"]) == ("2019", "2021")
    assert explore.search_artists(catalog, "KC Makes Music").empty


def test_duplicate_groups_collect_releases_of_one_song(catalog):
    catalog.add_tracks(
        [
            _track("1", name="Wave", album="Wave", album_type="single", popularity=30.0, release_date="2019-01-01"),
            _track(
                "2", name="Wave (feat. Bob)", album="LP", album_type="album", popularity=45.0, release_date="2019-06-01"
            ),
            _track("3", name="Alone", popularity=10.0),
        ]
    )
    groups = explore.duplicate_groups(catalog)
    assert groups["group"].tolist() == [1, 1]
    assert groups["popularity"].tolist() == [30.0, 45.0]


def test_preview_breakdown_and_summary(catalog):
    catalog.add_tracks([_track("1", popularity=10.0), _track("2", name="B", popularity=30.0, preview=None)])
    breakdown = explore.preview_breakdown(catalog).set_index("preview")
    assert breakdown.loc["with preview", "tracks"] == 1
    assert breakdown.loc["no preview", "mean_popularity"] == 30.0
    summary = catalog.summary()
    assert (summary.tracks, summary.artists, summary.synthetic) == (2, 1, False)
    assert summary.popularity_median == 20.0


def test_replace_tracks_is_all_or_nothing(catalog):
    catalog.add_tracks([_track("1")])
    bad = _track("9", name="Bad")
    bad.popularity_scale = "no-such-scale"
    with pytest.raises(ValueError):
        catalog.replace_tracks([_track("2", name="New"), bad], meta={"demo": "x"})
    assert catalog.tracks()["source_id"].tolist() == ["1"]
    catalog.replace_tracks([_track("2", name="New")], meta={"demo": "x"})
    assert catalog.tracks()["source_id"].tolist() == ["2"]
    assert catalog.get_meta("demo") == "x"


def _open_at_once(home: str, barrier) -> int:
    from core.config import Settings

    barrier.wait()
    with Catalog.open(Settings(home=Path(home)), create=True) as opened:
        return opened.schema_version


def test_processes_opening_a_new_catalog_at_once_migrate_it_once(tmp_path):
    """Each process checks the schema version, then takes the write lock: the version must be
    read again under the lock, or a second process runs migration 0 on a migrated catalog."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    for attempt in range(3):
        home = tmp_path / f"home-{attempt}"
        with context.Manager() as manager, ProcessPoolExecutor(4, mp_context=context) as pool:
            barrier = manager.Barrier(4)
            versions = list(pool.map(_open_at_once, [str(home)] * 4, [barrier] * 4))
        assert versions == [SCHEMA_VERSION] * 4
