"""Training any subset of the six models on one split, with progress and cancellation.

``train_models`` is the one entry point the CLI and the dashboard's background job use. It
reports through an ``on_progress(TrainingEvent)`` callback (the CLI draws a progress bar,
the job writes progress rows the Train page plots) and checks ``should_cancel()`` after
every batch, raising ``core.errors.Cancelled`` (nothing of the run is saved).

Presets:
- ``study``: the study's features, epochs and batch sizes, no early stopping.
- ``fast``: the fast features (see ``core.config``), the study's batch sizes, at most 20 epochs (15 for
  the CNN-GRU) with early stopping on validation AUC (patience 4) and the best weights
  restored.

The sixth model, ``musicnn``, is a logistic regression on pooled pretrained embeddings
(``core.pretrained.head``): it trains in a second and reports no epochs. ``context`` and
``regression`` are fitted afterwards on the best audio model's probability and the artist's
context (``core.learning.experiment``, ``core.learning.popularity``); ``train_models`` trains the audio models.

Each Keras model is built right after ``keras.utils.set_random_seed(seed)``, so training a
model alone or among others gives the same weights and the same metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np

from core.audio.features import FeatureCache
from core.config import FeaturePreset, TrainingPreset
from core.errors import Cancelled, UsageError
from core.learning.architectures import (
    AUDIO_MODELS,
    KERAS_MODELS,
    MODEL_NAMES,
    PRETRAINED_MODEL,
    build_dummy,
    build_model,
    require_feeding_model,
)
from core.learning.dataset import MinMaxScaling
from core.pretrained.cache import EmbeddingCache
from core.pretrained.head import fit_head
from core.pretrained.musicnn import DEFAULT_MODEL

SEED = 42

# Predicting the test and holdout splits retraces Keras' predict step for their last, shorter
# batch; TensorFlow warns about that on every run although it costs well under a second.
logging.getLogger("tensorflow").setLevel(logging.ERROR)


def training_device() -> str:
    """What Keras trains on here, in words for ``train``'s output and the run's metadata:
    the first GPU TensorFlow sees ("GPU: NVIDIA H100 80GB HBM3"), else the CPU ("CPU: AMD EPYC
    7B13, 2 cores"). TensorFlow places training on a visible GPU by itself."""
    import os
    import platform

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
        return f"GPU: {name}" + (f" (and {len(gpus) - 1} more)" if len(gpus) > 1 else "")
    return f"CPU: {_cpu_name() or platform.machine()}, {os.cpu_count()} cores"


def _cpu_name() -> str | None:
    """The CPU's model name from /proc/cpuinfo (Linux); None elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def parse_models(text: str) -> list[str]:
    """``all`` or a comma-separated subset of the eight, in the study's order (musicnn, then
    the models fitted on top of an audio model: ``context`` and ``regression``)."""
    wanted = MODEL_NAMES if text.strip() == "all" else [m.strip() for m in text.split(",") if m.strip()]
    unknown = sorted(set(wanted) - set(MODEL_NAMES))
    if unknown or not wanted:
        raise UsageError(
            f"Unknown model(s): {', '.join(unknown) or '(none given)'}.",
            f"Choose 'all' or some of: {', '.join(MODEL_NAMES)}.",
        )
    require_feeding_model(list(wanted))
    return [m for m in MODEL_NAMES if m in wanted]


def audio_models(models: list[str]) -> list[str]:
    """The models of ``models`` that ``train_models`` trains (all but those fitted on top)."""
    return [m for m in models if m in AUDIO_MODELS]


@dataclass(frozen=True)
class TrainingEvent:
    """One step of progress. ``batch`` is None at the end of an epoch, when ``metrics``
    holds the epoch's training and validation figures."""

    model: str
    epoch: int  # 1-based
    epochs: int
    batch: int | None
    batches: int
    metrics: dict[str, float]


@dataclass
class TrainingData:
    """Spectrograms by SHA-256 from the cache, with labels, for one split."""

    cache: FeatureCache
    preset: FeaturePreset
    scaling: MinMaxScaling
    train: tuple[list[str], np.ndarray]
    test: tuple[list[str], np.ndarray]
    holdout: tuple[list[str], np.ndarray]
    embeddings: EmbeddingCache | None = None  # needed by the musicnn model only

    def pooled(self, part: str) -> np.ndarray:
        """The pooled musicnn embeddings of a split's clips, (n, 400)."""
        if self.embeddings is None:
            raise ValueError("the musicnn model needs TrainingData.embeddings")
        shas = getattr(self, part)[0]
        return np.stack([self.embeddings.pooled(sha, DEFAULT_MODEL) for sha in shas]) if shas else np.zeros((0, 400))


@dataclass
class ModelResult:
    name: str
    history: dict[str, list[float]] = field(default_factory=dict)
    train_probabilities: list[float] = field(default_factory=list)  # in-sample: what it trained on
    test_probabilities: list[float] = field(default_factory=list)
    holdout_probabilities: list[float] = field(default_factory=list)
    epochs_run: int = 0
    seconds: float = 0.0
    model: object = None  # the fitted Keras model or DummyClassifier
    device: str | None = None  # where it trained, when not in this process (``training_device`` of a Ray task)

    @classmethod
    def of(
        cls,
        name: str,
        model: object,
        predict: Callable[[str], list[float]],
        history: dict[str, list[float]] | None = None,
        epochs_run: int = 0,
    ) -> ModelResult:
        """The result of fitted ``model``, with ``predict(split name)``'s probabilities of every split."""
        return cls(
            name,
            history=history or {},
            train_probabilities=predict("train"),
            test_probabilities=predict("test"),
            holdout_probabilities=predict("holdout"),
            epochs_run=epochs_run,
            model=model,
        )


