"""Training on a tiny planted set: small spectrograms in which positives carry a bright
patch in one time-frequency region. Fast enough to train for real in a few seconds."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core.audio.features import FeatureCache
from core.config import FeaturePreset, Settings, TrainingPreset
from core.errors import Cancelled, UsageError
from core.learning.dataset import MinMaxScaling
from core.learning.training import TrainingData, parse_models, train_models

TINY = FeaturePreset("tiny", n_mels=16, n_fft=512, hop_length=22_050)  # 16 x 31
PRESET = TrainingPreset(
    "tiny",
    "tiny",
    {m: 8 for m in ("mlp", "cnn1", "cnn2", "cnn_gru")},
    {m: 20 for m in ("mlp", "cnn1", "cnn2", "cnn_gru")},
    None,
)


def _planted(tmp_path, n=240, seed=0) -> TrainingData:
    rng = np.random.default_rng(seed)
    cache = FeatureCache(Settings(home=tmp_path))
    shas, labels = [], []
    for i in range(n):
        spectrogram = rng.uniform(-80, -30, TINY.shape).astype(np.float32)
        label = float(rng.random() < 0.5)
        if label:
            spectrogram[10:14, 18:26] += 25.0  # the planted region
        sha = f"{i:064x}"
        cache.save(sha, TINY, spectrogram)
        shas.append(sha)
        labels.append(label)
    labels = np.array(labels, dtype=np.float32)
    cut1, cut2 = int(n * 0.7), int(n * 0.85)
    return TrainingData(
        cache=cache,
        preset=TINY,
        scaling=MinMaxScaling(-80.0, 0.0),
        train=(shas[:cut1], labels[:cut1]),
        test=(shas[cut1:cut2], labels[cut1:cut2]),
        holdout=(shas[cut2:], labels[cut2:]),
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return _planted(tmp_path_factory.mktemp("planted"))


def test_a_planted_signal_is_learned_and_the_dummy_stays_at_chance(planted):
    results = train_models(["dummy", "cnn2"], planted, PRESET)
    holdout_labels = planted.holdout[1]
    assert roc_auc_score(holdout_labels, results["cnn2"].holdout_probabilities) > 0.8
    assert roc_auc_score(holdout_labels, results["dummy"].holdout_probabilities) == 0.5
    assert len(results["cnn2"].history["val_auc"]) == 8


def test_same_seed_same_results(planted):
    first = train_models(["cnn1"], planted, PRESET, epochs=2)["cnn1"]
    second = train_models(["cnn1"], planted, PRESET, epochs=2)["cnn1"]
    assert first.holdout_probabilities == second.holdout_probabilities
    assert first.history == second.history


def test_progress_events_and_cancellation_between_batches(planted):
    events = []
    with pytest.raises(Cancelled):
        train_models(["mlp"], planted, PRESET, on_progress=events.append, should_cancel=lambda: len(events) >= 3)
    assert [e.batch for e in events] == [1, 2, 3]
    assert all(e.model == "mlp" and e.epoch == 1 for e in events)

    events.clear()
    train_models(["mlp"], planted, PRESET, epochs=2, on_progress=events.append)
    epoch_ends = [e for e in events if e.batch is None]
    assert [e.epoch for e in epoch_ends] == [1, 2]
    assert {"loss", "auc", "val_loss", "val_auc"} <= set(epoch_ends[-1].metrics)
    assert events[0].batches == int(np.ceil(len(planted.train[0]) / 20))


def test_parse_models_keeps_the_studys_order_and_rejects_unknown_names():
    assert parse_models("cnn_gru,dummy") == ["dummy", "cnn_gru"]
    assert parse_models("all") == ["dummy", "mlp", "cnn1", "cnn2", "cnn_gru", "musicnn", "context", "regression"]
    with pytest.raises(UsageError, match="rnn"):
        parse_models("rnn")


def test_context_and_regression_need_an_audio_model_in_the_same_run():
    assert parse_models("regression,cnn2,context") == ["cnn2", "context", "regression"]
    for alone in ("context", "regression", "dummy,context,regression"):
        with pytest.raises(UsageError, match="fitted on an audio model's verdict") as refused:
            parse_models(alone)
        assert "\n" not in str(refused.value) and "--models cnn2," in str(refused.value)
