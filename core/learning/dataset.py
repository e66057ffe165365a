"""From catalog rows to model inputs: which tracks, which split, which label, which scale.

Splits (fractions as in the study: 75% train, 15% test, 10% holdout):

- ``random`` reproduces the study: ``train_test_split(random_state=42)`` takes 10% as
  holdout, then 15/90 of the rest as test.
- ``song`` keeps every release of one song (same normalised title and primary artist, or
  the same audio) on one side, so a deluxe re-release cannot leak its single's label.
- ``artist`` keeps each primary artist on one side: the honest test for "a new artist's
  unreleased song".

The popularity threshold and the input scaling are fitted on the training split only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from core.catalog.dedup import study_dedup
from core.catalog.store import Catalog, song_keys
from core.errors import UsageError
from core.learning.context import artist_groups

SPLITS = ("random", "song", "artist")
THRESHOLD_RULES = ("study", "median")
STUDY_THRESHOLD = 39.0
HOLDOUT_FRACTION = 0.10
TEST_FRACTION_OF_REST = 15 / 90
SPLIT_SEED = 42
GROUP_COLUMNS = {"song": "song_group", "artist": "artist_group"}  # what each grouped split keeps on one side


def modelling_tracks(catalog: Catalog) -> pd.DataFrame:
    """Tracks a model can learn from: the study's dedup rules applied, audio present, a
    popularity known; with ``song_group`` and ``artist_group`` columns for grouped splits."""
    tracks = study_dedup(catalog.tracks()).kept
    tracks = tracks[tracks["audio_sha256"].notna() & tracks["popularity"].notna()].reset_index(drop=True)
    tracks["song_group"] = song_groups(tracks)
    tracks["artist_group"] = artist_groups(tracks["primary_artist"])
    return tracks


def song_groups(tracks: pd.DataFrame) -> np.ndarray:
    """One id per song: rows are joined when they share a song key *or* an audio file. The
    songs are the connected components of a graph linking each row to its key and its audio
    file; ids number them in the order of their first row."""
    rows = len(tracks)
    linked, values, nodes = [], [], rows
    for column in (song_keys(tracks), tracks["audio_sha256"]):
        codes, distinct = pd.factorize(column)  # a missing value (None, NaN) links nothing: code -1
        present = np.flatnonzero(codes >= 0)
        linked.append(present)
        values.append(nodes + codes[present])
        nodes += len(distinct)
    edges = np.ones(sum(len(part) for part in linked))
    graph = coo_matrix((edges, (np.concatenate(linked), np.concatenate(values))), shape=(nodes, nodes))
    _, component = connected_components(graph, directed=False)
    return component[:rows]


@dataclass(frozen=True)
class Split:
    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    holdout: pd.DataFrame

    def parts(self) -> dict[str, pd.DataFrame]:
        return {"train": self.train, "test": self.test, "holdout": self.holdout}

    @property
    def bootstrap_unit(self) -> str:
        """What the holdout's bootstrap intervals resample: the unit a grouped split draws into
        the holdout whole, since its rows rise and fall together (an artist's tracks share the
        artist's standing; a song's releases usually share one audio file, which every audio
        model scores alike); a track on the random split, which draws tracks one by one."""
        return self.name if self.name in GROUP_COLUMNS else "track"

    def holdout_groups(self) -> np.ndarray | None:
        """The holdout rows' ``bootstrap_unit`` labels, for ``core.learning.evaluate.bootstrap``'s
        ``groups``; None on the random split (each row its own)."""
        column = GROUP_COLUMNS.get(self.name)
        return None if column is None else self.holdout[column].to_numpy()


def split_tracks(tracks: pd.DataFrame, how: str, seed: int = SPLIT_SEED) -> Split:
    if how not in SPLITS:
        raise UsageError(f"Unknown split '{how}'.", f"Choose one of: {', '.join(SPLITS)}.")
    if len(tracks) < 20:
        raise UsageError(
            f"Only {len(tracks)} tracks with audio: too few to split.",
            "Build a larger catalog (python -m core demo or collect).",
        )
    if how == "random":
        rest, holdout = train_test_split(tracks, test_size=HOLDOUT_FRACTION, random_state=seed)
        train, test = train_test_split(rest, test_size=TEST_FRACTION_OF_REST, random_state=seed)
    else:
        groups = tracks[GROUP_COLUMNS[how]]
        rest, holdout = _group_split(tracks, groups, HOLDOUT_FRACTION, seed)
        train, test = _group_split(rest, groups.loc[rest.index], TEST_FRACTION_OF_REST, seed)
    return Split(how, train, test, holdout)


# What a run needs from each track's audio, as people call it (keys of a run's "left_out").
MODEL_INPUTS = {"spectrogram": "spectrogram", "embedding": "musicnn embedding"}


def leave_out_missing(split: Split, has: dict[str, Callable[[str], bool]]) -> tuple[Split, dict[str, int]]:
    """``split`` without the tracks whose audio lacks an input the run needs (a file missing
    or unreadable, so its spectrogram could not be computed), and how many were left out for
    each input. ``has`` maps a key of ``MODEL_INPUTS`` to whether an audio SHA-256 has that
    input; a track lacking several is counted under the first. Every other track stays on
    its side, so one missing file does not reshuffle the split, and a split with nothing
    missing is returned as it is."""
    left_out: dict[str, int] = {}
    parts = {}
    for name, part in split.parts().items():
        keep = pd.Series(True, index=part.index)
        for needed, present in has.items():
            lacking = keep & ~part["audio_sha256"].map(present).astype(bool)
            if lacking.any():
                left_out[needed] = left_out.get(needed, 0) + int(lacking.sum())
            keep &= ~lacking
        parts[name] = part if keep.all() else part[keep]
    if not left_out:
        return split, {}
    empty = [name for name, part in parts.items() if part.empty]
    if empty:
        raise UsageError(
            f"{left_out_note(left_out)} That leaves no track in the {', '.join(empty)} split.",
            "Replace the missing or unreadable audio ('python -m core features' lists it) and train again.",
        )
    return Split(split.name, **parts), left_out


def left_out_note(left_out: dict[str, int]) -> str | None:
    """ "3 tracks without a spectrogram were left out (...)." for a run's ``left_out``; None
    when it left none out."""
    said = [
        f"{count} track without a {MODEL_INPUTS[needed]} was left out"
        if count == 1
        else f"{count} tracks without a {MODEL_INPUTS[needed]} were left out"
        for needed, count in left_out.items()
        if count
    ]
    if not said:
        return None
    return f"{'; '.join(said)} (their audio is missing or unreadable: 'python -m core features' lists it)."


def _group_split(tracks: pd.DataFrame, groups: pd.Series, fraction: float, seed: int):
    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    keep, take = next(splitter.split(tracks, groups=groups))
    return tracks.iloc[keep], tracks.iloc[take]


def choose_threshold(train: pd.DataFrame, rule: str) -> float:
    """The popularity at or above which a track counts as popular, from training rows only."""
    if rule == "study":
        scales = set(train["popularity_scale"])
        if scales != {"spotify"}:
            raise UsageError(
                "The study's threshold (39) is on Spotify's 0-100 scale; "
                f"this catalog uses {', '.join(sorted(scales))}.",
                "Use --threshold median.",
            )
        return STUDY_THRESHOLD
    if rule == "median":
        return float(train["popularity"].median())
    raise UsageError(f"Unknown threshold rule '{rule}'.", f"Choose one of: {', '.join(THRESHOLD_RULES)}.")


def labels(tracks: pd.DataFrame, threshold: float) -> np.ndarray:
    return (tracks["popularity"].to_numpy() >= threshold).astype(np.float32)


@dataclass(frozen=True)
class MinMaxScaling:
    """The study's global min-max scaling to [0, 1], fitted on training spectrograms."""

    low: float
    high: float

    def apply(self, spectrograms: np.ndarray) -> np.ndarray:
        span = max(self.high - self.low, 1e-6)
        return np.clip((spectrograms - self.low) / span, 0.0, 1.0).astype(np.float32)

    @classmethod
    def fit(cls, spectrograms) -> MinMaxScaling:
        """Fit over an iterable of training spectrograms, one at a time (never all in memory)."""
        low, high = np.inf, -np.inf
        for spectrogram in spectrograms:
            low = min(low, float(spectrogram.min()))
            high = max(high, float(spectrogram.max()))
        if not np.isfinite(low):
            raise ValueError("no training spectrograms to fit the scaling on")
        return cls(low, high)
