"""Score: upload demos, get verdicts ranked, and see and hear what drives each one."""

import functools

import numpy as np
import pandas as pd
import streamlit as st

from core.architectures import DISPLAY_NAMES, PRETRAINED_MODEL
from core.config import MAX_UPLOAD_MB
from core.context import UNKNOWN_ARTIST, ArtistContext, given_artist
from core.errors import HitlensError
from core.popularity import ContextModels
from core.registry import BEST_MODEL_RULE
from core.wording import (
    DEMO_FANS,
    SYNTHETIC_VERDICTS,
    cell_name,
    explanation_stability,
    holdout_auc,
    predicted_popularity,
    scale_name,
    time_cells_origin,
)
from ui import charts, compare, explanation, songs, state
from ui.page import active_run_line, catalog_or_stop, runs_or_stop, through_app

through_app("pages/score.py")
st.title("🎤 Score a song")
config, token = catalog_or_stop("score")
runs = runs_or_stop(config, token, "there is nothing to score with")
home = str(config.home)
run_id = runs[runs["active"]].iloc[0]["id"]
meta = state.run_meta(home, token, run_id)
active_run_line(meta)

best = meta.best_model
choices = [m for m in meta.models if m != "dummy"] or list(meta.models)
opened = st.session_state.pop(songs.OPEN_FROM_HISTORY, None)  # a song reopened from the history: show it
if st.session_state.get("score-model") not in choices:  # first visit, or another run became active
    st.session_state["score-model"] = best
model = st.selectbox(
    "Model",
    choices,
    key="score-model",
    format_func=lambda m: DISPLAY_NAMES[m] + (" (best model)" if m == best and meta.best_model_crowned else ""),
    help="musicnn scores from embeddings pretrained on real recordings; the others learned only from this catalog. "
    f"{BEST_MODEL_RULE}.",
)
scorer = songs.scorer(home, run_id, model)
st.caption(
    f"{DISPLAY_NAMES[model]}: {holdout_auc(scorer.auc)} on the {meta.split} split's holdout. "
    "0.5 is a coin toss; the study's best real-data model reached 0.65."
)
if meta.synthetic:
    st.warning(
        f"**Trained on the synthetic demo catalog.** {SYNTHETIC_VERDICTS} Real recordings are expected to get no "
        "verdict here: they are unlike the demo's synthetic music, and Hitlens says so instead of guessing."
    )
stamp = state.embeddings_stamp(home)  # globs the embedding cache: once per rerun
embeddings, catalog_map = state.catalog_embeddings(home, token, stamp)
domain, holdout_pass = state.run_domain(home, token, run_id, stamp)


def artist_box() -> ArtistContext:
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


on_top = ContextModels.of(meta)  # None for runs from before the models on top of the audio verdict
artist = artist_box() if on_top is not None else UNKNOWN_ARTIST

files = songs.kept_uploads(
    config, f"Upload songs (mp3, wav, flac, ogg, m4a; up to {MAX_UPLOAD_MB} MB each, 20 minutes at most)"
)
if not files:
    st.caption(
        "Upload one song for a verdict, or a folder's worth to rank them: the most promising come first. "
        "Your uploads are kept here, so a reload or a later visit finds them; a scored song reopens from the "
        "history below."
    )
    songs.history(config)
    st.stop()

results = {}
with st.status(f"Scoring {len(files)} file(s)…", expanded=False) as status:
    for song in files:
        status.update(label=f"Scoring and listening to {songs.plain(song.label)}…")
        results[song.label] = songs.score_upload(
            home, run_id, model, song.sha256, stamp, song.name, _source=song.path, _domain=domain
        )
    status.update(label=f"Scored {len(files)} file(s)", state="complete")

for scored in results.values():
    if scored.error:
        st.error(songs.plain(scored.error))
table = songs.ranking(results)
if table.empty:
    songs.history(config)
    st.stop()
st.subheader("Ranking")
st.dataframe(
    songs.as_shown(table),  # shown as 63%, as everywhere else; the CSV keeps 0.6299
    hide_index=True,
    column_config={
        "verdict": st.column_config.TextColumn(
            "verdict", help="'withheld': the song is unlike the music the run learned from, so it gets no verdict."
        ),
        "probability": st.column_config.ProgressColumn(
            "model's probability",
            help="The chosen model's calibrated probability (for a withheld song only in the CSV and its details).",
            format="%.0f%%",
            min_value=0,
            max_value=100,
        ),
        "percentile": st.column_config.TextColumn(
            "percentile",
            help="The song's probability is higher than this share of the catalog's held-out tracks "
            "(none for a withheld song).",
        ),
    },
)
st.download_button("Download the ranking (CSV)", table.to_csv(index=False), "hitlens-ranking.csv", "text/csv")
compare.section(home, run_id, meta, model, files, domain)  # two versions of one song, side by side

