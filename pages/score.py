"""Score: upload demos, get verdicts ranked, and see what drives each one."""

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.architectures import DISPLAY_NAMES, PRETRAINED_MODEL
from core.config import MAX_UPLOAD_MB, SAMPLE_RATE, Settings
from core.errors import HitlensError
from core.explain import describe
from core.scoring import best_model_of
from ui import charts, state
from ui.page import catalog_or_stop, runs_or_stop

st.title("🎤 Score a song")
config, token = catalog_or_stop("score")
runs = runs_or_stop(config, token, "there is nothing to score with")


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def load_scorer(home: str, run_id: str, model: str | None):
    from core.catalog import Catalog
    from core.registry import load_run
    from core.scoring import scorer_for

    settings = Settings(home=Path(home))
    with Catalog.open(settings) as catalog:
        return scorer_for(load_run(settings, catalog, run_id), model)


def auc_text(auc: dict) -> str:
    if auc["value"] is None:
        return "holdout ROC-AUC not available (the holdout held one class only)"
    return f"holdout ROC-AUC {auc['value']:.2f} (95% CI {auc['low']:.2f}-{auc['high']:.2f})"


home = str(config.home)
run_id = runs[runs["active"]].iloc[0]["id"]
meta = state.run_meta(home, token, run_id)
best = best_model_of(meta)
choices = [m for m in meta["models"] if m != "dummy"] or meta["models"]
model = st.selectbox(
    "Model", choices, index=choices.index(best),
    format_func=lambda m: DISPLAY_NAMES[m] + (" (best holdout ROC-AUC)" if m == best else ""),
    help="musicnn scores from embeddings pretrained on real recordings; the others learned only from this catalog.",
)  # fmt: skip
scorer = load_scorer(home, run_id, model)
auc = scorer.auc
st.caption(f"Model: {DISPLAY_NAMES[model]} of run {run_id}: {auc_text(auc)} on the {meta['split']} split. "
           "0.5 is a coin toss; the study's best real-data model reached 0.65.")  # fmt: skip
if meta["synthetic"]:
    st.warning("**Trained on the synthetic demo catalog.** Verdicts say how much a song resembles the demo's "
               "rule, not real Spotify popularity. Collect real data and retrain before trusting them.")  # fmt: skip

uploads = st.file_uploader(
    f"Upload songs (mp3, wav, flac, ogg, m4a; up to {MAX_UPLOAD_MB} MB each, 20 minutes at most)",
    type=["mp3", "wav", "flac", "ogg", "m4a"], accept_multiple_files=True,
)  # fmt: skip
if not uploads:
    st.caption("Upload one song for a verdict, or a folder's worth to rank them: the most promising come first.")
    st.stop()


@st.cache_data(show_spinner=False, max_entries=64)
def score_upload(run: str, model: str, name: str, data: bytes):
    """(error, result, samples, profile): the verdict and what musicnn hears in the song."""
    from core.scoring import score_many, song_profile

    item = score_many(scorer, [(name, data)])[0]
    if item.error:
        return item.error, None, None, None
    try:
        profile = song_profile(item.score)
    except HitlensError as problem:  # the pretrained model is missing: the verdict still stands
        profile = str(problem)
    return None, item.score.as_dict(), item.score.samples, profile


results = {}
with st.status(f"Scoring {len(uploads)} file(s)…", expanded=False) as status:
    for upload in uploads:
        if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
            results[upload.name] = (f"'{upload.name}' is larger than {MAX_UPLOAD_MB} MB. Upload a compressed export (mp3, m4a).", None, None, None)
            continue
        status.update(label=f"Scoring and listening to {upload.name}…")
        results[upload.name] = score_upload(run_id, model, upload.name, upload.getvalue())
    status.update(label=f"Scored {len(uploads)} file(s)", state="complete")

rows = [{"file": name, "verdict": r["verdict"], "probability": r["probability"], "percentile": r["percentile"],
         "best 30 s": f"{r['best_window'][0]:.0f}-{r['best_window'][1]:.0f} s"}
        for name, (error, r, _, _) in results.items() if r]  # fmt: skip
