"""One training run end to end: catalog -> split -> features (tracks whose audio gave none are
left out) -> threshold -> scaling -> training -> holdout evaluation -> the models on top of the
best audio model (audio + context, the popularity regression) -> saved run. The CLI's
``train`` and the dashboard's Retrain job both call ``run_experiment``."""

from __future__ import annotations

import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import asdict
from importlib import metadata

import numpy as np
from sklearn.metrics import roc_auc_score

from core.audio.features import FeatureCache, FeatureJob, compute_missing
from core.catalog.database import utc_now
from core.catalog.store import Catalog
from core.config import REPO_ROOT, Settings, TrainingPreset
from core.learning.architectures import CONTEXT_MODEL, FEEDING_MODELS, PRETRAINED_MODEL, REGRESSION_MODEL
from core.learning.context import CatalogContext
from core.learning.dataset import (
    MinMaxScaling,
    Split,
    choose_threshold,
    labels,
    leave_out_missing,
    modelling_tracks,
    split_tracks,
)
from core.learning.evaluate import BOOTSTRAP_RESAMPLES, PlattCalibration, evaluate_model, paired_auc_gain
from core.learning.popularity import ContextModels, SplitInputs, regression_metrics
from core.learning.registry import SavedRun, catalog_fingerprint, new_run_id, save_run
from core.learning.training import (
    SEED,
    ModelResult,
    TrainingData,
    TrainingEvent,
    audio_models,
    train_models,
    training_device,
)
from core.pretrained.cache import EmbeddingCache, compute_missing_embeddings
from core.pretrained.musicnn import DEFAULT_MODEL


