"""Saved runs: ``models/<run_id>/`` holds every model's weights and everything needed to
use and judge them (feature preset, split, threshold, scaling, history, metrics, the
catalog's fingerprint).

A run is written into a partial folder and renamed into place once complete, then indexed
in the catalog's ``runs`` table; a run killed half-way is never listed and its partial
folder is removed by the next save. At most one run is active: the one songs are scored
with. A new run becomes active only when the caller says so, or when no run is active yet;
otherwise it waits, "undecided", until the user activates it or keeps the current one.
Models load with Keras' safe mode on (no arbitrary code from a weights file).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import zipfile
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from core.catalog.database import utc_now
from core.catalog.store import Catalog
from core.config import Settings
from core.errors import RunMissing, RunUnreadable
from core.files import PARTIAL_MARKER, atomic_write_text, ensure_folder, remove_stale_partials

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

RUN_FILE = "run.json"
ACTIVATION = ("if-none", "yes", "no")  # when a newly saved run becomes the active one
# What the runs table repeats from run.json, to list runs without reading every run.
SUMMARY_KEYS = ("split", "training_preset", "models", "synthetic", "quick_start", "setup_run")


def catalog_fingerprint(tracks: pd.DataFrame) -> str:
    """Changes whenever a modelling track, its popularity or its audio changes."""
    rows = tracks[["source", "source_id", "popularity", "audio_sha256"]].astype(str)
    blob = "\n".join(sorted("|".join(r) for r in rows.itertuples(index=False)))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + f"-{os.getpid() % 10000:04d}"


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95% interval; all None where the metric is undefined (an AUC on
    rows of a single class)."""

    value: float | None
    low: float | None
    high: float | None


UNDEFINED = Estimate(None, None, None)


@dataclass(frozen=True)
class ModelMetrics:
    """One model's holdout figures, as ``core.learning.evaluate.evaluate_model`` measured them."""

    n: int
    roc_auc: Estimate
    accuracy: Estimate = UNDEFINED
    positives: int | None = None
    precision: float | None = None
    recall: float | None = None
    brier: float | None = None
    brier_calibrated: float | None = None
    confusion: list[list[int]] = field(default_factory=list)
    roc_curve: dict[str, list[float]] = field(default_factory=dict)  # fpr, tpr
    reliability: dict[str, list[float]] = field(default_factory=dict)  # predicted, observed
    calibration: dict[str, float] = field(default_factory=dict)  # core.learning.evaluate.PlattCalibration's fields


@dataclass(frozen=True)
class Threshold:
    """The popularity at or above which a track counts as popular, and how it was chosen."""

    rule: str
    value: float
    scale: str | None = None


@dataclass(frozen=True)
class CatalogInfo:
    """The catalog a run was trained on."""

    source: str
    tracks: int = 0
    fingerprint: str = ""


BEST_MODEL_RULE = (
    "Best model: the highest holdout ROC-AUC among the models whose holdout accuracy is at least the "
    "majority-class baseline (always guessing the commoner label)"
)


