"""Songs kept for the Score page: each upload is written once into the home, so that a
browser reload, a later visit or a row of the scored-songs history reopens it without
uploading it again.

The files are ``data/uploads/<sha256><extension>``: one copy per content, whatever it was
called. The catalog's ``uploads`` table holds each one's name, size, and whether it is on the
Score page's list (``listed``, in the order it was put there). "Clear the list" takes songs off
the list and keeps their files for the history; "Remove" deletes a file.

The folder is bounded by ``KEPT_UPLOADS_MB``: past it the files put on the list longest ago go
first, songs off the list before songs on it, and the newest upload always stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.catalog.database import utc_now
from core.catalog.store import Catalog
from core.config import Settings
from core.files import atomic_write_bytes

KEPT_UPLOADS_MB = 2000
"""The most the kept uploads take on disk: ten 200 MB uploads, or a few hundred exported songs."""


@dataclass(frozen=True)
class KeptSong:
    sha256: str
    name: str  # as uploaded last
    size: int  # bytes
    listed: bool  # on the Score page's list
    path: Path


def uploads_dir(settings: Settings) -> Path:
    return settings.data_dir / "uploads"


def keep(catalog: Catalog, settings: Settings, name: str, data: bytes, sha256: str) -> list[str]:
    """Write ``data`` (content hash ``sha256``) into the home once and put it at the end of the
    list under ``name``. Returns the names of the songs let go to stay within the bound."""
    path = _path(settings, sha256, name)
    if not path.exists():
        atomic_write_bytes(path, data)
    with catalog.transaction() as conn:
        conn.execute(
            "INSERT INTO uploads (sha256, file_name, extension, bytes, listed, position, kept_at) "
            "VALUES (?, ?, ?, ?, 1, (SELECT coalesce(max(position), 0) + 1 FROM uploads), ?) "
            "ON CONFLICT (sha256) DO UPDATE SET "
            "file_name = excluded.file_name, listed = 1, position = excluded.position",
            (sha256, name, path.suffix, len(data), utc_now()),
        )
    return _within_bound(catalog, settings, KEPT_UPLOADS_MB * 1024 * 1024, newest=sha256)


def listed(catalog: Catalog, settings: Settings) -> list[KeptSong]:
    """The songs on the Score page's list, in the order they were put there. A file deleted
    behind Hitlens's back is dropped from the list rather than offered."""
    songs = _songs(catalog, settings, "WHERE listed = 1")
    gone = [song for song in songs if not song.path.exists()]
    for song in gone:
        forget(catalog, settings, song.sha256)
    return [song for song in songs if song not in gone]


def kept(catalog: Catalog, settings: Settings, sha256: str) -> KeptSong | None:
    """The kept song with this content, if its file is still there."""
    songs = _songs(catalog, settings, "WHERE sha256 = ?", (sha256,))
    return songs[0] if songs and songs[0].path.exists() else None


def kept_hashes(catalog: Catalog) -> set[str]:
    return {row[0] for row in catalog.conn.execute("SELECT sha256 FROM uploads")}


def list_again(catalog: Catalog, sha256: str) -> None:
    """Put a kept song back at the end of the list (reopened from the history)."""
    with catalog.transaction() as conn:
        conn.execute(
            "UPDATE uploads SET listed = 1, position = (SELECT max(position) + 1 FROM uploads) WHERE sha256 = ?",
            (sha256,),
        )


def clear_list(catalog: Catalog) -> None:
    """Take every song off the list; their files stay, for the history to reopen."""
    with catalog.transaction() as conn:
        conn.execute("UPDATE uploads SET listed = 0")


def forget(catalog: Catalog, settings: Settings, sha256: str) -> None:
    """Delete a kept song's file and its row (its history rows stay, without a file to reopen)."""
    songs = _songs(catalog, settings, "WHERE sha256 = ?", (sha256,))
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM uploads WHERE sha256 = ?", (sha256,))
    for song in songs:
        song.path.unlink(missing_ok=True)


def kept_size(catalog: Catalog) -> tuple[int, int]:
    """(files, bytes) of every kept upload."""
    count, total = catalog.conn.execute("SELECT count(*), coalesce(sum(bytes), 0) FROM uploads").fetchone()
    return int(count), int(total)


def _within_bound(catalog: Catalog, settings: Settings, limit: int, newest: str) -> list[str]:
    """Remove the songs listed longest ago (off the list first) until the rest fit in ``limit``
    bytes; ``newest`` stays whatever its size."""
    candidates = _songs(catalog, settings, "WHERE sha256 != ? ORDER BY listed, position", (newest,))
    _, total = kept_size(catalog)
    let_go = []
    for song in candidates:
        if total <= limit:
            break
        forget(catalog, settings, song.sha256)
        total -= song.size
        let_go.append(song.name)
    return let_go


def _songs(catalog: Catalog, settings: Settings, where: str, params: tuple = ()) -> list[KeptSong]:
    order = "" if "ORDER BY" in where else " ORDER BY position"
    rows = catalog.conn.execute(
        f"SELECT sha256, file_name, extension, bytes, listed FROM uploads {where}{order}", params
    ).fetchall()
    return [
        KeptSong(sha256, name, size, bool(on_list), uploads_dir(settings) / f"{sha256}{extension}")
        for sha256, name, extension, size, on_list in rows
    ]


def _path(settings: Settings, sha256: str, name: str) -> Path:
    extension = Path(name).suffix.lower()
    return uploads_dir(settings) / f"{sha256}{extension if extension.isascii() and len(extension) <= 5 else ''}"
