"""The Score page's releasing artist and what a run's models on top of the audio verdict answer
with it: the chance for this artist's release and the predicted popularity, each named as its
own question (the song's verdict stays the only verdict)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from core.errors import HitlensError
from core.learning.architectures import DISPLAY_NAMES
from core.learning.context import UNKNOWN_ARTIST, ArtistContext, given_artist
from core.wording import DEMO_FANS, predicted_popularity, scale_name
from ui import songs, state

if TYPE_CHECKING:
    from core.learning.popularity import ContextModels
    from core.learning.registry import RunMeta


def artist_box(home: str, token: str) -> ArtistContext:
    """Who releases the songs: a catalog artist, an artist known by a fan count, or nobody (audio only)."""
    how = st.radio(
        "Releasing artist (optional)",
        ["not given", "an artist in the catalog", "another artist: type a fan count"],
        horizontal=True,
        help="Adds the verdict with the artist's context beside the audio-only one: their fans and, for a catalog "
        "artist, how their releases in the catalog did.",
    )
    if how == "an artist in the catalog":
        context = state.catalog_context(home, token)
        name = st.selectbox("Catalog artist", context.artists(), key="score-artist")
        return given_artist(context, name, None) if name else UNKNOWN_ARTIST
    if how.startswith("another artist"):
        fans = st.number_input("Their fans (Deezer fans, Spotify followers)", min_value=0, value=10_000, step=1000)
        return given_artist(None, None, float(fans))
    return UNKNOWN_ARTIST


def section(
    home: str,
    run_id: str,
    meta: RunMeta,
    on_top: ContextModels,
    model: str,
    artist: ArtistContext,
    upload: songs.Upload,
    probability: float,
) -> None:
    """What the run's models ``on_top`` answer for ``upload``, a song in domain to which
    ``model`` gave ``probability``, released by ``artist``. Those models learned from one
    audio model's probability: when the artist chose another, that one scores the song too,
    as an input never shown."""
    from core.songs.scoring import song_in_context

    feeding = on_top.audio_model
    audio = probability
    if feeding != model:  # the models on top learned from this audio model's probability: an input, not shown
        audio = songs.feeding_probability(home, run_id, feeding, upload.sha256, upload.name, _source=upload.path)
    try:
        answers = song_in_context(on_top, audio, artist)
    except HitlensError as problem:
        st.error(str(problem))
        return
    st.subheader("Two other questions")
    fed = "" if feeding == model else f" (these models learned from {DISPLAY_NAMES[feeding]}'s probability)"
    chance = answers.chance_with_context
    if chance is not None:
        st.metric("Chance for this artist's release (audio + context model)", f"{chance.probability:.0%}")
        st.caption(chance.difference + fed)
    elif not artist.known:
        st.caption("Give the releasing artist above for the chance of this artist's release (audio + context model).")
    if answers.fans_note:
        st.warning(answers.fans_note)
    prediction = answers.predicted_popularity
    if prediction is not None:
        basis = "with the artist's context" if prediction.with_context else "artist unknown: no fans, no history"
        measured = meta.regression_metrics if prediction.with_context else meta.regression_metrics_audio
        held = (
            "" if measured is None else f" On the holdout, such intervals held {measured['coverage']:.0%} of the songs."
        )
        st.markdown(
            f"**{predicted_popularity(prediction).capitalize()}** ({scale_name(prediction.scale)}; {basis}).{held}"
        )
        threshold = meta.threshold.value
        spans = prediction.low < threshold <= prediction.high
        st.caption(
            f"The verdict is the chance of reaching popularity {threshold:g}; the regression answers another "
            f"question, its best guess of the popularity itself.{fed}"
            + (" Its interval spans the threshold, so it cannot settle the verdict either way." if spans else "")
        )
    if meta.synthetic:
        st.caption(DEMO_FANS)
