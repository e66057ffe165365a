"""Holdout results: each run's models with 95% intervals, beside the study's own figures."""

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.architectures import DISPLAY_NAMES
from core.evaluate import STUDY_RESULTS
from ui import state
from ui.page import catalog_or_stop, runs_or_stop

st.title("🎯 Holdout results")
config, token = catalog_or_stop("holdout")
home = str(config.home)
runs = runs_or_stop(config, token, "there are no holdout results to show")

labels = {row["id"]: f"{row['id']} · {row['split']} split · {row['training_preset']}" + (" · active" if row["active"] else "")
          for _, row in runs.iterrows()}  # fmt: skip
default = int(runs.index[runs["active"]][0]) if runs["active"].any() else 0
run_id = st.selectbox("Run", list(labels), index=default, format_func=labels.get)
meta = state.run_meta(home, token, run_id)
ours = "this run (synthetic demo catalog)" if meta["synthetic"] else f"this run ({meta['catalog']['source']} catalog)"
if meta["synthetic"]:
    st.warning("These figures come from the **synthetic demo catalog**: they show the pipeline works, not how well "
               "any model predicts real popularity. The study's figures are on real Spotify data.")  # fmt: skip
n = meta["metrics"][meta["models"][0]]["n"]
st.caption(f"Holdout split: {n} tracks never used for training or calibration · {meta['split']} split · threshold "
           f"{meta['threshold']['value']:g} ({meta['threshold']['rule']}) · error bars: 95% bootstrap intervals (1,000 resamples)")  # fmt: skip

rows = []
for model in meta["models"]:
    metrics = meta["metrics"][model]
    for metric, key, index in (("accuracy", "accuracy", 0), ("ROC-AUC", "roc_auc", 1)):
        estimate = metrics[key]
        if estimate["value"] is not None:
            rows.append({"model": DISPLAY_NAMES[model], "metric": metric, "source": ours, "value": estimate["value"],
                         "plus": estimate["high"] - estimate["value"], "minus": estimate["value"] - estimate["low"]})  # fmt: skip
        if model in STUDY_RESULTS:  # the study had no pretrained model
            rows.append({"model": DISPLAY_NAMES[model], "metric": metric, "source": "the study (real Spotify data)",
                         "value": STUDY_RESULTS[model][index], "plus": None, "minus": None})  # fmt: skip
bars = pd.DataFrame(rows)
left, right = st.columns(2)
for column, metric in ((left, "accuracy"), (right, "ROC-AUC")):
    frame = bars[bars["metric"] == metric]
    figure = px.bar(frame, x="model", y="value", color="source", barmode="group", error_y="plus", error_y_minus="minus",
                    color_discrete_sequence=["#4C78A8", "#BBBBBB"], text_auto=".2f")  # fmt: skip
    figure.add_hline(y=0.5, line_dash="dot", line_color="grey", annotation_text="chance")
    figure.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), title=f"{metric} on the holdout split",
                         yaxis_title=metric, xaxis_title="", yaxis_range=[0, 1], legend_title="")  # fmt: skip
    column.plotly_chart(figure, width="stretch")

left, right = st.columns(2)
roc = go.Figure()
roc.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"), name="chance"))
for model in meta["models"]:
    curve = meta["metrics"][model]["roc_curve"]
    auc = meta["metrics"][model]["roc_auc"]["value"]
    if curve["fpr"]:
        roc.add_trace(go.Scatter(x=curve["fpr"], y=curve["tpr"], mode="lines", name=f"{DISPLAY_NAMES[model]} (AUC {auc:.2f})"))
roc.update_layout(height=400, margin=dict(l=10, r=10, t=40, b=10), title="ROC curves (holdout)",
                  xaxis_title="false positive rate", yaxis_title="true positive rate")  # fmt: skip
left.plotly_chart(roc, width="stretch")

reliability = go.Figure()
reliability.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"), name="perfect"))
for model in meta["models"]:
    curve = meta["metrics"][model]["reliability"]
    reliability.add_trace(go.Scatter(x=curve["predicted"], y=curve["observed"], mode="lines+markers", name=DISPLAY_NAMES[model]))
reliability.update_layout(height=400, margin=dict(l=10, r=10, t=40, b=10), title="Reliability of calibrated probabilities",
                          xaxis_title="predicted probability of popular", yaxis_title="observed share popular")  # fmt: skip
right.plotly_chart(reliability, width="stretch")
st.caption("Probabilities are calibrated (Platt scaling) on the test split, then checked here on the holdout.")

st.subheader("Confusion matrices (threshold 0.5 on the raw probability)")
columns = st.columns(len(meta["models"]))
for column, model in zip(columns, meta["models"]):
    matrix = meta["metrics"][model]["confusion"]
    figure = px.imshow(matrix, text_auto=True, x=["not popular", "popular"], y=["not popular", "popular"],
                       color_continuous_scale="Blues", labels=dict(x="predicted", y="actual", color="tracks"))  # fmt: skip
    figure.update_layout(height=260, margin=dict(l=10, r=10, t=40, b=10), title=DISPLAY_NAMES[model], coloraxis_showscale=False)
    column.plotly_chart(figure, width="stretch")

latest_per_split = runs.drop_duplicates("split")
if len(latest_per_split) > 1:
    st.subheader("Random vs grouped splits (latest run of each)")
    rows = []
    for _, run in latest_per_split.iterrows():
        other = state.run_meta(home, token, run["id"])
        for model in other["models"]:
            auc = other["metrics"][model]["roc_auc"]
            if auc["value"] is not None:
                rows.append({"model": DISPLAY_NAMES[model], "split": run["split"], "ROC-AUC": auc["value"],
                             "plus": auc["high"] - auc["value"], "minus": auc["value"] - auc["low"]})  # fmt: skip
    figure = px.bar(pd.DataFrame(rows), x="model", y="ROC-AUC", color="split", barmode="group", error_y="plus",
                    error_y_minus="minus", text_auto=".2f")  # fmt: skip
    figure.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), yaxis_range=[0, 1], xaxis_title="",
                         title="ROC-AUC by split: a random split lets songs and artists leak across the split")  # fmt: skip
    st.plotly_chart(figure, width="stretch")
else:
    st.caption("Train with the song or artist split to compare it with the random split here.")
