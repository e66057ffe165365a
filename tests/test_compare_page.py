"""The Score page's "Compare two versions of one song" section (issue 14, item 5)."""

import io
import re
import shutil

import pytest
import soundfile as sf
import soxr

from core.config import SAMPLE_RATE
from tests.helpers import WEAK_HOOK, open_page, page_text, planted_demo_song
from ui.navigation import DATASET, SCORE

COMPARING = 600  # seconds a click may take: scoring, four noise copies and two explanations


def _clip(index: int, audio_format: str, rate: int = SAMPLE_RATE, seconds: int = 30) -> bytes:
    """``seconds`` of a demo song. The whole 30 s for the re-encoded pair: on 8 s the model's
    noise (four copies of A) came out smaller than a 44.1 kHz Ogg copy's change (0.7 against
    1.1 points with the context fixture's musicnn head), a limit of the noise estimate on short
    clips."""
    samples = soxr.resample(planted_demo_song(index)[: seconds * SAMPLE_RATE], SAMPLE_RATE, rate)
    handle = io.BytesIO()
    sf.write(handle, samples, rate, format=audio_format)
    return handle.getvalue()


def _compare(app, a: str, b: str):
    app.selectbox(key="compare-a").set_value(a)
    app.selectbox(key="compare-b").set_value(b)
    next(button for button in app.button if button.label == "Compare A and B").click().run(timeout=COMPARING)
    assert not app.exception, app.exception
    return app


@pytest.fixture(scope="module")
def compared(context_home, tmp_path_factory):
    """The Score page of a copy of the context fixture (musicnn and the popularity regression)
    with a demo song, the same song as Ogg at 44.1 kHz and another demo song uploaded, after
    comparing the first two."""
    root = tmp_path_factory.mktemp("compare-page")
    shutil.copytree(context_home.data_dir, root / "data")
    shutil.copytree(context_home.models_dir, root / "models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HITLENS_HOME", str(root))
        app = open_page(SCORE.file)
        app.file_uploader[0].set_value(
            [
                ("take.wav", _clip(WEAK_HOOK, "WAV"), "audio/wav"),
                ("take.ogg", _clip(WEAK_HOOK, "OGG", 44_100), "audio/ogg"),
                ("other song.wav", _clip(1, "WAV", seconds=8), "audio/wav"),  # refused at once: 8 s will do
            ]
        ).run(timeout=COMPARING)
        assert not app.exception, app.exception
        yield _compare(app, "take.wav", "take.ogg")  # HITLENS_HOME stays set for the module


def test_a_song_against_itself_re_encoded_is_not_beyond_noise(compared):
    app = compared
    text = page_text(app)
    assert "not beyond noise" in text and "(1 is the same sound): they start together" in text
    assert "Trained on the synthetic demo catalog" in text
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["A (musicnn)"].endswith("%") and metrics["B (musicnn)"].endswith("%")
    # one decimal, the precision of the difference shown under B
    assert all(re.fullmatch(r"\d+\.\d", metrics[f"Predicted popularity {v}"]) for v in "AB"), metrics
    assert "is wider than the difference" in text
    chart = next(c for c in app.get("plotly_chart") if "Probability of each aligned 30 s window" in c.proto.spec)
    assert "(synthetic demo)" in chart.proto.spec
    regions = next(d.value for d in app.dataframe if "weight in A" in d.value.columns)
    assert len(regions) == 5 and list(regions.columns) == ["time in A", "band", "weight in A", "weight in B", "change"]


def test_the_comparison_is_still_there_after_visiting_another_page(compared):
    app = compared
    app.switch_page(DATASET.file).run()
    app.switch_page(SCORE.file).run(timeout=COMPARING)
    assert not app.exception, app.exception
    assert "not beyond noise" in page_text(app)
    assert app.selectbox(key="compare-a").value == "take.wav" and app.selectbox(key="compare-b").value == "take.ogg"


def test_two_different_songs_are_refused_in_one_line(compared):
    app = _compare(compared, "take.wav", "other song.wav")
    errors = [e.value for e in app.error if "versions of one song" in e.value]
    assert len(errors) == 1 and "\n" not in errors[0] and "Compare two mixes or edits of the same song" in errors[0]
    assert "not beyond noise" not in page_text(app)  # the earlier comparison is not shown as if it were this one
