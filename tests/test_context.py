import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from core.learning.context import FEATURES_WITH_HISTORY, context_features, popularity_percent, release_history
from core.learning.popularity import (
    ContextClassifier,
    PopularityRegressor,
    conformal_quantile,
    model_inputs,
    regression_metrics,
)


def _catalog(rows):
    return pd.DataFrame(rows, columns=["artist_group", "release_date", "popularity"])


def test_history_counts_only_releases_dated_strictly_before():
    tracks = _catalog(
        [
            ("a", "2018-01-01", 20),
            ("a", "2019-06-01", 40),
            ("a", "2019-06-01", 60),  # the same day: neither is the other's history
            ("a", "2021", 10),
            ("b", "2017-01-01", 90),  # another artist never counts
            ("a", None, 99),  # undated: no history, and in no one's
        ]
    )
    history = release_history(tracks, tracks["popularity"].astype(float))
    assert history["earlier_releases"].tolist() == [0, 1, 1, 3, 0, 0]
    assert np.isnan(history.loc[0, "earlier_median"]) and np.isnan(history.loc[4, "earlier_median"])
    assert history.loc[[1, 2, 3], "earlier_median"].tolist() == [20.0, 20.0, 40.0]


def test_a_later_hit_does_not_change_an_earlier_release_history():
    tracks = _catalog([("a", "2015-01-01", 30), ("a", "2016-01-01", 35), ("a", "2017-01-01", 40)])
    before = release_history(tracks, tracks["popularity"].astype(float))
    with_hit = pd.concat([tracks, _catalog([("a", "2020-01-01", 100), ("a", "2016-01-01", 100)])], ignore_index=True)
    after = release_history(with_hit, with_hit["popularity"].astype(float)).loc[tracks.index]
    # The 2016 hit shares its date with row 1, so only row 2 (2017) may see it.
    pd.testing.assert_frame_equal(after.loc[[0, 1]], before.loc[[0, 1]])
    assert after.loc[2, "earlier_releases"] == 3


def test_deezer_rank_becomes_a_catalog_percentile():
    ranks = pd.Series([1000, 500_000, 250_000, 1_000_000])
    assert popularity_percent(ranks, "deezer_rank").tolist() == [25.0, 75.0, 50.0, 100.0]
    assert popularity_percent(pd.Series([12, 80]), "spotify").tolist() == [12.0, 80.0]


def test_missing_fans_and_history_are_flagged_not_invented():
    history = pd.DataFrame({"earlier_releases": [0, 2], "earlier_median": [np.nan, 50.0]})
    features = context_features(pd.Series([None, 999]), history)
    assert features.shape == (2, len(FEATURES_WITH_HISTORY))
    assert features[0].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0]
    assert features[1].tolist() == pytest.approx([np.log1p(999), 1.0, np.log1p(2), 0.5, 1.0])
    assert context_features(pd.Series([10]), None).shape == (1, 2)


def _songs(rng, n, fan_effect):
    audio = rng.uniform(0.05, 0.95, n)
    log_fans = rng.normal(8, 2, n)
    latent = 1.2 * np.log(audio / (1 - audio)) + fan_effect * (log_fans - 8) + rng.normal(0, 1, n)
    fans = pd.Series(np.expm1(log_fans))
    return audio, fans, (latent > 0).astype(int), 50 + 8 * latent


def test_context_classifier_uses_fans_when_they_carry_signal_and_not_when_shuffled():
    rng = np.random.default_rng(0)
    (a_tr, f_tr, y_tr, _), (a_te, f_te, y_te, _), (a_ho, f_ho, y_ho, _) = (
        _songs(rng, n, fan_effect=0.8) for n in (600, 200, 400)
    )
    features = ["audio", "log_fans", "has_fans"]

    def holdout_auc(fans_train, fans_test, fans_holdout):
        model = ContextClassifier.fit(
            features,
            model_inputs(a_tr, context_features(fans_train, None)),
            y_tr,
            model_inputs(a_te, context_features(fans_test, None)),
            y_te,
        )
        return roc_auc_score(y_ho, model.predict_proba(model_inputs(a_ho, context_features(fans_holdout, None))))

    audio_only = roc_auc_score(y_ho, a_ho)
    with_fans = holdout_auc(f_tr, f_te, f_ho)
    shuffled = holdout_auc(*(pd.Series(rng.permutation(f.to_numpy())) for f in (f_tr, f_te, f_ho)))
    assert with_fans > audio_only + 0.05
    assert abs(shuffled - audio_only) < 0.03


def _on_scale(popularity):
    return np.clip(popularity, 0, 100)


def test_conformal_interval_reaches_its_nominal_coverage():
    rng = np.random.default_rng(1)
    coverages = []
    for _ in range(20):
        (a_tr, f_tr, _, p_tr), (a_te, f_te, _, p_te), (a_ho, f_ho, _, p_ho) = (
            _songs(rng, n, fan_effect=0.5) for n in (300, 150, 500)
        )
        x = [model_inputs(a, context_features(f, None)) for a, f in ((a_tr, f_tr), (a_te, f_te), (a_ho, f_ho))]
        model = PopularityRegressor.fit(
            ["audio", "log_fans", "has_fans"], x[0], _on_scale(p_tr), x[1], _on_scale(p_te), scale="spotify"
        )
        value, low, high = model.predict(x[2])
        metrics = regression_metrics(_on_scale(p_ho), value, low, high, model.level, resamples=20)
        coverages.append(metrics["coverage"])
    # One run's coverage varies by about 3.7 points (1.8 from its 500 holdout songs, 3.2 from
    # its 150 calibration songs); the mean of 20 runs by about 0.8.
    assert np.mean(coverages) == pytest.approx(0.8, abs=0.03)
    assert min(coverages) > 0.7


def test_conformal_quantile_is_infinite_with_too_few_residuals():
    assert conformal_quantile(np.array([1.0, 2.0]), 0.8) == np.inf
    assert conformal_quantile(np.arange(1.0, 10.0), 0.8) == 8.0  # ceil(10 * 0.8) = 8th smallest


def test_saved_models_predict_the_same_after_a_round_trip():
    rng = np.random.default_rng(2)
    (a, f, y, p), (a2, f2, y2, p2) = (_songs(rng, n, fan_effect=0.5) for n in (200, 100))
    x, x2 = model_inputs(a, context_features(f, None)), model_inputs(a2, context_features(f2, None))
    names = ["audio", "log_fans", "has_fans"]
    classifier = ContextClassifier.fit(names, x, y, x2, y2)
    regressor = PopularityRegressor.fit(names, x, np.clip(p, 0, 100), x2, np.clip(p2, 0, 100), scale="spotify")
    assert np.allclose(
        ContextClassifier.from_dict(classifier.as_dict()).predict_proba(x2), classifier.predict_proba(x2)
    )
    assert np.allclose(PopularityRegressor.from_dict(regressor.as_dict()).predict(x2), regressor.predict(x2))
