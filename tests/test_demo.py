from collections import Counter

import numpy as np
import pytest

from core.audio.bands import BANDS_BY_NAME, band_rows
from core.audio.features import log_mel
from core.catalog.store import Catalog
from core.config import FEATURE_PRESETS, Settings
from core.demo import ARTIST_EFFECT_SD, FAN_RULE, FANS_READ_AT, SIGNAL_REGIONS, build_demo, plan_catalog
from core.demo.synth import SongTraits, render
from core.errors import UsageError


@pytest.fixture(scope="module")
def full_plan():
    return plan_catalog(1200, seed=42)


def test_plan_has_the_documented_shape(full_plan):
    releases = full_plan.releases
    assert len(releases) == 1200
    assert 70 <= len(full_plan.artists) <= 90
    assert {r.album_type for r in releases} == {"single", "album", "compilation"}
    assert all(2019 <= r.release_date.year <= 2021 for r in releases)
    no_preview = np.mean([not r.has_preview for r in releases])
    assert 0.05 <= no_preview <= 0.11
    songs_with_several_releases = [n for n in Counter(id(r.song) for r in releases).values() if n > 1]
    assert len(songs_with_several_releases) >= 50


def test_popularity_is_trimodal_like_the_study(full_plan):
    popularity = np.array([r.popularity for r in full_plan.releases])
    assert 0.05 <= np.mean(popularity == 0) <= 0.15  # the spike at 0
    counts, edges = np.histogram(popularity[popularity > 0], bins=np.arange(0, 101, 4))
    peaks = [
        edges[i] + 2
        for i in range(1, len(counts) - 1)
        if counts[i] >= counts[i - 1] and counts[i] >= counts[i + 1] and counts[i] > 40
    ]
    assert any(22 <= p <= 32 for p in peaks), peaks
    assert any(40 <= p <= 50 for p in peaks), peaks
    assert 0.4 <= np.mean(popularity >= 39) <= 0.6  # the study's threshold splits about evenly


def test_releases_of_one_song_share_audio_but_not_popularity(full_plan):
    by_song = {}
    for release in full_plan.releases:
        by_song.setdefault(id(release.song), []).append(release.popularity)
    differing = [p for p in by_song.values() if len(p) > 1 and len(set(p)) > 1]
    assert len(differing) >= 30


def test_popularity_depends_on_the_documented_audio_traits(full_plan):
    from sklearn.metrics import roc_auc_score

    releases = [r for r in full_plan.releases if r.popularity > 0]
    labels = [r.popularity >= 39 for r in releases]
    audio_auc = roc_auc_score(labels, [r.song.audio_score for r in releases])
    artist_auc = roc_auc_score(labels, [r.song.artist.effect for r in releases])
    assert 0.8 <= audio_auc <= 0.95
    assert 0.55 <= artist_auc <= 0.8  # the artist matters, less than the audio


def test_fans_depend_partly_on_the_hidden_artist_effect_by_the_documented_rule(full_plan):
    from scipy.stats import spearmanr

    effects = np.array([artist.effect for artist in full_plan.artists])
    log_fans = np.log([artist.fans for artist in full_plan.artists])
    correlation = spearmanr(log_fans, effects).statistic
    # The rule implies a correlation of w sd / sqrt((w sd)^2 + noise sd^2), about 0.95: partly, never wholly.
    spread = FAN_RULE.effect_weight * ARTIST_EFFECT_SD
    expected = spread / np.hypot(spread, FAN_RULE.noise_sd)
    assert 0.5 < correlation < 0.99 and abs(correlation - expected) < 0.1, (correlation, expected)
    noise = log_fans - FAN_RULE.log_median - FAN_RULE.effect_weight * effects
    assert abs(noise.mean()) < 0.3 and 0.7 * FAN_RULE.noise_sd < noise.std() < 1.3 * FAN_RULE.noise_sd


