"""Process pools for CPU-bound batch work (rendering demo audio, computing spectrograms).

Each worker limits numpy's BLAS to one thread. OpenBLAS otherwise starts a thread per core
in every process, and its spinning threads fight over the cores: measured here, two
feature workers were slower than one until this limit (see the README's benchmark).

Workers start from a fork server, never by forking the calling process: set-up computes
spectrograms after training its quick-start model in the same process, and a process forked
after TensorFlow has started its threads aborts in abseil's mutex code.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor


def _single_threaded_blas() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def worker_count(requested: int | None, tasks: int) -> int:
    return max(1, min(requested or os.cpu_count() or 1, tasks))


def process_pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["core.features", "core.demo"])  # imported once, not once per worker
    return ProcessPoolExecutor(max_workers=workers, initializer=_single_threaded_blas, mp_context=context)
