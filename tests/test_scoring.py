import json

import numpy as np
import pytest
import soundfile as sf

from core.audio.bands import BANDS_BY_NAME, band_rows
from core.config import FEATURE_PRESETS, SAMPLE_RATE
from core.learning.dataset import MinMaxScaling
from core.learning.evaluate import PlattCalibration
from core.songs.scoring import Scorer, score_many, window_starts
from tests.helpers import call_cli, demo_clips, run_cli, tone


class HighMidsScorer(Scorer):
    """A stand-in model whose probability grows with how much the high mids stand out from
    the rest of the window (spectrograms are relative to each window's peak), so a test
    knows which window must win."""

    def __init__(self):
        self.preset = FEATURE_PRESETS["fast"]
        self.model_name = "stand-in"
        self.scaling = MinMaxScaling(-80.0, 0.0)
        self.calibration = PlattCalibration(1.0, 0.0)
        self.reference = np.linspace(0.0, 1.0, 101)

    def predict(self, spectrograms):
        rows = band_rows(BANDS_BY_NAME["high mids"], self.preset)
        contrast = spectrograms[:, rows, :].mean(axis=(1, 2)) - spectrograms.mean(axis=(1, 2))
        return 1 / (1 + np.exp(-(contrast - 10) / 5))


def _song(seconds, strong=None, seed=0):
    rng = np.random.default_rng(seed)
    samples = 0.05 * rng.standard_normal(int(seconds * SAMPLE_RATE)).astype(np.float32)
    hook = tone(3000, seconds, amplitude=1.0)[: samples.size]
    samples += 0.02 * hook  # quiet everywhere
    if strong:
        start, end = (int(s * SAMPLE_RATE) for s in strong)
        samples[start:end] += 0.6 * hook[start:end]
    return samples


def test_window_starts_cover_the_song_and_end_at_its_end():
    assert window_starts(30.0) == [0.0]
    assert window_starts(12.0) == [0.0]
    starts = window_starts(212.0)
    assert starts[:3] == [0.0, 5.0, 10.0] and starts[-1] == 182.0


def test_an_encoders_padding_gets_no_window_of_its_own():
    assert window_starts(30.07) == [0.0]  # a 30 s clip through MP3: LAME's 0.07 s of padding
    assert window_starts(30.6) == pytest.approx([0.0, 0.6])
    assert window_starts(35.2) == pytest.approx([0.0, 5.2])  # not 0, 5 and 5.2


def test_the_best_window_is_the_strong_segment():
    scorer = HighMidsScorer()
    song = scorer.score_samples(_song(120, strong=(60, 90)), "demo.wav")
    assert song.best_window == (60.0, 90.0)
    assert len(song.windows) == 19
    assert song.probability < max(w["probability"] for w in song.windows)


def test_a_30_second_clip_is_one_window():
    song = HighMidsScorer().score_samples(_song(30), "clip.wav")
    assert len(song.windows) == 1 and song.best_window == (0.0, 30.0)
    assert 0 <= song.catalog_percentile <= 100
    assert song.verdict == "withheld" and song.percentile is None  # not judged against any catalog: no verdict


