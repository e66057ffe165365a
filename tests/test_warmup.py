"""librosa's numba cache after ``make setup``: filled by one process (``core.audio.warmup``), only
read afterwards. Processes that fill it at the same time can corrupt it (core/audio/warmup.py)."""

import re

from tests.helpers import demo_clips, run_cli, shared_file


def test_scoring_and_explaining_a_song_only_read_numbas_cache_after_setup(trained_home):
    """Every librosa path of a verdict (the spectrogram windows, musicnn's input, the beat grid
    of the explanation) was compiled by the warm-up: a new process loads it and saves nothing."""
    song = shared_file("data/real-audio/elf-land.ogg")  # withheld against the demo: decoded and heard, not explained
    (clip,) = demo_clips(trained_home)  # the catalog's own kind: explained, on its beat grid
    result = run_cli(
        "score", str(song), str(clip), "--model", "cnn2", "--explain", "--samples", "40",
        home=trained_home.home, env={"NUMBA_DEBUG_CACHE": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "explanation (LIME)" in result.stdout  # the beat grid was built
    assert re.search(r"\[cache\] data loaded from .*librosa", result.stdout), "numba said nothing of its cache"
    saved = [line for line in result.stdout.splitlines() if re.match(r"\[cache\] (index|data) saved", line)]
    assert not saved, f"compiled outside the warm-up (make setup's python -m core.audio.warmup): {saved[:3]}"
