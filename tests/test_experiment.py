import shutil

from core import experiment
from core.catalog import Catalog
from core.config import TRAINING_PRESETS, Settings
from core.dataset import MinMaxScaling


def test_threshold_and_scaling_see_only_training_rows(demo_home, tmp_path, monkeypatch):
    shutil.copytree(demo_home.data_dir, tmp_path / "data")
    settings = Settings(home=tmp_path)
    seen_by_scaling: list[str] = []
    seen_by_threshold = []
    original_fit, original_load = MinMaxScaling.fit, experiment.FeatureCache.load
    fitting = {"now": False}

    def spying_fit(cls, spectrograms):
        fitting["now"] = True
        try:
            return original_fit.__func__(cls, list(spectrograms))
        finally:
            fitting["now"] = False

    def spying_load(self, sha, preset):
        if fitting["now"]:
            seen_by_scaling.append(sha)
        return original_load(self, sha, preset)

    def spying_threshold(train, rule):
        seen_by_threshold.append(set(train["source_id"]))
        return 39.0

    monkeypatch.setattr(MinMaxScaling, "fit", classmethod(spying_fit))
    monkeypatch.setattr(experiment.FeatureCache, "load", spying_load)
    monkeypatch.setattr(experiment, "choose_threshold", spying_threshold)
    run = experiment.run_experiment(settings, models=["dummy"], preset=TRAINING_PRESETS["fast"])

    members = run.meta.split_members
    with Catalog.open(settings) as catalog:
        sha_of = catalog.tracks().set_index("source_id")["audio_sha256"]
    assert set(seen_by_scaling) == {sha_of[i] for i in members["train"]}
    assert seen_by_threshold == [set(members["train"])]
    assert not set(members["train"]) & set(members["holdout"])


def test_a_run_records_the_version_and_commit_that_trained_it(tmp_path, monkeypatch):
    import subprocess
    import tomllib

    from core.config import REPO_ROOT

    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert experiment.project_version() == version
    if (REPO_ROOT / ".git").exists():
        assert len(experiment.git_commit() or "") == 40

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert experiment.git_commit() is None  # git missing: unknown, and training goes on
    monkeypatch.setattr(experiment, "REPO_ROOT", tmp_path)
    assert experiment.git_commit() is None  # not a checkout
