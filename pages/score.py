"""Score: upload demos, get verdicts ranked, and see and hear what drives each one."""

import streamlit as st

from core.config import MAX_UPLOAD_MB
from core.learning.context import UNKNOWN_ARTIST
from core.learning.popularity import ContextModels
from ui import compare, context_answers, explanation, ranking, songs, sounds_like, state, verdict
from ui import runs as run_choice
from ui.page import active_run_line, catalog_or_stop, runs_or_stop, through_app

through_app("pages/score.py")
st.title("🎤 Score a song")
config, token = catalog_or_stop("score")
runs = runs_or_stop(config, token, "there is nothing to score with")
home = str(config.home)
run_id = runs[runs["active"]].iloc[0]["id"]
meta = state.run_meta(home, token, run_id)
active_run_line(meta)

opened = st.session_state.pop(songs.OPEN_FROM_HISTORY, None)  # a song reopened from the history: show it
model, scorer = run_choice.scoring_model(home, meta)
stamp = state.embeddings_stamp(home)  # globs the embedding cache: once per rerun
embeddings, catalog_map = state.catalog_embeddings(home, token, stamp)
domain, holdout_pass = state.run_domain(home, token, run_id, stamp)
on_top = ContextModels.of(meta)  # None for runs from before the models on top of the audio verdict
artist = context_answers.artist_box(home, token) if on_top is not None else UNKNOWN_ARTIST

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

results = ranking.score_all(home, run_id, model, files, stamp, domain)
ranked = ranking.section(results)
if ranked.empty:
    songs.history(config)
    st.stop()
compare.section(home, run_id, meta, model, files, domain)  # two versions of one song, side by side

upload, result, profile = ranking.chosen_song(files, results, ranked, opened)
start, end = result.best_window
window = songs.best_window(upload.sha256, start, end, upload.name, _source=upload.path)
verdict.section(upload.label, result, meta, model, holdout_pass)
if on_top is not None and result.in_domain:
    context_answers.section(home, run_id, meta, on_top, model, artist, upload, result.probability)
verdict.player(upload, result, window)
sounds_like.section(
    home, upload.label, profile, embeddings, catalog_map, meta.threshold.value, result.in_domain, domain
)
explanation.section(home, run_id, meta, model, scorer.auc, upload, result, window)
songs.history(config)
