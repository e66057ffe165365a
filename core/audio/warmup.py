"""Compile librosa's numba kernels once, in one process: ``python -m core.audio.warmup``.

librosa compiles its numba kernels on first use and caches most of them on disk, beside its
own source. That cache is not safe for processes that fill it at the same time: numba picks a
new entry's data file from the index it last read, so two processes compiling at once can
leave an index entry naming a file that holds the other process's machine code, and whichever
process loads that entry next runs the wrong code. A fresh virtualenv is exactly that case:
``make run`` starts the dashboard and the set-up job's spectrogram workers together, and the
test suite starts servers and workers beside itself. So ``make setup`` fills the cache here,
serially, right after installing; every later process only reads it.

One kernel of librosa 0.11's beat tracker is not cached on disk at all; ``ui.server`` calls
`compile_librosa_kernels` before serving so that no explanation waits for it.

The same step converts musicnn's checkpoint for LiteRT (``core.engine.lite``), which needs
TensorFlow once: after it, no command's first score waits for TensorFlow's import.
"""

from __future__ import annotations

import time

import numpy as np

from core.config import FEATURE_PRESETS, SAMPLE_RATE


def compile_librosa_kernels(seconds: float = 10.0) -> float:
    """Run quiet noise through every librosa path Hitlens takes (each preset's spectrogram,
    musicnn's input, the beat grid), so each kernel is compiled and cached; seconds taken."""
    from core.audio.features import log_mel
    from core.pretrained.musicnn import input_mel
    from core.songs.explain import time_cells

    started = time.perf_counter()
    noise = np.random.default_rng(0).standard_normal(int(seconds * SAMPLE_RATE)).astype(np.float32) * 0.01
    for preset in FEATURE_PRESETS.values():
        log_mel(noise, preset)
    input_mel(noise)
    time_cells(noise, SAMPLE_RATE, seconds)
    return time.perf_counter() - started


def convert_musicnn() -> float:
    """Load (and so convert, once per installation) musicnn's default checkpoint; seconds taken."""
    from core.pretrained.musicnn import load_model

    started = time.perf_counter()
    load_model()
    return time.perf_counter() - started


if __name__ == "__main__":
    print(f"Compiled librosa's kernels in {compile_librosa_kernels():.1f} s.", flush=True)
    print(f"Readied musicnn for LiteRT in {convert_musicnn():.1f} s.", flush=True)
