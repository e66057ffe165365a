"""What the command line and the pages both say, worded once: a holdout metric with its 95%
bootstrap interval, the synthetic demo's caveats, and the default threshold rule.

It lives in core because the command line must not import ``ui``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.registry import Estimate

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
