"""Pool workers end with the command that owns them: killed (SIGKILL, the OOM killer) or
interrupted (Ctrl-C), nothing keeps running, and an interrupt skips the queued work."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from core.audio.features import FeatureCache
from core.config import FEATURE_PRESETS, Settings
from core.files import process_alive
from tests.helpers import REPO

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (the fork server, the resource tracker, the workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _start_features(demo_home, tmp_path) -> tuple[subprocess.Popen, Settings]:
    """``features --preset all --workers 2`` on a copy of the small demo without its cache,
    in a session of its own with Ctrl-C's default action (as a terminal's foreground job has
    them: a suite started in the background inherits SIGINT ignored, and so would the command)."""
    home = Settings(home=tmp_path)
    shutil.copytree(demo_home.data_dir, home.data_dir, ignore=shutil.ignore_patterns("features", "embeddings", "jobs"))
    process = subprocess.Popen(
        [sys.executable, "-m", "core", "features", "--preset", "all", "--workers", "2"],
        cwd=REPO,
        env={**os.environ, "HITLENS_HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    return process, home


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _workers_started(pid: int) -> bool:
    # the resource tracker, the fork server and two workers
    return len(_descendants(pid)) >= 4


def test_a_sigkilled_features_leaves_no_live_worker(demo_home, tmp_path):
    process, _ = _start_features(demo_home, tmp_path)
    spawned: list[int] = []
    try:
        _wait_for(lambda: _workers_started(process.pid) or process.poll() is not None, 120, "the pool's workers")
        spawned = _descendants(process.pid)
        assert process.poll() is None and len(spawned) >= 4
        process.send_signal(signal.SIGKILL)  # as the OOM killer does: no clean-up runs
        process.wait()
        deadline = time.monotonic() + 5
        while any(process_alive(pid) for pid in spawned) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [pid for pid in spawned if process_alive(pid)] == []
    finally:
        for pid in spawned:  # never leave 280 MB workers behind, even when the test fails
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_ctrl_c_stops_the_queued_clips_and_every_worker(demo_home, tmp_path):
    process, home = _start_features(demo_home, tmp_path)
    cache = FeatureCache(home)
    total = len(list((demo_home.data_dir / "audio").rglob("*.mp3")))

    def computed() -> int:
        return len(list(cache.folder(FEATURE_PRESETS["study"]).rglob("*.npy")))

    spawned: list[int] = []
    try:
        _wait_for(lambda: computed() >= 1 or process.poll() is not None, 120, "a first spectrogram")
        spawned = _descendants(process.pid)
        at_interrupt = computed()
        assert process.poll() is None and at_interrupt < total - 8, "the run finished before it could be interrupted"
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group gets it
        started = time.monotonic()
        _, stderr = process.communicate(timeout=60)
        took = time.monotonic() - started
        assert process.returncode == 130
        assert "interrupted: finished work is kept" in stderr
        assert "Traceback" not in stderr
        # the clips in flight may finish; the queued ones do not run
        assert computed() <= at_interrupt + 4 < total
        assert took < 15
        time.sleep(1)
        assert [pid for pid in spawned if process_alive(pid)] == []
    finally:
        if process.poll() is None:
            process.kill()
        for pid in spawned:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
