"""What tests share: running the CLI, demo songs and shared files, test signals. Tests import
these from here (fixtures live in ``conftest.py``; no test imports another test file)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.config import SAMPLE_RATE, Settings

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


def demo_clips(settings: Settings, count: int = 1) -> list[Path]:
    """The audio files of the first ``count`` distinct clips of a home's demo catalog: songs of
    the catalog's own kind, which a run trained on it judges (real recordings it withholds)."""
    from core.catalog.store import Catalog

    with Catalog.open(settings) as catalog:
        tracks = catalog.tracks()
    paths = tracks["audio_path"].dropna().drop_duplicates().head(count)
    return [settings.data_dir / path for path in paths]


def demo_song(settings: Settings, seconds: float, index: int = 0) -> bytes:
    """WAV bytes of demo clip ``index`` of a home's catalog, looped or cut to ``seconds``: a song
    of the catalog's own kind, of any length."""
    import numpy as np
    import soundfile as sf

    from core.audio.decode import load_audio
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


def tone(hz: float, seconds: float, rate: int = SAMPLE_RATE, amplitude: float = 0.5) -> np.ndarray:
    """A sine at ``hz`` for ``seconds``, mono float32: the signal tests plant and look for."""
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


APP_TIMEOUT = 60  # seconds: TensorFlow and the first catalog reads take longer than AppTest's 3 s default


def open_page(page: str):
    """An AppTest of the whole app (``app.py``: navigation and sidebar) switched to ``page``
    (a file of ``ui.navigation.PAGES``), run, with no exception."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=APP_TIMEOUT)
    app.run()  # lands on Dataset, or on Score once a run can score
    app.switch_page(page)
    app.run()
    assert not app.exception, app.exception
    return app


def page_text(app) -> str:
    """Everything an AppTest's page says in text elements, one per line."""
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader")
        for e in app.get(kind)
    ]
    return "\n".join(str(p) for p in parts)


def page_figures(app) -> list:
    """The Plotly figures an AppTest's page drew, as the browser gets them."""
    import plotly.io

    return [plotly.io.from_json(chart.proto.spec) for chart in app.get("plotly_chart")]


WEAK_HOOK = 5
"""A song of the small demo whose hook is there but weak (strength 0.61)."""


def planted_demo_song(index: int, **traits) -> np.ndarray:
    """Song ``index`` of the small demo the trained fixtures hold, rendered again with
    ``traits`` changed (``hook=1.0``: its hook at full strength)."""
    from dataclasses import replace

    from core.demo import plan_catalog
    from core.demo.synth import render

    song = plan_catalog(SMALL_DEMO_TRACKS, 7).songs[index]
    return render(song.artist.style, replace(song.traits, **traits), song.seed)


def cli_imports(*args: str, home: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    """``python -m core ARGS`` in a new process (as ``run_cli``, which must succeed), and every
    module it imported (Python's ``-X importtime`` report)."""
    result = run_cli(*args, home=home, check=True, env={"PYTHONPROFILEIMPORTTIME": "1"})
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time")]
    return result, {line.rsplit("|", 1)[-1].strip() for line in lines}
