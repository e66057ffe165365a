"""The catalog's SQLite file: connection, transactions and the versioned schema.

One file (standard library, WAL mode) holds tracks, artists and collection cursors
(``core.catalog.store``), jobs and their events (``core.jobs``), saved runs (``core.learning.registry``) and
the scored-songs history (``core.catalog.history``) with the uploads it keeps (``core.songs.uploads``).

The schema is versioned with ``PRAGMA user_version``; ``MIGRATIONS[i]`` upgrades version
``i`` to ``i + 1`` inside one transaction, so an old catalog is brought up to date on open
and a failed upgrade leaves it as it was.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from core.errors import DiskFull, damaged_catalog, disk_failure

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
    # What the source said about an artist when it was read (Deezer's nb_fan and nb_album,
    # Spotify's followers, an import column), and when (ISO UTC): the artist context of
    # core.learning.context.
    """
    ALTER TABLE artists ADD COLUMN fans INTEGER;
    ALTER TABLE artists ADD COLUMN albums INTEGER;
    ALTER TABLE artists ADD COLUMN context_read_at TEXT;
    """,
    # Uploads kept in the home for the Score page's list and the history (core.songs.uploads).
    """
    CREATE TABLE uploads (
        sha256 TEXT PRIMARY KEY,
        file_name TEXT NOT NULL,
        extension TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        listed INTEGER NOT NULL DEFAULT 1,
        position INTEGER NOT NULL,
        kept_at TEXT NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Database:
    """One connection to the catalog file, migrated to ``SCHEMA_VERSION`` when opened. Close
    it (or use ``with``)."""

    def __init__(self, path: Path):
        self.path = path
        self.data_dir = path.parent
        try:
            self.conn = self._connect()
        except (sqlite3.Error, DiskFull) as error:
            damaged = damaged_catalog(error, path)
            if damaged is not None:
                raise damaged from error
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

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
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
