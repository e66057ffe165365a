"""Every failure a user can cause or meet, as one typed family.

Each error carries two sentences: what is wrong, and what to do about it. The CLI prints
``str(error)`` on one line and exits with status 2; pages show it in an error box.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path


class HitlensError(Exception):
    """An expected failure with a message meant for the user."""

    def __init__(self, problem: str, advice: str):
        super().__init__(problem, advice)
        self.problem = problem
        self.advice = advice

    def __str__(self) -> str:
        return f"{self.problem} {self.advice}"


class UsageError(HitlensError):
    """A bad option or argument."""


class CatalogMissing(HitlensError):
    """No catalog database exists yet."""


class AudioError(HitlensError):
    """A file that cannot become a model input."""


class UnsupportedFormat(AudioError):
    pass


class UnreadableAudio(AudioError):
    """Corrupt, truncated, or not audio at all (a text file renamed .mp3)."""


class AudioTooShort(AudioError):
    """Empty, or shorter than the minimum length."""


class AudioTooLong(AudioError):
    pass


class SilentAudio(AudioError):
    pass


class DiskFull(HitlensError):
    """The disk refused a write: no space left, a quota or a file-size limit. What was already
    stored is intact (database writes are transactions, files are renamed into place)."""


# SQLite's primary result codes for "the write did not reach the disk": SQLITE_FULL, and
# SQLITE_IOERR, which a full disk also gives where SQLite cannot tell (growing the -shm index
# of a WAL database on a full disk is SQLITE_IOERR_SHMSIZE, "disk I/O error").
_SQLITE_FULL, _SQLITE_IOERR = 13, 10
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
NEARLY_FULL_BYTES = 64 * 2**20


def disk_failure(error: BaseException, where: Path) -> DiskFull | None:
    """The one-line error for ``error`` when it means the disk under ``where`` refused a
    write (an ``OSError`` ENOSPC, EDQUOT or EFBIG; SQLite's SQLITE_FULL or SQLITE_IOERR);
    None for anything else."""
    full = False
    if isinstance(error, OSError) and error.errno in _FULL_ERRNOS | {errno.EFBIG}:
        full = error.errno in _FULL_ERRNOS
        cause = error.strerror or str(error)
    elif isinstance(error, sqlite3.Error) and _primary_code(error) in (_SQLITE_FULL, _SQLITE_IOERR):
        full = _primary_code(error) == _SQLITE_FULL
        cause = f"{error}, {error.sqlite_errorname}"
    else:
        return None
    if full or _free_bytes(where) < NEARLY_FULL_BYTES:
        return DiskFull(
            f"the disk is full ({where}).",
            "Free some space and run the same command again: everything already stored is intact "
            "and finished work is kept.",
        )
    return DiskFull(
        f"the disk refused a write under {where} ({cause}): it may be over a quota or a file-size limit, or failing.",
        "Free some space or check the disk, then run the same command again: everything already "
        "stored is intact and finished work is kept.",
    )


class CacheEntryDamaged(HitlensError):
    """A cached spectrogram or embedding that cannot be read (cut off, garbage, wrong shape):
    it has been set aside, and the next ``features`` or ``embeddings`` computes it again."""


def damaged_cache_entry(path: Path, command: str) -> CacheEntryDamaged:
    return CacheEntryDamaged(
        f"The cached file {path} could not be read (cut off or damaged); it was set aside.",
        f"Run 'python -m core {command}' to compute it again, then repeat this command.",
    )


class FolderUnwritable(HitlensError):
    """A folder of the home cannot be created: the home points somewhere Hitlens cannot write."""


class CatalogDamaged(HitlensError):
    """The catalog file is not a database, or its pages are damaged (a truncated copy, a
    failing disk, a hand edit). Nothing is changed in it."""


_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


def damaged_catalog(error: BaseException, path: Path) -> CatalogDamaged | None:
    """The one-line error for ``error`` when SQLite says the catalog file ``path`` is damaged
    or not a database (SQLITE_CORRUPT, SQLITE_NOTADB); None for anything else."""
    if not isinstance(error, sqlite3.DatabaseError) or _primary_code(error) not in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return None
    return CatalogDamaged(
        f"The catalog {path} is damaged ({error}); nothing was changed in it.",
        "Move it aside (keep it if it holds collected data you may recover with the sqlite3 tool's .recover) "
        "and build a new one: 'python -m core demo', 'python -m core collect' or 'python -m core import'. "
        "Trained runs in models/ and the caches are kept.",
    )


def _primary_code(error: sqlite3.Error) -> int:
    return (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF


def _free_bytes(where: Path) -> int:
    for folder in (where, *where.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return NEARLY_FULL_BYTES


class TableError(HitlensError):
    """A table to import that cannot be read (empty, binary, badly quoted), whose popularity
    mixes scales, or that has no usable row."""


class CollectError(HitlensError):
    """A data source refused, throttled or could not be reached. Pages already collected
    stay in the catalog; running the same command again resumes."""


class CredentialsMissing(CollectError):
    pass


class AccessDenied(CollectError):
    """Credentials rejected or revoked (401/403), or the app lacks a field the study needs."""


class RateLimited(CollectError):
    """The source asked to wait longer than is worth waiting in one run."""


class NetworkUnavailable(CollectError):
    pass


class Cancelled(Exception):
    """The user cancelled a long job. ``kept`` says what survives: by default nothing of
    the cancelled work (a training run); a collection keeps the pages it committed."""

    def __init__(self, message: str = "", kept: str = "nothing of this run was saved."):
        super().__init__(message)
        self.kept = kept


class PretrainedModelMissing(HitlensError):
    """musicnn's checkpoints are not installed, or a file of them is damaged."""


class VersionsDoNotMatch(HitlensError):
    """Two files given as versions of one song whose audio does not line up: different songs."""


class RunMissing(HitlensError):
    """No trained run to score with, or no run with the id asked for."""


class RunUnreadable(HitlensError):
    """A saved run's metadata or weights cannot be read (deleted, replaced or cut off)."""


class RayUnavailable(HitlensError):
    """``--engine ray`` was chosen but Ray is not installed, or its cluster cannot be reached."""