if opened:  # show the reopened song
    st.session_state["score-song"] = next((u.label for u in files if u.sha256 == opened), None)
choice = st.selectbox("Song", table["file"].tolist(), key="score-song")
upload, scored = next(u for u in files if u.label == choice), results[choice]
result, profile = scored.result, scored.profile
stem = upload.name.rsplit(".", 1)[0]
probability = result.probability
judged = result.in_domain
start, end = result.best_window
window = songs.best_window(upload.sha256, start, end, upload.name, _source=upload.path)
if judged:
    st.subheader(f"{songs.plain(choice)}: {result.verdict} ({probability:.0%})")
else:
    st.subheader(f"{songs.plain(choice)}: verdict withheld")
    st.warning(result.domain_reason)
if result.note:
    st.warning(result.note)
if judged:
    st.markdown(
        f"Calibrated probability **{probability:.0%}** (the mean over its 30 s windows) that its popularity would be "
        f"at or above the run's threshold ({meta.threshold.value:g}); higher than {result.percentile or 0:.0f}% "
        f"of the catalog's held-out tracks. Best 30 s to use as your preview clip: **{start:.0f}-{end:.0f} s**."
    )
    passed = "" if holdout_pass is None else f" The rule lets {holdout_pass:.0%} of the run's holdout tracks through."
    st.caption(f"Why Hitlens judges this song: {result.domain_reason}{passed}")
else:  # the synthetic demo's warning above already says real recordings are expected here
    with st.expander("Secondary detail: the model's raw probability (not a verdict)"):
        st.markdown(
            f"{DISPLAY_NAMES[model]} gives this song **{probability:.0%}**, but the song lies outside what it learned, "
            "so the figure is an extrapolation: no verdict and no percentile rest on it."
        )


def with_context(on_top: ContextModels) -> None:
    """What the run's models on top answer: the chance for this artist's release and the predicted
    popularity, each named as its own question (the verdict above stays the only verdict)."""
    from core.scoring import song_in_context

    feeding = on_top.audio_model
    audio = probability
    if feeding != model:  # the models on top learned from this audio model's probability: an input, not shown
        audio = songs.feeding_probability(home, run_id, feeding, upload.sha256, upload.name, _source=upload.path)
    try:
        extra = song_in_context(on_top, audio, artist)
    except HitlensError as problem:
        st.error(str(problem))
        return
    st.subheader("Two other questions")
    fed = "" if feeding == model else f" (these models learned from {DISPLAY_NAMES[feeding]}'s probability)"
    chance = extra.chance_with_context
    if chance is not None:
        st.metric("Chance for this artist's release (audio + context model)", f"{chance.probability:.0%}")
        st.caption(chance.difference + fed)
    elif not artist.known:
        st.caption("Give the releasing artist above for the chance of this artist's release (audio + context model).")
    if extra.fans_note:
        st.warning(extra.fans_note)
    prediction = extra.predicted_popularity
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


if on_top is not None and judged:
    with_context(on_top)
cautions = [f"WARNING: {SYNTHETIC_VERDICTS}"] if meta.synthetic else []  # said in the PNG too

if judged:
    left, right = st.columns([3, 1])
    left.caption(f"The best 30 s ({start:.0f}-{end:.0f} s): the player starts there.")
    left.audio(str(upload.path), format=songs.audio_type(upload.name), start_time=int(start))  # the file itself
    right.download_button("Download the best 30 s (WAV)", songs.wav_bytes(window), f"{stem}-best-30s.wav", "audio/wav")
    if len(result.windows) == 1:
        st.caption(
            f"The song is {result.duration_s:.0f} s long: one 30 s window, so its verdict is the window's "
            f"({probability:.0%}). Longer songs get one probability per window, every 5 s."
        )
    else:
        st.plotly_chart(charts.window_probabilities(result), width="stretch")
else:  # no best 30 s and no window curve: both rest on the withheld verdict
    st.audio(str(upload.path), format=songs.audio_type(upload.name))


