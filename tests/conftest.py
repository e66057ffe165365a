"""Shared fixtures: every test runs against its own HITLENS_HOME, never the repo's data/."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import Settings

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SMALL_DEMO_TRACKS = 40


def run_cli(
    *args: str, home: Path, check: bool = False, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m core ARGS`` as a user would, with HITLENS_HOME set to ``home`` (and
    ``env`` on top of this process's environment)."""
    env = {**os.environ, **(env or {}), "HITLENS_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )


def call_cli(*args: str, home: Path, check: bool = False) -> subprocess.CompletedProcess:
    """``python -m core ARGS`` run in this process (``core.cli.main``, what ``python -m core``
    calls), with HITLENS_HOME set to ``home``: what the command prints and the exit status it
    returns, without starting an interpreter that imports TensorFlow again. Tests whose point
    is the process itself (its exit status, or what reaches the terminal) use ``run_cli``."""
    from core.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        patch.setenv("HITLENS_HOME", str(home))
        try:
            status = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors and --help; the status Python would exit with
            status = 0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 1
    result = subprocess.CompletedProcess(["python", "-m", "core", *args], status, stdout.getvalue(), stderr.getvalue())
    if check:
        result.check_returncode()
    return result


@pytest.fixture
def home(tmp_path, monkeypatch) -> Settings:
    """An empty HITLENS_HOME for one test."""
    monkeypatch.setenv("HITLENS_HOME", str(tmp_path))
    return Settings(home=tmp_path)


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory) -> Settings:
    """A small demo catalog with its fast features and musicnn embeddings, built once
    through the CLI's commands, in this process (TensorFlow and musicnn load once). Tests must
    not modify it."""
    root = tmp_path_factory.mktemp("demo-home")
    call_cli("demo", "--tracks", str(SMALL_DEMO_TRACKS), "--seed", "7", home=root, check=True)
    call_cli("features", home=root, check=True)
    call_cli("embeddings", home=root, check=True)
    return Settings(home=root)


@pytest.fixture(scope="session")
def tiny_demo_home(tmp_path_factory) -> Settings:
    """The smallest demo catalog (10 tracks, 8 songs' audio) without any spectrogram or
    embedding, for tests that run a command over every clip and whose assertions do not depend
    on how many there are. Tests copy it; they must not modify it."""
    root = tmp_path_factory.mktemp("tiny-demo-home")
    call_cli("demo", "--tracks", "10", "--seed", "7", home=root, check=True)
    return Settings(home=root)


@pytest.fixture
def use_demo_home(demo_home, monkeypatch) -> Settings:
    monkeypatch.setenv("HITLENS_HOME", str(demo_home.home))
    return demo_home


def demo_clips(settings: Settings, count: int = 1) -> list[Path]:
    """The audio files of the first ``count`` distinct clips of a home's demo catalog: songs of
    the catalog's own kind, which a run trained on it judges (real recordings it withholds)."""
    from core.catalog import Catalog

    with Catalog.open(settings) as catalog:
        tracks = catalog.tracks()
    paths = tracks["audio_path"].dropna().drop_duplicates().head(count)
    return [settings.data_dir / path for path in paths]


def demo_song(settings: Settings, seconds: float, index: int = 0) -> bytes:
    """WAV bytes of demo clip ``index`` of a home's catalog, looped or cut to ``seconds``: a song
    of the catalog's own kind, of any length."""
    import numpy as np
    import soundfile as sf

    from core.audio import load_audio
    from core.config import SAMPLE_RATE

    clip = load_audio(demo_clips(settings, index + 1)[index])
    samples = np.resize(clip, int(seconds * SAMPLE_RATE))
    buffer = io.BytesIO()
    sf.write(buffer, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def shared_file(relative: str) -> Path:
    """A file from ../shared, or a skip that names it when the folder is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"needs {path} (the shared/ folder beside the repository)")
    return path


@pytest.fixture(scope="session")
def trained_home(demo_home, tmp_path_factory) -> Settings:
    """A copy of the small demo catalog with one quick run (dummy, CNN 2 for one epoch, and
    the musicnn head), trained by the CLI's command in this process."""
    import shutil

    root = tmp_path_factory.mktemp("trained-home")
    shutil.copytree(demo_home.data_dir, root / "data")
    call_cli("train", "--models", "dummy,cnn2,musicnn", "--epochs", "1", home=root, check=True)
    return Settings(home=root)


@pytest.fixture
def scoring_home(trained_home, monkeypatch) -> Iterator[Settings]:
    """``trained_home`` as HITLENS_HOME, with the Score page's list empty as a new artist finds
    it, and emptied again afterwards: uploads are kept in the home, so one test's songs would
    still be listed in the next test's page (or in a copy of the home)."""
    from core.catalog import Catalog
    from core.uploads import clear_list

    with Catalog.open(trained_home) as catalog:
        clear_list(catalog)
    monkeypatch.setenv("HITLENS_HOME", str(trained_home.home))
    yield trained_home
    with Catalog.open(trained_home) as catalog:
        clear_list(catalog)


@pytest.fixture(scope="session")
def context_home(demo_home, tmp_path_factory) -> Settings:
    """A copy of the small demo catalog with one run that has the models on top of the audio
    verdict: the dummy and the musicnn head (no epochs: seconds) feeding audio + context and the
    popularity regression. Trained in this process (TensorFlow is loaded once)."""
    import shutil

    from core.config import TRAINING_PRESETS
    from core.experiment import run_experiment

    root = tmp_path_factory.mktemp("context-home")
    shutil.copytree(demo_home.data_dir, root / "data")
    settings = Settings(home=root)
    run_experiment(settings, models=["dummy", "musicnn", "context", "regression"], preset=TRAINING_PRESETS["fast"])
    return settings


def copy_without_auc(trained: Settings, root: Path) -> Settings:
    """A copy of ``trained`` whose run has no holdout ROC-AUC for any model, as a run whose
    holdout held one class only has."""
    import json
    import shutil

    shutil.copytree(trained.data_dir, root / "data")
    shutil.copytree(trained.models_dir, root / "models")
    for run_file in (root / "models").glob("*/run.json"):
        meta = json.loads(run_file.read_text())
        for metrics in meta["metrics"].values():
            metrics["roc_auc"] = {"value": None, "low": None, "high": None}
            metrics["roc_curve"] = {"fpr": [], "tpr": []}
        run_file.write_text(json.dumps(meta))
    return Settings(home=root)
