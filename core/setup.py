"""What a fresh install needs, in the order that gives a first verdict soonest.

``python -m core setup`` (and ``make run``, as a background job) builds, skipping whatever
exists:

1. the quick-start part of the demo catalog (every eighth song),
2. its spectrograms, 3. its musicnn embeddings (a verdict needs them: they tell whether a song
   is the kind of music the run learned from),
4. a quick-start run (CNN 1 and musicnn's head on that part), made active when no run is: the Score page
   can give a first verdict from here on,
5. the rest of the demo catalog, 6. its spectrograms, 7. its musicnn embeddings,
8. the default run: every model a page needs (``DEFAULT_RUN_MODELS``: all but the CNN-GRU),
   which replaces the quick-start run as the active one unless the user has chosen another
   run meanwhile. Set-up is complete here.
9. the study's comparison: a run of every model, the CNN-GRU included, started as a background
   ``train`` job (the Train page shows its curves); it replaces the default run the same way.
   The CNN-GRU alone takes three times as long as the default run's models together (295 of
   380 s on the 2-core reference machine), and only the Holdout page's comparison needs it.

Each step is the CLI command of the same name. ``SetupProgress`` turns the steps' own
progress into one overall figure weighted by how long each step takes, with an honest "first
verdict in about N min, everything in about M min": the estimates start from per-unit costs
measured on a 2-core machine and are rescaled by how fast the finished steps actually ran.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.demo.build import QUICK_START_EVERY
from core.learning.architectures import MODEL_NAMES
from core.progress import describe_duration, epoch_payload, training_fraction, training_seconds

if TYPE_CHECKING:
    from core.jobs import Job
    from core.learning.training import TrainingEvent


@dataclass(frozen=True)
class SetupStep:
    label: str
    argv: tuple[str, ...]
    seconds: float  # the estimate before anything ran (2 cores, nothing else running)
    first_verdict: bool = False  # the Score page can give a verdict once this step is done
    run: str | None = None  # for a training step: which run it trains (the Train page's curves name it)
    background: bool = False  # started as a background job of its own; set-up does not wait for it

    @property
    def kind(self) -> str:
        """The command it runs: steps of one kind run at one speed on a machine."""
        return self.argv[0]


# Per-unit costs measured on the 2-core reference machine (docs/performance.md, "Set-up").
RENDER_S_PER_SONG = 0.10
SPECTROGRAM_S_PER_CLIP = 0.025
EMBEDDING_S_PER_CLIP = 0.37
TRAINING_STEP_S = 15.0  # TensorFlow's import, the holdout's bootstrap, the models on top, saving
QUICK_START_SHARE = 1 / QUICK_START_EVERY

QUICK_START_MODELS = ("dummy", "cnn1", "musicnn", "context", "regression")
"""musicnn's head costs a second on embeddings the part has anyway; on 95 training tracks either
model may be the better, and the run's best (by its test split) gives the first verdicts. The
baseline costs nothing and lets the pages say when neither beats it."""
DEFAULT_RUN_MODELS = tuple(model for model in MODEL_NAMES if model != "cnn_gru")
"""What every page needs: the study's baseline, MLP and CNNs, musicnn, and the two models on
top. Only the Holdout page's five-model comparison needs the CNN-GRU (the study's run)."""
STUDY_RUN_MODELS = MODEL_NAMES


def setup_steps(songs: int = 887, quick_songs: int = 108, *, run_active: bool = False) -> list[SetupStep]:
    """The steps for a demo of ``songs`` songs whose quick-start part has ``quick_songs``
    (with ``run_active`` a verdict is possible already: no "first verdict" to wait for)."""
    rest = songs - quick_songs
    return [
        SetupStep(
            "Rendering the quick-start part of the demo",
            ("demo", "--if-missing", "--quick-start"),
            quick_songs * RENDER_S_PER_SONG,
        ),
        SetupStep("Spectrograms of the quick-start part", ("features",), quick_songs * SPECTROGRAM_S_PER_CLIP),
        # Before the quick-start run: a verdict needs the run's training clips embedded, to judge
        # whether a song is the kind of music the run learned from (core.pretrained.domain).
        SetupStep("musicnn embeddings of the quick-start part", ("embeddings",), quick_songs * EMBEDDING_S_PER_CLIP),
        SetupStep(
            "Training a quick-start run (CNN 1 and musicnn, with audio + context and the regression on top)",
            ("train", "--models", ",".join(QUICK_START_MODELS), "--if-missing", "--quick-start"),
            TRAINING_STEP_S + training_seconds(list(QUICK_START_MODELS)) * QUICK_START_SHARE,
            first_verdict=not run_active,
            run="quick-start run",
        ),
        SetupStep("Rendering the rest of the demo", ("demo", "--if-missing"), rest * RENDER_S_PER_SONG),
        SetupStep("Spectrograms of the rest", ("features",), rest * SPECTROGRAM_S_PER_CLIP),
        SetupStep("musicnn embeddings of the rest", ("embeddings",), rest * EMBEDDING_S_PER_CLIP),
        SetupStep(
            "Training the default run (every model but the CNN-GRU, with audio + context and the regression)",
            ("train", "--models", ",".join(DEFAULT_RUN_MODELS), "--if-missing", "--setup-run"),
            TRAINING_STEP_S + training_seconds(list(DEFAULT_RUN_MODELS)),
            run="default run",
        ),
        SetupStep(
            "Starting the study's comparison (every model, the CNN-GRU too) as a background job",
            ("train", "--models", "all", "--if-missing", "--setup-run"),
            1.0,
            background=True,
        ),
    ]


def is_study_comparison(job: Job) -> bool:
    """Whether ``job`` is set-up's background training of the study's comparison (set-up's
    other runs train inside the set-up job)."""
    return job.kind == "train" and "--setup-run" in job.args


def study_comparison_note(job_message: str | None) -> str:
    """What a page says of a run without the CNN-GRU while the study's comparison trains."""
    progress = f" (now: {job_message})" if job_message else ""
    return (
        "**The CNN-GRU, the study's fifth model, is still to come**: set-up's study comparison trains every model "
        f"again with it in the background{progress}. When it finishes, its run replaces set-up's default run as the "
        "active one (unless you choose another run meanwhile), and the CNN-GRU's figures appear here."
    )


