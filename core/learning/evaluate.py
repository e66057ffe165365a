"""Holdout metrics reported honestly: every figure with a 95% bootstrap interval, and
probabilities calibrated on the test split so a "72%" means about 72 in 100.

Calibration is Platt scaling: a logistic regression on the logit of the model's test-split
probabilities. It is fitted on the test split (never the holdout) and applied to the
holdout, where its Brier score and reliability curve are measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import rankdata
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    precision_score,
    recall_score,
    roc_curve,
)

from core.learning.registry import Estimate, RunMeta

BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95

STUDY_RESULTS = {  # the study's holdout (1,617 real Spotify tracks, random split): accuracy, ROC-AUC
    "dummy": (0.507, 0.500),
    "mlp": (0.507, 0.500),
    "cnn1": (0.507, 0.500),
    "cnn2": (0.552, 0.574),
    "cnn_gru": (0.598, 0.646),
}


def bootstrap(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    groups: ArrayLike | None = None,
    needs_both_classes: bool = False,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """``metric`` on all rows, with a percentile interval over ``resamples`` resamples of the
    rows. With ``needs_both_classes``, resamples holding a single class are drawn again.

    ``groups`` (one label per row) makes it a cluster bootstrap: each resample draws as many
    groups as there are, with replacement, and takes all the rows of each. Rows that move
    together (the tracks of one artist share that artist's standing) are then not counted as
    independent evidence, which would make the interval too narrow. Without ``groups`` every
    row is its own group, and the resamples are the plain row bootstrap's, draw for draw."""
    y_true, y_score = np.asarray(y_true), np.asarray(y_score)
    if y_true.size == 0 or (needs_both_classes and np.unique(y_true).size < 2):
        return Estimate(None, None, None)
    clusters = _Clusters.of(np.arange(y_true.size) if groups is None else np.asarray(groups))
    rng = np.random.default_rng(seed)
    values: list[float] = []
    while len(values) < resamples:
        rows = clusters.draw(rng)
        if needs_both_classes and np.unique(y_true[rows]).size < 2:
            continue
        values.append(metric(y_true[rows], y_score[rows]))
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Estimate(float(metric(y_true, y_score)), float(low), float(high))


@dataclass(frozen=True)
class _Clusters:
    """The rows of each group, laid end to end: group ``g``'s rows are
    ``order[start[g]:start[g] + size[g]]``."""

    order: np.ndarray
    start: np.ndarray
    size: np.ndarray

    @classmethod
    def of(cls, groups: np.ndarray) -> _Clusters:
        _, inverse, size = np.unique(groups, return_inverse=True, return_counts=True)
        order = np.argsort(inverse, kind="stable")
        return cls(order, np.cumsum(size) - size, size)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """The rows of as many groups as there are, drawn with replacement."""
        drawn = rng.integers(0, self.size.size, self.size.size)
        sizes = self.size[drawn]
        within = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        return self.order[np.repeat(self.start[drawn], sizes) + within]


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """ROC-AUC as the Mann-Whitney statistic: the chance that a random positive scores above a
    random negative (ties count half), from the scores' average ranks. The same figure as
    ``sklearn.metrics.roc_auc_score`` at about a tenth of its cost, which counts in bootstraps
    of a thousand resamples. Needs both classes."""
    y_true = np.asarray(y_true).astype(bool)
    ranks = rankdata(np.asarray(y_score, dtype=float))
    positives = int(y_true.sum())
    negatives = y_true.size - positives
    return float((ranks[y_true].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _accuracy_at_half(y_true, y_score) -> float:
    return accuracy_score(y_true, y_score >= 0.5)


@dataclass(frozen=True)
class PlattCalibration:
    slope: float
    intercept: float

    @classmethod
    def fit(cls, y_true: np.ndarray, y_prob: np.ndarray) -> PlattCalibration:
        if np.unique(y_true).size < 2:
            return cls(1.0, 0.0)  # nothing to learn from one class: leave probabilities as they are
        model = LogisticRegression(C=1e6).fit(_logit(y_prob)[:, None], y_true)
        return cls(float(model.coef_[0, 0]), float(model.intercept_[0]))

    def apply(self, y_prob: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.slope * _logit(y_prob) + self.intercept)))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def evaluate_model(
    y_holdout: ArrayLike,
    p_holdout: ArrayLike,
    y_test: ArrayLike,
    p_test: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> dict:
    """Everything the Holdout page and ``python -m core evaluate`` show for one model; with
    ``groups`` (one label per holdout row), the intervals resample whole groups (``bootstrap``)."""
    y_holdout, p_holdout = np.asarray(y_holdout).astype(int), np.asarray(p_holdout, dtype=float)
    calibration = PlattCalibration.fit(np.asarray(y_test).astype(int), np.asarray(p_test, dtype=float))
    calibrated = calibration.apply(p_holdout)
    predicted = (p_holdout >= 0.5).astype(int)
    both_classes = np.unique(y_holdout).size == 2
    fpr, tpr, _ = roc_curve(y_holdout, p_holdout) if both_classes else ([], [], [])
    bins = min(10, max(2, y_holdout.size // 20))
    observed, expected = calibration_curve(y_holdout, calibrated, n_bins=bins, strategy="quantile")
    return {
        "n": int(y_holdout.size),
        "positives": int(y_holdout.sum()),
        "accuracy": asdict(bootstrap(_accuracy_at_half, y_holdout, p_holdout, groups=groups, resamples=resamples)),
        "roc_auc": asdict(
            bootstrap(roc_auc, y_holdout, p_holdout, groups=groups, needs_both_classes=True, resamples=resamples)
        ),
        "precision": float(precision_score(y_holdout, predicted, zero_division=0)),
        "recall": float(recall_score(y_holdout, predicted, zero_division=0)),
        "confusion": confusion_matrix(y_holdout, predicted, labels=[0, 1]).tolist(),
        "roc_curve": {"fpr": list(map(float, fpr)), "tpr": list(map(float, tpr))},
        "calibration": asdict(calibration),
        "brier": float(brier_score_loss(y_holdout, p_holdout)),
        "brier_calibrated": float(brier_score_loss(y_holdout, calibrated)),
        "reliability": {"predicted": expected.tolist(), "observed": observed.tolist()},
    }


def paired_auc_gain(
    y_true: ArrayLike,
    baseline: ArrayLike,
    candidate: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Estimate:
    """``candidate``'s ROC-AUC minus ``baseline``'s on the same rows, with a paired bootstrap
    interval: both are measured on each resample, so what the two share (which songs happen to
    be in the holdout) cancels out. Separate intervals would overlap long after the gain is
    clear. ``groups``: as ``bootstrap``'s."""
    scores = np.column_stack([np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)])

    def gain(y: np.ndarray, both: np.ndarray) -> float:
        return roc_auc(y, both[:, 1]) - roc_auc(y, both[:, 0])

    y = np.asarray(y_true).astype(int)
    return bootstrap(gain, y, scores, groups=groups, needs_both_classes=True, resamples=resamples)


def holdout_table(meta: RunMeta) -> list[dict]:
    """One row per model of the run, as ``python -m core evaluate --json`` prints it: the
    audio models, then, where the run has them, the audio + context model (``context``: the
    same fields, and ``audio_model``, the model that fed it, with ``roc_auc_gain`` over it and
    its paired interval ``roc_auc_gain_ci``) and the popularity regression (``regression``:
    ``mae``, ``spearman`` and their intervals, the prediction interval's ``coverage`` and
    ``nominal_coverage``). Every row says what its intervals resampled (``bootstrap_unit``)."""
    about = {
        "split": meta.split,
        "bootstrap_unit": meta.bootstrap_unit,
        "run": meta.id,
        "catalog": meta.catalog.source,
        "synthetic": meta.synthetic,
    }
    rows = []
    for name in [*meta.models, *(["context"] if "context" in meta.metrics else [])]:
        m = meta.metrics[name]
        rows.append(
            {
                "model": name,
                "split": meta.split,
                "accuracy": m.accuracy.value,
                "accuracy_ci": [m.accuracy.low, m.accuracy.high],
                "roc_auc": m.roc_auc.value,
                "roc_auc_ci": [m.roc_auc.low, m.roc_auc.high],
                "n": m.n,
                "brier_calibrated": m.brier_calibrated,
                **{k: v for k, v in about.items() if k != "split"},
            }
        )
    if "context" in meta.metrics:  # what the audio + context model adds to the audio model that fed it
        gain = meta.context_gain or Estimate(None, None, None)
        rows[-1].update(
            {
                "audio_model": meta.context_audio_model,
                "roc_auc_gain": gain.value,
                "roc_auc_gain_ci": [gain.low, gain.high],
            }
        )
    if meta.regression_metrics is not None:
        figures = {k: v for k, v in meta.regression_metrics.items() if k != "points"}  # the plot's, not a figure
        rows.append({**figures, **about, "audio_model": meta.context_audio_model})
    return rows
