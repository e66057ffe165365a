"""Comparing two versions of one song: aligned windows, the model's noise, the cells that changed."""

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest
import soundfile as sf
import soxr

from core.audio.bands import BANDS_BY_NAME, band_rows
from core.cli import main
from core.cli.compare import _summary
from core.config import FEATURE_PRESETS, SAMPLE_RATE
from core.demo import SIGNAL_REGIONS
from core.errors import AudioTooShort, VersionsDoNotMatch
from core.learning.dataset import MinMaxScaling
from core.learning.evaluate import PlattCalibration
from core.learning.popularity import ContextModels
from core.songs.compare import compare, load_versions, match_versions
from core.songs.scoring import Scorer
from tests.helpers import WEAK_HOOK, planted_demo_song, shared_file

HOOK = next(region for region in SIGNAL_REGIONS if region.trait == "hook")


class HookScorer(Scorer):
    """A stand-in model that knows the demo's hook: its probability grows with the loudest
    high-mids bin of each frame from 10 to 20 s, averaged over those frames (spectrograms are
    relative to each window's peak)."""

    def __init__(self):
        self.preset = FEATURE_PRESETS["fast"]
        self.model_name = "hook stand-in"
        self.scaling = MinMaxScaling(-80.0, 0.0)
        self.calibration = PlattCalibration(1.0, 0.0)
        self.reference = np.linspace(0.0, 1.0, 101)

    def predict(self, spectrograms):
        seconds = self.preset.hop_length / self.preset.sample_rate
        rows = band_rows(BANDS_BY_NAME[HOOK.band], self.preset)
        frames = slice(round(HOOK.start_s / seconds), round(HOOK.end_s / seconds))
        level = spectrograms[:, rows, frames].max(axis=1).mean(axis=1)
        return 1 / (1 + np.exp(-(level + 35.0) / 4.0))


def _encoded(samples: np.ndarray, audio_format: str, rate: int = SAMPLE_RATE) -> bytes:
    handle = io.BytesIO()
    sf.write(handle, soxr.resample(samples, SAMPLE_RATE, rate), rate, format=audio_format)
    return handle.getvalue()


def _hook_found(result: dict) -> bool:
    top = result["regions_changed"][0]
    return top["band"] == HOOK.band and HOOK.start_s <= top["start_s"] and top["end_s"] <= HOOK.end_s + 1.0


def test_a_louder_hook_raises_the_probability_in_the_hooks_cells_even_after_a_new_intro():
    scorer = HookScorer()
    intro = planted_demo_song(0)[: 6 * SAMPLE_RATE]  # six seconds of another song before it
    louder = np.concatenate([intro, planted_demo_song(WEAK_HOOK, hook=1.0)])
    no_regression = ContextModels(scorer.model_name)  # a run whose models on top have no popularity regression
    result = compare(
        scorer, match_versions(planted_demo_song(WEAK_HOOK), louder, "a.wav", "b.wav"), on_top=no_regression
    )
    result = result.as_dict()
    assert result["offset_s"] == pytest.approx(6.0, abs=0.03)
    assert result["alignment"] > 0.8
    assert [(w["start_s"], w["end_s"]) for w in result["windows"]] == [(0.0, 30.0)]
    assert result["difference"] > result["noise"] and result["beyond_noise"]
    assert result["difference"] == pytest.approx(result["probability_b"] - result["probability_a"], abs=1e-4)
    assert len(result["regions_changed"]) == 5
    changes = [abs(r["weight_change"]) for r in result["regions_changed"]]
    assert changes == sorted(changes, reverse=True)
    assert _hook_found(result) and result["regions_changed"][0]["weight_change"] > 0, result["regions_changed"]
    assert result["predicted_popularity_a"] is None and result["popularity_difference"] is None
    assert "no popularity regression" in _summary(result)[3]
    # B has six seconds A lacks: both lengths, the overlap, and a plain note on what was not compared
    length_a = planted_demo_song(WEAK_HOOK).size / SAMPLE_RATE
    assert result["duration_a_s"] == pytest.approx(length_a, abs=0.01)
    assert result["duration_b_s"] == pytest.approx(length_a + 6.0, abs=0.01)
    assert result["overlap_s"] == pytest.approx(length_a, abs=0.05)
    assert "6.0 s of B had no say" in result["coverage_note"] and result["coverage_note"] in _summary(result)