def test_fans_are_metadata_only_and_releases_leave_room_for_a_history(full_plan):
    import dataclasses

    from core.demo import render_key

    song = full_plan.songs[0]
    other_fans = dataclasses.replace(song, artist=dataclasses.replace(song.artist, fans=song.artist.fans + 1))
    assert render_key(other_fans) == render_key(song)  # a rendered song is reused whatever its fans
    dates: dict[int, set] = {}
    for release in full_plan.releases:
        dates.setdefault(release.song.artist.index, set()).add(release.release_date)
    assert np.mean([len(days) >= 2 for days in dates.values()]) >= 0.85
    assert np.median([len(days) for days in dates.values()]) >= 4


def test_fans_are_stored_for_every_demo_artist(use_demo_home):
    from tests.helpers import SMALL_DEMO_TRACKS

    with Catalog.open(use_demo_home) as catalog:
        stored = catalog.conn.execute("SELECT source_id, fans, context_read_at FROM artists").fetchall()
        tracks = catalog.tracks()
    plan = {artist.source_id: artist.fans for artist in plan_catalog(SMALL_DEMO_TRACKS, seed=7).artists}
    assert stored and all(fans is not None and fans > 0 for _, fans, _ in stored)
    assert {source_id: fans for source_id, fans, _ in stored} == {s: plan[s] for s, _, _ in stored}
    assert {read_at for _, _, read_at in stored} == {FANS_READ_AT}
    assert tracks["primary_artist_fans"].notna().all()


@pytest.mark.parametrize("region", SIGNAL_REGIONS, ids=lambda r: r.trait)
def test_each_trait_shows_up_in_its_documented_region(region):
    """Render one beat with and without a trait: the spectrogram changes inside the
    region the docstring names far more than outside it. (Spectrograms are in dB relative
    to each clip's peak, so a loud trait also shifts the whole clip by a constant: the
    median change is removed first.)"""
    from core.demo.synth import ArtistStyle

    style = ArtistStyle(140, True, 33, 150, 200, 0.5, 0.0, 1.0, 0.0, 150)
    preset = FEATURE_PRESETS["fast"]
    absent = dict(hook=0.0, drop=0.0, hiss=0.0)
    without = log_mel(render(style, SongTraits(**absent), seed=3), preset)
    with_trait = log_mel(render(style, SongTraits(**{**absent, region.trait: 1.0}), seed=3), preset)
    delta = with_trait - without
    change = np.abs(delta - np.median(delta))
    rows = band_rows(BANDS_BY_NAME[region.band], preset)
    frames = slice(int(region.start_s / 30 * preset.frames), int(region.end_s / 30 * preset.frames))
    inside = change[rows, frames].mean()
    mask = np.ones_like(change, dtype=bool)
    mask[rows, frames] = False
    assert inside > 5 * change[mask].mean()


def test_same_seed_same_catalog_and_audio(tmp_path):
    from core.config import Settings

    first, second, other = (Settings(home=tmp_path / name) for name in ("a", "b", "c"))

    def snapshot(settings, seed):
        with build_demo(settings, tracks=24, seed=seed, workers=2) as catalog:
            tracks = catalog.tracks()
        return tracks.drop(columns=["id", "collected_at"]).to_dict("records")

    reference = snapshot(first, 5)
    assert reference == snapshot(second, 5)
    assert reference != snapshot(other, 6)
    files = sorted(p.name for p in (first.data_dir / "audio").rglob("*.mp3"))
    assert files == sorted(p.name for p in (second.data_dir / "audio").rglob("*.mp3"))


def test_demo_catalog_is_marked_synthetic(use_demo_home):
    with Catalog.open(use_demo_home) as catalog:
        summary = catalog.summary()
    assert summary.synthetic and summary.source == "demo"
    assert summary.with_audio < summary.tracks


