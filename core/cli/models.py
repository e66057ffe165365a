"""Training and judging runs: ``train``, ``runs`` and ``evaluate``."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from core.config import engine, settings, training_preset
from core.progress import Progress
from core.wording import (
    bootstrap_intervals,
    catalog_label,
    context_inputs,
    default_threshold_rule,
    regression_summary,
    with_interval,
)

if TYPE_CHECKING:
    import pandas as pd

    from core.learning.registry import RunMeta


def nothing_to_train(args: argparse.Namespace, runs: pd.DataFrame) -> bool:
    """Whether ``train`` with ``args`` has nothing to do, given the saved ``runs``: with
    ``--if-missing``, a quick-start run when any run exists, else a run with every audio model asked for."""
    from core.learning.registry import has_trained_run
    from core.learning.training import parse_models

    if not args.if_missing:
        return False
    return not runs.empty if args.quick_start else has_trained_run(runs, parse_models(args.models))


def train(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog.store import Catalog
    from core.learning.dataset import left_out_note
    from core.learning.registry import active_run_id, list_runs, replaceable_setup_run
    from core.learning.training import audio_models, parse_models

    config = settings()
    models = parse_models(args.models)
    preset = training_preset(args.preset)
    chosen = engine(args.engine)  # where the Keras models train
    with Catalog.open(config) as catalog:
        runs = list_runs(config, catalog)
        if nothing_to_train(args, runs):
            print("a trained run exists; nothing to do")
            return 0
        replacing = replaceable_setup_run(runs) if args.setup_run else None
        scale = catalog.summary().popularity_scale
    from core.learning.evaluate import holdout_table
    from core.learning.experiment import run_experiment  # loads TensorFlow: only now

    threshold = args.threshold or default_threshold_rule(scale)
    with (
        progress.counter(f"spectrograms ({preset.features})") as on_features,
        progress.counter("musicnn embeddings") as on_embeddings,
        progress.training(audio_models(models)) as on_progress,
    ):
        run = run_experiment(
            config,
            models=models,
            preset=preset,
            split=args.split,
            threshold_rule=threshold,
            epochs=args.epochs,
            activate=args.activate,
            replacing=replacing,
            quick_start=args.quick_start,
            setup_run=args.setup_run or args.quick_start,
            engine=chosen,
            on_features=on_features,
            on_embeddings=on_embeddings,
            on_progress=on_progress,
            should_cancel=progress.should_cancel,
        )
    with Catalog.open(config) as catalog:
        active = active_run_id(catalog)
    if active == run.id:
        print(f"run {run.id} saved to {run.path}; it is the active run: songs are scored with it")
    else:
        scored = "no run is active yet" if active is None else f"songs are still scored with run {active}"
        print(f"run {run.id} saved to {run.path}; {scored} (score with it: 'python -m core runs --activate {run.id}')")
    print(f"trained on {run.meta.device}")
    computed = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in run.meta.computed_first.items() if n)
    if computed:
        print(f"computed before training ({computed}): they were missing, or damaged and set aside")
    left_out = left_out_note(run.meta.left_out)
    if left_out:
        print(left_out)
    _print_table(holdout_table(run.meta), run.meta)
    return 0


def runs(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog.store import Catalog
    from core.learning.architectures import DISPLAY_NAMES
    from core.learning.registry import BEST_MODEL_RULE, run_summaries, set_active

    config = settings()
    with Catalog.open(config) as catalog:
        if args.activate:
            set_active(config, catalog, args.activate)
            print(f"run {args.activate} is now active: songs are scored with it")
            return 0
        summaries = run_summaries(config, catalog)
    if args.json:
        print(json.dumps([s.as_dict() for s in summaries], indent=2))
        return 0
    if not summaries:
        print("no saved runs yet: train one with 'python -m core train' or on the Train page")
        return 0
    print(f"{'':2}{'id':<22} {'created (UTC)':<20} {'split':<7} {'preset':<6} {'best model':<10} best holdout ROC-AUC")
    for s in summaries:
        created = s.created[:19].replace("T", " ")
        mark = "*" if s.active else " "
        if s.damaged is not None:
            print(f"{mark:2}{s.id:<22} {created:<20} {s.split:<7} {s.preset:<6} DAMAGED: {s.damaged}")
            continue
        auc = with_interval(s.best_auc, s.best_auc_ci, digits=2)
        assert s.best_model is not None, "a run that can score has a best model"
        best = DISPLAY_NAMES[s.best_model] + ("" if s.best_model_crowned else "†")
        print(f"{mark:2}{s.id:<22} {created:<20} {s.split:<7} {s.preset:<6} {best:<10} {auc}")
    print("* active: songs are scored with it. Switch with 'python -m core runs --activate ID'.")
    print(f"{BEST_MODEL_RULE}.")
    if not all(s.best_model_crowned for s in summaries if s.damaged is None):
        print("† no model of that run beats the majority-class baseline: this is only its default for scoring.")
    return 0


def evaluate(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog.store import Catalog
    from core.learning.evaluate import holdout_table
    from core.learning.registry import list_runs, load_run

    config = settings()
    with Catalog.open(config) as catalog:
        if args.list:
            runs = list_runs(config, catalog)
            print(runs.to_json(orient="records") if args.json else runs.to_string(index=False))
            return 0
        run = load_run(config, catalog, args.run)
    table = holdout_table(run.meta)
    if args.json:
        print(json.dumps(table, indent=2))
    else:
        _print_table(table, run.meta)
    return 0


def _print_table(table: list[dict], meta: RunMeta) -> None:
    from core.learning.architectures import DISPLAY_NAMES, REGRESSION_MODEL

    data = catalog_label(meta.synthetic, meta.catalog.source)
    print(
        f"Holdout results, run {meta.id}: {meta.split} split, {table[0]['n']} holdout tracks, "
        f"threshold {meta.threshold.value:g}, {data}. Brackets: {bootstrap_intervals(meta.bootstrap_unit)}."
    )
    print(f"{'model':<15} {'accuracy':<22} {'ROC-AUC':<22} {'Brier (calibrated)':>18}")
    for row in table:
        if row["model"] == REGRESSION_MODEL:
            continue
        accuracy = with_interval(row["accuracy"], row["accuracy_ci"])
        auc = with_interval(row["roc_auc"], row["roc_auc_ci"])
        print(f"{DISPLAY_NAMES[row['model']]:<15} {accuracy:<22} {auc:<22} {row['brier_calibrated']:>18.3f}")
    for line in _context_lines(meta):
        print(line)


def _context_lines(meta: RunMeta) -> list[str]:
    """What feeds the audio + context model and how the regression did, for the terminal."""
    from core.learning.architectures import DISPLAY_NAMES

    if meta.context_audio_model is None:
        return []
    lines = [f"audio + context and the regression: {context_inputs(meta)}."]
    if meta.regression_metrics is not None:
        lines.append(f"popularity regression: {regression_summary(meta.regression_metrics, meta.threshold.scale)}.")
    if meta.regression_metrics_audio is not None:
        audio = DISPLAY_NAMES[meta.context_audio_model]
        summary = regression_summary(meta.regression_metrics_audio, meta.threshold.scale)
        lines.append(f"the same on {audio}'s probability alone (artist unknown): {summary}.")
    return lines