def run_experiment(
    settings: Settings,
    *,
    models: list[str],
    preset: TrainingPreset,
    split: str = "random",
    threshold_rule: str = "study",
    epochs: int | None = None,
    activate: str = "if-none",
    replacing: str | None = None,
    quick_start: bool = False,
    setup_run: bool = False,
    engine: str = "local",
    on_features: Callable[[int, int], None] | None = None,
    on_embeddings: Callable[[int, int], None] | None = None,
    on_progress: Callable[[TrainingEvent], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> SavedRun:
    features = preset.feature_preset()
    with Catalog.open(settings) as catalog:
        tracks = modelling_tracks(catalog)
        summary = catalog.summary()
        parts = split_tracks(tracks, split)
        jobs = [
            FeatureJob(sha, catalog.audio_file(path))
            for sha, path in tracks[["audio_sha256", "audio_path"]].itertuples(index=False)
        ]
        # What is missing, or was damaged and set aside by the caches' checks, is computed first.
        computed = {"spectrogram": compute_missing(jobs, [features], settings, on_progress=on_features).computed}
        cache, embeddings = FeatureCache(settings), EmbeddingCache(settings)
        needed = {"spectrogram": lambda sha: cache.has(sha, features)}
        if PRETRAINED_MODEL in models:
            report = compute_missing_embeddings(jobs, [DEFAULT_MODEL], settings, on_progress=on_embeddings)
            computed["embedding"] = report.computed
            needed["embedding"] = lambda sha: embeddings.has(sha, DEFAULT_MODEL)
        # A clip whose audio is missing or unreadable has no spectrogram: train without it.
        parts, left_out = leave_out_missing(parts, needed)
        threshold = choose_threshold(parts.train, threshold_rule)
        train_shas = parts.train["audio_sha256"].tolist()
        scaling = MinMaxScaling.fit(cache.load(sha, features) for sha in dict.fromkeys(train_shas))
        data = TrainingData(
            cache=cache,
            preset=features,
            scaling=scaling,
            train=(train_shas, labels(parts.train, threshold)),
            test=(parts.test["audio_sha256"].tolist(), labels(parts.test, threshold)),
            holdout=(parts.holdout["audio_sha256"].tolist(), labels(parts.holdout, threshold)),
            embeddings=embeddings,
        )
        results = train_models(
            audio_models(models),
            data,
            preset,
            epochs=epochs,
            engine=engine,
            on_progress=on_progress,
            should_cancel=should_cancel,
        )
        groups = parts.holdout_groups()
        metrics = {
            name: evaluate_model(
                data.holdout[1], r.holdout_probabilities, data.test[1], r.test_probabilities, groups=groups
            )
            for name, r in results.items()
        }
        # Calibrated probabilities of the tracks no model trained on (test and holdout): the
        # reference a new song's percentile is read against.
        reference = {
            name: _reference(metrics[name], r.test_probabilities + r.holdout_probabilities)
            for name, r in results.items()
        }
        on_top = {}
        if CONTEXT_MODEL in models or REGRESSION_MODEL in models:
            context = CatalogContext.read(catalog)
            split_labels = {part: getattr(data, part)[1] for part in ("train", "test", "holdout")}
            on_top = fit_models_on_top(models, results, metrics, reference, parts, split_labels, context)
        meta = {
            "id": new_run_id(),
            "created_at": utc_now(),
            "models": list(results),  # the audio models; those fitted on top are on_top's entries
            "training_preset": preset.name,
            "feature_preset": asdict(features),
            "split": split,
            "bootstrap_unit": parts.bootstrap_unit,  # what every holdout interval resampled
            "threshold": {"rule": threshold_rule, "value": threshold, "scale": summary.popularity_scale},
            "scaling": asdict(scaling),
            "seed": SEED,
            "epochs_requested": epochs,
            "synthetic": summary.synthetic,
            "quick_start": quick_start,  # set-up's provisional first run, on part of the demo
            "setup_run": setup_run,  # trained by set-up: set-up's next run may take its place as the active one
            "catalog": {"source": summary.source, "tracks": len(tracks), "fingerprint": catalog_fingerprint(tracks)},
            "left_out": left_out,  # tracks without a spectrogram (or embedding), by what they lacked
            "computed_first": computed,  # clips computed before training: missing, or damaged and set aside
            "split_sizes": {name: len(part) for name, part in parts.parts().items()},
            "positive_rate": {name: float(labels(part, threshold).mean()) for name, part in parts.parts().items()},
            "split_members": {name: part["source_id"].tolist() for name, part in parts.parts().items()},
            "dummy_positive_rate": float(np.mean(data.train[1])),
            "history": {name: r.history for name, r in results.items()},
            "epochs_run": {name: r.epochs_run for name, r in results.items()},
            "seconds": {name: round(r.seconds, 2) for name, r in results.items()},
            "version": project_version(),
            "commit": git_commit(),
            "device": _device(results),
            "metrics": metrics,
            "reference_probabilities": reference,
            **on_top,
        }
        fitted = {name: r.model for name, r in results.items() if name != "dummy"}
        run = save_run(settings, catalog, meta, fitted, activate=activate, replacing=replacing)
        run.load_model(run.meta.best_model)  # converted for LiteRT now, with TensorFlow loaded: not at a first score
        return run


def _device(results: dict[str, ModelResult]) -> str:
    """Where the run's models trained: this process's device, or the Ray tasks' devices."""
    remote = sorted({result.device for result in results.values() if result.device})
    return f"Ray tasks on {'; '.join(remote)}" if remote else training_device()


def _reference(metrics: dict, probabilities: list[float] | np.ndarray) -> list[float]:
    """``probabilities`` calibrated as ``metrics`` (``evaluate_model``'s) says, rounded to keep run.json small."""
    return PlattCalibration(**metrics["calibration"]).apply(np.asarray(probabilities)).round(4).tolist()


def fit_models_on_top(
    models: list[str],
    results: dict[str, ModelResult],
    metrics: dict[str, dict],
    reference: dict[str, list[float]],
    parts: Split,
    split_labels: dict[str, np.ndarray],
    context: CatalogContext,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> dict:
    """Fit ``context`` and ``regression`` (those of ``models``) on the training split, fed by the
    audio model with the highest test-split ROC-AUC (never chosen by the holdout) through its
    test-split calibration, and measure them on the holdout: the classifier's figures go into
    ``metrics`` and ``reference`` like any model's; the run.json entries are returned.
    ``results`` hold each audio model's probabilities of ``parts``' rows, in order, and
    ``split_labels`` those rows' labels; every interval is over ``resamples`` bootstrap resamples
    of ``parts.bootstrap_unit``.

    The artist split's holdout artists are new, so no history is known for them: that split's
    models use the fans only; the random and song splits use the history too."""
    test_labels = split_labels["test"]
    feed = max(
        (name for name in results if name in FEEDING_MODELS),
        key=lambda name: _auc_or_zero(test_labels, results[name].test_probabilities),
    )
    calibration = PlattCalibration(**metrics[feed]["calibration"])
    with_history = parts.name != "artist"
    inputs = {
        part: SplitInputs(
            audio=calibration.apply(np.asarray(getattr(results[feed], f"{part}_probabilities"))),
            context=context.features(tracks["id"], with_history=with_history),
            labels=split_labels[part],
            popularity=context.popularity(tracks["id"]),
        )
        for part, tracks in parts.parts().items()
    }
    fitted = ContextModels.fit(
        feed,
        inputs,
        classifier=CONTEXT_MODEL in models,
        regression=REGRESSION_MODEL in models,
        with_history=with_history,
        scale=context.scale,
    )
    test, holdout = inputs["test"], inputs["holdout"]
    groups = parts.holdout_groups()
    entries = fitted.saved()
    if fitted.classifier is not None:
        p_test, p_holdout = (fitted.classifier.predict_proba(s.with_context()) for s in (test, holdout))
        metrics[CONTEXT_MODEL] = evaluate_model(
            holdout.labels, p_holdout, test.labels, p_test, groups=groups, resamples=resamples
        )
        reference[CONTEXT_MODEL] = _reference(metrics[CONTEXT_MODEL], np.concatenate([p_test, p_holdout]))
        gain = paired_auc_gain(holdout.labels, holdout.audio, p_holdout, groups=groups, resamples=resamples)
        entries["context_gain"] = asdict(gain)
    for key, model, x in (
        ("regression_metrics", fitted.regressor, holdout.with_context()),
        ("regression_metrics_audio", fitted.audio_regressor, holdout.audio_only()),
    ):
        if model is not None:
            entries[key] = regression_metrics(
                holdout.popularity, *model.predict(x), model.level, groups=groups, resamples=resamples
            )
    return entries


def _auc_or_zero(labels: np.ndarray, probabilities: list[float]) -> float:
    return float(roc_auc_score(labels, probabilities)) if np.unique(labels).size == 2 else 0.0


def project_version() -> str | None:
    """Hitlens's version: pyproject.toml's in a checkout (an editable install's metadata can be
    stale), else the installed package's; None when neither says."""
    try:
        return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    except (OSError, tomllib.TOMLDecodeError, KeyError):
        pass
    try:
        return metadata.version("hitlens")
    except metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The commit of the checkout this code runs from; None outside a git checkout or without
    git. Never fails a run."""
    if not (REPO_ROOT / ".git").exists():  # an installed copy: a repository above it is not its source
        return None
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None
