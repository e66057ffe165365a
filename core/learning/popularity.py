"""Models on top of a run's audio verdict: audio + artist context (P(popular)) and a regression
of the popularity figure itself with a conformal prediction interval.

Both read the same inputs: the audio model's calibrated probability (as a logit) and the
context features of :mod:`core.learning.context`. Both are fitted on the training split only; the
test split chooses the regularisation and calibrates the interval; the holdout is only
measured. Both are linear and saved as plain numbers (JSON), like the musicnn head: loading a
run never unpickles code.

Caveat stated where the figures are shown: on the training split the audio model's
probabilities are in-sample (it trained on those songs), so these models may trust audio more
than they should. The holdout figures are unaffected: no holdout song is seen before it is
measured.

The interval is split conformal: with the absolute residuals of the test split, the
``ceil((n + 1) * level) / n`` quantile ``q`` makes ``[prediction - q, prediction + q]`` cover a
new song's popularity with probability at least ``level`` if songs are exchangeable (Vovk et
al., 2005; Lei et al., 2018). Its holdout coverage is reported next to ``level``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from core.errors import UsageError
from core.learning.context import FEATURES_FANS_ONLY, FEATURES_WITH_HISTORY, ArtistContext
from core.learning.evaluate import BOOTSTRAP_RESAMPLES, PlattCalibration, bootstrap
from core.learning.registry import RunMeta

AUDIO_FEATURE = "audio"
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
ALPHA_GRID = (0.1, 1.0, 10.0, 100.0, 1000.0)
INTERVAL_LEVEL = 0.8


def audio_logit(probability: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probability, dtype=float), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def model_inputs(audio_probability: np.ndarray, context: np.ndarray | None) -> np.ndarray:
    """One row per song: the audio logit, then the context features (none: audio only)."""
    audio = audio_logit(audio_probability)[:, None]
    return audio if context is None else np.column_stack([audio, context])


@dataclass(frozen=True)
class _Linear:
    """Standardise, then a dot product: the shared shape of both models' saved numbers."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    @classmethod
    def of(cls, scaler: StandardScaler, coef: np.ndarray, intercept: float) -> _Linear:
        return cls(scaler.mean_.tolist(), scaler.scale_.tolist(), np.ravel(coef).tolist(), float(intercept))

    def decision(self, x: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(x) - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + (
            self.intercept
        )


@dataclass(frozen=True)
class ContextClassifier:
    """P(popular) from the audio logit and the artist's context: a logistic regression whose
    ``C`` is chosen by test-split ROC-AUC (the strongest regularisation among ties)."""

    features: list[str]
    linear: _Linear
    C: float

    @classmethod
    def fit(
        cls, features: list[str], x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
    ) -> ContextClassifier:
        scaler = StandardScaler().fit(x_train)
        best: tuple[float, ContextClassifier] | None = None
        for c in C_GRID:
            fitted = LogisticRegression(C=c, max_iter=1000).fit(scaler.transform(x_train), y_train)
            model = cls(features, _Linear.of(scaler, fitted.coef_, fitted.intercept_[0]), c)
            auc = roc_auc_score(y_test, model.predict_proba(x_test)) if np.unique(y_test).size == 2 else 0.0
            if best is None or auc > best[0] + 1e-9:
                best = (auc, model)
        assert best is not None
        return best[1]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.linear.decision(x)))

    def as_dict(self) -> dict:
        return {"features": self.features, "linear": self.linear.__dict__, "C": self.C}

    @classmethod
    def from_dict(cls, saved: dict) -> ContextClassifier:
        return cls(saved["features"], _Linear(**saved["linear"]), saved["C"])