table = pd.DataFrame(rows).sort_values("probability", ascending=False) if rows else pd.DataFrame()
for error, _, _, _ in results.values():
    if error:
        st.error(error)
if table.empty:
    st.stop()
st.subheader("Ranking")
st.dataframe(table, hide_index=True, column_config={
    "probability": st.column_config.ProgressColumn("probability of popular", format="percent", min_value=0, max_value=1),
    "percentile": st.column_config.NumberColumn("percentile among catalog tracks", format="%.0f"),
})  # fmt: skip
st.download_button("Download the ranking (CSV)", table.to_csv(index=False), "hitlens-ranking.csv", "text/csv")

choice = st.selectbox("Song", table["file"].tolist())
error, result, samples, profile = results[choice]
probability = result["probability"]
st.subheader(f"{choice}: {result['verdict']} ({probability:.0%})")
st.markdown(f"Calibrated probability **{probability:.0%}** that its popularity would be at or above the run's threshold "
            f"({meta['threshold']['value']:g}); higher than {result['percentile'] or 0:.0f}% of the catalog's held-out tracks. "
            f"Best 30 s to use as your preview clip: **{result['best_window'][0]:.0f}-{result['best_window'][1]:.0f} s**.")  # fmt: skip
embeddings, catalog_map = state.catalog_embeddings(home, token, state.embeddings_stamp(home))
if not isinstance(profile, str):
    similarity, familiar = embeddings.familiarity(profile.pooled)
    if not familiar:
        expected = " With the synthetic demo catalog this is expected for real music." if embeddings.synthetic else ""
        st.warning(f"**This song sounds unlike anything in the catalog**: its closest catalog track has similarity "
                   f"{similarity:.2f}, while catalog tracks sit at {embeddings.familiar_floor:.2f} or more from their nearest "
                   f"neighbour. Every model's verdict here extrapolates beyond what it learned: treat it as a guess.{expected}")  # fmt: skip
st.audio(samples, sample_rate=SAMPLE_RATE)

windows = pd.DataFrame(result["windows"])
figure = go.Figure(go.Scatter(x=windows["start_s"] + 15, y=windows["probability"], mode="lines+markers", name="window"))
figure.add_vrect(x0=result["best_window"][0], x1=result["best_window"][1], fillcolor="green", opacity=0.15, line_width=0,
                 annotation_text="best 30 s")  # fmt: skip
figure.add_hline(y=0.5, line_dash="dot", line_color="grey")
figure.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), title="Probability of each 30 s window (plotted at its centre)",
                     xaxis_title="time in the song (s)", yaxis_title="probability of popular", yaxis_range=[0, 1])  # fmt: skip
st.plotly_chart(figure, width="stretch")

def what_it_sounds_like(profile, embeddings, catalog_map) -> None:
    """Tags, tags over time, the nearest catalog tracks and the map, from musicnn."""
    st.caption("From musicnn, pretrained on real recordings (Million Song Dataset tags from Last.fm): what the model hears, "
               "not a verdict on quality.")  # fmt: skip
    left, right = st.columns(2)
    left.plotly_chart(charts.tag_bars(profile.top_tags()), width="stretch")
    top = [t["tag"] for t in profile.top_tags()]
    picked = right.multiselect("Tags over time", profile.tag_names, default=top[:3], key=f"tags-{choice}")
    if picked:
        right.plotly_chart(charts.tag_curves(profile.curves(picked)), width="stretch")

    threshold = meta["threshold"]["value"]
    if not len(embeddings):
        st.info("The catalog's embeddings are not computed yet (the set-up job does it, or `python -m core embeddings`), "
                "so there are no similar catalog tracks to show.")  # fmt: skip
    else:
        nearest = embeddings.nearest(profile.pooled, threshold)
        share = np.mean([n["popular"] for n in nearest])
        synthetic = " of the **synthetic demo catalog**" if embeddings.synthetic else ""
        st.markdown(f"**Sounds like** these {len(nearest)} catalog tracks{synthetic} (cosine similarity of musicnn embeddings): "
                    f"**{share:.0%}** of them are popular (popularity ≥ {threshold:g}).")  # fmt: skip
        neighbours = pd.DataFrame(nearest)
        picked_row = st.dataframe(
            neighbours[["track", "artist", "popularity", "popular", "similarity"]], hide_index=True, on_select="rerun",
            selection_mode="single-row", key=f"neighbours-{choice}",
            column_config={"similarity": st.column_config.ProgressColumn("similarity", format="%.2f", min_value=0, max_value=1)},
        )  # fmt: skip
        rows_picked = picked_row.selection.rows if picked_row else []
        if rows_picked:
            neighbour = nearest[rows_picked[0]]
            st.caption(f"Preview of {neighbour['track']} by {neighbour['artist']}")
            st.audio(state.audio_file(home, neighbour["audio_path"]))
        else:
            st.caption("Select a row to hear that track's preview.")
        if catalog_map is not None:
            x, y = catalog_map.place(profile.pooled)
            title = "Your song on the map of the catalog" + (" (synthetic demo)" if embeddings.synthetic else "")
            st.plotly_chart(charts.catalog_map(catalog_map.points, threshold, catalog_map.explained, title, song=(choice, x, y)),
                            width="stretch")  # fmt: skip


