"""musicnn embeddings: their cost, and the training time of the head that reads them."""

from __future__ import annotations

import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from core.audio.decode import load_audio
from core.audio.features import FeatureJob
from core.bench.clips import clips_per_second, demo_clips
from core.catalog.store import Catalog
from core.config import Settings


def bench_embeddings(settings: Settings, clips: int = 20) -> str:
    """musicnn's cost: model load, 30 s clips per second into a fresh cache, a 3.5 min song
    (one pass over its 3 s patches), the process's peak memory, and the ``musicnn`` head's
    training time beside the CNN-GRU's as the active run recorded them."""
    import resource

    from core.pretrained.cache import compute_missing_embeddings
    from core.pretrained.musicnn import DEFAULT_MODEL, load_model

    chosen = demo_clips(settings, clips)
    start = time.perf_counter()
    musicnn = load_model(DEFAULT_MODEL)
    load_seconds = time.perf_counter() - start
    clip = load_audio(chosen[0][1])
    musicnn.analyse(clip)  # warm-up: the first call traces the graph
    with tempfile.TemporaryDirectory() as scratch:
        jobs = [FeatureJob(sha, path) for sha, path in chosen]
        run = partial(compute_missing_embeddings, jobs, [DEFAULT_MODEL], Settings(home=Path(scratch)))
        rate = clips_per_second(run, clips)
    song = np.tile(clip, 7)  # 3.5 min
    start = time.perf_counter()
    patches = len(musicnn.analyse(song))
    song_seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    lines = [
        f"musicnn ({DEFAULT_MODEL}) on {clips} demo clips, one run:",
        "",
        "| what | figure |",
        "|---|---:|",
        f"| model load (once per process) | {load_seconds:.1f} s |",
        f"| 30 s clips (decode, 10 patches, cached to disk) | {rate:.2f} clips/s ({1 / rate:.2f} s a clip) |",
        f"| 3.5 min song ({patches} patches) | {song_seconds:.1f} s |",
        f"| peak memory of this process | {peak_mib:,} MiB |",
    ]
    return "\n".join([*lines, *_head_training_lines(settings)])


def _head_training_lines(settings: Settings) -> list[str]:
    """Time to fit the musicnn head on the catalog's random split (embeddings cached), and
    the CNN-GRU's training time as the active run recorded it."""
    from core.catalog.explore import default_threshold_rule
    from core.errors import RunMissing
    from core.learning.dataset import choose_threshold, labels, modelling_tracks, split_tracks
    from core.learning.registry import load_run
    from core.pretrained.cache import EmbeddingCache
    from core.pretrained.head import fit_head
    from core.pretrained.musicnn import DEFAULT_MODEL

    cache = EmbeddingCache(settings)
    with Catalog.open(settings) as catalog:
        parts = split_tracks(modelling_tracks(catalog), "random")
        threshold = choose_threshold(parts.train, default_threshold_rule(catalog))
        try:
            gru = load_run(settings, catalog).meta.seconds.get("cnn_gru")
        except RunMissing:
            gru = None
    if not all(cache.has(sha, DEFAULT_MODEL) for sha in parts.train["audio_sha256"]):
        return ["", "The catalog's embeddings are not all computed: run 'python -m core embeddings' to time the head."]
    pooled = {
        name: np.stack([cache.pooled(sha, DEFAULT_MODEL) for sha in part["audio_sha256"]])
        for name, part in (("train", parts.train), ("test", parts.test))
    }
    start = time.perf_counter()
    fit_head(pooled["train"], labels(parts.train, threshold), pooled["test"], labels(parts.test, threshold))
    seconds = time.perf_counter() - start
    recorded = f"{gru:.0f} s as the active run recorded it" if gru is not None else "not in the active run"
    return [
        f"| training the musicnn head ({len(parts.train)} training clips, embeddings cached; CNN-GRU: {recorded}) "
        f"| {seconds:.2f} s |"
    ]
