"""What the command line and the pages both say, worded once: the verdicts, a holdout metric
with its 95% bootstrap interval, the synthetic demo's caveats, and the default threshold rule.

It lives in core because the command line must not import ``ui``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.learning.popularity import PredictedPopularity
    from core.learning.registry import Estimate, RunMeta


class Verdict(StrEnum):
    """A song's verdict, as the pages, the command line, ``score --json`` and the history say
    it; ``core.songs.scoring.verdict_of`` is the one place it is decided. Each member equals its
    words (``Verdict.WITHHELD == "withheld"``), so stored and printed verdicts read as before."""

    POPULAR = "popular"
    NOT_POPULAR = "not popular"
    WITHHELD = "withheld"


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


def bootstrap_intervals(unit: str) -> str:
    """What a run's brackets are: ``95% bootstrap intervals over holdout artists``, for its
    ``RunMeta.bootstrap_unit`` (track, song or artist)."""
    return f"95% bootstrap intervals over holdout {unit}s"


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
    "(log fans = ln 50,000 + 3.5 x the artist's hidden effect + noise), so they carry part of what makes "
    "that artist's songs popular, as a real fan count would."
)


def scale_name(scale: str | None) -> str:
    """The popularity scale a prediction is on: ``spotify`` (Spotify's own 0-100 figure), else
    a percentile within the catalog (``catalog_percentile``; a catalog of Deezer ranks)."""
    return "Spotify's 0-100 scale" if scale == "spotify" else "percentile within the catalog, 0-100"


def predicted_popularity(prediction: PredictedPopularity) -> str:
    """``predicted popularity 41, 80% interval 29-52``, from ``ContextModels.predicted_popularity``."""
    return (
        f"predicted popularity {prediction.value:.0f}, {prediction.level:.0%} interval "
        f"{prediction.low:.0f}-{prediction.high:.0f}"
    )


def regression_summary(metrics: dict, scale: str | None) -> str:
    """A regression's holdout figures (``core.learning.popularity.regression_metrics``) in one clause."""
    return (
        f"MAE {with_interval(metrics['mae'], metrics['mae_ci'], 1)} points ({scale_name(scale)}), "
        f"Spearman {with_interval(metrics['spearman'], metrics['spearman_ci'], 2)}; its "
        f"{metrics['nominal_coverage']:.0%} intervals hold {metrics['coverage']:.0%} of the {metrics['n']} "
        "holdout tracks"
    )


def context_inputs(meta: RunMeta) -> str:
    """What the run's audio + context model and regression learned from."""
    from core.learning.architectures import DISPLAY_NAMES

    audio = DISPLAY_NAMES.get(meta.context_audio_model or "", meta.context_audio_model)
    fed = f"fed by {audio}'s calibrated probability (the audio model with the best test-split ROC-AUC)"
    if meta.split == "artist":
        return f"{fed} and the artist's fans only (the artist split's holdout artists are new: no history)"
    return f"{fed}, the artist's fans and their earlier releases in the catalog"


def context_difference(audio: float, with_context: float, artist: str) -> str:
    """One sentence on what knowing the artist changes, in points: the audio probability that
    fed the models on top is not repeated (it may be another model's than the verdict's)."""
    change = with_context - audio
    if abs(change) < 0.05:
        return (
            f"Knowing the artist ({artist}) changes little against the sound alone: this rests on how the song sounds."
        )
    direction, how = ("raises", "more") if change > 0 else ("lowers", "less")
    return (
        f"Knowing the artist ({artist}) {direction} the chance by {abs(change) * 100:.0f} points against the sound "
        f"alone: in the catalog, songs by artists with this standing were {how} often popular than their sound "
        "suggests. The difference is about who releases the song, not about the song."
    )


# --- Comparing two versions of one song (issue 14, item 5; ``core.songs.compare``) ---


def offset_words(offset_s: float) -> str:
    """Where two aligned versions start, from ``compare``'s ``offset_s`` (B's time of A's start)."""
    if abs(offset_s) < 0.05:
        return "they start together"
    longer, seconds = ("B", offset_s) if offset_s > 0 else ("A", -offset_s)
    return f"{longer} has {seconds:.2f} s more before the common part"


def noise_verdict(comparison: dict) -> str:
    """B minus A in probability against the model's own noise, in one sentence (``Comparison.as_dict()``)."""
    difference, noise = comparison["difference"], comparison["noise"]
    said = (
        f"B - A = {100 * difference:+.1f} points of probability, against the model's own noise of "
        f"{100 * noise:.1f} points"
    )
    if not comparison["beyond_noise"]:
        return f"{said}: not beyond noise, so the model hears no real difference between the versions."
    closer = "more" if difference > 0 else "less"
    return f"{said}: beyond noise, so the model hears B as {closer} like the songs it learned are popular."


def popularity_difference(comparison: dict) -> str:
    """The two versions' predicted popularity and what their difference is worth: whether it is
    beyond the model's noise (it moves with one model's probability) and whether it is wider
    than the prediction interval."""
    a, b = comparison["predicted_popularity_a"], comparison["predicted_popularity_b"]
    if a is None or b is None:
        return (
            "No predicted popularity: this run has no popularity regression "
            "(runs trained with all models, the default, have one)."
        )
    difference = comparison["popularity_difference"]
    said = (
        f"Predicted popularity ({scale_name(a['scale'])}, from the audio alone): A {a['value']:.0f}, "
        f"B {b['value']:.0f}, B - A = {difference:+.1f}"
    )
    if comparison["popularity_model"] != comparison["model"]:
        from core.learning.architectures import DISPLAY_NAMES

        fed = DISPLAY_NAMES.get(comparison["popularity_model"], comparison["popularity_model"])
        noise = f", from {fed}'s probability, whose noise was not measured here"
    elif comparison["beyond_noise"]:
        noise = ", beyond noise (it moves with the probability)"
    else:
        noise = ", not beyond noise (it moves with the probability)"
    half_width = max(a["high"] - a["value"], a["value"] - a["low"], b["high"] - b["value"], b["value"] - b["low"])
    interval = f"the {a['level']:.0%} interval (±{half_width:.0f})"
    if a["low"] <= b["value"] <= a["high"] and b["low"] <= a["value"] <= b["high"]:
        return (
            f"{said}{noise}; {interval} is wider than the difference: the regression cannot tell the two "
            "versions' popularity apart."
        )
    return f"{said}{noise}; the difference is wider than {interval}."


def cell_name(time_unit: str) -> str:
    """What one time cell of an explanation is called: "bar", "3 s patch" or "time cell"."""
    return {"bar": "bar", "patch": "3 s patch"}.get(time_unit, "time cell")


def time_cells_origin(time_unit: str) -> str:
    """Where an explanation's time cells come from, for a caption."""
    return {
        "bar": "bars found by beat tracking",
        "patch": "the pretrained model's own 3 s patches (it hears a song 3 s at a time)",
    }.get(time_unit, "2.5 s cells (no tempo found)")


def no_stable_explanation(method: str) -> str:
    """What pages, the PNG and the CLI say when nothing in an explanation holds."""
    if method == "occlusion":
        why = "silencing any one 3 s patch and band moves the probability by less than one point"
    else:
        why = "no bar and band stayed among the ten heaviest, with one direction, in all three independent LIME runs"
    return f"No stable explanation for this song: {why}, so no region is shown as a finding (the grid is greyed)."


def explanation_stability(stability: float | None, method: str) -> str:
    """How well an explanation holds, in words: "2 of its 5 heaviest regions hold in all three
    independent LIME runs (40%)"."""
    if stability is None:
        return (
            "Occlusion is deterministic (the same weights every run); findings move the probability by a point or more"
        )
    held = round(stability * 5)
    return f"Stability {stability:.0%}: {held} of its 5 heaviest regions hold in all three independent LIME runs"