st.subheader("What it sounds like")
if isinstance(profile, str):  # the pretrained model could not run: say why, keep the rest
    st.error(profile)
else:
    what_it_sounds_like(profile, embeddings, catalog_map)

method = "occlusion (each cell silenced in turn)" if model == PRETRAINED_MODEL else "LIME (1,000 samples, 3 seeds)"


@st.cache_data(show_spinner=f"Explaining with {method}…", max_entries=16)
def explanation_for(run: str, model: str, name: str, result: dict, samples: np.ndarray):
    from core.scoring import SongScore

    song = SongScore(name, result["duration_s"], result["verdict"], result["probability"], result["percentile"],
                     tuple(result["best_window"]), result["windows"], samples)  # fmt: skip
    return scorer.explain_best_window(song)


try:
    explanation = explanation_for(run_id, model, choice, result, samples)
except HitlensError as problem:
    st.error(str(problem))
    st.stop()

start = result["best_window"][0]
spectrogram = scorer.spectrogram(samples[int(start * SAMPLE_RATE) :])
weights = explanation.weights[explanation.segments]
limit = float(np.abs(explanation.weights).max() or 1.0)
times = start + np.arange(spectrogram.shape[1]) * scorer.preset.hop_length / scorer.preset.sample_rate
bands = np.array([explanation.cells[i].band for i in explanation.segments[:, 0]])
heat = go.Figure()
heat.add_trace(go.Heatmap(z=spectrogram, x=times, colorscale="Greys", showscale=False, hoverinfo="skip"))
heat.add_trace(go.Heatmap(
    z=weights, x=times, colorscale="RdBu_r", zmin=-limit, zmax=limit, opacity=0.55,
    colorbar=dict(title="weight<br>(+ popular)"), customdata=np.repeat(bands[:, None], len(times), axis=1),
    hovertemplate="%{x:.1f} s · %{customdata}<br>weight %{z:.3f}<extra></extra>",
))  # fmt: skip
heat.update_layout(height=420, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="time in the song (s)",
                   yaxis_title="mel band (low → high)", title="What drives the verdict in the best window (red: toward popular, blue: away)")  # fmt: skip
st.plotly_chart(heat, width="stretch")
left, right = st.columns(2)
for column, sign, heading in ((left, +1, "Pushes toward popular"), (right, -1, "Pulls away from popular")):
    regions = [f"- {describe(c, w)}" for c, w in explanation.top(sign, 3)]
    column.markdown(f"**{heading}**\n" + ("\n".join(regions) or "- no region changes the verdict measurably"))
how = (f"Stability across 3 LIME seeds: {explanation.stability:.0%} overlap of the top 5 regions."
       if explanation.stability is not None else "Occlusion: each weight is the drop in probability when that cell is silenced.")
st.caption(f"{how} Time cells are {'bars found by beat tracking' if explanation.time_unit == 'bar' else '2.5 s cells (no tempo found)'}.")  # fmt: skip
png = charts.explanation_png(spectrogram, weights, times, f"{choice}: {result['verdict']} ({probability:.0%})")
st.download_button("Download the explanation (PNG)", png, f"{Path(choice).stem}-explanation.png", "image/png")
