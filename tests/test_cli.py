import json

import pytest

from core.cli import build_parser
from tests.conftest import SMALL_DEMO_TRACKS, run_cli


def test_info_json_reports_the_demo_catalog_and_its_features(demo_home):
    result = run_cli("info", "--json", home=demo_home.home, check=True)
    info = json.loads(result.stdout)
    assert info["synthetic"] is True
    assert 0 < info["tracks"] <= SMALL_DEMO_TRACKS
    assert isinstance(info["artists"], int) and info["artists"] >= 1
    assert 0 < info["with_audio"] < info["tracks"] + 1
    assert info["features"]["fast"] == info["distinct_audio"] > 0
    assert info["features"]["study"] == 0
    assert info["popularity"]["scale"] == "spotify"
    assert info["popularity"]["min"] <= info["popularity"]["median"] <= info["popularity"]["max"] <= 100


def test_info_text_labels_the_catalog_synthetic(demo_home):
    assert "SYNTHETIC" in run_cli("info", home=demo_home.home, check=True).stdout


def test_missing_catalog_is_one_line_and_exit_2(tmp_path):
    result = run_cli("info", "--json", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "python -m core demo" in result.stderr and "Traceback" not in result.stderr


def test_demo_refuses_to_overwrite_and_if_missing_is_a_no_op(demo_home):
    refused = run_cli("demo", "--tracks", "12", home=demo_home.home)
    assert refused.returncode == 2 and "--replace" in refused.stderr
    assert "nothing to do" in run_cli("demo", "--if-missing", home=demo_home.home, check=True).stdout


@pytest.mark.parametrize(
    "command", [[], ["demo"], ["features"], ["info"], ["bench"], ["train"], ["evaluate"], ["setup"]]
)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_bad_arguments_exit_2(tmp_path):
    result = run_cli("demo", "--tracks", "-3", home=tmp_path)
    assert result.returncode == 2 and "positive" in result.stderr


def test_a_full_disk_is_one_clear_line_and_keeps_what_was_stored(demo_home, tmp_path, monkeypatch, capsys):
    import errno
    import shutil

    from core import features
    from core.catalog import Catalog
    from core.cli import main

    shutil.copytree(demo_home.data_dir, tmp_path / "data", ignore=shutil.ignore_patterns("features"))
    monkeypatch.setenv("HITLENS_HOME", str(tmp_path))

    def disk_full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(features, "atomic_write_bytes", disk_full)
    assert main(["features", "--workers", "1"]) == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert message.startswith("error: the disk is full") and "Traceback" not in message
    with Catalog.open() as catalog:
        assert catalog.summary().tracks > 0


def test_ordinals_read_as_english():
    from core.cli.scoring import ordinal

    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 73, 100)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "73rd",
        "100th",
    ]
