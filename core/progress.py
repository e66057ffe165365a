"""Progress reporting. Core functions take callbacks: ``on_progress(done, total)`` for
counted work, ``on_progress(TrainingEvent)`` for training. A command gets a ``Progress`` that
makes them: ``TerminalProgress`` draws terminal bars with rate and ETA,
``core.jobs.JobReporter`` writes a background job's progress to the catalog for the
dashboard, and ``core.setup.SetupProgress`` folds set-up's steps into one overall figure."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Protocol

from tqdm import tqdm

if TYPE_CHECKING:
    from core.learning.training import TrainingEvent


class Progress(Protocol):
    def counter(self, description: str, unit: str = "clip") -> AbstractContextManager[Callable[[int, int], None]]:
        """A ``(done, total)`` callback for counted work, e.g. clips or songs."""
        ...

    def training(self, models: list[str]) -> AbstractContextManager[Callable[[TrainingEvent], None]]:
        """A callback for the training events of ``models``, trained in that order."""
        ...

    def should_cancel(self) -> bool:
        """Whether the user asked the work to stop (between batches or pages)."""
        ...


class TerminalProgress:
    def counter(self, description: str, unit: str = "clip") -> AbstractContextManager[Callable[[int, int], None]]:
        return progress_bar(description, unit)

    def training(self, models: list[str]) -> AbstractContextManager[Callable[[TrainingEvent], None]]:
        return training_progress()

    def should_cancel(self) -> bool:
        return False


TRAINING_SECONDS = {"mlp": 8.5, "cnn1": 27.7, "cnn2": 31.4, "cnn_gru": 294.9}
"""What training each model of the study's run costs on the 2-core reference machine with
nothing else running (fast preset, the whole demo; run 20261206-195958-6318's ``seconds``).
Only their ratios matter to ``training_fraction``: the CNN-GRU is four fifths of the work, so
starting it is not "almost done". Models without epochs (the baseline, musicnn's head, the
models on top) take seconds."""
OTHER_MODEL_SECONDS = 3.0


def training_fraction(models: list[str], event: TrainingEvent) -> float:
    """How much of training ``models`` in turn is done at ``event``, from 0 to 1, each model
    weighted by what it costs to train (``TRAINING_SECONDS``)."""
    epochs_done = event.epoch if event.batch is None else event.epoch - 1 + event.batch / event.batches
    index = models.index(event.model)
    done = training_seconds(models[:index]) + training_seconds([event.model]) * epochs_done / event.epochs
    return done / training_seconds(models)


def training_seconds(models: list[str]) -> float:
    """The reference machine's seconds for training ``models`` on the whole demo."""
    return sum(TRAINING_SECONDS.get(model, OTHER_MODEL_SECONDS) for model in models)


def epoch_payload(event: TrainingEvent) -> dict:
    """An epoch's end as a job event: the model, the epoch and its metrics (the Train page's curves)."""
    return {"model": event.model, "epoch": event.epoch, "epochs": event.epochs, **event.metrics}


BARS_OFF = None
"""tqdm's ``disable``: None draws bars only on a terminal. Redirected to a file or a pipe, a
redrawn bar is a run of carriage-return fragments (``compare ... 2>&1 | cat`` printed them)."""


@contextmanager
def progress_bar(description: str, unit: str = "clip") -> Iterator[Callable[[int, int], None]]:
    bar: tqdm | None = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=description, unit=unit, dynamic_ncols=True, disable=BARS_OFF)
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
def training_progress() -> Iterator[Callable[[TrainingEvent], None]]:
    """A bar per model over all its batches; epoch ends show the validation AUC."""
    bars: dict[str, tqdm] = {}

    def update(event: TrainingEvent) -> None:
        bar = bars.get(event.model)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[event.model] = tqdm(
                total=event.epochs * event.batches,
                desc=f"training {event.model}",
                unit="batch",
                dynamic_ncols=True,
                disable=BARS_OFF,
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
