"""The track catalog: one SQLite file (standard library, WAL mode) holding tracks, artists,
jobs, runs and scores.

The schema is versioned with ``PRAGMA user_version``; ``MIGRATIONS[i]`` upgrades version
``i`` to ``i + 1`` inside one transaction, so an old catalog is brought up to date on open
and a failed upgrade leaves it as it was.

Insert-time deduplication follows the study (see ``core.dedup``): a row already present
(same source and source id) is updated, not added twice; a row whose preview URL another
row already has, or whose (name, duration, popularity) another row already has, is skipped.
Rows without a preview are kept (the Dataset page compares them) and left out of training.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from core.config import Settings
from core.config import settings as current_settings
from core.dedup import normalise_title
from core.errors import CatalogMissing, DiskFull, disk_failure

POPULARITY_SCALES = {
    "spotify": "Spotify popularity, 0-100",
    "deezer_rank": "Deezer rank, 0 to about 1,000,000",
}

MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE artists (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        source_id TEXT NOT NULL,
        name TEXT NOT NULL,
        UNIQUE (source, source_id)
    );
    CREATE TABLE tracks (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        source_id TEXT NOT NULL,
        isrc TEXT,
        name TEXT NOT NULL,
        album TEXT,
        album_type TEXT,
        release_date TEXT,
        duration_ms INTEGER,
        popularity REAL,
        popularity_scale TEXT NOT NULL,
        preview_url TEXT,
        audio_path TEXT,
        audio_sha256 TEXT,
        collected_at TEXT NOT NULL,
        UNIQUE (source, source_id)
    );
    CREATE INDEX tracks_preview_url ON tracks (preview_url);
    CREATE INDEX tracks_name_duration_popularity ON tracks (name, duration_ms, popularity);
    CREATE INDEX tracks_audio ON tracks (audio_sha256);
    CREATE TABLE track_artists (
        track_id INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
        artist_id INTEGER NOT NULL REFERENCES artists (id),
        position INTEGER NOT NULL,
        PRIMARY KEY (track_id, artist_id)
    );
    CREATE INDEX track_artists_artist ON track_artists (artist_id);
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        args TEXT NOT NULL,
        status TEXT NOT NULL,
        pid INTEGER,
        progress REAL NOT NULL DEFAULT 0,
        message TEXT,
        error TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
    );
    CREATE TABLE job_events (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        path TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 0,
        summary TEXT NOT NULL
    );
    CREATE TABLE scores (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        file_name TEXT NOT NULL,
        audio_sha256 TEXT,
        probability REAL,
        verdict TEXT,
        result TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE collections (
        source TEXT PRIMARY KEY,
        params TEXT NOT NULL,
        cursor TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    # A saved run that nobody has activated or dismissed yet is "undecided": the Train page
    # offers it beside the active run until the user chooses.
    """
    ALTER TABLE runs ADD COLUMN decided INTEGER NOT NULL DEFAULT 1;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class ArtistRef:
    source_id: str
    name: str


@dataclass
class TrackRecord:
    """One release of a song as a source reports it."""

    source: str
    source_id: str
    name: str
    artists: list[ArtistRef]
    popularity: float | None
    popularity_scale: str
    isrc: str | None = None
    album: str | None = None
    album_type: str | None = None
    release_date: str | None = None
    duration_ms: int | None = None
    preview_url: str | None = None
    audio_path: str | None = None
    audio_sha256: str | None = None
    collected_at: str | None = None


@dataclass
class InsertReport:
    inserted: int = 0
    updated: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, rule: str, count: int = 1) -> None:
        self.skipped[rule] = self.skipped.get(rule, 0) + count

    def skipped_text(self) -> str:
        """'3 duplicate preview URL, 1 same name, duration and popularity', or 'none'."""
        return ", ".join(f"{count} {rule}" for rule, count in self.skipped.items()) or "none"

    def add(self, other: InsertReport) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        for rule, count in other.skipped.items():
            self.skip(rule, count)


