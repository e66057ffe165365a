"""Native libraries' notes on standard error, silenced where they are written: TensorFlow's
start-up lines while it is imported, libmpg123's resync notes while a file is decoded.

Importing TensorFlow loads C++ libraries that write to the process's standard error (file
descriptor 2, below Python's ``sys.stderr``) before any logging is set up. Where oneDNN is on
(TensorFlow turns it on by itself on some x86 CPUs, an AMD EPYC machine among them) they print
absl's "WARNING: All log messages before absl::InitializeLog() is called are written to
STDERR" and "oneDNN custom operations are on ..." twice, whatever ``TF_CPP_MIN_LOG_LEVEL``
says. Turning oneDNN off would silence them but changes TensorFlow's arithmetic and speed, so
instead the descriptor points at the null device for the import alone and is restored after
it: what TensorFlow says once running (and any exception the import raises) still reaches the
user. ``install`` puts a finder on ``sys.meta_path`` so this holds whichever module imports
TensorFlow first (Keras, musicnn's graph, a pool worker), without importing it eagerly.

Descriptor 2 belongs to the whole process, and the dashboard decodes on several threads: the
first thread in points it at the null device and the last one out restores it (a count under a
lock), so overlapping blocks never leave it silenced.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

QUIET_MODULE = "tensorflow"


_lock = threading.Lock()
_inside = 0  # blocks open now, across threads
_saved: int | None = None  # the real descriptor 2 while silenced


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 points at the null device inside the block (in every thread while
    any thread is inside one)."""
    global _inside, _saved
    with _lock:
        if _inside == 0:
            sys.stderr.flush()
            _saved = os.dup(2)
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 2)
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _saved is not None:
                os.dup2(_saved, 2)
                os.close(_saved)
                _saved = None


class _QuietLoader(importlib.abc.Loader):
    """Loads the module as its own loader would, with native standard error silenced."""

    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with native_stderr_silenced():
            self.loader.exec_module(module)


class _QuietImportFinder(importlib.abc.MetaPathFinder):
    """Finds ``QUIET_MODULE`` as the other finders would, and hands back a quiet loader."""

    def find_spec(self, fullname: str, path, target=None) -> importlib.machinery.ModuleSpec | None:
        if fullname != QUIET_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Silence TensorFlow's start-up lines in this process (once; a no-op if it is loaded)."""
    if QUIET_MODULE in sys.modules or any(isinstance(f, _QuietImportFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietImportFinder())
