"""``setup``: what a fresh install needs, each step the command of the same name."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, cast

from core.config import engine, settings
from core.progress import Progress

if TYPE_CHECKING:
    from core.jobs import JobKind
    from core.setup import SetupStep


def setup(args: argparse.Namespace, progress: Progress) -> int:
    """Each step does nothing when its result exists, so this is cheap once set up."""
    from core.catalog.store import Catalog
    from core.cli import build_parser
    from core.demo import render_counts
    from core.jobs import JobReporter
    from core.learning.registry import active_run_id
    from core.setup import SetupProgress, setup_steps

    chosen = engine(args.engine)  # for its spectrograms and embeddings, as for those commands
    if args.detach:
        from core.jobs import start_job

        job, started = start_job(settings(), "setup", ["setup", "--engine", chosen])
        print(f"set-up job {job.id} {'started' if started else 'already running'}; the dashboard shows its progress")
        return 0
    run_active = False
    if Catalog.exists(settings()):
        with Catalog.open(settings()) as catalog:
            run_active = active_run_id(catalog) is not None
    steps = setup_steps(*render_counts(), run_active=run_active)
    if isinstance(progress, JobReporter):  # a background job: one overall bar, epochs for the Train page's curves
        overall = SetupProgress(steps, progress.progress, progress.event, progress.should_cancel)
    else:
        overall = SetupProgress(steps, _print_setup_line)
    for index, step in enumerate(steps):
        overall.start(index)
        if step.background:
            _start_in_background(step)
            overall.finish()
            continue
        engine_option = ["--engine", chosen] if step.kind in ("features", "embeddings") else []
        step_args = build_parser().parse_args([*step.argv, *engine_option])
        status = step_args.handler(step_args, overall)
        if status:
            return status
        overall.finish()
    return 0


def _start_in_background(step: SetupStep) -> None:
    """Start ``step``'s command as a job of its own (the dashboard shows its progress), unless it
    would have nothing to do."""
    from core.catalog.store import Catalog
    from core.cli import build_parser
    from core.cli.models import nothing_to_train
    from core.jobs import start_job
    from core.learning.registry import list_runs

    with Catalog.open(settings()) as catalog:
        runs = list_runs(settings(), catalog)
    if nothing_to_train(build_parser().parse_args(list(step.argv)), runs):
        return
    job, started = start_job(settings(), cast("JobKind", step.kind), list(step.argv))
    state = "started" if started else "not started: another training job is running"
    print(f"{step.label}: job {job.id} {state}; the Train page shows its progress")


def _print_setup_line(fraction: float, message: str, _last: list[float] = [0.0]) -> None:  # noqa: B006 (a throttle)
    """Set-up's overall progress in a terminal: a line every 10 s beside the steps' own bars."""
    import time

    if time.monotonic() - _last[0] >= 10:
        _last[0] = time.monotonic()
        print(f"[set-up {fraction:.0%}] {message}", file=sys.stderr)
