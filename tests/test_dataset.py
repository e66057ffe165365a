import numpy as np
import pandas as pd
import pytest

from core.errors import UsageError
from core.learning.dataset import (
    STUDY_THRESHOLD,
    MinMaxScaling,
    choose_threshold,
    song_groups,
    split_tracks,
)


def _catalog_like(n=400, seed=0):
    rng = np.random.default_rng(seed)
    songs = rng.integers(0, n // 2, size=n)  # about two releases per song
    artists = songs % 37
    return pd.DataFrame(
        {
            "name": [f"Song {s}" + (" (Deluxe)" if rng.random() < 0.3 else "") for s in songs],
            "primary_artist": [f"Artist {a}" for a in artists],
            "audio_sha256": [f"sha{s}" for s in songs],
            "popularity": rng.integers(0, 70, size=n).astype(float),
            "popularity_scale": "spotify",
        }
    ).assign(song_group=lambda t: song_groups(t), artist_group=lambda t: t["primary_artist"].str.casefold())


def test_random_split_reproduces_the_studys_fractions():
    tracks = _catalog_like(1000)
    split = split_tracks(tracks, "random")
    sizes = [len(part) for part in split.parts().values()]
    assert sizes == [750, 150, 100]
    assert split_tracks(tracks, "random").holdout.index.equals(split.holdout.index)


@pytest.mark.parametrize("how, column", [("song", "song_group"), ("artist", "artist_group")])
def test_grouped_splits_never_put_one_group_on_two_sides(how, column):
    tracks = _catalog_like()
    split = split_tracks(tracks, how)
    sides = [set(part[column]) for part in split.parts().values()]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
    assert sum(len(p) for p in split.parts().values()) == len(tracks)


def test_random_split_does_leak_songs_which_is_why_grouped_splits_exist():
    split = split_tracks(_catalog_like(), "random")
    assert set(split.train["song_group"]) & set(split.holdout["song_group"])


def test_song_groups_join_titles_and_identical_audio():
    tracks = pd.DataFrame(
        {
            "name": ["Wave", "Wave (feat. B)", "Other title", "Alone"],
            "primary_artist": ["A", "A", "A", "A"],
            "audio_sha256": ["x", "y", "y", "z"],
        }
    )
    groups = song_groups(tracks)
    assert groups[0] == groups[1] == groups[2] != groups[3]


def test_threshold_comes_from_training_rows_only():
    tracks = _catalog_like()
    split = split_tracks(tracks, "random")
    assert choose_threshold(split.train, "study") == STUDY_THRESHOLD
    shifted = split.holdout.assign(popularity=1000.0)
    assert choose_threshold(split.train, "median") == split.train["popularity"].median()
    assert choose_threshold(split.train, "median") != pd.concat([split.train, shifted])["popularity"].median()


def test_study_threshold_refuses_other_scales():
    tracks = _catalog_like().assign(popularity_scale="deezer_rank")
    with pytest.raises(UsageError, match="--threshold median"):
        choose_threshold(tracks, "study")


def test_scaling_is_fitted_on_what_it_is_given():
    train = [np.full((2, 2), -60.0), np.full((2, 2), -10.0)]
    scaling = MinMaxScaling.fit(iter(train))
    assert (scaling.low, scaling.high) == (-60.0, -10.0)
    np.testing.assert_allclose(scaling.apply(np.array([-60.0, -35.0, -10.0, 0.0])), [0.0, 0.5, 1.0, 1.0])


def test_tracks_without_a_spectrogram_leave_the_split_and_the_rest_stay_where_they_were():
    from core.learning.dataset import leave_out_missing, left_out_note

    tracks = _catalog_like()
    split = split_tracks(tracks, "random")
    assert leave_out_missing(split, {"spectrogram": lambda sha: True}) == (split, {})

    missing = {"sha3", "sha5"}
    expected = int(tracks["audio_sha256"].isin(missing).sum())
    kept, left_out = leave_out_missing(split, {"spectrogram": lambda sha: sha not in missing})
    assert left_out == {"spectrogram": expected}
    for name, part in kept.parts().items():
        before = split.parts()[name]
        assert part.index.tolist() == before.index[~before["audio_sha256"].isin(missing)].tolist()
    assert left_out_note(left_out).startswith(f"{expected} tracks without a spectrogram were left out")
    assert left_out_note({"spectrogram": 1, "embedding": 2}).startswith(
        "1 track without a spectrogram was left out; 2 tracks without a musicnn embedding were left out"
    )
    assert left_out_note({}) is None


def test_a_split_left_without_training_tracks_is_a_clear_error():
    from core.learning.dataset import leave_out_missing

    split = split_tracks(_catalog_like(), "random")
    with pytest.raises(UsageError, match="no track in the train"):
        leave_out_missing(split, {"spectrogram": lambda sha: False})
