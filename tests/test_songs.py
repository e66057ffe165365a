"""What the Score page's server-wide caches keep for an upload (issue 12, item 8): verdicts
and the best 30 s, never the decoded song, which every closed tab's session used to leave
behind in the server."""

import io
import pickle

import numpy as np
import soundfile as sf

from core.catalog.history import content_hash
from core.catalog.store import Catalog
from core.config import SAMPLE_RATE
from core.learning.registry import active_run_id
from ui import songs


def test_the_server_caches_a_verdict_and_the_best_30_s_never_the_decoded_song(trained_home, monkeypatch):
    samples = 0.1 * np.random.default_rng(7).standard_normal(120 * SAMPLE_RATE).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    data = buffer.getvalue()
    with Catalog.open(trained_home) as catalog:
        run_id = active_run_id(catalog)
    home, sha256 = str(trained_home.home), content_hash(data)

    scored = songs.score_upload(home, run_id, "cnn2", sha256, 0, "long take.wav", _source=data, _domain=None)
    assert scored.error is None and scored.result.duration_s == 120.0
    decoded_bytes = samples.nbytes  # 10.6 MB
    assert len(pickle.dumps(scored)) < decoded_bytes / 20  # the verdict and tag profile only

    start, end = scored.result.best_window

    def decoded_again(*args, **kwargs):
        raise AssertionError("the page decoded the upload a second time")

    monkeypatch.setattr("core.audio.decode.load_audio", decoded_again)  # scoring cut the window while it had the song
    window = songs.best_window(sha256, start, end, "long take.wav", _source=data)
    assert window.size == int(end * SAMPLE_RATE) - int(start * SAMPLE_RATE) <= 30 * SAMPLE_RATE
    np.testing.assert_allclose(window, samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)], atol=1e-4)


def test_the_history_keeps_the_chosen_models_score_and_never_the_feeding_models(trained_home, tmp_path):
    """The models on top may learn from another audio model than the one the artist chose: its
    probability feeds them unseen, and only what the page shows is remembered."""
    import shutil

    from core.catalog.history import scored_songs
    from core.config import Settings
    from tests.helpers import demo_song

    shutil.copytree(trained_home.data_dir, tmp_path / "data")
    shutil.copytree(trained_home.models_dir, tmp_path / "models")
    settings = Settings(home=tmp_path)
    with Catalog.open(settings) as catalog:
        run_id = active_run_id(catalog)
    data = demo_song(settings, 30)
    home, sha256 = str(tmp_path), content_hash(data)
    fed = songs.feeding_probability(home, run_id, "musicnn", sha256, "fed song.wav", _source=data)
    assert 0 <= fed <= 1
    with Catalog.open(settings) as catalog:
        assert scored_songs(catalog, "fed song.wav").empty
    shown = songs.score_upload(home, run_id, "cnn2", sha256, 0, "fed song.wav", _source=data, _domain=None)
    with Catalog.open(settings) as catalog:
        history = scored_songs(catalog, "fed song.wav")
    assert list(history["model"]) == ["cnn2"] and list(history["verdict"]) == [shown.result.verdict]
