"""Benchmarks that must run whatever the active run holds (issue 22, item 8)."""

import dataclasses

from core.bench.scoring import best_architecture
from core.catalog.store import Catalog
from core.learning.registry import Estimate, load_run


def test_bench_score_times_a_spectrogram_model_when_musicnn_is_the_best(trained_home):
    with Catalog.open(trained_home) as catalog:
        meta = load_run(trained_home, catalog).meta
    metrics = dict(meta.metrics)
    metrics["musicnn"] = dataclasses.replace(
        metrics["musicnn"], roc_auc=Estimate(0.99, 0.98, 1.0), accuracy=Estimate(1.0, 1.0, 1.0)
    )
    metrics["cnn2"] = dataclasses.replace(metrics["cnn2"], roc_auc=Estimate(0.6, 0.5, 0.7))
    musicnn_best = dataclasses.replace(meta, metrics=metrics)
    assert musicnn_best.best_model == "musicnn"
    assert best_architecture(musicnn_best) == "cnn2"  # the bench builds it; musicnn is no Keras architecture
    assert best_architecture(dataclasses.replace(meta, models=("dummy", "musicnn"))) == "cnn2"
