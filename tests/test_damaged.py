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
