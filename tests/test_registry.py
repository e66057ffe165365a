import json
import shutil
import zipfile
from pathlib import Path

import pytest

from core.catalog.store import Catalog
from core.config import Settings
from core.files import PARTIAL_MARKER
from core.learning.registry import (
    RunMissing,
    RunUnreadable,
    has_trained_run,
    keep_active,
    list_runs,
    load_run,
    replaceable_setup_run,
    run_summaries,
    save_run,
    set_active,
)
from tests.helpers import call_cli, run_cli


class _EmptyWeights:
    def save(self, path):
        zipfile.ZipFile(path, "w").close()


def _run_of(run_id, models, **extra):
    """The run.json and weights of a run of ``models``, each with the dummy's figures."""
    meta = _meta(run_id, models=models, **extra)
    meta["metrics"] = dict.fromkeys(models, meta["metrics"]["dummy"])
    return meta, {model: _EmptyWeights() for model in models if model != "dummy"}


def _meta(run_id, auc=0.5, **extra):
    return {
        "id": run_id,
        "split": "random",
        "training_preset": "fast",
        "models": ["dummy"],
        "synthetic": True,
        "dummy_positive_rate": 0.4,
        "created_at": "2026-11-25T10:00:00+00:00",
        "metrics": {"dummy": {"roc_auc": {"value": auc, "low": auc - 0.1, "high": auc + 0.1}, "n": 30}},
        **extra,
    }


def _active(home, catalog):
    runs = list_runs(home, catalog)
    return runs[runs["active"]]["id"].tolist()


def test_a_new_run_waits_for_the_user_unless_no_run_is_active(home):
    with Catalog.open(home, create=True) as catalog:
        save_run(home, catalog, _meta("run-good", auc=0.86), {})
        assert _active(home, catalog) == ["run-good"]  # the first run: nothing to replace
        save_run(home, catalog, _meta("run-worse", auc=0.71), {})
        assert _active(home, catalog) == ["run-good"]  # a finished worse run does not take over
        summaries = {s.id: s for s in run_summaries(home, catalog)}
        assert not summaries["run-worse"].decided and summaries["run-good"].decided
        assert summaries["run-worse"].best_auc == 0.71 and summaries["run-worse"].best_auc_ci == (0.61, 0.71 + 0.1)
        keep_active(catalog, "run-worse")  # "keep the current one": asked once, then left alone
        assert {s.id: s.decided for s in run_summaries(home, catalog)}["run-worse"]
        save_run(home, catalog, _meta("run-chosen"), {}, activate="yes")
        assert _active(home, catalog) == ["run-chosen"]


def test_set_ups_default_run_replaces_its_quick_start_run_but_not_a_users_choice(home):
    with Catalog.open(home, create=True) as catalog:
        save_run(home, catalog, _meta("quick", quick_start=True), {})
        save_run(home, catalog, _meta("default"), {}, replacing="quick")
        assert _active(home, catalog) == ["default"]
        assert list_runs(home, catalog).set_index("id")["quick_start"].to_dict() == {"quick": True, "default": False}
    with Catalog.open(Settings(home=home.home / "other"), create=True) as catalog:
        other = Settings(home=home.home / "other")
        save_run(other, catalog, _meta("quick", quick_start=True), {})
        save_run(other, catalog, _meta("mine"), {}, activate="yes")  # the user chose a run meanwhile
        save_run(other, catalog, _meta("default"), {}, replacing="quick")
        assert _active(other, catalog) == ["mine"]


def test_saved_runs_are_listed_and_one_is_active(home):
    with Catalog.open(home, create=True) as catalog:
        save_run(home, catalog, _meta("run-a"), {}, activate="yes")
        save_run(home, catalog, _meta("run-b"), {}, activate="no")
        runs = list_runs(home, catalog).set_index("id")
        assert runs["active"].to_dict() == {"run-a": True, "run-b": False}
        set_active(home, catalog, "run-b")
        assert load_run(home, catalog).id == "run-b"
        with pytest.raises(RunMissing):
            set_active(home, catalog, "nope")