@dataclass(frozen=True)
class RunMeta:
    """A run's ``run.json``, read by ``load_run``. Entries older runs lack read as their
    defaults (no ``reference_probabilities``: no percentiles; no ``version`` or ``commit``:
    unknown; no ``context_audio_model``: no audio + context model and no regression; no
    ``bootstrap_unit``: intervals over tracks, the only unit resampled then), as do
    the sections a hand-written run.json may leave out; entries this class does not know are
    ignored. ``models`` are the run's audio models, those a scorer loads."""

    id: str
    created_at: str
    models: tuple[str, ...]
    training_preset: str
    split: str
    synthetic: bool
    dummy_positive_rate: float
    metrics: dict[str, ModelMetrics]
    threshold: Threshold = Threshold("unknown", math.nan)
    catalog: CatalogInfo = CatalogInfo("unknown")
    quick_start: bool = False  # set-up's provisional first run, on part of the demo
    setup_run: bool = False  # trained by set-up (its quick-start, default or study run): replaced by set-up's next
    bootstrap_unit: str = "track"  # what the holdout intervals resampled (core.learning.dataset.Split.bootstrap_unit)
    left_out: dict[str, int] = field(default_factory=dict)  # tracks left out, by what they lacked
    computed_first: dict[str, int] = field(default_factory=dict)  # clips computed before training, by kind
    feature_preset: dict[str, Any] = field(default_factory=dict)  # core.config.FeaturePreset's fields
    scaling: dict[str, float] = field(default_factory=dict)  # core.learning.dataset.MinMaxScaling's fields
    seed: int | None = None
    epochs_requested: int | None = None
    split_sizes: dict[str, int] = field(default_factory=dict)
    positive_rate: dict[str, float] = field(default_factory=dict)
    split_members: dict[str, list[str]] = field(default_factory=dict)
    history: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    epochs_run: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    reference_probabilities: dict[str, list[float]] = field(default_factory=dict)
    version: str | None = None  # the project's version that trained the run
    commit: str | None = None  # its git commit, when trained from a git checkout
    device: str | None = (
        None  # what trained the Keras models (core.learning.training.training_device); None: not recorded
    )
    # The models on top of the audio verdict (core.learning.popularity.ContextModels); None in runs
    # that did not train them. The audio + context classifier's holdout figures are
    # metrics["context"], like every model's; the regressions' are below.
    context_audio_model: str | None = None  # the audio model whose probability fed them
    context_gain: Estimate | None = None  # audio + context's holdout ROC-AUC minus that audio model's (paired)
    context_model: dict[str, Any] | None = None  # core.learning.popularity.ContextClassifier.as_dict()
    popularity_model: dict[str, Any] | None = None  # PopularityRegressor.as_dict(), with context
    popularity_model_audio: dict[str, Any] | None = None  # the same on audio alone (artist unknown)
    regression_metrics: dict[str, Any] | None = None  # core.learning.popularity.regression_metrics, with context
    regression_metrics_audio: dict[str, Any] | None = None  # the same for the audio-only regression
    context_fans_range: list[float] | None = None  # fewest and most fans among the training songs' artists

    def beats_majority(self, model: str) -> bool:
        """Whether ``model``'s holdout accuracy is at least the majority-class baseline (the
        accuracy of always guessing the holdout's commoner label)."""
        metrics = self.metrics[model]
        if metrics.accuracy.value is None or metrics.positives is None or not metrics.n:
            return False
        share = metrics.positives / metrics.n
        return metrics.accuracy.value >= max(share, 1.0 - share)

    @property
    def best_model(self) -> str:
        """The model ``BEST_MODEL_RULE`` crowns; when no model beats the majority-class
        baseline, the highest holdout ROC-AUC still scores by default, uncrowned
        (``best_model_crowned`` is False). The dummy only if it is alone."""
        candidates = [m for m in self.models if m != "dummy"] or list(self.models)
        eligible = [m for m in candidates if self.beats_majority(m)] or candidates
        return max(eligible, key=lambda m: self.metrics[m].roc_auc.value or 0.0)

    @property
    def best_model_crowned(self) -> bool:
        return self.beats_majority(self.best_model)


D = TypeVar("D", bound="DataclassInstance")


def _known(cls: type[D], entries: dict, **parsed: Any) -> D:
    """``cls`` from the ``entries`` named like its fields, ``parsed`` in place of raw ones."""
    names = {f.name for f in fields(cls)}
    return cls(**{**{k: v for k, v in entries.items() if k in names}, **parsed})


def _read_meta(path: Path) -> RunMeta:
    """The ``RunMeta`` of the run saved in folder ``path``."""
    from core.learning.architectures import AUDIO_MODELS, CONTEXT_MODELS

    try:
        entries = json.loads((path / RUN_FILE).read_text())
        unknown = [m for m in [*entries["models"], *entries["metrics"]] if m not in (*AUDIO_MODELS, *CONTEXT_MODELS)]
        if unknown:
            raise _unreadable(path, f"it names an unknown model '{unknown[0]}'")
        missing = [m for m in entries["models"] if m not in entries["metrics"]]
        if missing:
            raise _unreadable(path, f"model '{missing[0]}' has no holdout figures")
        metrics = {
            name: _known(ModelMetrics, m, **{k: _known(Estimate, m[k]) for k in ("roc_auc", "accuracy") if k in m})
            for name, m in entries["metrics"].items()
        }
        sections = {
            k: _known(cls, entries[k])
            for k, cls in (("threshold", Threshold), ("catalog", CatalogInfo), ("context_gain", Estimate))
            if entries.get(k) is not None
        }
        return _known(
            RunMeta,
            entries,
            models=tuple(entries["models"]),
            metrics=metrics,
            quick_start=bool(entries.get("quick_start")),
            setup_run=bool(entries.get("setup_run") or entries.get("quick_start")),
            **sections,
        )
    except RecursionError as error:
        raise _unreadable(path, "its run.json is nested too deeply to be a run's") from error
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise _unreadable(path, repr(error)) from error


