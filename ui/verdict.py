"""The chosen song's verdict on the Score page: the heading, what the verdict rests on (or why
there is none), and the best 30 s to hear, with every window's probability."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from core.learning.architectures import DISPLAY_NAMES
from ui import charts, songs

if TYPE_CHECKING:
    from core.learning.registry import RunMeta
    from core.songs.scoring import ScoreResult


def section(label: str, result: ScoreResult, meta: RunMeta, model: str, holdout_pass: float | None) -> None:
    """The verdict of the song called ``label`` on the page, scored by ``model`` of the run
    ``meta``: its probability, percentile and best 30 s, and why Hitlens judges it (with
    ``holdout_pass``, the share of the run's holdout tracks the domain rule lets through);
    for a withheld song, the reason, and the raw probability only as secondary detail."""
    probability = result.probability
    start, end = result.best_window
    if result.in_domain:
        st.subheader(f"{songs.plain(label)}: {result.verdict} ({probability:.0%})")
    else:
        st.subheader(f"{songs.plain(label)}: verdict withheld")
        st.warning(result.domain_reason)
    if result.note:
        st.warning(result.note)
    if result.in_domain:
        st.markdown(
            f"Calibrated probability **{probability:.0%}** (the mean over its 30 s windows) that its popularity "
            f"would be at or above the run's threshold ({meta.threshold.value:g}); higher than "
            f"{result.percentile or 0:.0f}% of the catalog's held-out tracks. Best 30 s to use as your preview clip: "
            f"**{start:.0f}-{end:.0f} s**."
        )
        passed = (
            "" if holdout_pass is None else f" The rule lets {holdout_pass:.0%} of the run's holdout tracks through."
        )
        st.caption(f"Why Hitlens judges this song: {result.domain_reason}{passed}")
    else:  # the synthetic demo's warning above already says real recordings are expected here
        with st.expander("Secondary detail: the model's raw probability (not a verdict)"):
            st.markdown(
                f"{DISPLAY_NAMES[model]} gives this song **{probability:.0%}**, but the song lies outside what it "
                "learned, so the figure is an extrapolation: no verdict and no percentile rest on it."
            )


def player(upload: songs.Upload, result: ScoreResult, window: np.ndarray) -> None:
    """The song to hear: from its best 30 s (``window``, also offered as a WAV), with each 30 s
    window's probability; a withheld song plays from its start, with neither."""
    if not result.in_domain:  # no best 30 s and no window curve: both rest on the withheld verdict
        st.audio(str(upload.path), format=songs.audio_type(upload.name))
        return
    start, end = result.best_window
    left, right = st.columns([3, 1])
    left.caption(f"The best 30 s ({start:.0f}-{end:.0f} s): the player starts there.")
    left.audio(str(upload.path), format=songs.audio_type(upload.name), start_time=int(start))  # the file itself
    right.download_button(
        "Download the best 30 s (WAV)", songs.wav_bytes(window), f"{upload.stem}-best-30s.wav", "audio/wav"
    )
    if len(result.windows) == 1:
        st.caption(
            f"The song is {result.duration_s:.0f} s long: one 30 s window, so its verdict is the window's "
            f"({result.probability:.0%}). Longer songs get one probability per window, every 5 s."
        )
    else:
        st.plotly_chart(charts.window_probabilities(result), width="stretch")