@dataclass(frozen=True)
class PopularityRegressor:
    """Popularity (0-100, the catalog's scale) from the same inputs: ridge regression whose
    ``alpha`` is chosen by test-split mean absolute error, with a split-conformal half-width
    ``q`` from the test split's residuals."""

    features: list[str]
    linear: _Linear
    alpha: float
    q: float
    level: float
    scale: str

    @classmethod
    def fit(
        cls,
        features: list[str],
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_test: np.ndarray,
        y_test: np.ndarray,
        *,
        scale: str,
        level: float = INTERVAL_LEVEL,
    ) -> PopularityRegressor:
        scaler = StandardScaler().fit(x_train)
        best: tuple[float, _Linear, float] | None = None
        for alpha in ALPHA_GRID:
            fitted = Ridge(alpha=alpha).fit(scaler.transform(x_train), y_train)
            linear = _Linear.of(scaler, fitted.coef_, float(fitted.intercept_))
            mae = float(np.mean(np.abs(y_test - np.clip(linear.decision(x_test), 0, 100))))
            if best is None or mae < best[0] - 1e-9:
                best = (mae, linear, alpha)
        assert best is not None
        _, linear, alpha = best
        residuals = np.abs(y_test - np.clip(linear.decision(x_test), 0, 100))
        return cls(features, linear, alpha, conformal_quantile(residuals, level), level, scale)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(prediction, low, high), each clipped to 0-100."""
        value = np.clip(self.linear.decision(x), 0, 100)
        return value, np.clip(value - self.q, 0, 100), np.clip(value + self.q, 0, 100)

    def as_dict(self) -> dict:
        saved = dict(self.__dict__)
        saved["linear"] = self.linear.__dict__
        return saved

    @classmethod
    def from_dict(cls, saved: dict) -> PopularityRegressor:
        return cls(**{**saved, "linear": _Linear(**saved["linear"])})


def conformal_quantile(residuals: np.ndarray, level: float) -> float:
    """The split-conformal half-width: the ``ceil((n + 1) * level)``-th smallest absolute
    residual (infinite when there are too few residuals to promise ``level``)."""
    residuals = np.sort(np.abs(np.asarray(residuals, dtype=float)))
    rank = math.ceil((residuals.size + 1) * level)
    return float(residuals[rank - 1]) if rank <= residuals.size else math.inf


def regression_metrics(
    actual: np.ndarray,
    predicted: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    level: float,
    *,
    groups: np.ndarray | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> dict:
    """Holdout figures of the regression, as ``evaluate --json`` prints them; ``groups``: as
    ``core.learning.evaluate.bootstrap``'s."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    mae = bootstrap(_mean_absolute_error, actual, predicted, groups=groups, resamples=resamples)
    spearman = bootstrap(_spearman, actual, predicted, groups=groups, resamples=resamples)
    covered = (np.asarray(low) <= actual) & (actual <= np.asarray(high))
    return {
        "model": "regression",
        "n": int(actual.size),
        "mae": mae.value,
        "mae_ci": [mae.low, mae.high],
        "spearman": spearman.value,
        "spearman_ci": [spearman.low, spearman.high],
        "coverage": float(covered.mean()) if actual.size else None,
        "nominal_coverage": level,
        "points": {"actual": actual.round(2).tolist(), "predicted": predicted.round(2).tolist()},
    }


def _mean_absolute_error(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(actual - predicted)))


def _spearman(actual: np.ndarray, predicted: np.ndarray) -> float:
    if np.unique(actual).size < 2 or np.unique(predicted).size < 2:
        return 0.0
    return float(spearmanr(actual, predicted).statistic)


def feature_names(*, with_history: bool) -> list[str]:
    """The inputs' names: the audio logit, then the context features (history only where the
    split keeps an artist's songs on both sides: never for the artist split)."""
    return [AUDIO_FEATURE, *(FEATURES_WITH_HISTORY if with_history else FEATURES_FANS_ONLY)]


@dataclass(frozen=True)
class SplitInputs:
    """One split's songs as the models on top see them: the feeding audio model's calibrated
    probability, the context features, the labels and the popularity (0-100)."""

    audio: np.ndarray
    context: np.ndarray
    labels: np.ndarray
    popularity: np.ndarray

    def with_context(self) -> np.ndarray:
        return model_inputs(self.audio, self.context)

    def audio_only(self) -> np.ndarray:
        return model_inputs(self.audio, None)


@dataclass(frozen=True)
class PredictedPopularity:
    """The regression's answer for one song: its best guess of the popularity, rounded to a
    tenth, and the ``level`` prediction interval ``low``-``high``; ``with_context`` says
    whether anything was known of the artist (else it came from the audio alone). ``scale``:
    ``spotify`` (Spotify's 0-100) or ``catalog_percentile`` (a Deezer rank's percentile within
    the catalog)."""

    value: float
    low: float
    high: float
    scale: Literal["spotify", "catalog_percentile"]
    level: float
    with_context: bool

    def as_dict(self) -> dict:
        """``predicted_popularity`` as ``score --json`` and ``compare --json`` give it."""
        return asdict(self)


