"""The catalog's musicnn outputs on disk, like the spectrogram cache.

One ``.npz`` per (audio SHA-256, model) under ``data/embeddings/<model>-<key>/``, holding
the tags and embeddings of every 3 s patch in float16 (a 30 s preview: 10 patches, about
5 KB). Written to a temporary name and renamed, so a killed run leaves nothing a later read
could take for complete, and a rerun computes only what is missing.

A catalog clip is its first 30 s, as for spectrograms; a shorter clip is not padded (the
patches it has are its embedding).

Clips are spread over one worker process per core, each running musicnn through LiteRT on
one thread (``core.engine.parallel``): while one worker decodes a clip and computes its mel input,
the other runs the model, so neither core waits. Measured on the 2-core reference machine on
80 demo clips: 33.2 s (0.42 s a clip, the pool's start-up of about 4 s included), against
34.5 s with one process running the model on both cores; the model itself takes 0.30 s a
clip either way (33 ms a 3 s patch on two threads, 60 ms on one).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from core.audio.decode import load_audio
from core.audio.features import FeatureJob, FeatureReport, collect_outcomes, plan_missing
from core.config import CLIP_SECONDS, SAMPLE_RATE, Settings
from core.engine.parallel import unordered_results, worker_count
from core.errors import AudioError, damaged_cache_entry
from core.files import atomic_write_bytes, remove_stale_partials, set_aside
from core.pretrained.musicnn import INPUT, PATCH_FRAMES, PatchOutputs, load_model

CACHE_VERSION = 1


def model_key(model: str) -> str:
    """Changes whenever what a cached file would hold changes."""
    blob = json.dumps(
        {"model": model, "input": INPUT.key, "patch": PATCH_FRAMES, "clip_s": CLIP_SECONDS, "version": CACHE_VERSION},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:8]


class EmbeddingCache:
    """Patch outputs on disk under ``data/embeddings/<model>-<key>/<sha[:2]>/<sha>.npz``."""

    def __init__(self, settings: Settings):
        self.root = settings.data_dir / "embeddings"

    def folder(self, model: str) -> Path:
        return self.root / f"{model}-{model_key(model)}"

    def path(self, sha256: str, model: str) -> Path:
        return self.folder(model) / sha256[:2] / f"{sha256}.npz"

    def has(self, sha256: str, model: str) -> bool:
        """Whether a readable entry is cached, checked cheaply from the zip's directory (a
        cut-off or garbage ``.npz`` has none): a file without one is set aside
        (``core.files.set_aside``) and counts as missing."""
        path = self.path(sha256, model)
        if not path.is_file():
            return False
        if zipfile.is_zipfile(path):
            return True
        set_aside(path)
        return False

    def load(self, sha256: str, model: str) -> PatchOutputs:
        """The cached outputs; ``CacheEntryDamaged``, with the file set aside, when they
        cannot be read (a damaged member, arrays of the wrong kind or shape)."""
        path = self.path(sha256, model)
        try:
            with np.load(path, allow_pickle=False) as stored:
                outputs = PatchOutputs(stored["tags"].astype(np.float32), stored["embeddings"].astype(np.float32))
            if outputs.tags.ndim != 2 or outputs.embeddings.ndim != 2 or len(outputs.tags) != len(outputs.embeddings):
                raise ValueError("tags and embeddings do not match")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            set_aside(path)
            raise damaged_cache_entry(path, "embeddings") from error
        return outputs

    def pooled(self, sha256: str, model: str) -> np.ndarray:
        return self.load(sha256, model).pooled()

    def save(self, sha256: str, model: str, outputs: PatchOutputs) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, tags=outputs.tags.astype(np.float16), embeddings=outputs.embeddings.astype(np.float16))
        atomic_write_bytes(self.path(sha256, model), buffer.getvalue())

    def count(self, sha256s: Iterable[str], model: str) -> int:
        return sum(self.has(sha, model) for sha in set(sha256s))

    def stored(self, model: str) -> int:
        """How many clips of any catalog the cache holds for ``model`` (a cheap change stamp)."""
        return sum(1 for _ in self.folder(model).glob("*/*.npz"))

    def remove_partials(self) -> int:
        return remove_stale_partials(self.root)


def compute_missing_embeddings(
    jobs: Iterable[FeatureJob],
    models: list[str],
    settings: Settings,
    *,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> FeatureReport:
    """Compute every clip's outputs of ``models`` that the cache lacks, one decode per clip,
    over ``workers`` processes (default: one per core)."""
    todo, report = plan_missing(jobs, EmbeddingCache(settings), models, on_progress)
    if todo:
        for model in models:  # here, once: a missing install fails now, and a first load converts it for every worker
            load_model(model)
    tasks = [(job, models, settings) for job in todo]
    with unordered_results(_embed_one, tasks, worker_count(workers, len(tasks))) as outcomes:
        collect_outcomes(outcomes, report, len(todo), on_progress)
    return report


def _embed_one(task: tuple[FeatureJob, list[str], Settings]) -> tuple[str, str | None]:
    job, models, settings = task
    cache = EmbeddingCache(settings)
    try:
        samples = load_audio(job.audio_path)[: int(CLIP_SECONDS * SAMPLE_RATE)]
        for model in models:
            if not cache.has(job.sha256, model):
                cache.save(job.sha256, model, load_model(model).analyse(samples, label=job.audio_path.name))
    except AudioError as error:  # unreadable, or shorter than one 3 s patch
        return job.sha256, str(error)
    return job.sha256, None
