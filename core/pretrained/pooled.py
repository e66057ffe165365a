"""Every cached clip's pooled embedding and mean tags in one file, so that "sounds like", a
run's domain and the Dataset page's map read one file instead of one per clip: reading the
demo's 886 files took 1.2 s of every cold ``score`` and of the Map tab's first opening.

``data/embeddings/<model>-<key>/pooled.npz`` holds, for each clip, its SHA-256, the size and
modification time of its own cache file when it was read, its pooled embedding and its mean
tags. A row is used only while its clip's file is unchanged; a new, rewritten or damaged file
is read again through ``EmbeddingCache`` (which sets a damaged one aside), and the index is
rewritten atomically when anything was read again. An unreadable index is read as empty and
rewritten: it only ever repeats what the clips' own files hold.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Iterable

import numpy as np

from core.errors import CacheEntryDamaged
from core.files import atomic_write_bytes
from core.pretrained.cache import EmbeddingCache

INDEX_NAME = "pooled.npz"

Pooled = tuple[np.ndarray, np.ndarray]  # (pooled embedding, mean tags) of one clip
_Row = tuple[tuple[int, int], np.ndarray, np.ndarray]  # (file size, mtime in ns), pooled, mean tags


def read_pooled(cache: EmbeddingCache, sha256s: Iterable[str], model: str) -> dict[str, Pooled]:
    """(pooled embedding, mean tags) of each clip in ``sha256s`` with a readable cached entry."""
    index_path = cache.folder(model) / INDEX_NAME
    index = _read_index(index_path)
    found: dict[str, Pooled] = {}
    changed = False
    for sha in sha256s:
        try:
            stat = cache.path(sha, model).stat()
        except FileNotFoundError:
            continue
        stamp = (stat.st_size, stat.st_mtime_ns)
        row = index.get(sha)
        if row is not None and row[0] == stamp:
            found[sha] = (row[1], row[2])
            continue
        if not cache.has(sha, model):  # garbage: set aside by has()
            continue
        with contextlib.suppress(CacheEntryDamaged):  # set aside by load(); the clip counts as missing
            outputs = cache.load(sha, model)
            found[sha] = (outputs.pooled(), outputs.tags.mean(axis=0))
            index[sha] = (stamp, *found[sha])
            changed = True
    if changed:
        _write_index(index_path, index)
    return found


def _read_index(path) -> dict[str, _Row]:
    try:
        with np.load(path, allow_pickle=False) as stored:
            shas, sizes, times = stored["sha256"], stored["size"], stored["mtime_ns"]
            pooled, tags = stored["pooled"], stored["tags"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return {}  # none yet, or unreadable: rebuilt from the clips' own files
    return {
        str(sha): ((int(size), int(time)), pooled[row], tags[row])
        for row, (sha, size, time) in enumerate(zip(shas, sizes, times, strict=True))
    }


def _write_index(path, index: dict[str, _Row]) -> None:
    rows = list(index.items())
    buffer = io.BytesIO()
    np.savez(
        buffer,
        sha256=np.array([sha for sha, _ in rows], dtype="<U64"),
        size=np.array([row[0][0] for _, row in rows], dtype=np.int64),
        mtime_ns=np.array([row[0][1] for _, row in rows], dtype=np.int64),
        pooled=np.stack([row[1] for _, row in rows]).astype(np.float32),
        tags=np.stack([row[2] for _, row in rows]).astype(np.float32),
    )
    atomic_write_bytes(path, buffer.getvalue())
