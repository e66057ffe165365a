import json
import shutil

import pytest

from core.catalog import Catalog
from core.files import PARTIAL_MARKER
from core.registry import RunMissing, list_runs, load_run, save_run, set_active
from tests.conftest import run_cli


def _meta(run_id):
    return {"id": run_id, "split": "random", "training_preset": "fast", "models": ["dummy"], "synthetic": True,
            "dummy_positive_rate": 0.4}  # fmt: skip


def test_saved_runs_are_listed_and_one_is_active(home):
    with Catalog.open(home, create=True) as catalog:
        save_run(home, catalog, _meta("run-a"), {}, activate=True)
        save_run(home, catalog, _meta("run-b"), {}, activate=False)
        runs = list_runs(home, catalog).set_index("id")
        assert runs["active"].to_dict() == {"run-a": True, "run-b": False}
        set_active(catalog, "run-b")
        assert load_run(home, catalog).id == "run-b"
        with pytest.raises(RunMissing):
            set_active(catalog, "nope")


def test_no_run_yet_says_how_to_train(home):
    with Catalog.open(home, create=True) as catalog, pytest.raises(RunMissing, match="python -m core train"):
        load_run(home, catalog)


def test_a_run_that_fails_while_saving_is_never_listed(home):
    class Exploding:
        def save(self, path):
            open(path, "w").write("half a model")
            raise KeyboardInterrupt  # killed while writing weights

    with Catalog.open(home, create=True) as catalog:
        with pytest.raises(KeyboardInterrupt):
            save_run(home, catalog, _meta("run-killed"), {"cnn2": Exploding()}, activate=True)
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
        save_run(home, catalog, _meta("run-y"), {}, activate=True)
        assert list(list_runs(home, catalog)["id"]) == ["run-y"]
    assert not leftover.exists()


def test_train_then_evaluate_json_from_the_cli(demo_home, tmp_path):
    shutil.copytree(demo_home.data_dir, tmp_path / "data")
    trained = run_cli("train", "--models", "dummy,cnn2", "--epochs", "1", home=tmp_path, timeout=600)
    assert trained.returncode == 0, trained.stderr
    assert "SYNTHETIC demo catalog" in trained.stdout
    result = run_cli("evaluate", "--json", home=tmp_path, check=True)
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
    assert "nothing to do" in run_cli("train", "--if-missing", home=tmp_path, check=True).stdout


def test_evaluate_without_a_run_is_one_line(demo_home):
    result = run_cli("evaluate", home=demo_home.home)
    assert result.returncode == 2 and "No trained run yet" in result.stderr


@pytest.mark.parametrize("rate, expected", [(0.4, 0.0), (0.6, 1.0)])
def test_a_saved_dummy_predicts_the_training_majority(home, rate, expected):
    with Catalog.open(home, create=True) as catalog:
        run = save_run(home, catalog, {**_meta("run-d"), "dummy_positive_rate": rate}, {}, activate=True)
    assert run.load_model("dummy").predict_proba([[0], [0]])[:, -1].tolist() == [expected, expected]
