import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core.learning.evaluate import PlattCalibration, bootstrap, evaluate_model


def _scores(n, seed=0, separation=1.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = 1 / (1 + np.exp(-(separation * (2 * y - 1) + rng.normal(0, 1.5, n))))
    return y, score


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_interval_contains_the_point_estimate(seed):
    y, score = _scores(300, seed)
    estimate = bootstrap(roc_auc_score, y, score, needs_both_classes=True)
    assert estimate.low <= estimate.value <= estimate.high
    assert estimate.value == roc_auc_score(y, score)


def test_interval_shrinks_with_more_samples():
    small = bootstrap(roc_auc_score, *_scores(150), needs_both_classes=True)
    large = bootstrap(roc_auc_score, *_scores(2400), needs_both_classes=True)
    assert (large.high - large.low) < 0.5 * (small.high - small.low)


def test_platt_calibration_fixes_overconfident_probabilities():
    y, score = _scores(4000, seed=3)
    overconfident = 1 / (1 + np.exp(-4 * np.log(score / (1 - score))))
    calibration = PlattCalibration.fit(y[:2000], overconfident[:2000])
    raw_brier = np.mean((overconfident[2000:] - y[2000:]) ** 2)
    calibrated_brier = np.mean((calibration.apply(overconfident[2000:]) - y[2000:]) ** 2)
    assert calibrated_brier < raw_brier
    assert 0.15 < calibration.slope < 0.4  # undoes the factor of 4


def test_evaluate_model_report():
    y, score = _scores(400, seed=4)
    report = evaluate_model(y[:200], score[:200], y[200:], score[200:], resamples=200)
    assert report["n"] == 200
    assert sum(map(sum, report["confusion"])) == 200
    assert report["roc_auc"]["low"] <= report["roc_auc"]["value"] <= report["roc_auc"]["high"]
    assert report["roc_curve"]["fpr"][0] == 0.0 and report["roc_curve"]["tpr"][-1] == 1.0
    assert 0 <= report["brier_calibrated"] <= 0.25


def test_a_constant_model_scores_half_auc():
    y, _ = _scores(200, seed=5)
    report = evaluate_model(y, np.full(200, 0.5), y, np.full(200, 0.5), resamples=100)
    assert report["roc_auc"]["value"] == 0.5


def test_auc_on_a_single_class_is_undefined_not_a_hang():
    y = np.ones(5)
    report = evaluate_model(y, np.full(5, 0.7), y, np.full(5, 0.7), resamples=50)
    assert report["roc_auc"] == {"value": None, "low": None, "high": None}
    assert report["accuracy"]["value"] == 1.0


def test_the_rank_auc_is_sklearns_with_and_without_ties():
    from core.learning.evaluate import roc_auc

    rng = np.random.default_rng(5)
    for decimals in (None, 2, 1):  # continuous scores, then more and more ties
        y, score = _scores(300, seed=int(rng.integers(100)))
        score = score if decimals is None else np.round(score, decimals)
        assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def _clustered(groups, size, seed):
    """Labels and scores of ``groups`` groups of ``size`` rows, each group's rows sharing one
    offset that pushes both their label and their score, as an artist's standing pushes all
    their songs."""
    rng = np.random.default_rng(seed)
    offset = np.repeat(rng.normal(0, 1.5, groups), size)
    y = (offset + rng.normal(0, 1, offset.size) > 0).astype(int)
    score = 1 / (1 + np.exp(-(offset + rng.normal(0, 1, offset.size))))
    return y, score, np.repeat([f"artist {g}" for g in range(groups)], size)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_resampling_whole_groups_widens_the_interval_when_a_groups_rows_move_together(seed):
    from core.learning.evaluate import roc_auc

    y, score, artist = _clustered(30, 10, seed)
    rows = bootstrap(roc_auc, y, score, needs_both_classes=True)
    artists = bootstrap(roc_auc, y, score, groups=artist, needs_both_classes=True)
    assert artists.value == rows.value
    assert (artists.high - artists.low) > 1.4 * (rows.high - rows.low)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_groups_of_one_row_each_resample_like_rows(seed):
    from core.learning.evaluate import roc_auc

    y, score, _ = _clustered(30, 10, seed)
    rows = bootstrap(roc_auc, y, score, needs_both_classes=True)
    alone = np.random.default_rng(seed).permutation(y.size).astype(str)  # one label per row, in no order
    singletons = bootstrap(roc_auc, y, score, groups=alone, needs_both_classes=True)
    assert singletons.value == rows.value
    assert (singletons.high - singletons.low) == pytest.approx(rows.high - rows.low, rel=0.15)
    assert bootstrap(roc_auc, y, score, groups=np.arange(y.size), needs_both_classes=True) == rows  # draw for draw


def test_a_group_bootstrap_still_draws_again_resamples_of_one_class():
    from core.learning.evaluate import roc_auc

    y = np.array([1, 1, 0, 0, 1, 0])  # two of three groups hold one class each
    estimate = bootstrap(roc_auc, y, np.linspace(0, 1, 6), groups=[0, 0, 1, 1, 2, 2], needs_both_classes=True)
    assert estimate.low is not None and estimate.low <= estimate.value <= estimate.high