FIRST_VERDICT_IN = "first verdict in about "
MESSAGE_PARTS = " · "


def first_verdict_wait(message: str | None) -> str | None:
    """How long until a first verdict ("2 min"), read from set-up's progress ``message``; None
    once it no longer says (the first run is trained, or set-up has not reported yet)."""
    part = next((p for p in (message or "").split(MESSAGE_PARTS) if p.startswith(FIRST_VERDICT_IN)), None)
    return None if part is None else part.removeprefix(FIRST_VERDICT_IN)


class SetupProgress:
    """The ``core.progress.Progress`` the steps' commands receive, reporting one overall
    fraction and time left to ``report(fraction, message)`` and training epochs to
    ``event(payload)`` (the Train page's curves).

    Time left: each step's planned seconds times this machine's speed for that kind of step
    (rendering, spectrograms, embeddings, training), measured as the time the work of that kind
    done so far took over the time it was planned to take; a kind not yet measured (20 planned
    seconds of it) runs at the plan's speed. Kinds differ too much to stand in for each other:
    in a tour, rendering 3 times slower than planned made the training look like an hour.
    The quick-start part measures each kind before the rest of the demo needs it. The times
    shown are smoothed (``SMOOTHING_S``): a new measurement moves them over a minute, not at once."""

    SMOOTHING_S = 60.0

    def __init__(
        self,
        steps: list[SetupStep],
        report: Callable[[float, str], None],
        event: Callable[[dict], None] | None = None,
        should_cancel: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.steps = steps
        self.report = report
        self.event = event
        self.should_cancel = should_cancel
        self.clock = clock
        self.actual: list[float | None] = [None] * len(steps)  # seconds each finished step took (0: nothing to do)
        self.current = 0
        self.step_started = clock()
        self.fraction_in_step = 0.0
        self.worked = False  # whether the current step had anything to do
        self.shown: dict[str, tuple[float, float]] = {}  # estimate -> (when shown, finish time shown)

    # --- the steps --------------------------------------------------------------------

    def start(self, index: int) -> None:
        self.current = index
        self.step_started = self.clock()
        self.fraction_in_step = 0.0
        self.worked = False
        self._report(self.steps[index].label)

    def finish(self) -> None:
        """Record the step's real cost (none when it had nothing to do)."""
        self.actual[self.current] = self.clock() - self.step_started if self.worked else 0.0

    def speed(self, kind: str | None = None) -> float:
        """Seconds this machine takes per planned second, from the work (of ``kind``) done so far;
        the plan's own (1.0) until 20 planned seconds of it are done."""
        planned, taken = self._measured(kind)
        return min(max(taken / planned, 0.25), 4.0) if planned >= 20 else 1.0

    def _measured(self, kind: str | None) -> tuple[float, float]:
        """(planned, taken) seconds of the work of ``kind`` (any kind: None) done so far."""
        planned = taken = 0.0
        for index, (step, actual) in enumerate(zip(self.steps, self.actual, strict=True)):
            if kind is not None and step.kind != kind:
                continue
            if actual:
                planned, taken = planned + step.seconds, taken + actual
            elif index == self.current and actual is None and self.worked:
                planned += step.seconds * self.fraction_in_step
                taken += self.clock() - self.step_started
        return planned, taken

    def seconds_left(self, until: int | None = None) -> float:
        """Estimated seconds until step ``until`` (default: the last) is done."""
        last = len(self.steps) - 1 if until is None else until
        left = 0.0
        for index in range(self.current, last + 1):
            if self.actual[index] is not None:
                continue
            remaining = 1.0 - self.fraction_in_step if index == self.current else 1.0
            left += self.steps[index].seconds * remaining * self.speed(self.steps[index].kind)
        return left

    def fraction(self) -> float:
        done = sum(a for a in self.actual if a) + (
            self.clock() - self.step_started if self.actual[self.current] is None else 0.0
        )
        left = self.seconds_left()
        return done / (done + left) if done + left > 0 else 1.0

    def shown_left(self, name: str, left: float) -> float:
        """``left`` seconds as shown for the estimate ``name``: its finish time moves toward the
        new one by the share of ``SMOOTHING_S`` that passed since it was last shown."""
        now = self.clock()
        finish = now + left
        if name in self.shown:
            then, shown_finish = self.shown[name]
            finish = shown_finish + (1.0 - math.exp(-(now - then) / self.SMOOTHING_S)) * (finish - shown_finish)
        self.shown[name] = (now, finish)
        return max(finish - now, 0.0)

    def _report(self, detail: str) -> None:
        first = next((i for i, s in enumerate(self.steps) if s.first_verdict), None)
        parts = [f"step {self.current + 1} of {len(self.steps)}: {detail}"]
        if first is not None and self.current <= first:
            first_left = self.shown_left("first", self.seconds_left(first))
            parts.append(f"{FIRST_VERDICT_IN}{describe_duration(first_left)}")
        parts.append(f"everything in about {describe_duration(self.shown_left('all', self.seconds_left()))}")
        self.report(self.fraction(), MESSAGE_PARTS.join(parts))

    # --- what the commands call -------------------------------------------------------

    @contextmanager
    def counter(self, description: str, unit: str = "clip") -> Iterator[Callable[[int, int], None]]:
        def update(done: int, total: int) -> None:
            if total == 0:  # nothing to do in this step
                return
            self.worked = True
            self.fraction_in_step = done / total
            self._report(f"{description}: {done} of {total} {unit}s")

        yield update

    @contextmanager
    def training(self, models: list[str]) -> Iterator[Callable[[TrainingEvent], None]]:
        def update(event: TrainingEvent) -> None:
            self.worked = True
            self.fraction_in_step = training_fraction(models, event)
            if event.batch is None and self.event is not None:
                self.event({**epoch_payload(event), "run": self.steps[self.current].run})
            self._report(f"training {event.model}: epoch {event.epoch} of {event.epochs}")

        yield update


def time_setup(
    home: Path, report: Callable[[str], None] = print, *, until_first_verdict: bool = False
) -> dict[str, float]:
    """Run set-up from nothing in ``home`` (as ``make run`` does, minus the dashboard) and time
    it: seconds until the first run is active, until a first song is scored with it (a new
    process: the model and the audio loaded from cold, while set-up goes on), until set-up
    ends, and until the study's comparison it leaves training in the background ends (or,
    ``until_first_verdict``, stop set-up at the first verdict). ``python -m core bench setup``
    prints these for docs/performance.md."""
    import subprocess
    import sys

    from core.catalog.store import Catalog
    from core.config import Settings
    from core.jobs import get_job, latest_job
    from core.learning.registry import active_run_id

    settings = Settings(home=home)
    environment = {**os.environ, "HITLENS_HOME": str(home)}
    command = [sys.executable, "-m", "core"]
    started = time.monotonic()
    setup = subprocess.Popen(
        [*command, "setup"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # its own process group: stopped with its workers
    times: dict[str, float] = {}
    while setup.poll() is None and "first_run" not in times:
        if Catalog.exists(settings):
            with Catalog.open(settings) as catalog:
                active = active_run_id(catalog)
                clip = next(iter(catalog.audio_hashes()), None)
            if active and clip is not None:
                times["first_run"] = time.monotonic() - started
                report(f"first run active after {describe_duration(times['first_run'])}")
                subprocess.run(
                    [*command, "score", str(clip[1])], env=environment, stdout=subprocess.DEVNULL, check=True
                )
                times["first_verdict"] = time.monotonic() - started
                report(f"first song scored after {describe_duration(times['first_verdict'])}")
                if until_first_verdict:
                    _stop_group(setup)
                    return times
        time.sleep(1.0)
    if setup.wait() != 0:
        raise RuntimeError(f"set-up failed (exit {setup.returncode}); run 'python -m core setup' to see why")
    times["complete"] = time.monotonic() - started
    report(f"set-up complete after {describe_duration(times['complete'])}")
    study = latest_job(settings, "train")
    if study is not None:
        while get_job(settings, study.id).active:
            time.sleep(1.0)
        times["study_run"] = time.monotonic() - started
        report(f"the study's comparison done after {describe_duration(times['study_run'])}")
    return times


def _stop_group(process) -> None:
    """Stop ``process`` and every worker in its process group, and wait until they are gone."""
    os.killpg(process.pid, signal.SIGTERM)
    process.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
