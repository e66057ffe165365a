"""The artist's context at release time, and popularity on the catalog's own scale.

Audio alone explains little of popularity; who releases a song explains much more. Two kinds
of context are used, both known before a song is released:

- **fans**: what the source said about the releasing artist when the catalog was collected
  (Deezer's ``nb_fan``, Spotify's ``followers``, an import column), used as ``log1p(fans)``;
- **history**: the artist's earlier releases in the catalog, computed for each release from
  releases with a strictly earlier date only, never from the release itself or later ones:
  how many there were and their median popularity (on the catalog's scale, see
  :func:`popularity_percent`).

An artist never seen before (the artist split's holdout, a new name on the Score page) has
fans at most; history is then absent, which :func:`context_features` marks explicitly rather
than filling with a number that would pass for a real history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES_WITH_HISTORY = ("log_fans", "has_fans", "earlier_releases", "earlier_median", "has_history")
FEATURES_FANS_ONLY = ("log_fans", "has_fans")


def popularity_percent(popularity: pd.Series, scale: str) -> pd.Series:
    """Popularity on a 0-100 scale: Spotify's figure as it is; a Deezer rank (0 to about a
    million, no upper bound) as its percentile within the catalog, so 80 means "more popular
    than 80% of this catalog"."""
    values = pd.to_numeric(popularity, errors="coerce")
    if scale == "spotify":
        return values.astype(float)
    return values.rank(pct=True) * 100.0


def release_history(tracks: pd.DataFrame, popularity: pd.Series) -> pd.DataFrame:
    """``earlier_releases`` and ``earlier_median`` for each row of ``tracks``.

    Parameters
    ----------
    tracks : DataFrame
        With ``artist_group`` (one key per artist) and ``release_date`` (ISO text: a year,
        year-month or full date; missing dates have no history and count for no one).
    popularity : Series
        Each row's popularity on a 0-100 scale (:func:`popularity_percent`), same index.

    Returns
    -------
    DataFrame
        Same index; ``earlier_releases`` counts the artist's rows dated strictly before this
        row's date (same-day releases are not "earlier"), ``earlier_median`` is their median
        popularity, NaN when there are none.
    """
    dates = pd.to_datetime(tracks["release_date"], errors="coerce", format="mixed")
    count = pd.Series(0, index=tracks.index, dtype=int)
    median = pd.Series(np.nan, index=tracks.index, dtype=float)
    dated = tracks.index[dates.notna() & tracks["artist_group"].fillna("").ne("")]
    for _, rows in tracks.loc[dated].groupby("artist_group").groups.items():
        order = dates[rows].sort_values(kind="stable")
        days, values = order.to_numpy(), popularity[order.index].to_numpy(dtype=float)
        earlier = np.searchsorted(days, days, side="left")  # rows strictly before each date
        for position, row in enumerate(order.index):
            known = values[: earlier[position]]
            known = known[~np.isnan(known)]
            count[row] = earlier[position]
            if known.size:
                median[row] = float(np.median(known))
    return pd.DataFrame({"earlier_releases": count, "earlier_median": median})


def context_features(fans: pd.Series, history: pd.DataFrame | None) -> np.ndarray:
    """The context model's inputs, one row per track: ``FEATURES_WITH_HISTORY`` or, without a
    history (unseen artists), ``FEATURES_FANS_ONLY``. A missing fan count is 0 with
    ``has_fans`` = 0; a missing history median is 0 with ``has_history`` = 0."""
    fans = pd.to_numeric(fans, errors="coerce")
    columns = [np.log1p(fans.fillna(0).clip(lower=0)).to_numpy(), fans.notna().to_numpy(dtype=float)]
    if history is not None:
        median = history["earlier_median"]
        columns += [
            np.log1p(history["earlier_releases"].to_numpy(dtype=float)),
            median.fillna(0).to_numpy(dtype=float) / 100.0,
            median.notna().to_numpy(dtype=float),
        ]
    return np.column_stack(columns)