def test_no_run_yet_says_how_to_train(home):
    with Catalog.open(home, create=True) as catalog, pytest.raises(RunMissing, match="python -m core train"):
        load_run(home, catalog)


def test_a_run_that_fails_while_saving_is_never_listed(home):
    class Exploding:
        def save(self, path):
            Path(path).write_text("half a model")
            raise KeyboardInterrupt  # killed while writing weights

    with Catalog.open(home, create=True) as catalog:
        with pytest.raises(KeyboardInterrupt):
            save_run(home, catalog, _meta("run-killed"), {"cnn2": Exploding()}, activate="yes")
        assert list_runs(home, catalog).empty
        assert not list(home.models_dir.iterdir())


def test_a_partial_folder_left_by_a_dead_process_is_ignored_and_cleaned(home):
    home.models_dir.mkdir(parents=True)
    dead_pid = 2**22 + 12345  # above Linux's default pid_max: no such process
    leftover = home.models_dir / f"run-x{PARTIAL_MARKER}{dead_pid}"
    leftover.mkdir()
    (leftover / "run.json").write_text(json.dumps(_meta("run-x")))
    with Catalog.open(home, create=True) as catalog:
        assert list_runs(home, catalog).empty
        save_run(home, catalog, _meta("run-y"), {}, activate="yes")
        assert list(list_runs(home, catalog)["id"]) == ["run-y"]
    assert not leftover.exists()


def test_set_ups_study_run_replaces_its_default_run_unless_the_user_chose_another(home):
    with Catalog.open(home, create=True) as catalog:
        save_run(home, catalog, _meta("quick", quick_start=True), {})
        assert replaceable_setup_run(list_runs(home, catalog)) == "quick"
        save_run(home, catalog, _meta("default", setup_run=True), {}, replacing="quick")
        assert replaceable_setup_run(list_runs(home, catalog)) == "default"  # the study's run takes its place
        save_run(home, catalog, _meta("mine"), {}, activate="yes")
        assert replaceable_setup_run(list_runs(home, catalog)) is None  # the user's choice stays


def test_a_run_is_trained_when_it_has_every_audio_model_asked_for_and_is_not_the_quick_start(home):
    with Catalog.open(home, create=True) as catalog:
        save_run(home, catalog, *_run_of("quick", ["dummy", "cnn1"], quick_start=True))
        assert not has_trained_run(list_runs(home, catalog), ["cnn1"])
        save_run(home, catalog, *_run_of("default", ["dummy", "cnn1", "cnn2", "musicnn"]))
        runs = list_runs(home, catalog)
        assert has_trained_run(runs, ["cnn1", "context", "regression"])  # those on top are not audio models
        assert not has_trained_run(runs, ["cnn2", "cnn_gru"])


