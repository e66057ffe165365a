"""Holdout results: each run's models with 95% intervals, beside the study's own figures."""

import streamlit as st

from ui import charts, state
from ui import runs as run_choice
from ui.page import catalog_or_stop, runs_or_stop, through_app

through_app("pages/holdout.py")
st.title("🎯 Holdout results")
config, token = catalog_or_stop("holdout")
home = str(config.home)
runs = runs_or_stop(config, token, "there are no holdout results to show")

labels = {
    row["id"]: f"{row['id']} · {row['split']} split · {row['training_preset']}" + (" · active" if row["active"] else "")
    for _, row in runs.iterrows()
}
default = int(runs.index[runs["active"]][0]) if runs["active"].any() else 0
run_id = st.selectbox("Run", list(labels), index=default, format_func=labels.get)
run_choice.activate_button(config, run_id, bool(runs.loc[runs["id"] == run_id, "active"].iloc[0]))
meta = state.run_meta(home, token, run_id)
ours = "this run (synthetic demo catalog)" if meta.synthetic else f"this run ({meta.catalog.source} catalog)"
if meta.synthetic:
    st.warning(
        "These figures come from the **synthetic demo catalog**: they show the pipeline works, not how well "
        "any model predicts real popularity. The study's figures are on real Spotify data."
    )
n = meta.metrics[meta.models[0]].n
st.caption(
    f"Holdout split: {n} tracks never used for training or calibration · {meta.split} split · threshold "
    f"{meta.threshold.value:g} ({meta.threshold.rule}) · error bars: 95% bootstrap intervals "
    "(1,000 resamples; hover a bar for its numbers)"
)

st.plotly_chart(charts.holdout_metrics(meta, ours), width="stretch")
st.plotly_chart(charts.roc_and_reliability(meta), width="stretch")
st.caption("Probabilities are calibrated (Platt scaling) on the test split, then checked here on the holdout.")

st.subheader("Confusion matrices (threshold 0.5 on the raw probability)")
st.plotly_chart(charts.confusion_matrices(meta), width="stretch")

latest_per_split = runs.drop_duplicates("split")
if len(latest_per_split) > 1:
    st.subheader("Random vs grouped splits (latest run of each)")
    metas = {run["split"]: state.run_meta(home, token, run["id"]) for _, run in latest_per_split.iterrows()}
    st.plotly_chart(charts.split_comparison(metas), width="stretch")
else:
    st.caption("Train with the song or artist split to compare it with the random split here.")
