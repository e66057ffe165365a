"""Scoring: time to a verdict and to an explanation, at both presets."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from core.audio.decode import load_audio
from core.audio.features import log_mel
from core.bench.clips import demo_clips
from core.catalog.store import Catalog
from core.config import FEATURE_PRESETS, Settings
from core.learning.dataset import MinMaxScaling


def bench_score(settings: Settings) -> str:
    """Time to a verdict (decode, windows, spectrograms, model) for a 30 s clip and a 3.5 min
    song, and of one LIME explanation at 1,000 samples, at both presets.

    The model is the active run's best spectrogram architecture with fresh weights at each
    preset (the cost does not depend on the weights; a study-preset run takes hours to train
    here). The musicnn model scores from embeddings, not spectrograms: ``bench embeddings``
    times it, so when it is the run's best this times the run's best of the others."""
    import soundfile as sf

    from core.engine.lite import LiteModel, keras_conversion
    from core.learning.architectures import build_model
    from core.learning.evaluate import PlattCalibration
    from core.learning.registry import load_run
    from core.songs.explain import explain
    from core.songs.scoring import Scorer

    with Catalog.open(settings) as catalog:
        run = load_run(settings, catalog)
    name = best_architecture(run.meta)
    clip_path = demo_clips(settings, 1)[0][1]
    clip = load_audio(clip_path)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        song_path = Path(scratch) / "song.mp3"
        sf.write(song_path, np.tile(clip, 7), 22_050, format="MP3")  # 3.5 min
        for preset in (FEATURE_PRESETS["fast"], FEATURE_PRESETS["study"]):
            scorer = Scorer.__new__(Scorer)
            scorer.run, scorer.model_name, scorer.preset = run, name, preset
            scorer.model = LiteModel(keras_conversion(build_model(name, (*preset.shape, 1)))[0])  # as runs score
            scorer.scaling = MinMaxScaling(-80.0, 0.0)
            scorer.calibration = PlattCalibration(1.0, 0.0)
            scorer.reference = np.array([])
            scorer.score(clip_path)  # warm-up: graph tracing
            timings = {}
            for label, path in (("30 s clip", clip_path), ("3.5 min song", song_path)):
                start = time.perf_counter()
                song = scorer.score(path)
                timings[label] = time.perf_counter() - start
            spectrogram = log_mel(clip, preset)
            explain(spectrogram, clip, preset, scorer.predict, num_samples=20)  # warm-up
            start = time.perf_counter()
            explain(spectrogram, clip, preset, scorer.predict, num_samples=1000)  # with its stable cells
            timings["explanation"] = time.perf_counter() - start
            rows.append((preset, timings, len(song.windows)))
    header = list(rows[0][1])
    lines = [
        f"Scoring with the {name} architecture (fresh weights); the 3.5 min song has {rows[0][2]} windows of 30 s:",
        "",
        "| preset | " + " | ".join(f"{h} (s)" for h in header) + " |",
        "|---|" + "---:|" * len(header),
    ]
    lines += [
        f"| {p.name} {p.n_mels}x{p.frames} | " + " | ".join(f"{t[h]:.2f}" for h in header) + " |" for p, t, _ in rows
    ]
    return "\n".join(lines)


def best_architecture(meta) -> str:
    """The run's best model that is one of the study's spectrogram architectures (by holdout
    ROC-AUC; CNN 2 when the run has none, as a run of musicnn alone)."""
    from core.learning.architectures import KERAS_MODELS

    spectrogram_models = [m for m in meta.models if m in KERAS_MODELS]
    if meta.best_model in spectrogram_models:
        return meta.best_model
    return max(spectrogram_models, key=lambda m: meta.metrics[m].roc_auc.value or 0.0, default="cnn2")