def _unreadable(path: Path, why: str) -> RunUnreadable:
    return RunUnreadable(
        f"The run saved in {path} is incomplete or damaged ({why}).",
        "Train a new run, or activate another with 'python -m core runs --activate ID'.",
    )


@dataclass(frozen=True)
class SavedRun:
    id: str
    path: Path
    meta: RunMeta

    @property
    def models(self) -> list[str]:
        return list(self.meta.models)

    def load_model(self, name: str):
        """The fitted model ``name``: a Keras model as LiteRT runs it (``core.engine.lite``; in Keras
        when it cannot be converted), the musicnn head, or the dummy baseline."""
        from core.learning.architectures import PRETRAINED_MODEL

        if name == PRETRAINED_MODEL:
            from core.pretrained.head import EmbeddingHead

            return EmbeddingHead.load(self.path / model_file(name))
        if name == "dummy":
            from core.learning.architectures import build_dummy

            # Refit on three rows whose majority is the training majority: it knows both
            # classes, so predict_proba's last column is always P(popular).
            majority = 1.0 if self.meta.dummy_positive_rate >= 0.5 else 0.0
            return build_dummy().fit([[0]] * 3, [majority, majority, 1.0 - majority])
        from core.engine.lite import convert_and_keep, file_key, kept, keras_conversion

        weights = self.path / model_file(name)
        try:
            converted = weights.with_suffix(f".{file_key(weights)}.tflite")
        except OSError as error:
            raise self._unloadable(name, error) from error
        lite = kept(converted)
        if lite is not None:
            return lite
        model = self.load_keras_model(name)
        return convert_and_keep(converted, lambda: keras_conversion(model)) or model

    def load_keras_model(self, name: str):
        """Keras model ``name`` (safe mode), as it was trained."""
        import keras

        try:
            return keras.saving.load_model(self.path / model_file(name), safe_mode=True, compile=False)
        except (OSError, ValueError) as error:  # deleted, replaced or cut off
            raise self._unloadable(name, error) from error

    def _unloadable(self, name: str, error: Exception) -> RunUnreadable:
        return RunUnreadable(
            f"Run {self.id}'s {name} weights ({self.path / model_file(name)}) cannot be loaded ({error}).",
            "Score with another model of the run (--model), train a new run, or activate another with "
            "'python -m core runs --activate ID'.",
        )


def model_file(name: str) -> str:
    """Where a run keeps fitted model ``name``: Keras models as ``.keras``, the musicnn head
    as JSON numbers."""
    from core.learning.architectures import PRETRAINED_MODEL

    return f"{name}.json" if name == PRETRAINED_MODEL else f"{name}.keras"


def save_run(
    settings: Settings,
    catalog: Catalog,
    meta: dict,
    fitted: dict,
    *,
    activate: str = "if-none",
    replacing: str | None = None,
) -> SavedRun:
    """Write ``meta`` and the fitted models (each has ``save(path)``) as a new complete run and
    index it. ``activate``: "yes", "no", or "if-none" (only when no run is active, or when
    the active run is still ``replacing``: a provisional run the caller made itself)."""
    if activate not in ACTIVATION:
        raise ValueError(f"activate must be one of {ACTIVATION}")
    models_dir = settings.models_dir
    ensure_folder(models_dir)
    remove_stale_partials(models_dir)
    run_id = meta["id"]
    partial = models_dir / f"{run_id}{PARTIAL_MARKER}{os.getpid()}"
    partial.mkdir()
    try:
        for name, model in fitted.items():
            model.save(partial / model_file(name))
        atomic_write_text(partial / RUN_FILE, json.dumps(meta, indent=1))
        os.replace(partial, models_dir / run_id)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    summary = {k: meta.get(k) for k in SUMMARY_KEYS}
    with catalog.transaction() as conn:
        conn.execute(
            "INSERT INTO runs (id, created_at, path, active, decided, summary) VALUES (?, ?, ?, 0, 0, ?)",
            (run_id, utc_now(), run_id, json.dumps(summary)),
        )
        if activate == "yes" or (activate == "if-none" and _active_id(conn) in (None, replacing)):
            _activate(conn, run_id)
    return load_run(settings, catalog, run_id)


