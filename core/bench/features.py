"""Feature extraction: the study's route against Hitlens' pipeline."""

from __future__ import annotations

import tempfile
import warnings
from functools import partial
from pathlib import Path

import numpy as np

from core.audio.decode import load_audio
from core.audio.features import FeatureJob, compute_missing, log_mel
from core.bench.clips import clips_per_second, demo_clips
from core.config import FEATURE_PRESETS, Settings


def study_route(path: Path) -> np.ndarray:
    """The study's pipeline: pydub turns the mp3 into a wav (through ffmpeg), librosa.load
    reads it with its defaults, then melspectrogram and power_to_db with their defaults."""
    import imageio_ffmpeg
    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydub warns that no system ffmpeg is on PATH
        from pydub import AudioSegment
    AudioSegment.converter = imageio_ffmpeg.get_ffmpeg_exe()
    # codec= skips pydub's ffprobe call (imageio-ffmpeg ships ffmpeg only).
    segment = AudioSegment.from_file(str(path), format="mp3", codec="mp3")
    with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
        segment.export(wav.name, format="wav")
        samples, rate = librosa.load(wav.name, duration=30)
    return librosa.power_to_db(librosa.feature.melspectrogram(y=samples, sr=rate), ref=np.max)


def bench_features(settings: Settings, clips: int = 50) -> str:
    """Clips per second of the study's route and of Hitlens' pipeline on the same clips."""
    chosen = demo_clips(settings, clips)
    paths = [path for _, path in chosen]
    study, fast = FEATURE_PRESETS["study"], FEATURE_PRESETS["fast"]
    log_mel(load_audio(paths[0]), study)  # warm-up: librosa's first call compiles (numba)
    study_route(paths[0])

    rows: list[tuple[str, float]] = [
        (
            "study route: pydub mp3->wav, librosa.load, melspectrogram, power_to_db (1 process)",
            clips_per_second(lambda: [study_route(p) for p in paths], clips),
        ),
        (
            f"Hitlens, study preset {study.n_mels}x{study.frames} (1 process)",
            clips_per_second(lambda: [log_mel(load_audio(p), study) for p in paths], clips),
        ),
        (
            f"Hitlens, fast preset {fast.n_mels}x{fast.frames} (1 process)",
            clips_per_second(lambda: [log_mel(load_audio(p), fast) for p in paths], clips),
        ),
    ]
    for presets, label in (
        ([study], "study preset"),
        ([fast], "fast preset"),
        ([study, fast], "both presets, one decode"),
    ):
        with tempfile.TemporaryDirectory() as scratch:
            jobs = [FeatureJob(sha, path) for sha, path in chosen]
            run = partial(compute_missing, jobs, presets, Settings(home=Path(scratch)))
            rows.append(
                (f"`python -m core features`, {label}, cached to disk (2 processes)", clips_per_second(run, clips))
            )

    baseline = rows[0][1]
    lines = [
        f"Feature extraction on {clips} demo clips (30 s mp3, 22,050 Hz), one run:",
        "",
        "| pipeline | clips/s | vs study route |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {rate:.1f} | {rate / baseline:.1f}x |" for label, rate in rows]
    return "\n".join(lines)