@dataclass(frozen=True)
class CatalogSummary:
    tracks: int
    artists: int
    with_audio: int
    synthetic: bool
    source: str
    popularity_scale: str | None
    popularity_min: float | None
    popularity_median: float | None
    popularity_max: float | None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Catalog:
    """A connection to the catalog. Use ``Catalog.open()``; close it (or use ``with``)."""

    def __init__(self, path: Path):
        self.path = path
        self.data_dir = path.parent
        try:
            self.conn = self._connect()
        except (sqlite3.Error, DiskFull) as error:
            if isinstance(error, sqlite3.Error) and disk_failure(error, self.data_dir) is None:
                raise
            # A full disk. A new connection to a WAL database first sizes the shared-memory
            # index beside it (the -shm file); with no space left that fails ("disk I/O error",
            # SQLITE_IOERR_SHMSIZE) although nothing needs to be written to read. In EXCLUSIVE
            # locking mode SQLite keeps that index in this process's memory instead, so reading
            # commands still work; other processes wait while this connection is open.
            try:
                self.conn = self._connect(exclusive=True)
            except sqlite3.Error as again:
                raise disk_failure(again, self.data_dir) or again from error

    def _connect(self, *, exclusive: bool = False) -> sqlite3.Connection:
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            self.conn.row_factory = sqlite3.Row
            if exclusive:
                self.conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            _use_wal(self.conn)
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA busy_timeout=30000")
            self._migrate()
        except BaseException:
            self.conn.close()  # a failed connection can hold a lock the next attempt needs
            raise
        return self.conn

    @classmethod
    def open(cls, settings: Settings | None = None, *, create: bool = False) -> Catalog:
        """Open the catalog of ``settings``; with ``create`` make an empty one if none exists."""
        settings = settings or current_settings()
        if not create and not settings.catalog_path.exists():
            raise CatalogMissing(
                f"No catalog at {settings.catalog_path}.",
                "Build the demo catalog with 'python -m core demo' or collect real data with 'python -m core collect'.",
            )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings.catalog_path)

    @staticmethod
    def exists(settings: Settings | None = None) -> bool:
        return (settings or current_settings()).catalog_path.exists()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises. A
        full disk, in the block or at the commit, raises ``DiskFull`` with nothing of the
        transaction stored."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as error:
            failure = disk_failure(error, self.data_dir)
            if failure is None:
                raise
            raise failure from error

    def _rollback(self) -> None:
        # SQLite may have rolled back already (it does on some SQLITE_FULL and I/O errors):
        # a second ROLLBACK would raise and hide the error that caused it.
        if self.conn.in_transaction:
            with suppress(sqlite3.Error):  # closing the connection rolls back what is left
                self.conn.execute("ROLLBACK")

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        while self.schema_version < SCHEMA_VERSION:
            with self.transaction() as conn:
                # Read again under the write lock: another process opening the same new
                # catalog may have migrated it between the check above and BEGIN IMMEDIATE.
                version = self.schema_version
                if version >= SCHEMA_VERSION:
                    break
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")

    # --- metadata -------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # --- writing tracks -------------------------------------------------------------

    def add_tracks(self, records: Iterable[TrackRecord]) -> InsertReport:
        """Insert or update ``records`` in one transaction, applying the insert-time rules."""
        report = InsertReport()
        with self.transaction() as conn:
            for record in records:
                self._add_track(conn, record, report)
        return report

    def replace_tracks(self, records: Iterable[TrackRecord], meta: dict[str, str]) -> InsertReport:
        """Swap every track and artist for ``records`` in one transaction (jobs, runs and
        scores stay): readers see the old catalog or the new one, never a mix."""
        report = InsertReport()
        with self.transaction() as conn:
            _delete_tracks(conn)
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
            for record in records:
                self._add_track(conn, record, report)
        return report

    def commit_page(
        self, records: Iterable[TrackRecord], source: str, params: dict, cursor: dict, *, replace: bool = False
    ) -> InsertReport:
        """One collected page: its tracks and the collection's advanced cursor, in one
        transaction, so a collection resumes exactly after its last committed page. With
        ``replace`` the catalog's tracks (the synthetic demo) are removed in the same step."""
        report = InsertReport()
        with self.transaction() as conn:
            if replace:
                _delete_tracks(conn)
            for record in records:
                self._add_track(conn, record, report)
            conn.execute(
                "INSERT INTO collections (source, params, cursor, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (source) DO UPDATE SET params = excluded.params, cursor = excluded.cursor, "
                "updated_at = excluded.updated_at",
                (source, json.dumps(params, sort_keys=True), json.dumps(cursor), utc_now()),
            )
        return report

    def collection_cursor(self, source: str, params: dict) -> dict | None:
        """Where the last collection from ``source`` with these ``params`` stopped (None: start)."""
        row = self.conn.execute(
            "SELECT cursor FROM collections WHERE source = ? AND params = ?",
            (source, json.dumps(params, sort_keys=True)),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def _add_track(self, conn: sqlite3.Connection, record: TrackRecord, report: InsertReport) -> None:
        if record.popularity_scale not in POPULARITY_SCALES:
            raise ValueError(f"unknown popularity scale {record.popularity_scale!r}")
        existing = conn.execute(
            "SELECT id FROM tracks WHERE source = ? AND source_id = ?",
            (record.source, record.source_id),
        ).fetchone()
        values = _track_values(record)
        if existing:
            assignments = ", ".join(f"{column} = COALESCE(?, {column})" for column in values)
            conn.execute(f"UPDATE tracks SET {assignments} WHERE id = ?", [*values.values(), existing[0]])
            report.updated += 1
            return
        if (
            record.preview_url
            and conn.execute("SELECT 1 FROM tracks WHERE preview_url = ?", (record.preview_url,)).fetchone()
        ):
            report.skip("duplicate preview URL")
            return
        if conn.execute(
            "SELECT 1 FROM tracks WHERE name = ? AND duration_ms IS ? AND popularity IS ?",
            (record.name, record.duration_ms, record.popularity),
        ).fetchone():
            report.skip("same name, duration and popularity")
            return
        columns = ["source", "source_id", *values]
        cursor = conn.execute(
            f"INSERT INTO tracks ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [record.source, record.source_id, *values.values()],
        )
        track_id = cursor.lastrowid
        for position, artist in enumerate(record.artists):
            artist_id = self._artist_id(conn, record.source, artist)
            conn.execute(
                "INSERT OR IGNORE INTO track_artists (track_id, artist_id, position) VALUES (?, ?, ?)",
                (track_id, artist_id, position),
            )
        report.inserted += 1

    @staticmethod
    def _artist_id(conn: sqlite3.Connection, source: str, artist: ArtistRef) -> int:
        conn.execute(
            "INSERT INTO artists (source, source_id, name) VALUES (?, ?, ?) "
            "ON CONFLICT (source, source_id) DO UPDATE SET name = excluded.name",
            (source, artist.source_id, artist.name),
        )
        return conn.execute(
            "SELECT id FROM artists WHERE source = ? AND source_id = ?", (source, artist.source_id)
        ).fetchone()[0]

    def attach_audio(self, entries: Iterable[tuple[str, str, str, str, str]]) -> None:
        """(source, source id, preview URL, audio path, SHA-256) per track, in one transaction:
        point each track at its verified audio file (a path relative to the data folder)."""
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE tracks SET preview_url = ?, audio_path = ?, audio_sha256 = ? "
                "WHERE source = ? AND source_id = ?",
                [(url, path, sha, source, source_id) for source, source_id, url, path, sha in entries],
            )

    def audio_file(self, audio_path: str) -> Path:
        return self.data_dir / audio_path

    # --- reading --------------------------------------------------------------------

    def tracks(self) -> pd.DataFrame:
        """Every track with its artists: ``primary_artist`` and ``artists`` ("A; B")."""
        return pd.read_sql_query(
            """
            SELECT t.*,
                   (SELECT a.name FROM track_artists ta JOIN artists a ON a.id = ta.artist_id
                     WHERE ta.track_id = t.id ORDER BY ta.position LIMIT 1) AS primary_artist,
                   (SELECT group_concat(name, '; ') FROM (
                        SELECT a.name FROM track_artists ta JOIN artists a ON a.id = ta.artist_id
                         WHERE ta.track_id = t.id ORDER BY ta.position)) AS artists
              FROM tracks t ORDER BY t.id
            """,
            self.conn,
        )

    def track_artists(self) -> pd.DataFrame:
        """One row per (track, credited artist): what artist charts count."""
        return pd.read_sql_query(
            """
            SELECT ta.track_id, ta.position, a.id AS artist_id, a.name AS artist,
                   t.popularity, t.audio_path IS NOT NULL AS has_audio, t.release_date
              FROM track_artists ta
              JOIN artists a ON a.id = ta.artist_id
              JOIN tracks t ON t.id = ta.track_id
            """,
            self.conn,
        )

    def summary(self) -> CatalogSummary:
        counts = self.conn.execute(
            """
            SELECT (SELECT count(*) FROM tracks),
                   (SELECT count(*) FROM artists),
                   (SELECT count(*) FROM tracks WHERE audio_path IS NOT NULL),
                   (SELECT count(*) FROM tracks WHERE source = 'demo')
            """
        ).fetchone()
        sources = [r[0] for r in self.conn.execute("SELECT DISTINCT source FROM tracks ORDER BY 1")]
        scales = [r[0] for r in self.conn.execute("SELECT DISTINCT popularity_scale FROM tracks")]
        popularity = pd.read_sql_query("SELECT popularity FROM tracks WHERE popularity IS NOT NULL", self.conn)[
            "popularity"
        ]
        has_values = not popularity.empty
        return CatalogSummary(
            tracks=counts[0],
            artists=counts[1],
            with_audio=counts[2],
            synthetic=counts[3] > 0,
            source=", ".join(sources) or "empty",
            popularity_scale=", ".join(scales) or None,
            popularity_min=float(popularity.min()) if has_values else None,
            popularity_median=float(popularity.median()) if has_values else None,
            popularity_max=float(popularity.max()) if has_values else None,
        )

    def track_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM tracks").fetchone()[0]

    def source_count(self, source: str) -> int:
        return self.conn.execute("SELECT count(*) FROM tracks WHERE source = ?", (source,)).fetchone()[0]

    def source_ids(self, source: str, *, with_audio: bool = False) -> set[str]:
        """The source ids of ``source``'s tracks (only those with audio, if asked)."""
        audio = " AND audio_path IS NOT NULL" if with_audio else ""
        return {row[0] for row in self.conn.execute(f"SELECT source_id FROM tracks WHERE source = ?{audio}", (source,))}

    @property
    def synthetic(self) -> bool:
        """Whether the catalog holds the synthetic demo."""
        return self.conn.execute("SELECT 1 FROM tracks WHERE source = 'demo' LIMIT 1").fetchone() is not None

    def change_token(self) -> str:
        """Changes whenever tracks, runs or the active run change: the dashboard's caches key
        on it, so a new catalog or a new run is never hidden behind a stale cache."""
        row = self.conn.execute(
            """
            SELECT (SELECT count(*) FROM tracks), (SELECT max(id) FROM tracks),
                   (SELECT total(popularity) FROM tracks), (SELECT count(*) FROM runs),
                   (SELECT id FROM runs WHERE active = 1), (SELECT value FROM meta WHERE key = 'demo')
            """
        ).fetchone()
        return "|".join(str(value) for value in row)

    def audio_hashes(self) -> list[tuple[str, Path]]:
        """(SHA-256, absolute path) of every distinct audio file the catalog points at."""
        rows = self.conn.execute(
            "SELECT audio_sha256, min(audio_path) FROM tracks WHERE audio_path IS NOT NULL GROUP BY audio_sha256"
        )
        return [(sha, self.audio_file(path)) for sha, path in rows]

    def preview_breakdown(self) -> pd.DataFrame:
        """Tracks with and without a preview: count and popularity of each group."""
        return pd.read_sql_query(
            """
            SELECT CASE WHEN preview_url IS NULL THEN 'no preview' ELSE 'with preview' END AS preview,
                   count(*) AS tracks, avg(popularity) AS mean_popularity
              FROM tracks GROUP BY 1 ORDER BY 1 DESC
            """,
            self.conn,
        )

    def duplicate_groups(self) -> pd.DataFrame:
        """The same song released several times (single, album, deluxe...): one row per
        release of every song that has more than one, with a shared ``group`` number."""
        tracks = self.tracks()
        if tracks.empty:
            return tracks.assign(group=pd.Series(dtype=int))
        tracks["song_key"] = song_keys(tracks)
        sizes = tracks.groupby("song_key")["id"].transform("size")
        groups = tracks[sizes > 1].copy()
        groups["group"] = groups.groupby("song_key", sort=False).ngroup() + 1
        columns = ["group", "name", "primary_artist", "album", "album_type", "release_date", "popularity"]
        return groups.sort_values(["group", "release_date"])[columns].reset_index(drop=True)

    def artist_stats(self, min_tracks: int = 1) -> pd.DataFrame:
        """Mean and median popularity per credited artist, over artists with at least
        ``min_tracks`` tracks, most popular first."""
        credits = self.track_artists().dropna(subset=["popularity"])
        if credits.empty:
            return pd.DataFrame(columns=["artist", "tracks", "mean_popularity", "median_popularity"])
        stats = (
            credits.groupby("artist")["popularity"]
            .agg(tracks="size", mean_popularity="mean", median_popularity="median")
            .reset_index()
        )
        stats = stats[stats["tracks"] >= min_tracks]
        return stats.sort_values(["mean_popularity", "tracks"], ascending=False).reset_index(drop=True)

    def search_artists(self, query: str) -> pd.DataFrame:
        """Artists whose name contains ``query`` (case-insensitive) with how much of them the
        catalog holds: tracks, tracks with audio, release years covered."""
        pattern = f"%{query.strip()}%"
        return pd.read_sql_query(
            """
            SELECT a.name AS artist, count(*) AS tracks,
                   sum(t.audio_path IS NOT NULL) AS with_audio,
                   round(avg(t.popularity), 1) AS mean_popularity,
                   min(substr(t.release_date, 1, 4)) AS first_year,
                   max(substr(t.release_date, 1, 4)) AS last_year
              FROM artists a
              JOIN track_artists ta ON ta.artist_id = a.id
              JOIN tracks t ON t.id = ta.track_id
             WHERE a.name LIKE ?
             GROUP BY a.id ORDER BY tracks DESC, a.name
            """,
            self.conn,
            params=(pattern,),
        )


