"""Shared fixtures: every test runs against its own HITLENS_HOME, never the repo's data/.
Helpers that tests import are in ``tests/helpers.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.config import Settings
from tests.helpers import SMALL_DEMO_TRACKS, call_cli

SLOW_FIXTURES = {"demo_home", "tiny_demo_home", "trained_home", "context_home", "scoring_home", "use_demo_home"}
"""Fixtures that build a demo catalog or train a run: a test that uses one is marked slow."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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
    from core.catalog.store import Catalog
    from core.songs.uploads import clear_list

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
    from core.learning.experiment import run_experiment

    root = tmp_path_factory.mktemp("context-home")
    shutil.copytree(demo_home.data_dir, root / "data")
    settings = Settings(home=root)
    run_experiment(settings, models=["dummy", "musicnn", "context", "regression"], preset=TRAINING_PRESETS["fast"])
    return settings
