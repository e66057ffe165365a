"""The one path that writes tracks into the catalog, and the records it writes.

Insert-time deduplication follows the study (see ``core.catalog.dedup``): a row already present
(same source and source id) is updated, not added twice; a row whose preview URL another
row already has, or whose (name, duration, popularity) another row already has, is skipped.
Rows without a preview are kept (the Dataset page compares them) and left out of training.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.catalog.database import utc_now

POPULARITY_SCALES = {
    "spotify": "Spotify popularity, 0-100",
    "deezer_rank": "Deezer rank, 0 to about 1,000,000",
}


@dataclass(frozen=True)
class ArtistRef:
    """A credited artist, and what the source said about them when read (``read_at``, ISO
    UTC): their fan or follower count and number of albums, None where it said nothing."""

    source_id: str
    name: str
    fans: int | None = None
    albums: int | None = None
    read_at: str | None = None


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


def write_tracks(
    conn: sqlite3.Connection,
    records: Iterable[TrackRecord],
    *,
    replace: bool = False,
    meta: dict[str, str] | None = None,
    collection: tuple[str, dict, dict] | None = None,
) -> InsertReport:
    """Write ``records`` inside the caller's transaction on ``conn``. With ``replace`` every
    track, artist, catalog-level fact and collection cursor goes first (jobs, runs and scores
    stay) and ``meta`` holds the new catalog-level facts; then each record is inserted or
    updated under the insert-time rules; a ``collection`` (source, params, cursor) then
    records where that collection stopped. An unknown popularity scale raises ``ValueError``."""
    report = InsertReport()
    if replace:
        for table in ("track_artists", "tracks", "artists", "meta", "collections"):
            conn.execute(f"DELETE FROM {table}")
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", (meta or {}).items())
    for record in records:
        _add_track(conn, record, report)
    if collection:
        source, params, cursor = collection
        conn.execute(
            "INSERT INTO collections (source, params, cursor, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (source) DO UPDATE SET params = excluded.params, cursor = excluded.cursor, "
            "updated_at = excluded.updated_at",
            (source, json.dumps(params, sort_keys=True), json.dumps(cursor), utc_now()),
        )
    return report


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


def _add_track(conn: sqlite3.Connection, record: TrackRecord, report: InsertReport) -> None:
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
        for artist in record.artists:  # a fresher reading of an already credited artist
            _store_reading(conn, record.source, artist)
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
        artist_id = _artist_id(conn, record.source, artist)
        conn.execute(
            "INSERT OR IGNORE INTO track_artists (track_id, artist_id, position) VALUES (?, ?, ?)",
            (track_id, artist_id, position),
        )
    report.inserted += 1


def _artist_id(conn: sqlite3.Connection, source: str, artist: ArtistRef) -> int:
    conn.execute(
        "INSERT INTO artists (source, source_id, name) VALUES (?, ?, ?) "
        "ON CONFLICT (source, source_id) DO UPDATE SET name = excluded.name",
        (source, artist.source_id, artist.name),
    )
    _store_reading(conn, source, artist)
    return conn.execute(
        "SELECT id FROM artists WHERE source = ? AND source_id = ?", (source, artist.source_id)
    ).fetchone()[0]


def _store_reading(conn: sqlite3.Connection, source: str, artist: ArtistRef) -> None:
    """Keep the newest reading of the artist's context: one that knows fans or albums replaces
    the stored one unless that was read later; a value the new reading lacks stays as it was."""
    if artist.fans is None and artist.albums is None:
        return
    conn.execute(
        "UPDATE artists SET fans = coalesce(:fans, fans), albums = coalesce(:albums, albums), "
        "context_read_at = :read_at WHERE source = :source AND source_id = :source_id "
        "AND (context_read_at IS NULL OR context_read_at <= :read_at)",
        {
            "fans": artist.fans,
            "albums": artist.albums,
            "read_at": artist.read_at or utc_now(),
            "source": source,
            "source_id": artist.source_id,
        },
    )
