"""Progress reporting for the CLI: core functions take an ``on_progress(done, total)``
callback; this turns one into a terminal progress bar with rate and ETA."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def progress_bar(description: str, unit: str = "clip") -> Iterator[Callable[[int, int], None]]:
    bar: tqdm | None = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=description, unit=unit, dynamic_ncols=True)
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()
