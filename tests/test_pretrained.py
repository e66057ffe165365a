"""musicnn from its wheel: real knowledge of music (tags on real recordings), deterministic
embeddings, the embedding cache, "sounds like", the sixth model and its explanations."""

import json
import shutil
import socket

import numpy as np
import pytest
import soundfile as sf

from core.audio.decode import load_audio
from core.audio.features import FeatureJob
from core.catalog.store import Catalog
from core.config import SAMPLE_RATE
from core.errors import AudioTooShort, PretrainedModelMissing
from core.pretrained import musicnn as musicnn_module
from core.pretrained.cache import EmbeddingCache, compute_missing_embeddings
from core.pretrained.musicnn import DEFAULT_MODEL, Musicnn, load_model, package_folder
from core.pretrained.similarity import CatalogEmbeddings
from tests.helpers import call_cli, demo_clips, shared_file

ORCHESTRAL = ["battle-epic.ogg", "elf-land.ogg", "main_menu.ogg"]


def _ranks(outputs, tags) -> dict[str, int]:
    """1-based rank of each tag by its mean probability over the patches."""
    order = list(np.argsort(-outputs.tags.mean(axis=0)))
    names = load_model().tags
    return {tag: order.index(names.index(tag)) + 1 for tag in tags}


@pytest.fixture(scope="module")
def orchestral():
    return {name: load_model().analyse(load_audio(shared_file(f"data/real-audio/{name}"))) for name in ORCHESTRAL}


def test_real_orchestral_recordings_are_heard_as_ambient_or_instrumental_not_hip_hop(orchestral):
    for name, outputs in orchestral.items():
        ranks = _ranks(outputs, ["Hip-Hop", "ambient", "instrumental"])
        assert ranks["Hip-Hop"] > 10, (name, ranks)
        assert min(ranks["ambient"], ranks["instrumental"]) <= 5, (name, ranks)


def test_demo_tracks_sound_more_hip_hop_or_electronic_than_the_orchestral_recordings(demo_home, orchestral):
    cache = EmbeddingCache(demo_home)
    with Catalog.open(demo_home) as catalog:
        shas = [sha for sha, _ in catalog.audio_hashes()][:10]
    best_demo = max(min(_ranks(cache.load(sha, DEFAULT_MODEL), ["Hip-Hop", "electronic"]).values()) for sha in shas)
    best_orchestral = min(min(_ranks(o, ["Hip-Hop", "electronic"]).values()) for o in orchestral.values())
    assert best_demo < best_orchestral


def test_embeddings_are_identical_across_runs_batch_sizes_and_loads(orchestral):
    samples = load_audio(shared_file("data/real-audio/elf-land.ogg"))
    model = load_model()
    whole = model.analyse(samples)
    assert np.array_equal(whole.embeddings, orchestral["elf-land.ogg"].embeddings)  # a second run
    patches = musicnn_module.input_mel(samples)[:, : len(whole) * 187].T.reshape(len(whole), 187, 96)
    one_by_one = [model.run_patches(patches[i : i + 1]).embeddings[0] for i in range(len(whole))]
    in_threes = np.concatenate([model.run_patches(patches[i : i + 3]).embeddings for i in range(0, len(whole), 3)])
    assert np.array_equal(np.stack(one_by_one), whole.embeddings)
    assert np.array_equal(in_threes, whole.embeddings)
    assert whole.embeddings.shape == (8, 200) and whole.tags.shape == (8, 50)
    assert whole.pooled().shape == (400,)
    assert np.array_equal(Musicnn(DEFAULT_MODEL).analyse(samples).embeddings, whole.embeddings)  # a fresh load


def test_the_same_input_is_run_once_and_a_different_one_again(monkeypatch):
    """The Score page asks for one song's patches for its tags, verdict and explanation."""
    model = load_model()
    calls = []
    run = model.run_patches
    monkeypatch.setattr(model, "run_patches", lambda patches: calls.append(len(patches)) or run(patches))
    mel = np.random.default_rng(7).uniform(0, 3, (96, 187 * 2)).astype(np.float32)
    first = model.analyse_mel(mel)
    assert np.array_equal(model.analyse_mel(mel.copy()).embeddings, first.embeddings)
    changed = mel.copy()
    changed[0, 0] += 1.0
    model.analyse_mel(changed)
    assert calls == [2, 2]


def test_the_model_is_loaded_once_per_process():
    assert load_model(DEFAULT_MODEL) is load_model(DEFAULT_MODEL)