def test_a_quick_start_demo_is_completed_without_rendering_its_songs_again(tmp_path):
    from core.demo import is_quick_start, quick_start_songs

    settings = Settings(home=tmp_path)
    plan = plan_catalog(60, seed=3)
    quick = quick_start_songs(plan)
    rendered = []
    with build_demo(
        settings, tracks=60, seed=3, quick_start=True, on_progress=lambda done, total: rendered.append(total)
    ) as catalog:
        assert is_quick_start(catalog)
        first = catalog.tracks()
    assert set(first["source_id"]) == {
        f"demo3-{row:05d}" for row, r in enumerate(plan.releases) if r.song.index in quick
    }
    assert 0 < len(first) < 60
    with build_demo(settings, tracks=60, seed=3, on_progress=lambda done, total: rendered.append(total)) as catalog:
        assert not is_quick_start(catalog)
        complete = catalog.tracks()
    songs_with_audio = {r.song.index for r in plan.releases if r.has_preview}
    assert rendered[0] == len(songs_with_audio & quick) and rendered[-1] == len(songs_with_audio - quick)
    assert len(complete) == 60
    same = complete.set_index("source_id").loc[first["source_id"], "audio_sha256"]
    assert same.tolist() == first["audio_sha256"].tolist()  # the quick-start releases kept their audio
    with pytest.raises(UsageError, match="--replace"):  # a complete demo is not rebuilt by accident
        build_demo(settings, tracks=60, seed=3)


def _demo_files(settings: Settings) -> set[str]:
    return {p.relative_to(settings.data_dir).as_posix() for p in (settings.data_dir / "audio").rglob("*.mp3")}


def test_an_interrupted_demo_resumes_without_rendering_its_songs_again(tmp_path):
    settings = Settings(home=tmp_path)

    def interrupt(done, total):
        if done >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_demo(settings, tracks=16, seed=9, workers=2, on_progress=interrupt)
    with Catalog.open(settings) as catalog:
        assert catalog.track_count() == 0  # rows appear all at once or not at all
    kept = {path: path.stat().st_mtime_ns for path in (settings.data_dir / "audio").rglob("*.mp3")}
    assert len(kept) >= 4

    totals = []

    def record(done, total):
        totals.append(total)

    with build_demo(settings, tracks=16, seed=9, workers=2, on_progress=record) as catalog:
        referenced = set(catalog.tracks()["audio_path"].dropna())
    plan = plan_catalog(16, seed=9)
    songs_with_audio = {r.song.index for r in plan.releases if r.has_preview}
    assert totals[0] == len(songs_with_audio) - len(kept)  # only the songs not rendered before
    assert {path.relative_to(settings.data_dir).as_posix() for path in kept} <= referenced
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in kept.items())
    assert _demo_files(settings) == referenced


def test_replacing_the_demo_deletes_the_audio_only_the_old_one_used(tmp_path):
    settings = Settings(home=tmp_path)
    build_demo(settings, tracks=12, seed=1, workers=2).close()
    first = _demo_files(settings)
    demo_folder = settings.data_dir / "audio" / "demo"
    other_source = settings.data_dir / "audio" / "deezer" / "ab" / f"{'ab' * 32}.mp3"
    users = [demo_folder / "notes.txt", demo_folder / "00" / "mine.mp3", other_source]
    user_files = {path.relative_to(settings.data_dir).as_posix() for path in users}
    for path in users:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not the demo's")

    with build_demo(settings, tracks=12, seed=2, workers=2, replace=True) as catalog:
        second = set(catalog.tracks()["audio_path"].dropna())
    assert first - second and _demo_files(settings) - user_files == second
    assert all(path.exists() for path in users)  # only the demo's own files are candidates

    # While another build holds the folder (its rendered files are not in the catalog yet),
    # a replacing build deletes nothing; the next clean-up does.
    from core.demo.audio import audio_lock, remove_unreferenced_audio

    with audio_lock(settings, exclusive=False):
        build_demo(settings, tracks=12, seed=1, workers=2, replace=True).close()
        assert second <= _demo_files(settings)
    assert remove_unreferenced_audio(settings) == len(second - first)
    assert _demo_files(settings) - user_files == first
    records = [path.read_text() for path in (demo_folder / "renders").iterdir()]
    assert sorted(f"audio/demo/{sha[:2]}/{sha}.mp3" for sha in records) == sorted(first)
