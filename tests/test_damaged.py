"""Stored state that is damaged (issue 22): a catalog file that is garbage or cut short is one
line naming the file, exit 2, with advice, on every command and on the dashboard, and nothing
is changed in it."""

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import REPO, run_cli


def _garbage(path):
    path.write_bytes(b"not a database at all " * 500)


def _truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture(params=[_garbage, _truncated], ids=["garbage", "truncated"])
def damaged_home(request, tiny_demo_home, tmp_path):
    shutil.copytree(tiny_demo_home.data_dir, tmp_path / "data")
    catalog = tmp_path / "data" / "catalog.sqlite"
    for side in ("-wal", "-shm"):  # what a copy of the file alone leaves
        catalog.with_name(catalog.name + side).unlink(missing_ok=True)
    request.param(catalog)
    return tmp_path, catalog


@pytest.mark.parametrize(
    "command", [["info"], ["runs", "--json"], ["score", "song.wav"], ["demo", "--replace", "--tracks", "10"]]
)
def test_a_damaged_catalog_is_one_line_naming_the_file_on_every_command(damaged_home, command):
    home, catalog = damaged_home
    before = catalog.read_bytes()
    result = run_cli(*command, home=home)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"The catalog {catalog} is damaged" in lines[0] and "python -m core demo" in lines[0]
    assert catalog.read_bytes() == before  # nothing was changed in it


def test_the_dashboard_shows_the_same_sentence_not_a_stack_trace(damaged_home, monkeypatch):
    home, catalog = damaged_home
    monkeypatch.setenv("HITLENS_HOME", str(home))
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    assert any(f"The catalog {catalog} is damaged" in e.value for e in app.error)


def _damage_caches(home):
    """One cut-off and one garbage embedding; a cut-off, a garbage and a wrongly shaped spectrogram."""
    import numpy as np

    embeddings = sorted((home / "data" / "embeddings").glob("MSD_musicnn-*/*/*.npz"))[:2]
    spectrograms = sorted((home / "data" / "features").glob("fast-*/*/*.npy"))[:3]
    _truncated(embeddings[0])
    _garbage(embeddings[1])
    _truncated(spectrograms[0])
    _garbage(spectrograms[1])
    np.save(spectrograms[2], np.zeros((3, 3), dtype=np.float16))
    return embeddings, spectrograms


def test_damaged_cache_files_never_stop_a_verdict_and_are_recomputed(trained_home, tmp_path):
    import json

    from tests.helpers import call_cli, demo_clips

    shutil.copytree(trained_home.data_dir, tmp_path / "data")
    shutil.copytree(trained_home.models_dir, tmp_path / "models")
    embeddings, spectrograms = _damage_caches(tmp_path)
    clips = len({p.name for p in (tmp_path / "data" / "embeddings").glob("MSD_musicnn-*/*/*.npz")})

    (clip,) = demo_clips(trained_home)
    for model in ("musicnn", "cnn2"):  # "sounds like" reads every embedding, whatever model scores
        result = call_cli("score", str(clip), "--model", model, "--json", home=tmp_path)
        assert result.returncode == 0, result.stderr
        [scored] = json.loads(result.stdout)
        assert scored["verdict"] in ("popular", "not popular", "withheld")
        assert "2 catalog clips have no readable musicnn embedding" in scored["catalog_note"]
    assert all(p.with_name(p.name + ".damaged").exists() and not p.exists() for p in embeddings)

    info = json.loads(call_cli("info", "--json", home=tmp_path, check=True).stdout)
    assert str(clips - 2) in json.dumps(info)  # counted from what can be read
    recomputed = call_cli("embeddings", home=tmp_path, check=True).stdout + call_cli("features", home=tmp_path).stdout
    assert all(p.exists() for p in [*embeddings, *spectrograms])  # computed again, readable
    assert "Traceback" not in recomputed
    trained = call_cli("train", "--models", "musicnn", home=tmp_path)
    assert trained.returncode == 0, trained.stderr