def test_no_network_connection_is_attempted(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("musicnn tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    model = Musicnn("MTT_musicnn")  # a fresh load, not the process's cached one
    outputs = model.analyse(np.random.default_rng(0).standard_normal(6 * SAMPLE_RATE).astype(np.float32) * 0.1)
    assert len(outputs) == 2 and "guitar" in model.tags


def test_a_damaged_or_missing_checkpoint_is_one_line_saying_how_to_reinstall(tmp_path, monkeypatch):
    damaged = tmp_path / DEFAULT_MODEL
    shutil.copytree(package_folder() / DEFAULT_MODEL, damaged)
    data = damaged / ".data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:1000])
    with pytest.raises(PretrainedModelMissing, match="make setup") as error:
        Musicnn(DEFAULT_MODEL, folder=damaged)
    assert "\n" not in str(error.value) and "musicnn==0.1.0" in str(error.value)
    monkeypatch.setattr(musicnn_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(PretrainedModelMissing, match="not installed"):
        package_folder()


def test_shorter_than_one_patch_cannot_be_scored_and_five_seconds_is_one_patch():
    model = load_model()
    with pytest.raises(AudioTooShort, match="shorter than one 3 s patch"):
        model.analyse(np.full(int(2.9 * SAMPLE_RATE), 0.1, dtype=np.float32))
    assert len(model.analyse(np.full(5 * SAMPLE_RATE, 0.1, dtype=np.float32))) == 1


def test_the_cache_is_resumable_and_leaves_no_partial_files(demo_home, tmp_path):
    from core.config import Settings

    home = Settings(home=tmp_path)
    with Catalog.open(demo_home) as catalog:
        jobs = [FeatureJob(sha, path) for sha, path in catalog.audio_hashes()][:3]
    cache = EmbeddingCache(home)
    stale = cache.folder(DEFAULT_MODEL) / "ab" / "ab.npz.partial-999999.1"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    first = compute_missing_embeddings(jobs[:2], [DEFAULT_MODEL], home)
    second = compute_missing_embeddings(jobs, [DEFAULT_MODEL], home)
    assert (first.computed, second.computed, second.already_cached) == (2, 1, 2)
    assert not stale.exists() and cache.stored(DEFAULT_MODEL) == 3
    stored = cache.load(jobs[0].sha256, DEFAULT_MODEL)
    assert stored.embeddings.shape == (10, 200)  # a 30 s demo preview: 10 patches
    assert np.allclose(stored.embeddings, EmbeddingCache(demo_home).load(jobs[0].sha256, DEFAULT_MODEL).embeddings)


def test_info_counts_embeddings(demo_home):
    info = json.loads(call_cli("info", "--json", home=demo_home.home, check=True).stdout)
    assert info["embeddings"][DEFAULT_MODEL] == info["distinct_audio"] > 0
    assert info["embeddings"]["MTT_musicnn"] == 0


def test_a_tracks_nearest_neighbours_start_with_it_and_list_each_song_once(demo_home):
    embeddings = CatalogEmbeddings.load(demo_home)
    releases = embeddings.tracks.groupby("audio_sha256").size()
    sha = releases[releases >= 2].index[0]
    path = embeddings.tracks.loc[embeddings.tracks["audio_sha256"] == sha, "audio_path"].iloc[0]
    with Catalog.open(demo_home) as catalog:
        fresh = load_model().analyse(load_audio(catalog.audio_file(path))[: 30 * SAMPLE_RATE])
    nearest = embeddings.nearest(fresh.pooled(), threshold=39.0)
    same = embeddings.tracks[embeddings.tracks["audio_sha256"] == sha]
    assert nearest[0]["similarity"] == 1.0 and nearest[0]["track"] in set(same["track"])
    assert nearest[1]["similarity"] < 1.0  # its other releases are the same song, not neighbours
    song_of = embeddings.tracks.drop_duplicates("audio_path").set_index("audio_path")["song"]  # one audio, one song
    assert song_of.loc[[n["audio_path"] for n in nearest]].is_unique
    assert all({"track", "artist", "popularity", "popular", "similarity"} <= set(n) for n in nearest)
    assert len(nearest) == 10 and all(n["synthetic"] for n in nearest)
    catalog_map = embeddings.map()
    assert len(catalog_map.points) == len(embeddings) and 0 < catalog_map.explained <= 1


def test_the_musicnn_model_trains_evaluates_and_scores_a_file(trained_home, tmp_path):
    table = json.loads(call_cli("evaluate", "--json", home=trained_home.home, check=True).stdout)
    row = next(r for r in table if r["model"] == "musicnn")
    assert row["roc_auc"] is None or 0.0 <= row["roc_auc"] <= 1.0
    assert row["n"] > 0 and len(row["roc_auc_ci"]) == 2
    song = tmp_path / "take.wav"
    sf.write(song, 0.1 * np.random.default_rng(1).standard_normal(35 * SAMPLE_RATE).astype(np.float32), SAMPLE_RATE)
    short = tmp_path / "short.wav"
    sf.write(short, np.full(4 * SAMPLE_RATE, 0.1, dtype=np.float32), SAMPLE_RATE)
    (clip,) = demo_clips(trained_home)
    result = call_cli(
        "score", str(clip), str(song), str(short), "--model", "musicnn", "--json", "--explain", home=trained_home.home
    )
    assert result.returncode == 1, result.stderr  # the 4 s file is refused, the others scored
    demo, noise, failed = json.loads(result.stdout)
    assert demo["verdict"] in ("popular", "not popular") and len(demo["windows"]) == 1
    assert demo["explanation_method"] == "occlusion" and demo["regions"][0]["band"]
    assert len(demo["tags"]) == 10 and {"tag", "probability"} <= set(demo["tags"][0])
    assert len(demo["sounds_like"]) == 10 and 0 <= demo["sounds_like_popular_share"] <= 1
    assert noise["verdict"] == "withheld" and len(noise["windows"]) == 2  # noise is not demo music
    assert noise["nearest_similarity"] < 0.95 and noise["domain_similarity"] < noise["domain_similarity_floor"]
    assert "at least 5 s" in failed["error"]


def test_real_music_is_out_of_the_synthetic_catalogs_domain(demo_home, orchestral):
    embeddings = CatalogEmbeddings.load(demo_home)
    domain = embeddings.domain(None)
    clip = EmbeddingCache(demo_home).load(embeddings.tracks["audio_sha256"].iloc[0], DEFAULT_MODEL)
    assert domain.rule is not None and domain.rule.judge(clip.pooled(), clip.tags.mean(axis=0)).in_domain
    for name, outputs in orchestral.items():
        judged = domain.rule.judge(outputs.pooled(), outputs.tags.mean(axis=0))
        assert not judged.in_domain and judged.nearest_similarity < domain.rule.similarity_floor, name


def test_the_head_never_extrapolates_past_its_training_range():
    from core.pretrained.head import fit_head

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 400))
    y = (x[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(float)
    head = fit_head(x[:150], y[:150], x[150:], y[150:])
    far = np.zeros(400)
    far[0] = 1e6  # a thousand times further out than anything in training
    edge = np.zeros(400)
    edge[0] = x[:150, 0].max()
    assert head.predict_proba(far)[0] == head.predict_proba(edge)[0] < 1.0


def test_the_pooled_index_repeats_each_clips_own_file_and_rereads_a_changed_one(demo_home, tmp_path, monkeypatch):
    """One file of pooled embeddings serves "sounds like" and the domain (a cold ``score`` read
    886 files): its figures are the clips' own, and a clip whose file changed is read again."""
    import os

    from core.config import Settings
    from core.pretrained.pooled import INDEX_NAME, read_pooled

    shutil.copytree(demo_home.data_dir, tmp_path / "data")
    settings = Settings(home=tmp_path)
    cache = EmbeddingCache(settings)
    shas = [clip.stem for clip in demo_clips(settings, 5)]
    first = read_pooled(cache, shas, DEFAULT_MODEL)
    assert (cache.folder(DEFAULT_MODEL) / INDEX_NAME).exists() and len(first) == 5
    for sha in shas:
        np.testing.assert_array_equal(first[sha][0], cache.load(sha, DEFAULT_MODEL).pooled())
    touched = cache.path(shas[0], DEFAULT_MODEL)
    loaded = []
    original = EmbeddingCache.load
    monkeypatch.setattr(
        EmbeddingCache, "load", lambda self, sha, model: loaded.append(sha) or original(self, sha, model)
    )
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))  # rewritten since
    again = read_pooled(cache, shas, DEFAULT_MODEL)
    assert loaded == [shas[0]]  # the others came from the index
    assert all(np.array_equal(again[sha][1], first[sha][1]) for sha in shas)
    (cache.folder(DEFAULT_MODEL) / INDEX_NAME).write_bytes(b"garbage")  # a damaged index is rebuilt
    assert len(read_pooled(cache, shas, DEFAULT_MODEL)) == 5
    assert CatalogEmbeddings.load(settings).missing == 0
