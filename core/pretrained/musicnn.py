"""musicnn (Pons & Serra, 2019) run from the checkpoints inside its PyPI wheel.

Route: the checkpoint's own graph, not a Keras rebuild. The ``.meta`` graph is pruned to
the two inference outputs (``model/Sigmoid``: 50 tag probabilities; ``model/dense/Relu``:
the 200-d penultimate layer), every variable becomes a constant read from the checkpoint,
ref ops and ref dtypes (``RefSwitch``, ``float_ref``) become their plain forms, the
is-training placeholder becomes the constant ``False``, and the result runs as a
``tf.compat.v1.wrap_function``. This executes exactly the operations the authors trained
and evaluated; a Keras rebuild would be a second implementation of 18 batch-norm layers,
asymmetric paddings and poolings whose silent mismatch (a transposed kernel, an epsilon)
would still produce plausible-looking tags. TensorFlow stays eager, so Keras 3 training in
the same process is unaffected. musicnn's own ``extractor()`` cannot be used: it needs
``tf.compat.v1.layers``, which Keras 3 removed.

Input, as musicnn was trained: 16 kHz mono, 96-band Slaney mel power (n_fft 512, hop 256),
``log10(10000 * S + 1)``, cut into non-overlapping patches of 187 frames (3 s). A clip's
last incomplete patch is dropped, as musicnn's extractor does.

Determinism: every patch runs alone (a batch of one). Measured here, batching patches
changes the embeddings in the 6th decimal with the batch's size and neighbours; alone, a
patch gives bit-identical outputs however a song is cut or batched, and batching saved no
time (about 80 ms a patch on 2 cores either way).

Models are loaded once per process (about 3 s) and are safe to call from several threads:
calls are serialised by a lock.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from core.config import SAMPLE_RATE, FeaturePreset
from core.errors import AudioTooShort, PretrainedModelMissing

MODELS = ("MSD_musicnn", "MTT_musicnn")
DEFAULT_MODEL = "MSD_musicnn"
"""Tags from Last.fm on the Million Song Dataset: genres and moods (Hip-Hop, rnb, party)."""

INPUT = FeaturePreset("musicnn", n_mels=96, n_fft=512, hop_length=256, sample_rate=16_000)
"""musicnn's input as a feature preset, so bands and explanation cells map onto its rows."""
PATCH_FRAMES = 187
PATCH_SECONDS = PATCH_FRAMES * INPUT.hop_length / INPUT.sample_rate  # 2.992 s
EMBEDDING_SIZE = 200
RECENT_INPUTS = 8  # inputs whose outputs are remembered (a few kB each)

REINSTALL = (
    "Reinstall it with '.venv/bin/pip install --no-deps --force-reinstall musicnn==0.1.0' "
    "('make setup' installs it on a fresh clone)."
)
_OUTPUTS = ("model/Sigmoid:0", "model/dense/Relu:0")
_INPUT_NODE = "model/Placeholder"
_TRAINING_NODE = "model/Placeholder_2"
_REF_DTYPE_OFFSET = 100  # TensorFlow numbers each ref dtype as its plain dtype + 100


