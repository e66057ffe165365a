"""Comparing two versions of one song: aligned windows, the model's noise, the cells that changed."""

import io
import json
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import soxr

from core.bands import BANDS_BY_NAME, band_rows
from core.catalog import Catalog
from core.compare import compare, load_versions, match_versions
from core.config import FEATURE_PRESETS, SAMPLE_RATE
from core.dataset import MinMaxScaling
from core.demo import SIGNAL_REGIONS, plan_catalog
from core.errors import AudioTooShort, VersionsDoNotMatch
from core.evaluate import PlattCalibration
from core.registry import load_run
from core.scoring import Scorer, scorer_for
from core.synth import render
from tests.conftest import SMALL_DEMO_TRACKS, run_cli, shared_file

HOOK = next(region for region in SIGNAL_REGIONS if region.trait == "hook")
PLAN = plan_catalog(SMALL_DEMO_TRACKS, 7)  # the demo the trained fixtures hold


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


def _song(index: int, **traits) -> np.ndarray:
    song = PLAN.songs[index]
    return render(song.artist.style, replace(song.traits, **traits), song.seed)


def _encoded(samples: np.ndarray, audio_format: str, rate: int = SAMPLE_RATE) -> bytes:
    handle = io.BytesIO()
    sf.write(handle, soxr.resample(samples, SAMPLE_RATE, rate), rate, format=audio_format)
    return handle.getvalue()


def _hook_found(result: dict) -> bool:
    top = result["regions_changed"][0]
    return top["band"] == HOOK.band and HOOK.start_s <= top["start_s"] and top["end_s"] <= HOOK.end_s + 1.0


WEAK_HOOK = 5  # a song whose hook is there but weak (strength 0.61); raised to 1.0 below


def test_a_louder_hook_raises_the_probability_in_the_hooks_cells_even_after_a_new_intro():
    scorer = HookScorer()
    intro = _song(0)[: 6 * SAMPLE_RATE]  # six seconds of another song before it
    louder = np.concatenate([intro, _song(WEAK_HOOK, hook=1.0)])
    result = compare(scorer, match_versions(_song(WEAK_HOOK), louder, "a.wav", "b.wav")).as_dict()
    assert result["offset_s"] == pytest.approx(6.0, abs=0.03)
    assert result["alignment"] > 0.8
    assert [(w["start_s"], w["end_s"]) for w in result["windows"]] == [(0.0, 30.0)]
    assert result["difference"] > result["noise"] and result["beyond_noise"]
    assert result["difference"] == pytest.approx(result["probability_b"] - result["probability_a"], abs=1e-4)
    assert len(result["regions_changed"]) == 5
    changes = [abs(r["weight_change"]) for r in result["regions_changed"]]
    assert changes == sorted(changes, reverse=True)
    assert _hook_found(result) and result["regions_changed"][0]["weight_change"] > 0, result["regions_changed"]


@pytest.fixture(scope="module")
def active_scorer(trained_home):
    """The trained fixture's active scorer, as ``score`` picks it."""
    with Catalog.open(trained_home) as catalog:
        run = load_run(trained_home, catalog)
    return scorer_for(run)


def test_a_song_against_itself_re_encoded_differs_by_no_more_than_noise(active_scorer):
    song = _song(WEAK_HOOK)
    versions = load_versions(_encoded(song, "WAV"), _encoded(song, "OGG", 44_100), name_a="a.wav", name_b="b.ogg")
    result = compare(active_scorer, versions).as_dict()
    assert result["offset_s"] == pytest.approx(0.0, abs=0.03) and result["alignment"] > 0.95
    assert not result["beyond_noise"], (result["difference"], result["noise"])


def test_two_different_songs_are_refused_in_one_line():
    with pytest.raises(VersionsDoNotMatch) as refused:
        match_versions(_song(1), _song(2), "one.wav", "other.wav")
    assert "\n" not in str(refused.value) and "versions of one song" in str(refused.value)
    real = shared_file("data/real-audio/elf-land.ogg")
    with pytest.raises(VersionsDoNotMatch):
        load_versions(_encoded(_song(1), "WAV"), real, name_a="one.wav")


def test_a_file_under_five_seconds_is_refused(tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, _song(1)[: 2 * SAMPLE_RATE], SAMPLE_RATE)
    with pytest.raises(AudioTooShort, match=r"only 2\.0 s long"):
        load_versions(_encoded(_song(1), "WAV"), short, name_a="one.wav")


def test_compare_cli_prints_one_json_object_and_refuses_other_songs_in_one_line(trained_home, tmp_path):
    from core.cli.compare import _summary

    a, b, other = tmp_path / "a.wav", tmp_path / "b.flac", tmp_path / "other.wav"
    song = _song(WEAK_HOOK)[: 8 * SAMPLE_RATE]  # 8 s keeps musicnn's passes short
    sf.write(a, song, SAMPLE_RATE)
    sf.write(b, soxr.resample(song, SAMPLE_RATE, 44_100), 44_100)
    sf.write(other, _song(1)[: 8 * SAMPLE_RATE], SAMPLE_RATE)
    result = run_cli("compare", str(a), str(b), "--json", home=trained_home.home)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    fields = {"probability_a", "probability_b", "difference", "noise", "beyond_noise", "regions_changed"}
    assert fields | {"offset_s", "alignment", "windows", "run", "model", "noise_method"} <= data.keys()
    assert isinstance(data["beyond_noise"], bool) and data["offset_s"] == pytest.approx(0.0, abs=0.03)
    assert len(data["regions_changed"]) == 5
    assert all({"start_s", "end_s", "band", "weight_change"} <= r.keys() for r in data["regions_changed"])
    assert [set(w) for w in data["windows"]] == [{"start_s", "end_s", "probability_a", "probability_b", "difference"}]
    assert any("B - A" in line for line in _summary(data))
    refused = run_cli("compare", str(a), str(other), home=trained_home.home)
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error: ")]
    assert refused.returncode == 2 and refused.stdout == ""
    assert len(errors) == 1 and "do not sound like versions of one song" in errors[0]
