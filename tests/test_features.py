import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from core.audio.features import FLOOR_DB, FeatureCache, FeatureJob, compute_missing, fit_to_clip, log_mel
from core.catalog.store import Catalog
from core.config import FEATURE_PRESETS, Settings
from core.files import PARTIAL_MARKER
from tests.helpers import REPO

RATE = 22_050


def _noise(seconds, seed=0):
    return np.random.default_rng(seed).uniform(-0.5, 0.5, int(seconds * RATE)).astype(np.float32)


@pytest.mark.parametrize("preset_name, shape", [("study", (128, 1292)), ("fast", (64, 162))])
@pytest.mark.parametrize("seconds", [10.0, 30.0, 45.0])
def test_every_clip_length_gives_the_preset_shape(preset_name, shape, seconds):
    spectrogram = log_mel(_noise(seconds), FEATURE_PRESETS[preset_name])
    assert spectrogram.shape == shape
    assert spectrogram.dtype == np.float32
    assert spectrogram.max() == 0.0 and spectrogram.min() >= FLOOR_DB


def test_short_clips_are_padded_with_silence_at_the_end():
    preset = FEATURE_PRESETS["fast"]
    spectrogram = log_mel(_noise(10.0), preset)
    frames_per_second = preset.frames / 30.0
    assert np.all(spectrogram[:, int(12 * frames_per_second) :] == FLOOR_DB)
    assert np.all(spectrogram[:, : int(9 * frames_per_second)].mean(axis=0) > FLOOR_DB + 20)


def test_long_clips_keep_their_first_30_seconds():
    preset = FEATURE_PRESETS["study"]
    long_clip = _noise(45.0)
    np.testing.assert_array_equal(log_mel(long_clip, preset), log_mel(long_clip[: 30 * RATE], preset))
    assert fit_to_clip(long_clip, preset).size == preset.clip_samples


def test_presets_differ_in_cache_key():
    assert FEATURE_PRESETS["study"].key != FEATURE_PRESETS["fast"].key


def test_cache_round_trip_is_float16_on_disk(home):
    cache = FeatureCache(home)
    preset = FEATURE_PRESETS["fast"]
    spectrogram = log_mel(_noise(30.0), preset)
    cache.save("ab" * 32, preset, spectrogram)
    assert np.load(cache.path("ab" * 32, preset)).dtype == np.float16
    np.testing.assert_allclose(cache.load("ab" * 32, preset), spectrogram, atol=0.05)


def test_compute_missing_skips_cached_and_reports_bad_files(use_demo_home, tmp_path):
    scratch = Settings(home=tmp_path)
    with Catalog.open(use_demo_home) as catalog:
        jobs = [FeatureJob(sha, path) for sha, path in catalog.audio_hashes()][:3]
    broken = tmp_path / "broken.mp3"
    broken.write_text("not audio")
    jobs.append(FeatureJob("f" * 64, broken))
    first = compute_missing(jobs, [FEATURE_PRESETS["fast"]], scratch, workers=2)
    assert first.computed == 3 and list(first.failed) == ["f" * 64]
    second = compute_missing(jobs, [FEATURE_PRESETS["fast"]], scratch, workers=1)
    assert (second.computed, second.already_cached) == (0, 3)


def test_a_killed_feature_run_leaves_nothing_partial_that_is_read(tiny_demo_home, tmp_path):
    home = Settings(home=tmp_path)  # 8 clips: killed after 3, the rerun computes the rest
    shutil.copytree(tiny_demo_home.data_dir, home.data_dir, ignore=shutil.ignore_patterns("features"))
    env = {**os.environ, "HITLENS_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "core", "features", "--preset", "study", "--workers", "1"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache = FeatureCache(home)
    preset = FEATURE_PRESETS["study"]
    deadline = time.monotonic() + 120
    while len(list(cache.folder(preset).rglob("*.npy"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = list(cache.folder(preset).rglob("*.npy"))
    assert len(done_before) >= 3
    for path in done_before:  # every complete-looking file is complete
        assert np.load(path).shape == preset.shape
    partial = cache.folder(preset) / "00" / f"{'0' * 64}.npy{PARTIAL_MARKER}{process.pid}"
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"\x93NUMPY half a file")  # what a kill mid-write would leave

    rerun = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert f"{len(done_before)} already cached" in rerun.stdout
    assert not partial.exists()
    with Catalog.open(home) as catalog:
        hashes = [sha for sha, _ in catalog.audio_hashes()]
    assert cache.count(hashes, preset) == len(hashes)
    assert not list(cache.root.rglob(f"*{PARTIAL_MARKER}*"))