def _cli(*args: str, home) -> tuple[int, str, str]:
    """``python -m core ARGS`` run in this process (TensorFlow and the run's models are loaded
    once for the module): exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out):
        patch.setenv("HITLENS_HOME", str(home.home))
        patch.setattr("sys.stderr", err)
        status = main(list(args))
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def re_encoded(context_home, tmp_path_factory) -> dict:
    """``compare A B --json`` of a demo song against itself as Ogg at 44.1 kHz, with the run
    of the context fixture (the musicnn head, as the score command picks it, and the popularity
    regression): one comparison that the tests below read different things from."""
    folder = tmp_path_factory.mktemp("re-encoded")
    song = planted_demo_song(WEAK_HOOK)
    (folder / "a.wav").write_bytes(_encoded(song, "WAV"))
    (folder / "b.ogg").write_bytes(_encoded(song, "OGG", 44_100))
    status, out, err = _cli("compare", str(folder / "a.wav"), str(folder / "b.ogg"), "--json", home=context_home)
    assert status == 0, err
    return json.loads(out)


def test_a_song_against_itself_re_encoded_differs_by_no_more_than_noise(re_encoded):
    result = re_encoded
    assert result["model"] == "musicnn"
    assert result["duration_a_s"] == pytest.approx(result["duration_b_s"], abs=0.05)
    assert result["overlap_s"] == pytest.approx(result["duration_a_s"], abs=0.05) and result["coverage_note"] is None
    assert result["offset_s"] == pytest.approx(0.0, abs=0.03) and result["alignment"] > 0.95
    assert not result["beyond_noise"], (result["difference"], result["noise"])


def test_two_different_songs_are_refused_in_one_line():
    with pytest.raises(VersionsDoNotMatch) as refused:
        match_versions(planted_demo_song(1), planted_demo_song(2), "one.wav", "other.wav")
    assert "\n" not in str(refused.value) and "versions of one song" in str(refused.value)
    real = shared_file("data/real-audio/elf-land.ogg")
    with pytest.raises(VersionsDoNotMatch):
        load_versions(_encoded(planted_demo_song(1), "WAV"), real, name_a="one.wav")


def test_a_file_under_five_seconds_is_refused(tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, planted_demo_song(1)[: 2 * SAMPLE_RATE], SAMPLE_RATE)
    with pytest.raises(AudioTooShort, match=r"only 2\.0 s long"):
        load_versions(_encoded(planted_demo_song(1), "WAV"), short, name_a="one.wav")


def test_compare_cli_prints_one_json_object_and_refuses_other_songs_in_one_line(re_encoded, context_home, tmp_path):
    data = re_encoded
    fields = {"probability_a", "probability_b", "difference", "noise", "beyond_noise", "regions_changed"}
    assert fields | {"offset_s", "alignment", "windows", "run", "model", "noise_method"} <= data.keys()
    assert isinstance(data["beyond_noise"], bool) and data["offset_s"] == pytest.approx(0.0, abs=0.03)
    assert len(data["regions_changed"]) == 5
    assert all({"start_s", "end_s", "band", "weight_change"} <= r.keys() for r in data["regions_changed"])
    assert [set(w) for w in data["windows"]] == [{"start_s", "end_s", "probability_a", "probability_b", "difference"}]
    assert any("B - A" in line for line in _summary(data))
    a, other = tmp_path / "a.wav", tmp_path / "other.wav"
    sf.write(a, planted_demo_song(WEAK_HOOK)[: 8 * SAMPLE_RATE], SAMPLE_RATE)
    sf.write(other, planted_demo_song(1)[: 8 * SAMPLE_RATE], SAMPLE_RATE)
    status, out, err = _cli("compare", str(a), str(other), home=context_home)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert status == 2 and out == ""
    assert len(errors) == 1 and "do not sound like versions of one song" in errors[0]


def test_compare_json_gives_both_predicted_popularities_and_says_the_interval_is_wider(re_encoded):
    a, b = re_encoded["predicted_popularity_a"], re_encoded["predicted_popularity_b"]
    for prediction in (a, b):  # the shape of score --json's predicted_popularity
        assert {"value", "low", "high", "scale"} <= prediction.keys() and prediction["scale"] == "spotify"
        assert prediction["low"] <= prediction["value"] <= prediction["high"] and not prediction["with_context"]
    assert re_encoded["popularity_difference"] == pytest.approx(b["value"] - a["value"], abs=0.051)
    assert re_encoded["popularity_model"] == "musicnn"
    said = _summary(re_encoded)[2]
    assert said.startswith("Predicted popularity (Spotify's 0-100 scale, from the audio alone): A ")
    assert "not beyond noise" in said and "is wider than the difference" in said
