"""Crash-safe file writes: write a temporary sibling, flush it to disk, rename it into place.

A rename within one folder is atomic, so a reader sees either the old file or the complete
new one, never a half-written file, whatever kills the writer.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path

import psutil

from core.errors import FolderUnwritable, disk_failure

PARTIAL_MARKER = ".partial-"


def ensure_folder(folder: Path) -> Path:
    """``folder`` with its parents, created where missing; when that is impossible (a home
    under /proc, a read-only disk, no permission), one line that says so instead of a
    ``FileNotFoundError`` or ``PermissionError`` from deep inside a command."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        failure = disk_failure(error, folder)
        if failure is not None:
            raise failure from error
        raise FolderUnwritable(
            f"Hitlens cannot create the folder {folder} ({error.strerror or error}).",
            "Point HITLENS_HOME at a folder you can write to (or leave it unset for the default), "
            "or fix that folder's permissions.",
        ) from error
    return folder


def partial_path(final: Path) -> Path:
    """A sibling named after the writing process and thread, so two threads writing the same
    file (two tracks sharing a preview) never share a partial file."""
    return final.with_name(f"{final.name}{PARTIAL_MARKER}{os.getpid()}.{threading.get_ident()}")


def atomic_write_bytes(final: Path, data: bytes) -> None:
    ensure_folder(final.parent)
    partial = partial_path(final)
    try:
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def atomic_write_text(final: Path, text: str) -> None:
    atomic_write_bytes(final, text.encode("utf-8"))


def remove_stale_partials(root: Path) -> int:
    """Delete partial files under ``root`` whose writing process no longer runs."""
    removed = 0
    if not root.exists():
        return 0
    for path in root.rglob(f"*{PARTIAL_MARKER}*"):
        pid_text = path.name.rsplit(PARTIAL_MARKER, 1)[-1].split(".")[0]
        if pid_text.isdigit() and process_alive(int(pid_text)):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, finished but not yet reaped by its parent, does not)."""
    if pid == os.getpid():
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # ZombieProcess included: where psutil raises it, the process has ended
        return False
    except psutil.AccessDenied:  # another user's process: it exists
        return True


DAMAGED_SUFFIX = ".damaged"


def set_aside(path: Path) -> Path:
    """Rename a cache file that cannot be read to ``<name>.damaged`` beside it: out of the
    way of the next computation, which writes a new one, and kept for whoever wants to look."""
    aside = path.with_name(path.name + DAMAGED_SUFFIX)
    with contextlib.suppress(FileNotFoundError):  # another process set it aside first
        os.replace(path, aside)
    return aside