def _bad_files(folder):
    good = folder / "good.wav"
    sf.write(good, _song(40, strong=(5, 35)), SAMPLE_RATE)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    (folder / "letter.mp3").write_text("Dear label, please listen to my demo. " * 50)
    sf.write(folder / "silence.flac", np.zeros(10 * SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE)
    sf.write(folder / "short.wav", _song(2), SAMPLE_RATE)
    sf.write(folder / "mixtape.wav", np.full(2 * 3600 * 1000, 0.1, dtype=np.float32), 1000, subtype="PCM_U8")
    (folder / "session.aiff").write_bytes(b"FORM")
    (folder / "takes.wav").mkdir()
    (folder / "empty.mp3").write_bytes(b"")
    damaged = _song(10)
    damaged[100] = np.nan
    sf.write(folder / "damaged.wav", damaged, SAMPLE_RATE, subtype="FLOAT")
    sf.write(folder / "huge.wav", _song(10), SAMPLE_RATE)
    return good


def test_each_bad_input_gets_its_message_and_the_batch_goes_on(tmp_path, monkeypatch):
    import core.audio.decode

    good = _bad_files(tmp_path)
    read_mono = core.audio.decode._read_mono

    def out_of_memory_for_huge(audio, label, **limits):
        if label == "huge.wav":
            raise MemoryError
        return read_mono(audio, label, **limits)

    monkeypatch.setattr("core.audio.decode._read_mono", out_of_memory_for_huge)
    names = [
        "corrupt.wav",
        "letter.mp3",
        "silence.flac",
        "short.wav",
        "mixtape.wav",
        "session.aiff",
        "takes.wav",
        "missing.wav",
        "empty.mp3",
        "damaged.wav",
        "huge.wav",
        "good.wav",
    ]
    items = score_many(HighMidsScorer(), [(n, tmp_path / n) for n in names])
    assert items[0].file == good.name and items[0].score is not None
    errors = {i.file: i.error for i in items[1:]}
    assert len(errors) == len(names) - 1
    assert "could not be decoded" in errors["corrupt.wav"] and "could not be decoded" in errors["letter.mp3"]
    assert "'takes.wav' is a folder" in errors["takes.wav"] and "'missing.wav' does not exist" in errors["missing.wav"]
    assert "'empty.mp3' contains no audio" in errors["empty.mp3"]
    assert "not numbers (NaN or infinity)" in errors["damaged.wav"]
    assert "needs more memory to decode" in errors["huge.wav"]
    assert "silent" in errors["silence.flac"]
    assert "at least 5 s" in errors["short.wav"]
    assert "120 min long; the limit is 20 min" in errors["mixtape.wav"]
    assert "not a supported audio format" in errors["session.aiff"]


def test_score_cli_json_fields_and_exit_codes(trained_home, tmp_path):
    _bad_files(tmp_path)
    (clip,) = demo_clips(trained_home)
    noise, bad = str(tmp_path / "good.wav"), str(tmp_path / "letter.mp3")
    result = run_cli(
        "score", str(clip), noise, bad, "--model", "cnn2", "--json", "--explain", "--samples", "60",
        home=trained_home.home,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    scored, withheld, failed = json.loads(result.stdout)
    fields = {"file", "verdict", "in_domain", "domain_reason", "run", "model", "synthetic", "probability"}
    assert fields | {"percentile", "best_window", "regions", "note", "explanation_stable"} <= set(scored)
    assert scored["verdict"] in ("popular", "not popular") and scored["in_domain"] is True
    assert 0 <= scored["probability"] <= 1 and 0 <= scored["percentile"] <= 100
    assert (scored["model"], scored["synthetic"]) == ("cnn2", True) and scored["run"]
    assert scored["note"] is None  # the whole file was read
    assert {"start_s", "end_s", "band", "weight", "stable"} <= set(scored["regions"][0])
    assert isinstance(scored["explanation_stable"], bool)
    assert scored["explanation_stable"] == any(region["stable"] for region in scored["regions"])
    # noise is not the catalog's music: no verdict, no percentile, no explanation, one sentence why
    assert (withheld["verdict"], withheld["in_domain"], withheld["percentile"]) == ("withheld", False, None)
    assert "unlike" in withheld["domain_reason"] and "collect" in withheld["domain_reason"]
    assert withheld["explanation_stable"] is False and withheld["regions"] == []
    assert set(failed) == {"file", "error"} and failed["file"] == bad
    only_good = call_cli("score", str(clip), home=trained_home.home)  # main's status is the exit code
    assert only_good.returncode == 0 and "SYNTHETIC demo catalog" in only_good.stdout


def test_a_cut_off_file_is_scored_on_what_could_be_read_and_says_so(trained_home, tmp_path):
    whole = tmp_path / "whole.mp3"
    sf.write(whole, _song(60, strong=(5, 35)), SAMPLE_RATE, format="MP3")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = call_cli("score", str(cut), home=trained_home.home)
    assert result.returncode == 0, result.stderr
    assert "Only the first 30 s of 60 s could be read: the file is cut off." in result.stdout
    assert call_cli("score", home=trained_home.home).returncode == 2  # no file: a usage error


def test_uploads_with_hostile_names_are_never_written_outside_the_data_folder(trained_home, tmp_path):
    """Uploads are scored from memory: nothing is written anywhere, whatever the name."""
    before = {p for p in trained_home.home.rglob("*")}
    scorer = HighMidsScorer()
    data = tmp_path / "song.wav"
    sf.write(data, _song(35), SAMPLE_RATE)
    items = score_many(scorer, [("../../etc/evil.wav", data.read_bytes())])
    assert items[0].score is not None
    assert {p for p in trained_home.home.rglob("*")} == before


def test_a_run_without_any_holdout_auc_still_scores_and_says_so(trained_home, tmp_path):
    from tests.helpers import copy_without_auc

    home = copy_without_auc(trained_home, tmp_path / "home")
    sf.write(tmp_path / "song.wav", _song(35, strong=(5, 30)), SAMPLE_RATE)
    result = call_cli("score", str(tmp_path / "song.wav"), home=home.home)
    assert result.returncode == 0, result.stderr
    assert "holdout ROC-AUC n/a" in result.stdout
    evaluated = call_cli("evaluate", home=home.home)
    assert evaluated.returncode == 0 and "n/a" in evaluated.stdout


def test_scoring_before_the_catalogs_embeddings_exist_withholds_the_verdict_and_says_why(trained_home, tmp_path):
    """Without the catalog's embeddings Hitlens cannot tell whether a song is the catalog's
    kind of music, so it gives no verdict, and says what would let it."""
    import json
    import shutil

    shutil.copytree(trained_home.data_dir, tmp_path / "data", ignore=shutil.ignore_patterns("embeddings"))
    shutil.copytree(trained_home.models_dir, tmp_path / "models")
    sf.write(tmp_path / "song.wav", _song(35, strong=(5, 30)), SAMPLE_RATE)
    result = call_cli("score", str(tmp_path / "song.wav"), "--model", "cnn2", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no catalog embeddings yet" in result.stdout and "verdict withheld" in result.stdout
    scored = json.loads(
        call_cli("score", str(tmp_path / "song.wav"), "--model", "cnn2", "--json", home=tmp_path, check=True).stdout
    )
    assert scored[0]["sounds_like"] == [] and scored[0]["nearest_similarity"] is None and scored[0]["tags"]
    assert scored[0]["verdict"] == "withheld" and "embeddings" in scored[0]["domain_reason"]