def what_it_sounds_like(profile, embeddings, catalog_map) -> None:
    """Tags, tags over time, the nearest catalog tracks and the map, from musicnn."""
    st.caption(
        "From musicnn, pretrained on real recordings (Million Song Dataset tags from Last.fm): what the model hears, "
        "not a verdict on quality."
    )
    left, right = st.columns(2)
    left.plotly_chart(charts.tag_bars(profile.top_tags()), width="stretch")
    top = [t["tag"] for t in profile.top_tags()]
    picked = right.multiselect("Tags over time", profile.tag_names, default=top[:3], key=f"tags-{choice}")
    if picked:
        right.plotly_chart(charts.tag_curves(profile.curves(picked)), width="stretch")

    threshold = meta.threshold.value
    if not len(embeddings):
        st.info(
            "The catalog's embeddings are not computed yet (the set-up job does it, or `python -m core embeddings`), "
            "so there are no similar catalog tracks to show."
        )
        return
    if embeddings.missing_note:
        st.caption(embeddings.missing_note)
    nearest = embeddings.nearest(profile.pooled, threshold)
    share = np.mean([n["popular"] for n in nearest])
    synthetic = " of the **synthetic demo catalog**" if embeddings.synthetic else ""
    if judged:
        st.markdown(
            f"**Sounds like** these {len(nearest)} catalog songs{synthetic} (cosine similarity of musicnn embeddings): "
            f"**{share:.0%}** of them are popular (popularity ≥ {threshold:g})."
        )
    else:
        st.markdown(
            f"**The nearest catalog songs{synthetic} are far**: the closest is at similarity "
            f"{nearest[0]['similarity']:.2f}, so what these {len(nearest)} did ({share:.0%} popular) says little "
            "about your song."
        )
    picked_row = st.dataframe(
        pd.DataFrame(nearest)[["track", "artist", "popularity", "popular", "similarity"]],
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=f"neighbours-{choice}",
        column_config={
            "similarity": st.column_config.ProgressColumn("similarity", format="%.2f", min_value=0, max_value=1)
        },
    )
    rows_picked = picked_row.selection.rows if picked_row else []
    if rows_picked:
        neighbour = nearest[rows_picked[0]]
        st.caption(f"Preview of {songs.plain(neighbour['track'])} by {songs.plain(neighbour['artist'])}")
        st.audio(state.audio_file(home, neighbour["audio_path"]))
    else:
        st.caption("Select a row to hear that track's preview.")
    if catalog_map is not None:
        x, y = catalog_map.place(profile.pooled)
        title = "Your song on the map of the catalog" + (" (synthetic demo)" if embeddings.synthetic else "")
        distance = (nearest[0]["similarity"], None if domain.rule is None else domain.rule.similarity_floor)
        st.plotly_chart(
            charts.catalog_map(
                catalog_map.points, threshold, catalog_map.explained, title, song=(choice, x, y), nearest=distance
            ),
            width="stretch",
        )
        st.caption(
            f"Two axes keep {catalog_map.explained:.0%} of the embeddings' spread, so a point can land among tracks "
            "it is far from: the star's label gives its real similarity to the nearest catalog track."
        )


st.subheader("What it sounds like")
if isinstance(profile, str):  # the pretrained model could not run: say why, keep the rest
    st.error(profile)
else:
    what_it_sounds_like(profile, embeddings, catalog_map)

st.subheader("What drives the verdict")
if not judged:
    st.info(
        "No explanation: the verdict is withheld, and what moves a model's guess outside the music it learned "
        "from says nothing about your song."
    )
    songs.history(config)
    st.stop()
method = "occlusion (each cell silenced in turn)" if model == PRETRAINED_MODEL else "LIME (1,000 samples)"
try:
    with st.spinner(f"Explaining the best 30 s with {method}…"):
        explained = songs.explanation(home, run_id, model, scored.sha256, start, _window=window)
except HitlensError as problem:
    st.error(str(problem))
    st.stop()

grid_title = (
    f"Each {cell_name(explained.time_unit)} and band of the best 30 s: red pushes toward popular, blue away"
    if explained.stable
    else "No stable explanation: the weights' sizes, greyed (not findings)"
)
st.plotly_chart(explanation.grid_figure(explained, grid_title), width="stretch")
spectrogram, times, preset = explanation.audible_spectrogram(window, start)
st.plotly_chart(charts.spectrogram(spectrogram, preset, "Spectrogram of the best 30 s", start_s=start), width="stretch")
st.caption(
    f"{explanation_stability(explained.stability, explained.method)}. Time cells are "
    f"{time_cells_origin(explained.time_unit)}"
    + ("; the marks +1, +2, … and −1, −2, … match the lists below." if explained.stable else ".")
)
explanation.region_players(explained, window, start)
png = functools.partial(  # drawn when clicked: it took longer than the explanation it shows
    explanation.figure_png,
    functools.partial(
        explanation.explanation_figure,
        explained,
        spectrogram,
        times,
        preset,
        f"{choice}: {result.verdict} ({probability:.0%}), best 30 s {start:.0f}-{end:.0f} s",
        [
            f"Scored with {DISPLAY_NAMES[model]} of run {meta.id} ({meta.split} split; {holdout_auc(scorer.auc)}).",
            *cautions,
        ],
    ),
)
st.download_button("Download the explanation (PNG)", png, f"{stem}-explanation.png", "image/png")
songs.history(config)
