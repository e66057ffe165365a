"""Progress reporting. Core functions take callbacks: ``on_progress(done, total)`` for
counted work, ``on_progress(TrainingEvent)`` for training. ``TerminalProgress`` turns them
into terminal progress bars with rate and ETA; ``core.jobs.JobReporter`` has the same two
methods and writes them to the catalog for the dashboard."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm


class TerminalProgress:
    def counter(self, description: str, unit: str = "clip"):
        return progress_bar(description, unit)

    def training(self, models: list[str]):
        return training_progress()

    def should_cancel(self) -> bool:
        return False


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
        if done >= total:
            bar.close()

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


@contextmanager
def training_progress() -> Iterator[Callable]:
    """A bar per model over all its batches; epoch ends show the validation AUC."""
    bars: dict[str, tqdm] = {}

    def update(event) -> None:
        bar = bars.get(event.model)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[event.model] = tqdm(
                total=event.epochs * event.batches, desc=f"training {event.model}", unit="batch", dynamic_ncols=True
            )
        if event.batch is None:
            bar.set_postfix_str(
                f"epoch {event.epoch}/{event.epochs} val AUC {event.metrics.get('val_auc', float('nan')):.3f}"
            )
        else:
            bar.n = (event.epoch - 1) * event.batches + event.batch
            bar.refresh()

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.close()


def describe_duration(seconds: float) -> str:
    """'45 s', '12 min', '9 h 05 min': a wait or a time left, as a person says it."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
