"""What the Dataset page shows of the catalog: artist statistics and search, releases of one
song, the tracks with and without a preview, class balance per split, and a track's
spectrogram."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core import wording
from core.audio.decode import load_audio
from core.audio.features import FeatureCache, log_mel
from core.catalog.store import Catalog, song_keys
from core.config import FeaturePreset, Settings
from core.errors import UsageError
from core.learning.dataset import SPLITS, choose_threshold, labels, modelling_tracks, split_tracks

BALANCE_COLUMNS = ["split", "part", "tracks", "popular_share"]


def default_threshold_rule(catalog: Catalog) -> str:
    return wording.default_threshold_rule(catalog.summary().popularity_scale)


def class_balance(catalog: Catalog) -> tuple[float, pd.DataFrame]:
    """The threshold (chosen on each split's training part) and the share of popular
    tracks in train, test and holdout of every split. A catalog with too few tracks with
    audio to split (``split_tracks`` refuses it) has neither: NaN and no rows, so the Dataset
    page can still show what it holds."""
    tracks = modelling_tracks(catalog)
    rule = default_threshold_rule(catalog)
    try:
        splits = [split_tracks(tracks, how) for how in SPLITS]
    except UsageError:
        return math.nan, pd.DataFrame(columns=BALANCE_COLUMNS)
    rows, threshold = [], math.nan
    for split in splits:
        threshold = choose_threshold(split.train, rule)
        for part, frame in split.parts().items():
            rows.append(
                {
                    "split": split.name,
                    "part": part,
                    "tracks": len(frame),
                    "popular_share": float(labels(frame, threshold).mean()),
                }
            )
    return threshold, pd.DataFrame(rows)


def track_spectrogram(settings: Settings, sha256: str, audio_path: str, preset: FeaturePreset) -> np.ndarray:
    """The cached spectrogram of a catalog track, or computed now when not cached."""
    cache = FeatureCache(settings)
    if cache.has(sha256, preset):
        return cache.load(sha256, preset)
    with Catalog.open(settings) as catalog:
        return log_mel(load_audio(catalog.audio_file(audio_path)), preset)


def artist_stats(catalog: Catalog, min_tracks: int = 1) -> pd.DataFrame:
    """Mean and median popularity per credited artist, over artists with at least
    ``min_tracks`` tracks, most popular first."""
    credits = catalog.track_artists().dropna(subset=["popularity"])
    if credits.empty:
        return pd.DataFrame(columns=["artist", "tracks", "mean_popularity", "median_popularity"])
    stats = (
        credits.groupby("artist")["popularity"]
        .agg(tracks="size", mean_popularity="mean", median_popularity="median")
        .reset_index()
    )
    stats = stats[stats["tracks"] >= min_tracks]
    return stats.sort_values(["mean_popularity", "tracks"], ascending=False).reset_index(drop=True)


def search_artists(catalog: Catalog, query: str) -> pd.DataFrame:
    """Artists whose name contains ``query`` (case-insensitive) with how much of them the
    catalog holds: tracks, tracks with audio, release years covered."""
    pattern = f"%{query.strip()}%"
    return pd.read_sql_query(
        """
        SELECT a.name AS artist, count(*) AS tracks,
               sum(t.audio_path IS NOT NULL) AS with_audio,
               round(avg(t.popularity), 1) AS mean_popularity,
               min(substr(t.release_date, 1, 4)) AS first_year,
               max(substr(t.release_date, 1, 4)) AS last_year
          FROM artists a
          JOIN track_artists ta ON ta.artist_id = a.id
          JOIN tracks t ON t.id = ta.track_id
         WHERE a.name LIKE ?
         GROUP BY a.id ORDER BY tracks DESC, a.name
        """,
        catalog.conn,
        params=(pattern,),
    )


def duplicate_groups(catalog: Catalog) -> pd.DataFrame:
    """The same song released several times (single, album, deluxe...): one row per
    release of every song that has more than one, with a shared ``group`` number."""
    return releases_of_one_song(catalog.tracks())


def releases_of_one_song(tracks: pd.DataFrame) -> pd.DataFrame:
    """``duplicate_groups`` from ``tracks`` already read (``Catalog.tracks``): reading them
    again takes seconds on a catalog of tens of thousands."""
    if tracks.empty:
        return tracks.assign(group=pd.Series(dtype=int))
    tracks = tracks.assign(song_key=song_keys(tracks))
    sizes = tracks.groupby("song_key")["id"].transform("size")
    groups = tracks[sizes > 1].copy()
    groups["group"] = groups.groupby("song_key", sort=False).ngroup() + 1
    columns = ["group", "name", "primary_artist", "album", "album_type", "release_date", "popularity"]
    return groups.sort_values(["group", "release_date"])[columns].reset_index(drop=True)


def preview_breakdown(catalog: Catalog) -> pd.DataFrame:
    """Tracks with and without a preview: count and popularity of each group."""
    return pd.read_sql_query(
        """
        SELECT CASE WHEN preview_url IS NULL THEN 'no preview' ELSE 'with preview' END AS preview,
               count(*) AS tracks, avg(popularity) AS mean_popularity
          FROM tracks GROUP BY 1 ORDER BY 1 DESC
        """,
        catalog.conn,
    )
