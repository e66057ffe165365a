"""The study's five models, layer for layer, buildable at any input resolution.

At the study's input (128, 1292, 1) the Keras models have exactly the study's parameter
counts (MLP 21,176,577; CNN 1 2,727,041; CNN 2 2,718,849; CNN-GRU 391,585). At other
resolutions each pooling size is clamped to the size of the axis it pools, so no axis
shrinks below one, and the CNN-GRU's reshape into (time steps, features) is read off the
convolutional output instead of the study's hard-coded (80, 128).
"""

from __future__ import annotations

from sklearn.dummy import DummyClassifier

KERAS_MODELS = ("mlp", "cnn1", "cnn2", "cnn_gru")
PRETRAINED_MODEL = "musicnn"
"""The sixth model: a head on pretrained musicnn embeddings (``core.pretrained.head``)."""
AUDIO_MODELS = ("dummy", *KERAS_MODELS, PRETRAINED_MODEL)
CONTEXT_MODEL, REGRESSION_MODEL = "context", "regression"
CONTEXT_MODELS = (CONTEXT_MODEL, REGRESSION_MODEL)
"""Fitted on top of the run's best audio model and the artist's context (``core.learning.popularity``):
P(popular), and the popularity figure with an interval."""
MODEL_NAMES = (*AUDIO_MODELS, *CONTEXT_MODELS)
FEEDING_MODELS = tuple(m for m in AUDIO_MODELS if m != "dummy")
"""The audio models whose probability can feed ``context`` and ``regression`` (the dummy's is
the same for every song)."""
DISPLAY_NAMES = {
    "dummy": "Dummy",
    "mlp": "MLP",
    "cnn1": "CNN 1",
    "cnn2": "CNN 2",
    "cnn_gru": "CNN-GRU",
    "musicnn": "musicnn",
    "context": "audio + context",
    "regression": "popularity regression",
}
STUDY_PARAMETERS = {"mlp": 21_176_577, "cnn1": 2_727_041, "cnn2": 2_718_849, "cnn_gru": 391_585}

_CNN_FILTERS = (16, 32, 64, 128)
_CNN_POOLS = ((2, 4), (2, 4), (2, 2), (2, 2))
_GRU_POOLS = ((2, 2), (4, 2), (4, 2), (4, 2))


def require_feeding_model(models: list[str]) -> None:
    """A ``UsageError`` when ``models`` has ``context`` or ``regression`` but no audio model
    to feed them (the Train page checks this before starting a job, as ``train`` does)."""
    from core.errors import UsageError

    on_top = [m for m in CONTEXT_MODELS if m in models]
    if on_top and not set(models) & set(FEEDING_MODELS):
        raise UsageError(
            f"{' and '.join(on_top)} {'are' if len(on_top) > 1 else 'is'} fitted on an audio model's "
            "verdict, and none is in this run.",
            f"Add one of {', '.join(FEEDING_MODELS)} (e.g. --models cnn2,{','.join(on_top)}).",
        )


def build_dummy() -> DummyClassifier:
    """The study's baseline: always the majority class of the training labels."""
    return DummyClassifier(strategy="most_frequent")


def build_model(name: str, input_shape: tuple[int, int, int]):
    """A compiled Keras model (adam, binary cross-entropy, accuracy and AUC)."""
    import keras

    builders = {"mlp": _mlp, "cnn1": _cnn1, "cnn2": _cnn2, "cnn_gru": _cnn_gru}
    if name not in builders:
        raise ValueError(f"unknown model {name!r}; Keras models are {', '.join(KERAS_MODELS)}")
    inputs = keras.Input(shape=input_shape, name="log_mel")
    model = keras.Model(inputs, builders[name](inputs, keras.layers), name=name)
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
    )
    return model


def _fit_pool(x, pool: tuple[int, int]) -> tuple[int, int]:
    """``pool`` clamped to the current height and width of ``x``."""
    _, height, width, _ = x.shape
    return (max(1, min(pool[0], height)), max(1, min(pool[1], width)))


def _mlp(x, layers):
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dense(64, activation="relu")(x)
    return layers.Dense(1, activation="sigmoid")(x)


def _conv_stack(x, layers):
    for filters, pool in zip(_CNN_FILTERS, _CNN_POOLS, strict=True):
        x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same")(x)
        x = layers.MaxPooling2D(_fit_pool(x, pool))(x)
    return layers.Flatten()(x)


def _cnn1(x, layers):
    x = _conv_stack(x, layers)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    return layers.Dense(1, activation="sigmoid")(x)


def _cnn2(x, layers):
    x = _conv_stack(x, layers)
    x = layers.Dense(128, activation="relu")(x)
    return layers.Dense(1, activation="sigmoid")(x)


def _cnn_gru(x, layers):
    """Choi et al.'s convolutional-recurrent design as the study built it: the mel axis is
    pooled away, then two GRUs read the remaining time steps."""
    for filters, pool in zip((64, 128, 128, 128), _GRU_POOLS, strict=True):
        x = layers.Conv2D(filters, (3, 3), activation="elu", padding="same")(x)
        x = layers.MaxPooling2D(_fit_pool(x, pool))(x)
        x = layers.Dropout(0.1)(x)
    _, height, width, channels = x.shape
    # (mels, time, channels) -> (time, mels * channels): time first, for the GRUs.
    x = layers.Permute((2, 1, 3))(x)
    x = layers.Reshape((width, height * channels))(x)
    x = layers.GRU(32, dropout=0.3, return_sequences=True)(x)
    x = layers.GRU(32, dropout=0.3)(x)
    return layers.Dense(1, activation="sigmoid")(x)
