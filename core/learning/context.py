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

:class:`CatalogContext` gathers both for every catalog track (training) and for a catalog
artist "now" (scoring a new song: every release of theirs in the catalog is earlier).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.catalog.dedup import exact_duplicates
from core.errors import UsageError

if TYPE_CHECKING:
    from core.catalog.store import Catalog

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


def artist_groups(primary_artist: pd.Series) -> pd.Series:
    """One key per primary artist (its name, case-folded): what the artist split and the
    history group by."""
    return primary_artist.fillna("").str.casefold()


@dataclass(frozen=True)
class ArtistContext:
    """What is known about the artist who releases a new song: ``fans`` (None: unknown) and
    their catalog history, all of it earlier than the new song. ``name`` is the catalog
    artist's, None for an artist known only by a fan count (no history then)."""

    fans: float | None = None
    earlier_releases: int = 0
    earlier_median: float | None = None
    name: str | None = None

    @property
    def known(self) -> bool:
        return self.fans is not None or self.name is not None

    def features(self, with_history: bool) -> np.ndarray:
        """The one row of :func:`context_features` for a song of this artist."""
        history = pd.DataFrame(
            {"earlier_releases": [self.earlier_releases], "earlier_median": [self.earlier_median]}, dtype=float
        )
        return context_features(pd.Series([self.fans], dtype=float), history if with_history else None)

    def describe(self) -> str:
        """``"X: 12,000 fans, 8 releases in the catalog (median popularity 41)"``."""
        fans = "fan count unknown" if self.fans is None else f"{self.fans:,.0f} fans"
        if self.name is None:
            return f"an artist not in the catalog with {fans}, no history"
        median = "" if self.earlier_median is None else f" (median popularity {self.earlier_median:.0f})"
        return f"{self.name}: {fans}, {self.earlier_releases} dated releases in the catalog{median}"


UNKNOWN_ARTIST = ArtistContext()
"""No artist given: audio only for the verdict; for the popularity, the audio-only regression."""


@dataclass(frozen=True)
class CatalogContext:
    """Every catalog track's fans, popularity on a 0-100 scale and history, by track id.

    Built from all of the catalog's tracks (exact duplicates dropped), also those without
    audio: a release without a preview is still part of its artist's history."""

    tracks: pd.DataFrame  # index: track id
    scale: str

    @classmethod
    def of(cls, tracks: pd.DataFrame, scale: str) -> CatalogContext:
        """``tracks`` as ``Catalog.tracks()`` returns them; ``scale`` the catalog's popularity scale."""
        tracks = tracks[~exact_duplicates(tracks)]
        frame = pd.DataFrame(
            {
                "artist": tracks["primary_artist"],
                "artist_group": artist_groups(tracks["primary_artist"]),
                "release_date": tracks["release_date"],
                "fans": pd.to_numeric(tracks["primary_artist_fans"], errors="coerce"),
                "popularity": popularity_percent(tracks["popularity"], scale),
            }
        ).set_axis(tracks["id"].to_numpy())
        return cls(frame.join(release_history(frame, frame["popularity"])), scale)

    @classmethod
    def read(cls, catalog: Catalog) -> CatalogContext:
        """The context of every track of ``catalog``, on its popularity scale."""
        return cls.of(catalog.tracks(), catalog.summary().popularity_scale or "spotify")

    def features(self, ids, *, with_history: bool) -> np.ndarray:
        """:func:`context_features` of the tracks ``ids``, in that order."""
        rows = self.tracks.loc[list(ids)]
        return context_features(rows["fans"], rows[["earlier_releases", "earlier_median"]] if with_history else None)

    def popularity(self, ids) -> np.ndarray:
        """The tracks' popularity on the 0-100 scale (the regression's target)."""
        return self.tracks.loc[list(ids), "popularity"].to_numpy(dtype=float)

    def artists(self) -> list[str]:
        """The catalog's primary artists, sorted."""
        return sorted(self.tracks["artist"].dropna().unique(), key=str.casefold)

    def artist(self, name: str) -> ArtistContext:
        """The catalog artist ``name`` (any case) as a new song of theirs meets it: their fans,
        and all their dated releases as history. Unknown: a ``UsageError`` suggesting close names."""
        key = artist_groups(pd.Series([name.strip()])).iloc[0]
        rows = self.tracks[self.tracks["artist_group"] == key]
        if not key or rows.empty:
            names = {artist.casefold(): artist for artist in self.artists()}
            close = [names[c] for c in difflib.get_close_matches(key.strip(), list(names), n=3, cutoff=0.6)]
            raise UsageError(
                f"No artist '{name}' in the catalog.",
                f"Did you mean {' or '.join(repr(c) for c in close)}?"
                if close
                else "Give their fan count with --fans N instead (or check the spelling).",
            )
        # A release dated today (track ids are positive: -1 is free): its history is all of theirs.
        today = pd.DataFrame({"artist_group": [key], "release_date": [date.today().isoformat()]}, index=[-1])
        with_today = pd.concat([rows[["artist_group", "release_date"]], today])
        now = release_history(with_today, pd.concat([rows["popularity"], pd.Series([np.nan], index=[-1])])).loc[-1]
        fans = rows["fans"].dropna()
        return ArtistContext(
            fans=float(fans.iloc[-1]) if len(fans) else None,
            earlier_releases=int(now["earlier_releases"]),
            earlier_median=None if np.isnan(now["earlier_median"]) else float(now["earlier_median"]),
            name=str(rows["artist"].iloc[0]),
        )


def given_artist(catalog: CatalogContext | None, name: str | None, fans: float | None) -> ArtistContext:
    """The context of ``score --artist NAME`` / ``--fans N`` (or the Score page's artist box):
    a catalog artist, an artist known by a fan count only, or ``UNKNOWN_ARTIST`` for neither.
    Both, or a negative count, is a ``UsageError``."""
    if name is not None and fans is not None:
        raise UsageError(
            "Give either a catalog artist (--artist) or a fan count (--fans), not both.",
            "A catalog artist's fans are already known; a fan count is for an artist not in the catalog.",
        )
    if fans is not None:
        if fans < 0 or not np.isfinite(fans):
            raise UsageError(f"A fan count cannot be {fans:g}.", "Give a whole number of fans, 0 or more.")
        return ArtistContext(fans=float(fans))
    if name is not None:
        assert catalog is not None, "a catalog artist needs the catalog's context"
        return catalog.artist(name)
    return UNKNOWN_ARTIST
