"""The track catalog: tracks, their credited artists and collection cursors, in the SQLite
file that ``core.catalog.database`` opens and migrates. Tracks are written by ``core.catalog.track_writer``
(which holds the insert-time deduplication rules); the Dataset page's statistics over them
are in ``core.catalog.explore``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.catalog.database import Database
from core.catalog.dedup import normalise_title
from core.catalog.track_writer import InsertReport, TrackRecord, write_tracks
from core.config import Settings
from core.config import settings as current_settings
from core.errors import CatalogMissing
from core.files import ensure_folder


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


class Catalog(Database):
    """The catalog file's tracks. Use ``Catalog.open()``; close it (or use ``with``)."""

    @classmethod
    def open(cls, settings: Settings | None = None, *, create: bool = False) -> Catalog:
        """Open the catalog of ``settings``; with ``create`` make an empty one if none exists."""
        settings = settings or current_settings()
        if not create and not settings.catalog_path.exists():
            raise CatalogMissing(
                f"No catalog at {settings.catalog_path}.",
                "Build the demo catalog with 'python -m core demo' or collect real data with 'python -m core collect'.",
            )
        ensure_folder(settings.data_dir)
        return cls(settings.catalog_path)

    @staticmethod
    def exists(settings: Settings | None = None) -> bool:
        return (settings or current_settings()).catalog_path.exists()

    # --- metadata -------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    # --- writing tracks -------------------------------------------------------------

    def add_tracks(self, records: Iterable[TrackRecord]) -> InsertReport:
        """Insert or update ``records`` in one transaction, applying the insert-time rules."""
        with self.transaction() as conn:
            return write_tracks(conn, records)

    def replace_tracks(self, records: Iterable[TrackRecord], meta: dict[str, str]) -> InsertReport:
        """Swap every track and artist for ``records`` in one transaction (jobs, runs and
        scores stay): readers see the old catalog or the new one, never a mix."""
        with self.transaction() as conn:
            return write_tracks(conn, records, replace=True, meta=meta)

    def commit_page(
        self, records: Iterable[TrackRecord], source: str, params: dict, cursor: dict, *, replace: bool = False
    ) -> InsertReport:
        """One collected page: its tracks and the collection's advanced cursor, in one
        transaction, so a collection resumes exactly after its last committed page. With
        ``replace`` the catalog's tracks (the synthetic demo) are removed in the same step."""
        with self.transaction() as conn:
            return write_tracks(conn, records, replace=replace, collection=(source, params, cursor))

    def collection_cursor(self, source: str, params: dict) -> dict | None:
        """Where the last collection from ``source`` with these ``params`` stopped (None: start)."""
        row = self.conn.execute(
            "SELECT cursor FROM collections WHERE source = ? AND params = ?",
            (source, json.dumps(params, sort_keys=True)),
        ).fetchone()
        return json.loads(row[0]) if row else None

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
        """Every track with its artists: ``primary_artist``, ``artists`` ("A; B") and
        ``primary_artist_fans`` (the primary artist's fans as last read, NULL when unknown)."""
        return pd.read_sql_query(
            """
            SELECT t.*,
                   (SELECT a.name FROM track_artists ta JOIN artists a ON a.id = ta.artist_id
                     WHERE ta.track_id = t.id ORDER BY ta.position LIMIT 1) AS primary_artist,
                   (SELECT a.fans FROM track_artists ta JOIN artists a ON a.id = ta.artist_id
                     WHERE ta.track_id = t.id ORDER BY ta.position LIMIT 1) AS primary_artist_fans,
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


def song_keys(tracks: pd.DataFrame) -> pd.Series:
    """A key shared by every release of the same song: normalised title + primary artist."""
    titles = tracks["name"].map(normalise_title)
    artists = tracks["primary_artist"].fillna("").str.casefold().str.strip()
    return titles + " — " + artists