def test_training_computes_damaged_cache_files_again_and_says_how_many(trained_home, tmp_path):
    from tests.helpers import call_cli

    shutil.copytree(trained_home.data_dir, tmp_path / "data")
    embeddings, spectrograms = _damage_caches(tmp_path)
    result = call_cli("train", "--models", "cnn2,musicnn", "--epochs", "1", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "computed before training (3 spectrograms, 2 embeddings)" in result.stdout, result.stdout
    assert all(p.exists() for p in [*embeddings, *spectrograms])


# --- Damaged runs ---


def _two_runs(trained_home, root):
    """A copy of the trained home with its run (active) and a copy of it as a second, inactive run."""
    import sqlite3

    from core.catalog.store import Catalog
    from core.config import Settings
    from core.learning.registry import active_run_id

    shutil.copytree(trained_home.data_dir, root / "data")
    shutil.copytree(trained_home.models_dir, root / "models")
    settings = Settings(home=root)
    with Catalog.open(settings) as catalog:
        active = active_run_id(catalog)
    other = "29990101-000000-0001"
    shutil.copytree(root / "models" / active, root / "models" / other)
    with sqlite3.connect(root / "data" / "catalog.sqlite") as conn:
        conn.execute(
            "INSERT INTO runs (id, created_at, path, active, decided, summary) "
            "SELECT ?, created_at, ?, 0, 1, summary FROM runs WHERE id = ?",
            (other, other, active),
        )
    return settings, active, other


def _nested(path):
    path.write_text("[" * 200_000 + "]" * 200_000)


def _unknown_model(path):
    import json

    meta = json.loads(path.read_text())
    meta["models"].append("transformer")
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda folder: (folder / "run.json").write_text('{"id": "cut off'), "incomplete or damaged"),
        (lambda folder: _nested(folder / "run.json"), "nested too deeply"),
        (lambda folder: _unknown_model(folder / "run.json"), "unknown model 'transformer'"),
        (lambda folder: (folder / "cnn2.keras").unlink(), "cnn2 weights"),
        (lambda folder: _garbage(folder / "cnn2.keras"), "cnn2 weights"),
        (lambda folder: shutil.rmtree(folder), "is gone"),
    ],
    ids=["run.json cut off", "run.json nested", "unknown model", "weights deleted", "weights replaced", "folder gone"],
)
def test_a_damaged_inactive_run_is_listed_with_its_reason_and_cannot_be_activated(
    trained_home, tmp_path, damage, reason
):
    import json

    from tests.helpers import call_cli

    settings, active, other = _two_runs(trained_home, tmp_path)
    damage(settings.models_dir / other)
    listed = call_cli("runs", "--json", home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    runs = {run["id"]: run for run in json.loads(listed.stdout)}
    assert runs[active]["damaged"] is None and reason in runs[other]["damaged"]
    text = call_cli("runs", home=tmp_path)
    assert text.returncode == 0 and "DAMAGED: " in text.stdout
    refused = call_cli("runs", "--activate", other, home=tmp_path)
    assert refused.returncode == 2 and "cannot score" in refused.stderr and "Traceback" not in refused.stderr
    still = {run["id"]: run["active"] for run in json.loads(call_cli("runs", "--json", home=tmp_path).stdout)}
    assert still == {active: True, other: False}  # the healthy active run stays
    assert call_cli("score", "x.wav", "--run", other, home=tmp_path).returncode == 2

    for page in ("pages/train.py", "pages/holdout.py", "pages/score.py"):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HITLENS_HOME", str(tmp_path))
            app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
            app.run()
            app.switch_page(page).run()
            assert not app.exception, (page, app.exception)


def test_a_damaged_active_run_is_one_line_for_score_and_evaluate_and_the_pages_say_why(trained_home, tmp_path):
    from tests.helpers import call_cli, demo_clips

    settings, active, _ = _two_runs(trained_home, tmp_path)
    _garbage(settings.models_dir / active / "cnn2.keras")
    (clip,) = demo_clips(trained_home)
    for command in (["score", str(clip)], ["evaluate"]):
        result = call_cli(*command, home=tmp_path)
        assert result.returncode == 2 and f"Run {active} cannot score" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HITLENS_HOME", str(tmp_path))
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        app.run()
        app.switch_page("pages/score.py").run()
        assert not app.exception and any(f"The active run {active} cannot score" in e.value for e in app.error)
        app.switch_page("pages/holdout.py").run()  # where another run is chosen: it still works
        assert not app.exception and any(b.label == "Use this run for scoring" for b in app.button)
