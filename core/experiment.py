"""One training run end to end: catalog -> split -> features (tracks whose audio gave none are
left out) -> threshold -> scaling -> training -> holdout evaluation -> saved run. The CLI's
``train`` and the dashboard's Retrain job both call ``run_experiment``."""

from __future__ import annotations

import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import asdict
from importlib import metadata

import numpy as np

from core.architectures import PRETRAINED_MODEL
from core.catalog import Catalog
from core.config import REPO_ROOT, Settings, TrainingPreset
from core.database import utc_now
from core.dataset import (
    MinMaxScaling,
    choose_threshold,
    labels,
    leave_out_missing,
    modelling_tracks,
    split_tracks,
)
from core.evaluate import PlattCalibration, evaluate_model
from core.features import FeatureCache, FeatureJob, compute_missing
from core.pretrained.cache import EmbeddingCache, compute_missing_embeddings
from core.pretrained.musicnn import DEFAULT_MODEL
from core.registry import SavedRun, catalog_fingerprint, new_run_id, save_run
from core.training import SEED, TrainingData, TrainingEvent, train_models


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
        compute_missing(jobs, [features], settings, on_progress=on_features)
        cache, embeddings = FeatureCache(settings), EmbeddingCache(settings)
        needed = {"spectrogram": lambda sha: cache.has(sha, features)}
        if PRETRAINED_MODEL in models:
            compute_missing_embeddings(jobs, [DEFAULT_MODEL], settings, on_progress=on_embeddings)
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
            models, data, preset, epochs=epochs, on_progress=on_progress, should_cancel=should_cancel
        )
        metrics = {
            name: evaluate_model(data.holdout[1], r.holdout_probabilities, data.test[1], r.test_probabilities)
            for name, r in results.items()
        }
        meta = {
            "id": new_run_id(),
            "created_at": utc_now(),
            "models": models,
            "training_preset": preset.name,
            "feature_preset": asdict(features),
            "split": split,
            "threshold": {"rule": threshold_rule, "value": threshold, "scale": summary.popularity_scale},
            "scaling": asdict(scaling),
            "seed": SEED,
            "epochs_requested": epochs,
            "synthetic": summary.synthetic,
            "quick_start": quick_start,  # set-up's provisional first run, on part of the demo
            "catalog": {"source": summary.source, "tracks": len(tracks), "fingerprint": catalog_fingerprint(tracks)},
            "left_out": left_out,  # tracks without a spectrogram (or embedding), by what they lacked
            "split_sizes": {name: len(part) for name, part in parts.parts().items()},
            "positive_rate": {name: float(labels(part, threshold).mean()) for name, part in parts.parts().items()},
            "split_members": {name: part["source_id"].tolist() for name, part in parts.parts().items()},
            "dummy_positive_rate": float(np.mean(data.train[1])),
            "history": {name: r.history for name, r in results.items()},
            "epochs_run": {name: r.epochs_run for name, r in results.items()},
            "seconds": {name: round(r.seconds, 2) for name, r in results.items()},
            "version": project_version(),
            "commit": git_commit(),
            "metrics": metrics,
            # Calibrated probabilities of the tracks no model trained on (test and holdout):
            # the reference a new song's percentile is read against.
            "reference_probabilities": {
                name: PlattCalibration(**metrics[name]["calibration"])
                .apply(np.array(r.test_probabilities + r.holdout_probabilities))
                .round(4)
                .tolist()
                for name, r in results.items()
            },
        }
        fitted = {name: r.model for name, r in results.items() if name != "dummy"}
        return save_run(settings, catalog, meta, fitted, activate=activate, replacing=replacing)


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
