"""Trained models run through LiteRT give the original's outputs, are converted once, and
spare a command's cold start TensorFlow's import."""

from __future__ import annotations

import numpy as np
import pytest

from core.catalog.store import Catalog
from core.config import PREDICT_BATCH
from core.engine import lite
from core.learning.architectures import build_model
from core.learning.registry import load_run
from tests.helpers import call_cli, cli_imports, demo_clips

SHAPE = (32, 40, 1)  # a small spectrogram: the conversion, not the resolution, is under test


@pytest.mark.parametrize("name", ["cnn2", "cnn_gru"])
def test_a_converted_model_gives_the_keras_models_outputs_in_any_batch(name):
    """The CNN-GRU's recurrent loop converts only with a fixed batch: every batch size still
    works, in chunks of it with the last one padded."""
    model = build_model(name, SHAPE)
    flatbuffer, _, _ = lite.keras_conversion(model)
    converted = lite.LiteModel(flatbuffer)
    rng = np.random.default_rng(1)
    for count in (1, PREDICT_BATCH, PREDICT_BATCH + 7):
        inputs = rng.standard_normal((count, *SHAPE)).astype(np.float32)
        np.testing.assert_allclose(
            converted.predict_on_batch(inputs), model.predict_on_batch(inputs), atol=lite.TOLERANCE
        )


def test_a_model_is_converted_once_and_again_when_its_file_changes(tmp_path):
    model = build_model("cnn2", SHAPE)
    conversions = []

    def convert():
        conversions.append(1)
        return lite.keras_conversion(model)

    first = tmp_path / "cnn2.aaaa.tflite"
    assert lite.kept(first) is None
    assert isinstance(lite.convert_and_keep(first, convert), lite.LiteModel) and first.is_file()
    assert isinstance(lite.kept(first), lite.LiteModel) and conversions == [1]
    first.write_bytes(b"cut off")  # damaged: not used, so the caller converts again
    assert lite.kept(first) is None
    second = tmp_path / "cnn2.bbbb.tflite"  # the weights changed: a new key
    lite.convert_and_keep(second, convert)
    assert second.is_file() and not first.exists() and conversions == [1, 1]


def test_a_model_the_converter_refuses_is_tried_once_and_runs_in_keras(tmp_path):
    attempts = []

    def refuse():
        attempts.append(1)
        raise ValueError("an op LiteRT lacks")

    path = tmp_path / "cnn_gru.cccc.tflite"
    assert lite.convert_and_keep(path, refuse) is None
    assert lite.convert_and_keep(path, refuse) is None
    assert attempts == [1] and "converter failed" in path.with_suffix(lite.UNSUPPORTED_SUFFIX).read_text()

    model = build_model("cnn2", SHAPE)
    flatbuffer, probe, expected = lite.keras_conversion(model)
    disagreeing = tmp_path / "cnn2.dddd.tflite"
    assert lite.convert_and_keep(disagreeing, lambda: (flatbuffer, probe, [expected[0] + 0.5])) is None
    assert not disagreeing.exists() and "differ" in disagreeing.with_suffix(lite.UNSUPPORTED_SUFFIX).read_text()


def test_a_run_scores_through_litert_and_a_cold_score_never_imports_tensorflow(trained_home):
    with Catalog.open(trained_home) as catalog:
        run = load_run(trained_home, catalog)
    assert isinstance(run.load_model("cnn2"), lite.LiteModel)
    assert len(list(run.path.glob("cnn2.*.tflite"))) == 1
    clip = demo_clips(trained_home)[0]
    in_process = call_cli("score", str(clip), "--json", home=trained_home.home, check=True)
    cold, imported = cli_imports("score", str(clip), "--json", home=trained_home.home)
    assert "numpy" in imported and not imported & {"tensorflow", "keras"}
    assert cold.stdout == in_process.stdout  # the same verdict and figures as the process that converted


def test_a_run_model_the_converter_refused_loads_in_keras(trained_home, tmp_path):
    import shutil

    import keras

    from core.learning.registry import SavedRun

    with Catalog.open(trained_home) as catalog:
        run = load_run(trained_home, catalog)
    folder = shutil.copytree(run.path, tmp_path / run.id, ignore=shutil.ignore_patterns("*.tflite"))
    copy = SavedRun(run.id, folder, run.meta)
    weights = folder / "cnn2.keras"
    weights.with_suffix(f".{lite.file_key(weights)}{lite.UNSUPPORTED_SUFFIX}").write_text("refused\n")
    assert isinstance(copy.load_model("cnn2"), keras.Model)
    assert not list(folder.glob("*.tflite"))
