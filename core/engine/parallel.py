"""Process pools for CPU-bound batch work (rendering demo audio, spectrograms, musicnn
embeddings).

Each worker uses one thread: numpy's BLAS is limited to one, and LiteRT interpreters created
in a worker take one (``in_pool_worker``). OpenBLAS otherwise starts a thread per core in
every process, and its spinning threads fight over the cores: measured here, two feature
workers were slower than one until this limit (docs/performance.md, "Feature throughput").

Workers start from a fork server, never by forking the calling process: set-up computes
spectrograms after training its quick-start model in the same process, and a process forked
after TensorFlow has started its threads aborts in abseil's mutex code.

Workers never outlive the process that owns the pool, however it ends (see
``_die_with_owner``), and an exception in the owner (Ctrl-C, a failure) cancels the queued
work and stops the workers at once instead of waiting for every queued item (see
``WorkerPool``).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_in_pool_worker = False
STOP_GRACE_SECONDS = 5.0
"""How long stopped workers get to end on SIGTERM before they are killed."""


def _start_worker(owner_pid: int) -> None:
    """Initializer of every pool worker."""
    from threadpoolctl import threadpool_limits

    global _in_pool_worker
    _in_pool_worker = True
    threadpool_limits(limits=1)
    # Ctrl-C in a terminal reaches every process of the foreground group. The owner decides
    # what an interrupt stops (WorkerPool.__exit__); a worker that took it too would print
    # a traceback from whatever library it was in and break the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_owner(owner_pid)


def _die_with_owner(owner_pid: int) -> None:
    """End this worker when the pool's owner ends, even by SIGKILL or the OOM killer.

    A worker's parent is the fork server, not the owner, and a SIGKILLed owner runs no
    clean-up, so nothing tells its workers: they would wait on their task queue forever
    (about 280 MB each). The fork server exits by itself once no process holds the write
    end of its "alive" pipe; the owner holds one, and so does every worker, which inherits it
    to be able to start processes of its own (ours never do). So each worker

    1. asks the kernel for SIGKILL when its parent, the fork server, exits
       (``PR_SET_PDEATHSIG``), and
    2. closes its copy of the alive pipe, so that the owner's death alone ends the fork
       server, which then takes the workers with it.

    This is kernel-driven: it works while a worker is busy in C code holding the GIL, and
    needs no thread and no polling. Checking the owner after both steps closes the race of
    an owner that died while this worker started (the fork server cannot have exited before
    step 2, so step 1 was armed in time). Outside Linux there is no ``prctl``: a daemon
    thread polls the owner instead.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            _poll_owner_in_thread(owner_pid)
    else:
        _poll_owner_in_thread(owner_pid)
    _close_inherited_alive_pipe()
    if not _alive(owner_pid):
        os._exit(1)


def _close_inherited_alive_pipe() -> None:
    from multiprocessing import forkserver

    server = forkserver._forkserver  # CPython's module-level singleton (3.8 to 3.13)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
        # CPython's private attribute, which typeshed does not declare (read above with getattr).
        server._forkserver_alive_fd = None  # type: ignore[attr-defined]


def _poll_owner_in_thread(owner_pid: int) -> None:
    def watch() -> None:
        while _alive(owner_pid):
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    from core.files import process_alive

    return process_alive(pid)


class WorkerPool(ProcessPoolExecutor):
    """A process pool whose ``with`` block, left by an exception (Ctrl-C included), cancels
    the queued work and ends the workers at once. ``ProcessPoolExecutor`` would run every
    queued item first. What a stopped worker was writing is lost whole: every cache write
    is atomic, and its partial file is removed by the next run."""

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.shutdown(wait=True)
        else:
            self.stop()

    def stop(self) -> None:
        processes = list((self._processes or {}).values())  # private, but stable since 3.2
        self.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        self.shutdown(wait=True)


def in_pool_worker() -> bool:
    """Whether this process is a pool's worker: one of as many processes as there are cores,
    so its compute libraries should use one thread each."""
    return _in_pool_worker


@contextlib.contextmanager
def unordered_results(function: Callable[[Any], Any], tasks: list, workers: int) -> Iterator[Iterator[Any]]:
    """``function`` of each task, in the order they finish: in this process when ``workers``
    is 1, else in a pool of that many workers. The pool lives as long as the ``with`` block,
    so an exception in it (Ctrl-C included) stops the workers before it leaves."""
    if workers == 1:
        yield map(function, tasks)
        return
    with process_pool(workers) as pool:
        futures = [pool.submit(function, task) for task in tasks]
        yield (future.result() for future in as_completed(futures))


def worker_count(requested: int | None, tasks: int) -> int:
    return max(1, min(requested or os.cpu_count() or 1, tasks))


def process_pool(workers: int) -> WorkerPool:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["core.audio.features", "core.demo", "core.pretrained.cache"]
    )  # imported once, not once per worker
    return WorkerPool(max_workers=workers, initializer=_start_worker, initargs=(os.getpid(),), mp_context=context)
