import json
import re
import shutil

import pytest

from core.cli import build_parser
from tests.helpers import SMALL_DEMO_TRACKS, call_cli, demo_clips, run_cli


def test_info_json_reports_the_demo_catalog_and_its_features(demo_home):
    result = call_cli("info", "--json", home=demo_home.home, check=True)
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
    assert "SYNTHETIC" in call_cli("info", home=demo_home.home, check=True).stdout


def test_missing_catalog_is_one_line_and_exit_2(tmp_path):
    result = run_cli("info", "--json", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "python -m core demo" in result.stderr and "Traceback" not in result.stderr


def test_demo_refuses_to_overwrite_and_if_missing_is_a_no_op(demo_home):
    refused = run_cli("demo", "--tracks", "12", home=demo_home.home)
    assert refused.returncode == 2 and "--replace" in refused.stderr
    assert "nothing to do" in call_cli("demo", "--if-missing", home=demo_home.home, check=True).stdout


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
    assert result.returncode == 2 and "must be a whole number from 1 to 50,000, not -3" in result.stderr


@pytest.mark.parametrize(
    ("args", "bound"),
    [
        (["score", "song.wav", "--explain", "--samples", "100000000"], "from 30 to 20,000"),
        (["compare", "a.wav", "b.wav", "--samples", "5"], "from 30 to 20,000"),
        (["demo", "--seed", "-1"], "from 0 to 4,294,967,295"),
        (["train", "--epochs", "1000000"], "from 1 to 1,000"),
        (["features", "--workers", "100000"], "from 1 to 64"),
        (["collect", "--tracks", "0"], "from 1 to 1,000,000"),
        (["bench", "score", "--clips", "ten"], "'ten' is not a whole number"),
    ],
)
def test_every_numeric_option_is_bounded_at_parse_time(tmp_path, args, bound):
    """Refused before any work starts or memory is taken (score --explain --samples 10^8
    used to take 5 GB)."""
    result = call_cli(*args, home=tmp_path)
    assert result.returncode == 2 and bound in result.stderr, result.stderr
    assert not (tmp_path / "data").exists()  # nothing started


def test_a_full_disk_is_one_clear_line_and_keeps_what_was_stored(demo_home, tmp_path, monkeypatch, capsys):
    import errno
    import shutil

    from core.audio import features
    from core.catalog.store import Catalog
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


# --- The models on top of the audio verdict (issue 14): contracts for scripts ---


def test_evaluate_json_lists_audio_plus_context_like_the_others_and_the_regression(context_home):
    rows = json.loads(call_cli("evaluate", "--json", home=context_home.home, check=True).stdout)
    by_model = {row["model"]: row for row in rows}
    assert list(by_model) == ["dummy", "musicnn", "context", "regression"]
    assert set(by_model["musicnn"]) <= set(by_model["context"])  # the same fields as the others
    assert by_model["context"]["audio_model"] == "musicnn" and len(by_model["context"]["roc_auc_gain_ci"]) == 2
    regression = by_model["regression"]
    assert {"mae", "mae_ci", "spearman", "spearman_ci", "coverage", "nominal_coverage"} <= set(regression)
    assert regression["nominal_coverage"] == 0.8 and 0 <= regression["coverage"] <= 1
    assert regression["mae_ci"][0] <= regression["mae"] <= regression["mae_ci"][1] and "points" not in regression
    text = call_cli("evaluate", home=context_home.home, check=True).stdout
    assert "audio + context" in text and "fed by musicnn's calibrated probability" in text
    assert "popularity regression: MAE" in text and "80% intervals hold" in text


def test_score_json_adds_the_predicted_popularity_and_the_chance_with_the_artists_context(context_home):
    """Two other questions, each named: never a second verdict for the song."""
    from core.catalog.store import Catalog
    from core.learning.context import CatalogContext

    with Catalog.open(context_home) as catalog:
        artist = CatalogContext.read(catalog).artists()[0]
    (song,) = demo_clips(context_home)
    result = call_cli("score", str(song), "--artist", artist.lower(), "--json", home=context_home.home, check=True)
    [scored] = json.loads(result.stdout)
    predicted = scored["predicted_popularity"]
    assert {"value", "low", "high", "scale"} <= set(predicted) and predicted["scale"] == "spotify"
    assert 0 <= predicted["low"] <= predicted["value"] <= predicted["high"] <= 100 and predicted["with_context"]
    assert 0 <= scored["probability_with_context"] <= 1 and artist in scored["context"]
    assert not [key for key in scored if key.startswith("verdict") and key != "verdict"]  # one verdict per song
    text = call_cli("score", str(song), "--artist", artist.lower(), home=context_home.home, check=True).stdout
    verdict_words = re.findall(r"\b(?:not popular|popular) \(", text)
    assert len(verdict_words) == 1, text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--artist", "Nobody At All"], "No artist 'Nobody At All' in the catalog."),
        (["--fans", "-5"], "A fan count cannot be -5."),
        (["--artist", "x", "--fans", "5"], "not both"),
    ],
)
def test_bad_artist_context_is_one_clear_line_and_exit_2(context_home, monkeypatch, capsys, options, message):
    from core.cli import main

    monkeypatch.setenv("HITLENS_HOME", str(context_home.home))
    assert main(["score", "song.wav", *options]) == 2  # refused before any file or model is read
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and error.startswith("error: ") and message in error


def test_a_close_name_is_suggested_and_an_old_run_refuses_context(context_home, trained_home, monkeypatch, capsys):
    from core.catalog.store import Catalog
    from core.cli import main
    from core.learning.context import CatalogContext

    with Catalog.open(context_home) as catalog:
        artist = CatalogContext.read(catalog).artists()[0]
    monkeypatch.setenv("HITLENS_HOME", str(context_home.home))
    assert main(["score", "song.wav", "--artist", artist[:-1]]) == 2
    assert f"Did you mean '{artist}'?" in capsys.readouterr().err
    monkeypatch.setenv("HITLENS_HOME", str(trained_home.home))  # trained before the models on top existed
    assert main(["score", "song.wav", "--fans", "1000"]) == 2
    assert "has no audio + context model" in capsys.readouterr().err


def test_the_engine_is_the_commands_choice_then_hitlens_engine_then_local(monkeypatch, tiny_demo_home, tmp_path):
    from core.config import engine

    monkeypatch.delenv("HITLENS_ENGINE", raising=False)
    assert engine(None) == "local"
    monkeypatch.setenv("HITLENS_ENGINE", "ray")
    assert engine(None) == "ray" and engine("local") == "local"
    monkeypatch.setenv("HITLENS_ENGINE", "spark")
    shutil.copytree(tiny_demo_home.data_dir, tmp_path / "data")
    refused = call_cli("features", home=tmp_path)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "HITLENS_ENGINE is 'spark'" in refused.stderr and "local, ray" in refused.stderr