def run_damage(settings: Settings, path: str) -> str | None:
    """Why the run saved in ``models/<path>`` cannot score (one sentence), or None when it can:
    its folder gone, its run.json unreadable, a model's weights file missing or not one.
    Cheap: run.json is read, weights files are only looked at (a ``.keras`` is a zip)."""
    folder = settings.models_dir / path
    if not folder.is_dir():
        return f"its folder {folder} is gone"
    try:
        meta = _read_meta(folder)
    except RunUnreadable as error:
        return error.problem
    for name in meta.models:
        if name == "dummy":
            continue
        weights = folder / model_file(name)
        if not weights.is_file():
            return f"its {name} weights ({weights}) are missing"
        if weights.suffix == ".keras" and not zipfile.is_zipfile(weights):
            return f"its {name} weights ({weights}) are damaged"
    return None


def list_runs(settings: Settings, catalog: Catalog, *, damaged: bool = False) -> pd.DataFrame:
    """Runs, newest first, with ``active`` and ``damaged`` (None, or why the run cannot score)
    columns; only those that can score unless ``damaged``."""
    rows = pd.read_sql_query(
        "SELECT id, created_at, path, active, decided, summary FROM runs ORDER BY created_at DESC, id DESC",
        catalog.conn,
    )
    rows["damaged"] = pd.Series([run_damage(settings, path) for path in rows["path"]], index=rows.index, dtype=object)
    if not damaged:
        rows = rows[rows["damaged"].isna()].reset_index(drop=True)
    summaries = rows.pop("summary").map(json.loads)
    for key in SUMMARY_KEYS:
        rows[key] = summaries.map(lambda s, key=key: s.get(key))
    rows["quick_start"] = rows["quick_start"].fillna(False).astype(bool)
    rows["setup_run"] = rows["setup_run"].fillna(False).astype(bool) | rows["quick_start"]
    rows["active"] = rows["active"].astype(bool)
    rows["decided"] = rows["decided"].astype(bool)
    return rows


def has_trained_run(runs: pd.DataFrame, models: list[str]) -> bool:
    """Whether ``runs`` (``list_runs``'s) hold a run, set-up's quick-start run aside, with every
    audio model of ``models``."""
    from core.learning.architectures import AUDIO_MODELS

    wanted = {model for model in models if model in AUDIO_MODELS}
    trained = runs.loc[~runs["quick_start"], "models"]
    return any(wanted <= set(run_models or ()) for run_models in trained)


def replaceable_setup_run(runs: pd.DataFrame) -> str | None:
    """The active run when set-up made it active (``list_runs``' ``runs``): a run set-up trains
    next takes its place; a run the user chose is left active."""
    active = runs[runs["active"] & runs["setup_run"]]
    return None if active.empty else str(active.iloc[0]["id"])


def active_run_id(catalog: Catalog) -> str | None:
    return _active_id(catalog.conn)


def _active_id(conn) -> str | None:
    row = conn.execute("SELECT id FROM runs WHERE active = 1").fetchone()
    return row[0] if row else None


def _activate(conn, run_id: str) -> None:
    """Make ``run_id`` the only active run; activating it is the user's decision about it."""
    conn.execute("UPDATE runs SET active = (id = ?), decided = decided OR id = ?", (run_id, run_id))