@dataclass(frozen=True)
class ContextModels:
    """A run's models on top of its audio verdict, fed by ``audio_model``'s calibrated
    probability: the audio + context classifier (``classifier``, with the Platt calibration
    its holdout evaluation fitted on the test split), the popularity regression with context
    (``regressor``) and the same on audio alone (``audio_regressor``: the prediction for a song
    whose artist is unknown, with its own, wider interval). Any may be absent: a run trains
    what its ``--models`` asked for, and runs from before these models have none."""

    audio_model: str
    classifier: ContextClassifier | None = None
    calibration: PlattCalibration | None = None
    regressor: PopularityRegressor | None = None
    audio_regressor: PopularityRegressor | None = None
    fans_range: tuple[float, float] | None = None  # the fewest and most fans among training songs' artists

    @classmethod
    def fit(
        cls,
        audio_model: str,
        parts: dict[str, SplitInputs],
        *,
        classifier: bool,
        regression: bool,
        with_history: bool,
        scale: str,
    ) -> ContextModels:
        """Fit what is asked on ``parts["train"]``, choosing regularisation (and the interval's
        width) on ``parts["test"]``; the holdout is not looked at."""
        train, test = parts["train"], parts["test"]
        names = feature_names(with_history=with_history)
        log_fans = train.context[train.context[:, 1] == 1.0, 0]  # context columns: log_fans, has_fans, ...
        return cls(
            audio_model,
            fans_range=(float(np.expm1(log_fans.min())), float(np.expm1(log_fans.max()))) if log_fans.size else None,
            classifier=ContextClassifier.fit(
                names, train.with_context(), train.labels, test.with_context(), test.labels
            )
            if classifier
            else None,
            regressor=PopularityRegressor.fit(
                names, train.with_context(), train.popularity, test.with_context(), test.popularity, scale=scale
            )
            if regression
            else None,
            audio_regressor=PopularityRegressor.fit(
                [AUDIO_FEATURE], train.audio_only(), train.popularity, test.audio_only(), test.popularity, scale=scale
            )
            if regression
            else None,
        )

    @classmethod
    def of(cls, meta: RunMeta) -> ContextModels | None:
        """The models a saved run holds; None when it has neither (a run from before them)."""
        if meta.context_audio_model is None:
            return None
        context = meta.metrics.get("context")
        return cls(
            meta.context_audio_model,
            classifier=None if meta.context_model is None else ContextClassifier.from_dict(meta.context_model),
            calibration=PlattCalibration(**context.calibration) if context and context.calibration else None,
            regressor=None if meta.popularity_model is None else PopularityRegressor.from_dict(meta.popularity_model),
            audio_regressor=None
            if meta.popularity_model_audio is None
            else PopularityRegressor.from_dict(meta.popularity_model_audio),
            fans_range=None if meta.context_fans_range is None else tuple(meta.context_fans_range),  # type: ignore[arg-type]
        )

    def saved(self) -> dict:
        """The run.json entries that ``of`` reads back (the classifier's calibration is in its metrics)."""
        return {
            "context_audio_model": self.audio_model,
            "context_model": None if self.classifier is None else self.classifier.as_dict(),
            "popularity_model": None if self.regressor is None else self.regressor.as_dict(),
            "popularity_model_audio": None if self.audio_regressor is None else self.audio_regressor.as_dict(),
            "context_fans_range": None if self.fans_range is None else list(self.fans_range),
        }

    def fans_note(self, artist: ArtistContext) -> str | None:
        """A sentence when ``artist``'s fan count lies beyond those of the artists the models
        learned from: the answers with context then extrapolate."""
        if self.fans_range is None or artist.fans is None:
            return None
        low, high = self.fans_range
        if low <= artist.fans <= high:
            return None
        return (
            f"{artist.fans:,.0f} fans is beyond the fan counts this run learned from ({low:,.0f} to {high:,.0f}): "
            "the answers with the artist's context extrapolate there; treat them as rough."
        )

    def probability(self, audio_probability: float, artist: ArtistContext) -> float | None:
        """P(popular) of a song of ``artist`` whose audio model gave ``audio_probability``;
        None without a classifier or without anything known about the artist."""
        if self.classifier is None or not artist.known:
            return None
        raw = self.classifier.predict_proba(_inputs(self.classifier, audio_probability, artist))
        calibrated = raw if self.calibration is None else self.calibration.apply(raw)
        return float(calibrated[0])

    def predicted_popularity(self, audio_probability: float, artist: ArtistContext) -> PredictedPopularity | None:
        """The regression with the artist's context when anything is known about them, else the
        audio-only regression; None without a regression."""
        model = self.regressor if artist.known else self.audio_regressor
        if model is None:
            return None
        value, low, high = model.predict(_inputs(model, audio_probability, artist))
        return PredictedPopularity(
            value=round(float(value[0]), 1),
            low=round(float(low[0]), 1),
            high=round(float(high[0]), 1),
            scale="spotify" if model.scale == "spotify" else "catalog_percentile",
            level=model.level,
            with_context=artist.known,
        )


def _inputs(
    model: ContextClassifier | PopularityRegressor, audio_probability: float, artist: ArtistContext
) -> np.ndarray:
    """The one input row of ``model`` for a song of ``artist``. An artist whose fan count is
    unknown is refused by a model that never met one: it would extrapolate far off its data."""
    audio = np.array([audio_probability])
    if model.features == [AUDIO_FEATURE]:
        return model_inputs(audio, None)
    has_fans = model.features.index("has_fans")
    if artist.fans is None and model.linear.mean[has_fans] == 1.0:
        raise UsageError(
            f"The catalog has no fan count for {artist.name}, and every artist this run learned from had one.",
            "Give their fan count with --fans N (or in the fan count box).",
        )
    return model_inputs(audio, artist.features(with_history="has_history" in model.features))
