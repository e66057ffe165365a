"""Stored state that is damaged (issue 22): a catalog file that is garbage or cut short is one
line naming the file, exit 2, with advice, on every command and on the dashboard, and nothing
is changed in it."""

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO, run_cli


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

    from tests.conftest import call_cli, demo_clips

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
    from tests.conftest import call_cli

    shutil.copytree(trained_home.data_dir, tmp_path / "data")
    embeddings, spectrograms = _damage_caches(tmp_path)
    result = call_cli("train", "--models", "cnn2,musicnn", "--epochs", "1", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "computed before training (3 spectrograms, 2 embeddings)" in result.stdout, result.stdout
    assert all(p.exists() for p in [*embeddings, *spectrograms])