def set_active(settings: Settings, catalog: Catalog, run_id: str) -> None:
    """Score with run ``run_id`` from now on; a run that cannot score (``run_damage``) is
    refused and the active run stays."""
    with catalog.transaction() as conn:
        _require(conn, run_id)
        path = conn.execute("SELECT path FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        damage = run_damage(settings, path)
        if damage is not None:
            raise RunUnreadable(
                f"Run {run_id} cannot score: {damage}. The active run stays as it was.",
                "Activate another run ('python -m core runs' lists them), or train a new one.",
            )
        _activate(conn, run_id)


def keep_active(catalog: Catalog, run_id: str) -> None:
    """The user saw run ``run_id`` and keeps scoring with the active run."""
    with catalog.transaction() as conn:
        _require(conn, run_id)
        conn.execute("UPDATE runs SET decided = 1 WHERE id = ?", (run_id,))


def _require(conn, run_id: str) -> None:
    if not conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
        raise RunMissing(f"No run '{run_id}'.", "List the saved runs with 'python -m core runs'.")


@dataclass(frozen=True)
class RunSummary:
    """One line of ``python -m core runs``: what a user weighs when choosing the active run."""

    id: str
    created: str
    split: str
    preset: str
    best_model: str | None  # None: the run is damaged
    best_auc: float | None
    best_auc_ci: tuple[float | None, float | None]
    holdout_tracks: int
    synthetic: bool
    quick_start: bool
    active: bool
    decided: bool
    best_model_crowned: bool = True  # False: no model beats the majority-class baseline
    damaged: str | None = None  # why the run cannot score (run_damage), or None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "created": self.created,
            "split": self.split,
            "preset": self.preset,
            "best_model": self.best_model,
            "best_auc": self.best_auc,
            "best_auc_ci": list(self.best_auc_ci),
            "best_model_crowned": self.best_model_crowned,
            "holdout_tracks": self.holdout_tracks,
            "synthetic": self.synthetic,
            "quick_start": self.quick_start,
            "active": self.active,
            "damaged": self.damaged,
        }


def run_summaries(settings: Settings, catalog: Catalog) -> list[RunSummary]:
    """Every run, newest first, with its best model's holdout ROC-AUC; a run that cannot score
    is listed too, with ``damaged`` saying why (and what its index still knows)."""
    summaries = []
    for row in list_runs(settings, catalog, damaged=True).itertuples(index=False):
        if isinstance(row.damaged, str):
            summaries.append(
                RunSummary(
                    id=row.id,
                    created=row.created_at,
                    split=str(row.split),
                    preset=str(row.training_preset),
                    best_model=None,
                    best_auc=None,
                    best_auc_ci=(None, None),
                    holdout_tracks=0,
                    synthetic=bool(row.synthetic),
                    quick_start=bool(row.quick_start),
                    active=bool(row.active),
                    decided=bool(row.decided),
                    best_model_crowned=False,
                    damaged=row.damaged,
                )
            )
            continue
        meta = _read_meta(settings.models_dir / row.path)
        best = meta.best_model
        auc = meta.metrics[best].roc_auc
        summaries.append(
            RunSummary(
                id=row.id,
                created=row.created_at,
                split=meta.split,
                preset=meta.training_preset,
                best_model=best,
                best_auc=auc.value,
                best_auc_ci=(auc.low, auc.high),
                holdout_tracks=meta.metrics[best].n,
                synthetic=meta.synthetic,
                quick_start=meta.quick_start,
                active=bool(row.active),
                decided=bool(row.decided),
                best_model_crowned=meta.best_model_crowned,
            )
        )
    return summaries


def load_run(settings: Settings, catalog: Catalog, run_id: str | None = None) -> SavedRun:
    """Run ``run_id``, or the active run when None."""
    runs = list_runs(settings, catalog, damaged=True)
    if run_id is None:
        active = runs[runs["active"]]
        if active.empty:
            raise RunMissing("No trained run yet.", "Train one with 'python -m core train' or on the Train page.")
        run_id = active.iloc[0]["id"]
    match = runs[runs["id"] == run_id]
    if match.empty:
        raise RunMissing(f"No complete run '{run_id}'.", "Pick one of the runs 'python -m core runs' lists.")
    damage = match.iloc[0]["damaged"]
    if isinstance(damage, str):
        raise RunUnreadable(
            f"Run {run_id} cannot score: {damage}.",
            "Activate another with 'python -m core runs --activate ID' (or on the Holdout page), or train a new one.",
        )
    path = settings.models_dir / match.iloc[0]["path"]
    return SavedRun(run_id, path, _read_meta(path))
