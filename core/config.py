"""Paths and settings: the one place every other module reads them from.

``HITLENS_HOME`` moves all state (catalog, audio, feature cache, trained runs) to another
folder; by default it is the repository root, so state lives in its ``data/`` and
``models/`` folders.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

SAMPLE_RATE = 22_050
"""Every clip is decoded to mono float32 at this rate (the study's librosa default)."""

CLIP_SECONDS = 30.0
"""Length of one model input: a Spotify/Deezer preview."""

SCORING_HOP_SECONDS = 5.0
"""A song is scored in 30 s windows starting every 5 s."""

SCORING_TAIL_SECONDS = 0.5
"""An end of a song its windows would leave uncovered is ignored when shorter than this: under
three spectrogram frames, and about what an MP3 encoder pads a song with (LAME adds 0.07 s to
the demo's 30 s clips), so a 30.07 s preview is one window, like the catalog's own clip."""

PREDICT_BATCH = 64
"""Spectrograms per forward pass: bounds the activations' memory at the study's resolution."""

MAX_UPLOAD_MB = 200
"""Largest upload the Score page accepts (a 20-minute wav at CD quality is ~200 MB)."""

MIN_AUDIO_SECONDS = 5.0
MIN_PREVIEW_SECONDS = 10.0
"""A downloaded preview shorter than this is rejected (Spotify and Deezer serve 30 s)."""
MAX_AUDIO_SECONDS = 20 * 60.0
SILENCE_PEAK = 1e-4
"""A file whose loudest sample is below this (-80 dBFS) is treated as silent."""


@dataclass(frozen=True)
class FeaturePreset:
    """One log-mel resolution. ``key`` changes whenever a parameter does, so a cache built
    with other parameters is never read by mistake."""

    name: str
    n_mels: int
    n_fft: int
    hop_length: int
    sample_rate: int = SAMPLE_RATE
    clip_seconds: float = CLIP_SECONDS
    top_db: float = 80.0

    @property
    def clip_samples(self) -> int:
        return round(self.clip_seconds * self.sample_rate)

    @property
    def frames(self) -> int:
        # librosa centres frames, so a clip of N samples gives 1 + N // hop frames.
        return 1 + self.clip_samples // self.hop_length

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_mels, self.frames)

    @property
    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:8]


FEATURE_PRESETS: dict[str, FeaturePreset] = {
    # Exactly the study: 128 mels x 1292 frames of a 30 s clip at 22,050 Hz, hop 512.
    "study": FeaturePreset("study", n_mels=128, n_fft=2048, hop_length=512),
    # Half the mel bands and an eighth of the frames (64 x 162): 16x fewer values per clip.
    # Chosen by measurement (docs/performance.md, "Training"): at 64 x 323 the CNN-GRU trained only ~6x faster per
    # epoch than at the study's size; at 64 x 162 it is over 10x faster. A 2 kHz hook or a
    # 50 Hz 808 still sits in its own band (bands are ~51 Hz apart below 1 kHz); a frame is
    # 186 ms, finer than a beat. Windows of 8192 samples overlap by half, so no sound falls
    # between two frames.
    "fast": FeaturePreset("fast", n_mels=64, n_fft=8192, hop_length=4096),
}
DEFAULT_PRESET = "fast"


@dataclass(frozen=True)
class TrainingPreset:
    """Which features, how many epochs and which batch size per model, and whether to stop
    early on validation AUC (restoring the best weights)."""

    name: str
    features: str
    epochs: dict[str, int]
    batch_size: dict[str, int]
    early_stopping_patience: int | None

    def feature_preset(self) -> FeaturePreset:
        return FEATURE_PRESETS[self.features]


_STUDY_BATCHES = {"mlp": 30, "cnn1": 100, "cnn2": 100, "cnn_gru": 100}
TRAINING_PRESETS: dict[str, TrainingPreset] = {
    # The study's epochs and batch sizes at the study's resolution.
    "study": TrainingPreset("study", "study", {"mlp": 20, "cnn1": 20, "cnn2": 20, "cnn_gru": 30}, _STUDY_BATCHES, None),
    # Fast features, capped epochs (the CNN-GRU costs ~20 ms a clip even here), early stopping.
    "fast": TrainingPreset("fast", "fast", {"mlp": 20, "cnn1": 20, "cnn2": 20, "cnn_gru": 15}, _STUDY_BATCHES, 4),
}
DEFAULT_TRAINING_PRESET = "fast"


@dataclass(frozen=True)
class Settings:
    home: Path

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.sqlite"

    @property
    def features_dir(self) -> Path:
        return self.data_dir / "features"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"


ENGINES = ("local", "ray")


def engine(chosen: str | None = None) -> str:
    """Where spectrograms, embeddings and batch scoring run: ``chosen`` (a command's
    ``--engine``), else ``HITLENS_ENGINE``, else this machine's processes ("local"). Read from
    the environment so that set-up's steps and the dashboard's jobs, started from a shell that
    set it, take the same choice."""
    from core.errors import UsageError

    name = chosen or os.environ.get("HITLENS_ENGINE") or "local"
    if name not in ENGINES:
        raise UsageError(f"HITLENS_ENGINE is '{name}', not an engine.", f"Set it to one of: {', '.join(ENGINES)}.")
    return name


def settings() -> Settings:
    """Current settings; read on every call so tests and jobs can point HITLENS_HOME elsewhere."""
    home = os.environ.get("HITLENS_HOME")
    return Settings(home=Path(home).expanduser().resolve() if home else REPO_ROOT)


def feature_preset(name: str) -> FeaturePreset:
    return _named(FEATURE_PRESETS, name, "feature preset")


def training_preset(name: str) -> TrainingPreset:
    return _named(TRAINING_PRESETS, name, "training preset")


def _named(presets: dict, name: str, kind: str):
    from core.errors import UsageError

    if name not in presets:
        raise UsageError(f"Unknown {kind} '{name}'.", f"Choose one of: {', '.join(presets)}.")
    return presets[name]
