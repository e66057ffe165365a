"""Training: seconds per epoch and peak memory of each Keras model at both presets."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from core.audio.features import FeatureJob, compute_missing
from core.bench.clips import demo_clips
from core.catalog.store import Catalog
from core.config import FEATURE_PRESETS, Settings


def _epoch_cost(task: tuple[str, str, list[str], list[float], str]) -> tuple[float, int]:
    """Runs in a fresh process: one model, one preset, two epochs on the given clips.
    Returns (seconds of the second epoch, peak resident memory in MiB)."""
    import resource

    from core.audio.features import FeatureCache
    from core.config import TRAINING_PRESETS
    from core.learning.dataset import MinMaxScaling
    from core.learning.training import TrainingData, TrainingEvent, train_models

    model, preset_name, shas, labels, home = task
    preset = TRAINING_PRESETS[preset_name]
    features = preset.feature_preset()
    part = (shas, np.array(labels, dtype=np.float32))
    data = TrainingData(FeatureCache(Settings(home=Path(home))), features, MinMaxScaling(-80.0, 0.0), part, part, part)
    marks: list[float] = []

    def mark_epoch_end(event: TrainingEvent) -> None:
        if event.batch is None:
            marks.append(time.perf_counter())

    train_models([model], data, preset, epochs=2, on_progress=mark_epoch_end)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return marks[1] - marks[0], int(peak_mib)


def bench_train(settings: Settings, clips: int = 200) -> str:
    """Seconds per training epoch of each Keras model at both presets, on the same clips.

    Each measurement runs in a fresh process (so peak memory is that model's own) and times
    the second epoch (the first includes graph tracing). Validation runs on the same clips.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from core.learning.architectures import DISPLAY_NAMES, KERAS_MODELS

    chosen = demo_clips(settings, clips)
    compute_missing([FeatureJob(sha, path) for sha, path in chosen], list(FEATURE_PRESETS.values()), settings)
    shas = [sha for sha, _ in chosen]
    labels = [float(i % 2) for i in range(len(shas))]  # cost does not depend on the labels
    context = multiprocessing.get_context("spawn")
    rows = []
    for model in KERAS_MODELS:
        costs = {}
        for preset in ("study", "fast"):
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                costs[preset] = pool.submit(_epoch_cost, (model, preset, shas, labels, str(settings.home))).result()
        ratio = costs["study"][0] / costs["fast"][0]
        rows.append(
            f"| {DISPLAY_NAMES[model]} | {costs['study'][0]:.1f} | {costs['study'][1]:,} | "
            f"{costs['fast'][0]:.1f} | {costs['fast'][1]:,} | {ratio:.1f}x |"
        )
    return "\n".join(
        [
            f"Training cost on {clips} demo clips (train and validation on the same clips), one run:",
            "",
            "| model | study s/epoch | study peak MiB | fast s/epoch | fast peak MiB | study/fast |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            _default_run_line(settings),
        ]
    )


def _default_run_line(settings: Settings) -> str:
    """How long the active run's training took, as the run itself recorded it."""
    from core.errors import RunMissing
    from core.learning.registry import load_run

    with Catalog.open(settings) as catalog:
        try:
            run = load_run(settings, catalog)
        except RunMissing:
            return "No active run: train one to see the time of a whole run."
    seconds = run.meta.seconds
    epochs = ", ".join(f"{name} {count}" for name, count in run.meta.epochs_run.items() if count)
    return (
        f"Active run {run.id} ({run.meta.training_preset} preset, {run.meta.split} split, "
        f"{run.meta.split_sizes['train']} training tracks): {sum(seconds.values()) / 60:.1f} min of "
        f"training for {len(seconds)} models (epochs run: {epochs})."
    )
