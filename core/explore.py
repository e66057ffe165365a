"""What the Dataset page shows that needs more than one catalog query: class balance per
split, and a track's spectrogram."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import wording
from core.audio import load_audio
from core.catalog import Catalog
from core.config import FeaturePreset, Settings
from core.dataset import SPLITS, choose_threshold, labels, modelling_tracks, split_tracks
from core.features import FeatureCache, log_mel


def default_threshold_rule(catalog: Catalog) -> str:
    return wording.default_threshold_rule(catalog.summary().popularity_scale)


def class_balance(catalog: Catalog) -> tuple[float, pd.DataFrame]:
    """The threshold (chosen on each split's training part) and the share of popular
    tracks in train, test and holdout of every split."""
    tracks = modelling_tracks(catalog)
    rule = default_threshold_rule(catalog)
    rows, threshold = [], float("nan")
    for how in SPLITS:
        split = split_tracks(tracks, how)
        threshold = choose_threshold(split.train, rule)
        for part, frame in split.parts().items():
            rows.append(
                {
                    "split": how,
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
