import numpy as np

from core.catalog.explore import class_balance, track_spectrogram
from core.catalog.store import Catalog
from core.config import FEATURE_PRESETS
from ui.charts import spectrogram


def test_class_balance_covers_every_split_and_part(use_demo_home):
    with Catalog.open(use_demo_home) as catalog:
        threshold, balance = class_balance(catalog)
    assert threshold == 39.0
    assert set(zip(balance["split"], balance["part"], strict=True)) == {
        (s, p) for s in ("random", "song", "artist") for p in ("train", "test", "holdout")
    }
    assert balance["popular_share"].between(0, 1).all()
    assert (balance.groupby("split")["tracks"].sum() == balance.groupby("split")["tracks"].sum().iloc[0]).all()


def test_track_spectrogram_reads_the_cache_or_computes(use_demo_home):
    with Catalog.open(use_demo_home) as catalog:
        track = catalog.tracks().dropna(subset=["audio_path"]).iloc[0]
    fast, study = FEATURE_PRESETS["fast"], FEATURE_PRESETS["study"]
    cached = track_spectrogram(use_demo_home, track["audio_sha256"], track["audio_path"], fast)
    computed = track_spectrogram(use_demo_home, track["audio_sha256"], track["audio_path"], study)
    assert cached.shape == fast.shape and computed.shape == study.shape
    figure = spectrogram(cached, fast, "t")
    times = figure.data[0].x
    assert times[0] == 0 and 29 < times[-1] <= 30.5
    assert np.isclose(figure.data[0].customdata[0, 0], 51.2, atol=1)  # lowest band's centre in Hz