def input_mel(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """musicnn's input for mono ``samples``: (96, frames) float32, mels first like every
    spectrogram in Hitlens."""
    import librosa  # imported here: the CLI imports this module for its constants
    import soxr

    audio = soxr.resample(np.asarray(samples, dtype=np.float32), sample_rate, INPUT.sample_rate, quality="HQ")
    power = librosa.feature.melspectrogram(
        y=audio, sr=INPUT.sample_rate, n_fft=INPUT.n_fft, hop_length=INPUT.hop_length, n_mels=INPUT.n_mels
    )
    return np.log10(10_000 * power + 1).astype(np.float32)


def patch_count(frames: int) -> int:
    return frames // PATCH_FRAMES


def patch_starts(count: int) -> np.ndarray:
    """Start second of each patch."""
    return np.arange(count) * PATCH_SECONDS


@dataclass(frozen=True)
class PatchOutputs:
    """One model's outputs for each 3 s patch of a clip, in time order."""

    tags: np.ndarray  # (patches, 50) probabilities
    embeddings: np.ndarray  # (patches, 200) penultimate layer

    def __len__(self) -> int:
        return len(self.embeddings)

    def select(self, rows) -> PatchOutputs:
        return PatchOutputs(self.tags[rows], self.embeddings[rows])

    def pooled(self) -> np.ndarray:
        """The clip's embedding: mean and max over its patches (400 values)."""
        return pool(self.embeddings)


def pool(embeddings: np.ndarray) -> np.ndarray:
    embeddings = np.asarray(embeddings, dtype=np.float32)
    return np.concatenate([embeddings.mean(axis=0), embeddings.max(axis=0)])


def package_folder() -> Path:
    """The installed musicnn package's folder, found without importing its TensorFlow 1 code."""
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        raise PretrainedModelMissing("The pretrained music model (musicnn) is not installed.", REINSTALL)
    return Path(next(iter(spec.submodule_search_locations)))


def tag_names(model: str) -> list[str]:
    """The model's 50 tags, in output order, as the package lists them."""
    from musicnn import configuration  # plain constants; no TensorFlow import

    return list(configuration.MSD_LABELS if model.startswith("MSD") else configuration.MTT_LABELS)


class Musicnn:
    """One musicnn checkpoint, ready to tag and embed audio."""

    def __init__(self, name: str = DEFAULT_MODEL, folder: Path | None = None):
        if name not in MODELS:
            raise ValueError(f"unknown musicnn model {name!r}; choose one of {MODELS}")
        self.name = name
        self.folder = folder or package_folder() / name
        self._lock = threading.Lock()
        self._recent: OrderedDict[bytes, PatchOutputs] = OrderedDict()
        self._run = _runner(self.name, self.folder)

    @cached_property
    def tags(self) -> list[str]:
        return tag_names(self.name)

    def run_patches(self, patches: np.ndarray) -> PatchOutputs:
        """Outputs for (n, 187, 96) input patches (time first, as the graph takes them)."""
        tags, embeddings = [], []
        with self._lock:
            for patch in np.asarray(patches, dtype=np.float32):
                probabilities, embedding = self._run(patch[None])
                tags.append(probabilities[0])
                embeddings.append(embedding[0])
        if not tags:
            return PatchOutputs(np.zeros((0, 50), np.float32), np.zeros((0, EMBEDDING_SIZE), np.float32))
        return PatchOutputs(np.stack(tags), np.stack(embeddings))

    def analyse_mel(self, mel: np.ndarray, label: str = "clip") -> PatchOutputs:
        """Outputs for every whole 3 s patch of a (96, frames) input. The last few inputs'
        outputs are remembered: the Score page asks for the same song's patches for its tags,
        its verdict and its explanation's baseline (about 0.3 s each time)."""
        count = patch_count(mel.shape[1])
        if count == 0:
            raise AudioTooShort(
                f"'{label}' is shorter than one 3 s patch of the pretrained model.",
                "Upload a longer clip (ideally 30 s or the whole song).",
            )
        patches = np.ascontiguousarray(mel[:, : count * PATCH_FRAMES].T.reshape(count, PATCH_FRAMES, INPUT.n_mels))
        key = hashlib.blake2b(patches.astype(np.float32, copy=False).tobytes(), digest_size=16).digest()
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
        outputs = self.run_patches(patches)
        with self._lock:
            self._recent[key] = outputs
            while len(self._recent) > RECENT_INPUTS:
                self._recent.popitem(last=False)
        return outputs

    def analyse(self, samples: np.ndarray, label: str = "clip") -> PatchOutputs:
        """Outputs for every whole 3 s patch of mono ``samples`` at Hitlens' sample rate."""
        return self.analyse_mel(input_mel(samples), label)


_loaded: dict[str, Musicnn] = {}
_loading = threading.Lock()


def load_model(name: str = DEFAULT_MODEL) -> Musicnn:
    """The process's one instance of model ``name`` (loaded on first use)."""
    with _loading:
        if name not in _loaded:
            _loaded[name] = Musicnn(name)
        return _loaded[name]


CONVERTED = Path(sys.prefix) / "share" / "hitlens"
"""Where the checkpoints converted for LiteRT are kept: beside the installation they come from."""


def _runner(name: str, folder: Path) -> Callable[[np.ndarray], list[np.ndarray]]:
    """(1, 187, 96) patch -> [tags, embedding]: the checkpoint's graph in LiteRT (``core.engine.lite``:
    no TensorFlow import, the same outputs within 2e-5), converted on its first load; in
    TensorFlow when it cannot be converted."""
    from core.engine.lite import convert_and_keep, file_key, function_conversion, kept

    try:
        path = CONVERTED / f"{name}.{file_key(folder / '.data-00000-of-00001')}.tflite"
    except OSError as error:
        raise PretrainedModelMissing(
            f"The pretrained music model's checkpoint in {folder} could not be read ({type(error).__name__}).",
            REINSTALL,
        ) from error
    names = tuple(output.split(":")[0] for output in _OUTPUTS)
    lite = kept(path, names)
    if lite is None:
        function = _load_function(folder)
        probe = np.random.default_rng(0).uniform(0.0, 3.0, (1, PATCH_FRAMES, INPUT.n_mels)).astype(np.float32)
        lite = convert_and_keep(path, lambda: function_conversion(function, probe), names)
        if lite is None:
            return _in_tensorflow(function)
    return lite.run


def _in_tensorflow(function) -> Callable[[np.ndarray], list[np.ndarray]]:
    import tensorflow as tf

    return lambda patch: [output.numpy() for output in function(tf.constant(patch))]


def _load_function(folder: Path):
    """The checkpoint's inference graph as a callable: input patches -> (tags, embeddings)."""
    import tensorflow as tf

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # wrap_function's TF1 notices
    prefix = f"{folder}/"  # the wheel's checkpoint files have an empty base name: ".index", ".meta"
    try:
        meta = tf.compat.v1.MetaGraphDef()
        meta.ParseFromString((folder / ".meta").read_bytes())
        needed = [name.split(":")[0] for name in _OUTPUTS]
        graph = tf.compat.v1.graph_util.extract_sub_graph(meta.graph_def, needed)
        frozen = _frozen(graph, tf.compat.v1.train.NewCheckpointReader(prefix), tf)

        def imports():
            tf.compat.v1.import_graph_def(frozen, name="")

        wrapped = tf.compat.v1.wrap_function(imports, [])
        function = wrapped.prune(
            feeds=[wrapped.graph.get_tensor_by_name(f"{_INPUT_NODE}:0")],
            fetches=[wrapped.graph.get_tensor_by_name(name) for name in _OUTPUTS],
        )
    except Exception as error:  # any damage to any of the files surfaces here, in many types
        raise PretrainedModelMissing(
            f"The pretrained music model's checkpoint in {folder} could not be read ({type(error).__name__}).",
            REINSTALL,
        ) from error
    return function


def _frozen(graph, reader, tf):
    """``graph`` with variables as constants, plain (non-ref) ops and is-training False."""
    frozen = tf.compat.v1.GraphDef()
    for node in graph.node:
        copy = frozen.node.add()
        if node.op in ("VariableV2", "Variable"):
            _constant(copy, node.name, reader.get_tensor(node.name), tf)
        elif node.name == _TRAINING_NODE:
            _constant(copy, node.name, np.array(False), tf)
        else:
            copy.CopyFrom(node)
            if copy.op == "RefSwitch":
                copy.op = "Switch"
            for attribute in copy.attr.values():
                if attribute.HasField("type") and attribute.type > _REF_DTYPE_OFFSET:
                    attribute.type -= _REF_DTYPE_OFFSET
            if "_class" in copy.attr:  # colocation with the (now constant) variables
                del copy.attr["_class"]
    return frozen


def _constant(node, name: str, value: np.ndarray, tf) -> None:
    node.name, node.op = name, "Const"
    node.attr["dtype"].type = tf.as_dtype(value.dtype).as_datatype_enum
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
