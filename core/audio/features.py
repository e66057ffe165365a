"""Log-mel spectrograms and their on-disk cache.

Clip rule: a model input is exactly ``preset.clip_seconds`` (30 s). A longer clip keeps its
first 30 s, as the study's ``librosa.load(duration=30)`` did; a shorter one is padded at
the end with digital silence, which becomes the spectrogram's floor (-80 dB).

Values are dB relative to the clip's loudest bin (``ref=np.max``), clipped at -80 dB, so
every spectrogram lies in [-80, 0]. The cache is content-addressed: one float16 ``.npy`` per
(audio SHA-256, preset), written to a temporary name and renamed, so a killed run leaves no
file that a later read could mistake for a complete one.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import librosa
import numpy as np

from core.audio.decode import load_audio
from core.config import FeaturePreset, Settings
from core.engine.parallel import unordered_results, worker_count
from core.errors import AudioError, damaged_cache_entry
from core.files import atomic_write_bytes, remove_stale_partials, set_aside

FLOOR_DB = -80.0


def fit_to_clip(samples: np.ndarray, preset: FeaturePreset) -> np.ndarray:
    """Cut to the first ``clip_samples`` or pad the end with silence."""
    wanted = preset.clip_samples
    if samples.size >= wanted:
        return samples[:wanted]
    return np.pad(samples, (0, wanted - samples.size))


def log_mel(samples: np.ndarray, preset: FeaturePreset) -> np.ndarray:
    """The (n_mels, frames) log-mel spectrogram of one clip, float32 in [-80, 0] dB."""
    clip = fit_to_clip(np.asarray(samples, dtype=np.float32), preset)
    power = librosa.feature.melspectrogram(
        y=clip,
        sr=preset.sample_rate,
        n_fft=preset.n_fft,
        hop_length=preset.hop_length,
        n_mels=preset.n_mels,
    )
    return librosa.power_to_db(power, ref=np.max, top_db=preset.top_db).astype(np.float32)


class FeatureCache:
    """Spectrograms on disk under ``data/features/<preset>-<key>/<sha[:2]>/<sha>.npy``."""

    def __init__(self, settings: Settings):
        self.root = settings.features_dir

    def folder(self, preset: FeaturePreset) -> Path:
        return self.root / f"{preset.name}-{preset.key}"

    def path(self, sha256: str, preset: FeaturePreset) -> Path:
        return self.folder(preset) / sha256[:2] / f"{sha256}.npy"

    def has(self, sha256: str, preset: FeaturePreset) -> bool:
        """Whether a readable spectrogram of the preset's shape is cached. Checked from the
        ``.npy`` header and the file's size, not by reading it: a cut-off, garbage or
        wrongly shaped file is set aside (``core.files.set_aside``) and counts as missing."""
        path = self.path(sha256, preset)
        if not path.is_file():
            return False
        if _npy_matches(path, preset.shape):
            return True
        set_aside(path)
        return False

    def load(self, sha256: str, preset: FeaturePreset) -> np.ndarray:
        """The cached spectrogram as float32 (stored as float16); ``CacheEntryDamaged``, with
        the file set aside, when it cannot be read."""
        path = self.path(sha256, preset)
        try:
            spectrogram = np.load(path, allow_pickle=False)
            if spectrogram.shape != preset.shape:
                raise ValueError(f"shape {spectrogram.shape}, not {preset.shape}")
        except (OSError, ValueError, EOFError) as error:
            set_aside(path)
            raise damaged_cache_entry(path, "features") from error
        return spectrogram.astype(np.float32)

    def save(self, sha256: str, preset: FeaturePreset, spectrogram: np.ndarray) -> None:
        if spectrogram.shape != preset.shape:
            raise ValueError(f"spectrogram {spectrogram.shape} does not match preset {preset.shape}")
        buffer = _npy_bytes(spectrogram.astype(np.float16))
        atomic_write_bytes(self.path(sha256, preset), buffer)

    def count(self, sha256s: Iterable[str], preset: FeaturePreset) -> int:
        return sum(self.has(sha, preset) for sha in set(sha256s))

    def remove_partials(self) -> int:
        """Delete temporary files a killed run left behind; returns how many."""
        return remove_stale_partials(self.root)


def _npy_matches(path: Path, shape: tuple[int, ...]) -> bool:
    """Whether ``path`` is a complete float16 ``.npy`` of ``shape``, from its header and size."""
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            stored, fortran, dtype = read_header(handle)  # the header alone
            data_start = handle.tell()
    except (OSError, ValueError, EOFError, SyntaxError):
        return False
    complete = path.stat().st_size == data_start + int(np.prod(stored)) * dtype.itemsize
    return tuple(stored) == tuple(shape) and dtype == np.float16 and not fortran and complete


def _npy_bytes(array: np.ndarray) -> bytes:
    handle = io.BytesIO()
    np.save(handle, array, allow_pickle=False)
    return handle.getvalue()


@dataclass(frozen=True)
class FeatureJob:
    sha256: str
    audio_path: Path


@dataclass
class FeatureReport:
    computed: int = 0
    already_cached: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # SHA-256 -> why


def compute_missing(
    jobs: Iterable[FeatureJob],
    presets: list[FeaturePreset],
    settings: Settings,
    *,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> FeatureReport:
    """Compute every spectrogram of ``presets`` that the cache lacks, one decode per file.

    Work is spread over ``workers`` processes (default: one per core); each writes its own
    cache files, so a crash loses at most the clips in flight and a rerun resumes.
    """
    todo, report = plan_missing(jobs, FeatureCache(settings), presets, on_progress)
    tasks = [(job, presets, settings) for job in todo]
    with unordered_results(_compute_one, tasks, worker_count(workers, len(tasks))) as outcomes:
        collect_outcomes(outcomes, report, len(todo), on_progress)
    return report


def plan_missing(
    jobs: Iterable[FeatureJob], cache, keys: list, on_progress: Callable[[int, int], None] | None
) -> tuple[list[FeatureJob], FeatureReport]:
    """The distinct clips of ``jobs`` that ``cache`` (a ``FeatureCache`` or an
    ``EmbeddingCache``) lacks under any of ``keys`` (presets or models), after clearing the
    partial files a killed run left, and a report counting the rest; progress starts at
    (0, clips to do)."""
    cache.remove_partials()
    unique = {job.sha256: job for job in jobs}
    todo = [job for job in unique.values() if not all(cache.has(job.sha256, key) for key in keys)]
    report = FeatureReport(already_cached=len(unique) - len(todo))
    if on_progress:
        on_progress(0, len(todo))
    return todo, report


def collect_outcomes(
    outcomes: Iterable[tuple[str, str | None]], report: FeatureReport, total: int, on_progress
) -> None:
    """Count each (SHA-256, error or None) into ``report`` and report progress."""
    for done, (sha256, error) in enumerate(outcomes, start=1):
        if error:
            report.failed[sha256] = error
        else:
            report.computed += 1
        if on_progress:
            on_progress(done, total)


def _compute_one(task: tuple[FeatureJob, list[FeaturePreset], Settings]) -> tuple[str, str | None]:
    job, presets, settings = task
    cache = FeatureCache(settings)
    try:
        samples = load_audio(job.audio_path)
    except AudioError as error:
        return job.sha256, str(error)
    for preset in presets:
        if not cache.has(job.sha256, preset):
            cache.save(job.sha256, preset, log_mel(samples, preset))
    return job.sha256, None
