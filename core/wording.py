"""What the command line and the pages both say, worded once: a holdout metric with its 95%
bootstrap interval, the synthetic demo's caveats, and the default threshold rule.

It lives in core because the command line must not import ``ui``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.registry import Estimate, RunMeta

SYNTHETIC_VERDICTS = (
    "Verdicts say how much a song resembles the demo's rule, not real Spotify popularity. "
    "Collect real data and retrain before trusting them."
)

DEFAULT_THRESHOLD_RULE = "study on Spotify's scale, else median"


def default_threshold_rule(popularity_scale: str | None) -> str:
    """The threshold rule a run uses unless told otherwise, as ``DEFAULT_THRESHOLD_RULE`` says:
    the study's 39 is on Spotify's 0-100 scale, so other scales split at the median."""
    return "study" if popularity_scale == "spotify" else "median"


def with_interval(value: float | None, interval: Sequence[float | None], digits: int = 3) -> str:
    """``0.650 [0.600, 0.700]``, for tables and terminal lines that say once what the brackets
    are. A metric is None when the holdout held one class only."""
    if value is None:
        return "n/a (one class only)"
    low, high = interval
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def catalog_label(synthetic: bool, source: str) -> str:
    """Which data a run was trained on, in a terminal line: the demo in capitals, so it is not missed."""
    return "the SYNTHETIC demo catalog" if synthetic else f"catalog '{source}'"


def holdout_auc(auc: Estimate) -> str:
    """A model's holdout ROC-AUC in a sentence."""
    if auc.value is None:
        return "holdout ROC-AUC not available (the holdout held one class only)"
    return f"holdout ROC-AUC {auc.value:.2f} (95% CI {auc.low:.2f}-{auc.high:.2f})"


# --- The artist's context and the popularity regression (issue 14) ---

DEMO_FANS = (
    "The demo's fan counts are synthetic: each artist's follows the rule written in core.demo "
    "(log fans = ln 50,000 + 3 x the artist's hidden effect + noise), so they carry part of what makes "
    "that artist's songs popular, as a real fan count would."
)


def scale_name(scale: str | None) -> str:
    """The popularity scale a prediction is on: ``spotify`` (Spotify's own 0-100 figure), else
    a percentile within the catalog (``catalog_percentile``; a catalog of Deezer ranks)."""
    return "Spotify's 0-100 scale" if scale == "spotify" else "percentile within the catalog, 0-100"


def predicted_popularity(prediction: dict) -> str:
    """``predicted popularity 41, 80% interval 29-52``, from ``ContextModels.predicted_popularity``."""
    return (
        f"predicted popularity {prediction['value']:.0f}, {prediction['level']:.0%} interval "
        f"{prediction['low']:.0f}-{prediction['high']:.0f}"
    )


def regression_summary(metrics: dict, scale: str | None) -> str:
    """A regression's holdout figures (``core.popularity.regression_metrics``) in one clause."""
    return (
        f"MAE {with_interval(metrics['mae'], metrics['mae_ci'], 1)} points ({scale_name(scale)}), "
        f"Spearman {with_interval(metrics['spearman'], metrics['spearman_ci'], 2)}; its "
        f"{metrics['nominal_coverage']:.0%} intervals hold {metrics['coverage']:.0%} of the {metrics['n']} "
        "holdout tracks"
    )


def context_inputs(meta: RunMeta) -> str:
    """What the run's audio + context model and regression learned from."""
    from core.architectures import DISPLAY_NAMES

    audio = DISPLAY_NAMES.get(meta.context_audio_model or "", meta.context_audio_model)
    fed = f"fed by {audio}'s calibrated probability (the audio model with the best test-split ROC-AUC)"
    if meta.split == "artist":
        return f"{fed} and the artist's fans only (the artist split's holdout artists are new: no history)"
    return f"{fed}, the artist's fans and their earlier releases in the catalog"


def context_difference(audio: float, with_context: float, artist: str) -> str:
    """One sentence on what knowing the artist changes in a verdict (two probabilities)."""
    change = with_context - audio
    if abs(change) < 0.05:
        return (
            f"Knowing the artist ({artist}) changes little ({audio:.0%} -> {with_context:.0%}): "
            "the verdict rests on how the song sounds."
        )
    direction, how = ("raises", "more") if change > 0 else ("lowers", "less")
    return (
        f"Knowing the artist ({artist}) {direction} the chance from {audio:.0%} to {with_context:.0%}: in the "
        f"catalog, songs by artists with this standing were {how} often popular than their sound alone suggests. "
        "The difference is about who releases the song, not about the song."
    )