def test_train_then_evaluate_json_from_the_cli(demo_home, tmp_path):
    shutil.copytree(demo_home.data_dir, tmp_path / "data")
    trained = call_cli("train", "--models", "dummy,cnn2", "--epochs", "1", home=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "SYNTHETIC demo catalog" in trained.stdout
    result = call_cli("evaluate", "--json", home=tmp_path, check=True)
    rows = json.loads(result.stdout)
    assert [r["model"] for r in rows] == ["dummy", "cnn2"]
    for row in rows:
        assert {"model", "split", "accuracy", "accuracy_ci", "roc_auc", "roc_auc_ci", "n"} <= set(row)
        assert row["split"] == "random" and row["synthetic"] is True and row["n"] > 0
        assert row["accuracy_ci"][0] <= row["accuracy"] <= row["accuracy_ci"][1]
    run_dir = tmp_path / "models" / rows[0]["run"]
    assert (run_dir / "cnn2.keras").is_file()
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["threshold"] == {"rule": "study", "value": 39.0, "scale": "spotify"}
    assert set(meta["split_members"]) == {"train", "test", "holdout"}
    import tensorflow as tf

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"  # what TensorFlow trains on here
    assert meta["device"].startswith(f"{device}: ") and f"trained on {meta['device']}" in trained.stdout
    # --if-missing: a run with every audio model asked for exists (dummy alone, or with CNN 2)
    for models in ("dummy,cnn2", "dummy"):
        assert (
            "nothing to do" in call_cli("train", "--models", models, "--if-missing", home=tmp_path, check=True).stdout
        )

    second = call_cli("train", "--models", "dummy", home=tmp_path, check=True)
    assert f"still scored with run {rows[0]['run']}" in second.stdout
    listed = json.loads(call_cli("runs", "--json", home=tmp_path, check=True).stdout)
    assert [set(r) >= {"id", "created", "split", "preset", "best_model", "best_auc", "active"} for r in listed] == [
        True,
        True,
    ]
    newer, first = listed
    assert (first["id"], first["active"], first["best_model"]) == (rows[0]["run"], True, "cnn2")
    assert newer["active"] is False and newer["best_model"] == "dummy" and newer["best_auc"] == 0.5
    assert "is now active" in call_cli("runs", "--activate", newer["id"], home=tmp_path, check=True).stdout
    assert [r["active"] for r in json.loads(call_cli("runs", "--json", home=tmp_path, check=True).stdout)] == [
        True,
        False,
    ]
    unknown = run_cli("runs", "--activate", "no-such-run", home=tmp_path)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "python -m core runs" in unknown.stderr


def test_train_no_activate_without_an_active_run_saves_it_and_leaves_none_active(demo_home, tmp_path):
    shutil.copytree(demo_home.data_dir, tmp_path / "data")
    trained = call_cli("train", "--models", "dummy", "--no-activate", home=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "no run is active yet" in trained.stdout and "runs --activate" in trained.stdout
    listed = json.loads(call_cli("runs", "--json", home=tmp_path, check=True).stdout)
    assert [r["active"] for r in listed] == [False]


def test_evaluate_without_a_run_is_one_line(demo_home):
    result = run_cli("evaluate", home=demo_home.home)
    assert result.returncode == 2 and "No trained run yet" in result.stderr


@pytest.mark.parametrize("rate, expected", [(0.4, 0.0), (0.6, 1.0)])
def test_a_saved_dummy_predicts_the_training_majority(home, rate, expected):
    with Catalog.open(home, create=True) as catalog:
        run = save_run(home, catalog, {**_meta("run-d"), "dummy_positive_rate": rate}, {}, activate="yes")
    assert run.load_model("dummy").predict_proba([[0], [0]])[:, -1].tolist() == [expected, expected]


def test_a_run_saved_by_older_code_loads_with_defaults_for_what_it_lacks(home):
    # Before quick starts, left-out tracks, percentiles and provenance were recorded; a key
    # this version does not know is ignored.
    with Catalog.open(home, create=True) as catalog:
        run = save_run(home, catalog, {**_meta("run-old"), "from_the_future": [1, 2]}, {}, activate="yes")
        meta = load_run(home, catalog, "run-old").meta
    assert meta == run.meta
    assert (meta.quick_start, meta.left_out, meta.reference_probabilities) == (False, {}, {})
    assert (meta.version, meta.commit) == (None, None)
    assert meta.bootstrap_unit == "track"  # every interval resampled tracks before artists could be
    assert meta.metrics["dummy"].roc_auc.value == 0.5 and meta.metrics["dummy"].accuracy.value is None


def test_a_damaged_run_json_is_one_clear_error(home):
    with Catalog.open(home, create=True) as catalog:
        run = save_run(home, catalog, _meta("run-cut"), {}, activate="yes")
        (run.path / "run.json").write_text('{"id": "run-cut", "models": ["dummy"]')
        with pytest.raises(RunUnreadable, match="incomplete or damaged"):
            load_run(home, catalog, "run-cut")
