"""Trained models run through LiteRT (TensorFlow Lite): the same graphs, without TensorFlow.

Why: importing TensorFlow and Keras takes about 3 s on a 2-core machine, more than the rest
of a cold ``score`` together, and a Keras forward pass over LIME's batches costs four times a
LiteRT one (CNN 2 at the ``fast`` preset, 250 spectrograms: 0.33 s in Keras with oneDNN,
0.08 s in LiteRT with XNNPACK). ``ai_edge_litert`` is Google's runtime for TensorFlow's own
flatbuffer format; it imports in 0.2 s.

Each model is converted once, by TensorFlow's converter, and checked: the flatbuffer must give
the original's outputs on a fixed input within ``TOLERANCE`` (measured: 1e-7 on probabilities,
2e-5 on musicnn's embeddings), or it is not used. A model the converter cannot take (one with
an op LiteRT lacks) keeps running in TensorFlow, and a marker file says why, so that the
conversion is not tried on every load. Training and conversion still need TensorFlow;
scoring, explaining and embedding do not.

Each interpreter uses ``THREADS`` threads: both cores of the 2-core reference machine, and no
more elsewhere, because the Ray engine runs one actor per CPU and more threads per actor
would oversubscribe the machine. In a process pool's worker (``core.engine.parallel``), where the
pool already puts one process on each core, it uses one.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.config import PREDICT_BATCH
from core.engine.native_logs import native_stderr_silenced
from core.engine.parallel import in_pool_worker
from core.files import atomic_write_bytes, atomic_write_text

TOLERANCE = 1e-4
THREADS = 2
UNSUPPORTED_SUFFIX = ".no-lite"


class LiteModel:
    """One flatbuffer ready to run: outputs for a batch of inputs, in the original's order.
    The flatbuffer's batch size is fixed (one musicnn patch; ``PREDICT_BATCH`` spectrograms):
    inputs run in chunks of it, the last one padded, so memory is planned once. Safe to call
    from several threads (calls are serialised: an interpreter is not)."""

    def __init__(self, flatbuffer: bytes, output_names: tuple[str, ...] = ()):
        from ai_edge_litert.interpreter import Interpreter

        with native_stderr_silenced():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
            self._interpreter = Interpreter(model_content=flatbuffer, num_threads=1 if in_pool_worker() else THREADS)
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]
        self._batch = int(self._input["shape"][0])
        details = {detail["name"]: detail["index"] for detail in self._interpreter.get_output_details()}
        # The converter does not promise the graph's output order: name them when there are several.
        self._outputs = [details[name] for name in output_names] if output_names else list(details.values())
        self._lock = threading.Lock()

    def run(self, inputs: np.ndarray) -> list[np.ndarray]:
        """Every output for ``inputs`` (batch first)."""
        inputs = np.asarray(inputs, dtype=np.float32)
        parts: list[list[np.ndarray]] = [[] for _ in self._outputs]
        with self._lock:
            for start in range(0, len(inputs), self._batch):
                chunk = inputs[start : start + self._batch]
                padding = self._batch - len(chunk)
                if padding:
                    chunk = np.concatenate([chunk, np.zeros((padding, *chunk.shape[1:]), np.float32)])
                self._interpreter.set_tensor(self._input["index"], np.ascontiguousarray(chunk))
                self._interpreter.invoke()
                for part, index in zip(parts, self._outputs, strict=True):
                    part.append(self._interpreter.get_tensor(index)[: self._batch - padding].copy())
        return [np.concatenate(part) for part in parts]

    def predict_on_batch(self, inputs: np.ndarray) -> np.ndarray:
        """The first output, as Keras' ``predict_on_batch`` gives it."""
        return self.run(inputs)[0]


def file_key(path: Path) -> str:
    """Sixteen hex digits of ``path``'s SHA-256: a converted file names the exact original."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def kept(flatbuffer_path: Path, output_names: tuple[str, ...] = ()) -> LiteModel | None:
    """The converted model kept at ``flatbuffer_path``; None when there is none (or it is
    damaged: it is converted again)."""
    try:
        return LiteModel(flatbuffer_path.read_bytes(), output_names)
    except (OSError, ValueError, RuntimeError, KeyError):
        return None


def convert_and_keep(
    flatbuffer_path: Path,
    convert: Callable[[], tuple[bytes, np.ndarray, list[np.ndarray]]],
    output_names: tuple[str, ...] = (),
) -> LiteModel | None:
    """Convert a model and keep it at ``flatbuffer_path``. ``convert`` returns the flatbuffer,
    a probe input and the original's outputs for it. None when the converter failed or the
    result disagrees with the original, now or on an earlier try."""
    refused = flatbuffer_path.with_suffix(UNSUPPORTED_SUFFIX)
    if refused.is_file():
        return None
    try:
        flatbuffer, probe, expected = convert()
        model = LiteModel(flatbuffer, output_names)
        disagreement = max(
            float(np.max(np.abs(lite - original))) for lite, original in zip(model.run(probe), expected, strict=True)
        )
    except Exception as error:  # the converter raises many types (ConverterError, ValueError, ...)
        _remember_refusal(refused, f"the converter failed: {type(error).__name__}")
        return None
    if disagreement > TOLERANCE:
        _remember_refusal(refused, f"outputs differ by {disagreement:.2g} on the probe")
        return None
    _try_write(lambda: atomic_write_bytes(flatbuffer_path, flatbuffer))
    for stale in flatbuffer_path.parent.glob(f"{flatbuffer_path.name.split('.')[0]}.*.tflite"):
        if stale != flatbuffer_path:
            stale.unlink(missing_ok=True)
    return model


def _remember_refusal(marker: Path, why: str) -> None:
    _try_write(lambda: atomic_write_text(marker, why + "\n"))


def _try_write(write: Callable[[], None]) -> None:
    """Keep a conversion for next time where the folder allows; a read-only one only costs
    the next load a conversion."""
    with contextlib.suppress(OSError):
        write()


def keras_conversion(model) -> tuple[bytes, np.ndarray, list[np.ndarray]]:
    """A Keras 3 model as a flatbuffer taking ``PREDICT_BATCH`` inputs at a time, with a probe
    of two standard-normal inputs (the models see standardised spectrograms) and the model's
    outputs for it. Through a SavedModel, because converting the Keras object directly loses
    its weights under Keras 3; with a fixed batch, because the CNN-GRU's recurrent loop only
    converts to LiteRT's own ops when its shapes are static."""
    import tensorflow as tf

    shape = (PREDICT_BATCH, *model.input_shape[1:])
    with tempfile.TemporaryDirectory(prefix="hitlens-lite-") as folder:
        model.export(folder, format="tf_saved_model", verbose=False, input_signature=[tf.TensorSpec(shape, tf.float32)])
        flatbuffer = tf.lite.TFLiteConverter.from_saved_model(folder).convert()
    probe = np.random.default_rng(0).standard_normal((2, *shape[1:])).astype(np.float32)
    return flatbuffer, probe, [np.asarray(model.predict_on_batch(probe))]


def function_conversion(function, probe: np.ndarray) -> tuple[bytes, np.ndarray, list[np.ndarray]]:
    """A TensorFlow concrete function (musicnn's pruned graph) as a flatbuffer, with ``probe``
    and the function's outputs for it."""
    import tensorflow as tf

    flatbuffer = tf.lite.TFLiteConverter.from_concrete_functions([function]).convert()
    return flatbuffer, probe, [output.numpy() for output in function(tf.constant(probe))]
