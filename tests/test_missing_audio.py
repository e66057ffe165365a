"""One missing audio file does not block training: its track is left out of the split, and
the CLI, the run's metadata and the Train page say how many were."""

import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from core.audio.features import FeatureCache
from core.catalog.store import Catalog
from core.config import DEFAULT_TRAINING_PRESET, Settings, training_preset
from core.learning.dataset import modelling_tracks
from tests.helpers import REPO, call_cli


@pytest.fixture(scope="module")
def trained_without_one_clip(demo_home, tmp_path_factory):
    """A copy of the small demo catalog with one track's audio file and cached spectrogram
    deleted, as after a disk clean-up, and 'train --models dummy' run on it; returns
    (settings, the track's source id, how many modelling tracks used that audio, the result)."""
    root = tmp_path_factory.mktemp("missing-clip-home")
    shutil.copytree(demo_home.data_dir, root / "data")
    settings = Settings(home=root)
    with Catalog.open(settings) as catalog:
        tracks = modelling_tracks(catalog)
        victim = tracks.iloc[len(tracks) // 2]
        catalog.audio_file(victim["audio_path"]).unlink()
    features = training_preset(DEFAULT_TRAINING_PRESET).feature_preset()
    FeatureCache(settings).path(victim["audio_sha256"], features).unlink()
    sharing = int((tracks["audio_sha256"] == victim["audio_sha256"]).sum())
    result = call_cli("train", "--models", "dummy", home=root)
    return settings, victim["source_id"], sharing, result


def test_a_catalog_with_one_audio_file_removed_trains(trained_without_one_clip):
    settings, source_id, sharing, result = trained_without_one_clip
    assert result.returncode == 0, result.stderr
    word = "track without a spectrogram was" if sharing == 1 else "tracks without a spectrogram were"
    assert f"{sharing} {word} left out" in result.stdout

    (run_file,) = settings.models_dir.glob("*/run.json")
    meta = json.loads(run_file.read_text())
    assert meta["left_out"] == {"spectrogram": sharing}
    members = [m for part in meta["split_members"].values() for m in part]
    assert source_id not in members
    assert sum(meta["split_sizes"].values()) == meta["catalog"]["tracks"] - sharing


def test_the_train_page_says_how_many_tracks_the_run_left_out(trained_without_one_clip, monkeypatch):
    settings, _, sharing, result = trained_without_one_clip
    assert result.returncode == 0, result.stderr
    monkeypatch.setenv("HITLENS_HOME", str(settings.home))
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    app.run()
    app.switch_page("pages/train.py")
    app.run()
    assert not app.exception, app.exception
    warnings = [w.value for w in app.warning]
    assert any(w.startswith(f"{sharing} track") and "without a spectrogram" in w for w in warnings), warnings