def spectrogram_batches(data: TrainingData, part: str, batch_size: int, *, shuffle: bool, seed: int = SEED):
    """A Keras ``PyDataset`` that loads one batch at a time from the feature cache, so a
    catalog far larger than memory trains as easily as a small one."""
    shas, labels = getattr(data, part)

    class SpectrogramBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.order = np.arange(len(shas))
            self.rng = np.random.default_rng(seed)
            if shuffle:
                self.rng.shuffle(self.order)

        def __len__(self) -> int:
            return int(np.ceil(len(shas) / batch_size))

        def __getitem__(self, index: int):
            rows = self.order[index * batch_size : (index + 1) * batch_size]
            inputs = np.stack([data.scaling.apply(data.cache.load(shas[r], data.preset)) for r in rows])
            return inputs[..., None], labels[rows]

        def on_epoch_end(self) -> None:
            if shuffle:
                self.rng.shuffle(self.order)

    return SpectrogramBatches()


def train_models(
    models: list[str],
    data: TrainingData,
    preset: TrainingPreset,
    *,
    epochs: int | None = None,
    engine: str = "local",
    on_progress: Callable[[TrainingEvent], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> dict[str, ModelResult]:
    """Fit each of ``models`` (audio models) on the training split, validating on the test
    split, and predict every split's probabilities with the final (or best) weights. With
    ``engine`` "ray" the Keras models train as Ray tasks (``core.engine.ray_engine.train_on_ray``)."""
    results = {}
    if engine == "ray" and (keras_models := [m for m in models if m in KERAS_MODELS]):
        from core.engine.ray_engine import train_on_ray  # imports Ray only now

        results = train_on_ray(
            keras_models, data, preset, epochs=epochs, on_progress=on_progress, should_cancel=should_cancel
        )
    for name in models:
        if name in results:
            continue
        start = time.perf_counter()
        if name == "dummy":
            result = _train_dummy(data)
        elif name == PRETRAINED_MODEL:
            result = _train_head(data)
        else:
            result = _train_keras(name, data, preset, epochs, on_progress, should_cancel)
        result.seconds = time.perf_counter() - start
        results[name] = result
    return {name: results[name] for name in models}


def _train_dummy(data: TrainingData) -> ModelResult:
    labels = data.train[1]
    dummy = build_dummy().fit(np.zeros((labels.size, 1)), labels)

    def predict(part) -> list[float]:
        count = len(getattr(data, part)[0])
        return dummy.predict_proba(np.zeros((count, 1)))[:, -1].tolist() if 1.0 in dummy.classes_ else [0.0] * count

    return ModelResult.of("dummy", dummy, predict)


def _train_head(data: TrainingData) -> ModelResult:
    pooled = {part: data.pooled(part) for part in ("train", "test", "holdout")}
    head = fit_head(pooled["train"], data.train[1], pooled["test"], data.test[1])

    def predict(part) -> list[float]:
        return head.predict_proba(pooled[part]).astype(float).tolist() if len(pooled[part]) else []

    return ModelResult.of(PRETRAINED_MODEL, head, predict)


def _train_keras(name, data, preset, epochs, on_progress, should_cancel) -> ModelResult:
    keras.utils.set_random_seed(SEED)
    model = build_model(name, (*data.preset.shape, 1))
    batch_size = preset.batch_size[name]
    total_epochs = epochs or preset.epochs[name]
    train = spectrogram_batches(data, "train", batch_size, shuffle=True)
    validation = spectrogram_batches(data, "test", batch_size, shuffle=False)
    progress = _ProgressCallback(name, total_epochs, len(train), on_progress, should_cancel)
    callbacks = [progress]
    if preset.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_auc", mode="max", patience=preset.early_stopping_patience, restore_best_weights=True
            )
        )
    history = model.fit(train, validation_data=validation, epochs=total_epochs, callbacks=callbacks, verbose=0)
    if progress.cancelled:
        raise Cancelled(f"training of {name} was cancelled")

    def predict(part) -> list[float]:
        batches = spectrogram_batches(data, part, batch_size, shuffle=False)
        return model.predict(batches, verbose=0).ravel().astype(float).tolist()

    return ModelResult.of(
        name,
        model,
        predict,
        history={key: [float(v) for v in values] for key, values in history.history.items()},
        epochs_run=len(history.history.get("loss", [])),
    )


class _ProgressCallback(keras.callbacks.Callback):
    """Turns Keras' callbacks into ``TrainingEvent``s and honours cancellation."""

    def __init__(self, name, epochs, batches, on_progress, should_cancel):
        super().__init__()
        self.name, self.epochs, self.batches = name, epochs, batches
        self.on_progress, self.should_cancel = on_progress, should_cancel
        self.epoch = 0
        self.cancelled = False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self.on_progress:
            self.on_progress(TrainingEvent(self.name, self.epoch, self.epochs, batch + 1, self.batches, _floats(logs)))
        if self.should_cancel and self.should_cancel():
            self.cancelled = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.on_progress and not self.cancelled:
            self.on_progress(TrainingEvent(self.name, epoch + 1, self.epochs, None, self.batches, _floats(logs)))


def _floats(logs) -> dict[str, float]:
    return {key: float(value) for key, value in (logs or {}).items()}
