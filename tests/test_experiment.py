import json
import shutil

from core.catalog.store import Catalog
from core.config import TRAINING_PRESETS, Settings
from core.learning import experiment
from core.learning.dataset import MinMaxScaling


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
    assert run.meta.bootstrap_unit == "track"  # the random split draws tracks one by one

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


def test_an_artist_split_run_resamples_whole_artists_for_every_interval_and_says_so(demo_home, tmp_path, monkeypatch):
    from core.learning import evaluate, popularity
    from core.learning.dataset import modelling_tracks
    from core.learning.registry import load_run
    from tests.helpers import call_cli

    shutil.copytree(demo_home.data_dir, tmp_path / "data")
    settings = Settings(home=tmp_path)
    grouped_by = []
    original = evaluate.bootstrap

    def spying(metric, y_true, y_score, **options):
        grouped_by.append(list(options["groups"]))
        return original(metric, y_true, y_score, **options)

    monkeypatch.setattr(evaluate, "bootstrap", spying)
    monkeypatch.setattr(popularity, "bootstrap", spying)
    models = ["dummy", "musicnn", "context", "regression"]
    run = experiment.run_experiment(settings, models=models, preset=TRAINING_PRESETS["fast"], split="artist")

    with Catalog.open(settings) as catalog:
        artist_of = modelling_tracks(catalog).set_index("source_id")["artist_group"]
        assert load_run(settings, catalog, run.meta.id).meta.bootstrap_unit == "artist"
    holdout_artists = list(artist_of[run.meta.split_members["holdout"]])
    # accuracy and ROC-AUC of three models, the paired gain, MAE and Spearman of two regressions
    assert grouped_by == [holdout_artists] * 11
    assert run.meta.bootstrap_unit == "artist"
    said = call_cli("evaluate", home=tmp_path, check=True).stdout
    assert "Brackets: 95% bootstrap intervals over holdout artists." in said
    rows = json.loads(call_cli("evaluate", "--json", home=tmp_path, check=True).stdout)
    assert [row["bootstrap_unit"] for row in rows] == ["artist"] * len(rows) and len(rows) == 4