def song_keys(tracks: pd.DataFrame) -> pd.Series:
    """A key shared by every release of the same song: normalised title + primary artist."""
    titles = tracks["name"].map(normalise_title)
    artists = tracks["primary_artist"].fillna("").str.casefold().str.strip()
    return titles + " — " + artists


def _track_values(record: TrackRecord) -> dict[str, object]:
    return {
        "isrc": record.isrc,
        "name": record.name,
        "album": record.album,
        "album_type": record.album_type,
        "release_date": record.release_date,
        "duration_ms": record.duration_ms,
        "popularity": record.popularity,
        "popularity_scale": record.popularity_scale,
        "preview_url": record.preview_url,
        "audio_path": record.audio_path,
        "audio_sha256": record.audio_sha256,
        "collected_at": record.collected_at or utc_now(),
    }


def _delete_tracks(conn: sqlite3.Connection) -> None:
    """Every track, artist, catalog-level fact and collection cursor; jobs, runs and scores stay."""
    for table in ("track_artists", "tracks", "artists", "meta", "collections"):
        conn.execute(f"DELETE FROM {table}")


def _use_wal(conn: sqlite3.Connection, timeout_s: float = 30.0) -> None:
    """Switch to write-ahead logging. On a new database the switch needs an exclusive lock and
    SQLite does not wait for it (the busy timeout does not apply): two processes opening a new
    catalog at once got 'database is locked'. Retry until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
