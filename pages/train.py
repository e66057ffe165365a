"""Train: choose models and settings, retrain in the background, watch the curves."""

import pandas as pd
import plotly.express as px
import streamlit as st

from core.architectures import DISPLAY_NAMES, MODEL_NAMES
from core.config import DEFAULT_TRAINING_PRESET, FEATURE_PRESETS, TRAINING_PRESETS, Settings
from core.dataset import SPLITS
from core.evaluate import holdout_table
from core.jobs import Job, job_events, latest_job, start_job
from core.registry import SavedRun
from ui import state
from ui.page import catalog_or_stop
from ui.jobs import cancel_button, job_line

FAST, STUDY = FEATURE_PRESETS["fast"], FEATURE_PRESETS["study"]

st.title("🏋️ Train")
config, token = catalog_or_stop("train")

with st.form("train"):
    models = st.multiselect("Models", MODEL_NAMES, default=list(MODEL_NAMES), format_func=DISPLAY_NAMES.get,
                            help="The study's five learn from this catalog's spectrograms; musicnn is a logistic regression "
                                 "on embeddings pretrained on real recordings (seconds to train, no epochs).")  # fmt: skip
    left, middle, right = st.columns(3)
    preset = left.selectbox("Preset", list(TRAINING_PRESETS), index=list(TRAINING_PRESETS).index(DEFAULT_TRAINING_PRESET),
                            help=f"fast: {FAST.n_mels} x {FAST.frames} spectrograms, early stopping (minutes). "
                                 f"study: the study's {STUDY.n_mels} x {STUDY.frames} and epochs (hours on 2 cores).")  # fmt: skip
    split = middle.selectbox("Split", SPLITS, help="random as in the study; song and artist keep each group on one side.")
    epochs = right.number_input("Epochs (0 = the preset's)", min_value=0, max_value=200, value=0)
    retrain = st.form_submit_button("Retrain", type="primary")

if retrain:
    if not models:
        st.error("Choose at least one model.")
    else:
        args = ["train", "--models", ",".join(models), "--preset", preset, "--split", split]
        args += ["--epochs", str(epochs)] if epochs else []
        job, started = start_job(config, "train", args)
        if not started:
            st.info(f"A training job is already running (job {job.id}, started {job.started_at or job.created_at}); "
                    "here is its progress instead of a second one.")  # fmt: skip


def curves(config: Settings, job: Job) -> None:
    events = job_events(config, job.id)
    if events.empty:
        st.caption("Curves appear after the first epoch.")
        return
    long = events.melt(id_vars=["model", "epoch"], value_vars=[c for c in ("loss", "val_loss", "auc", "val_auc") if c in events])
    long["metric"] = long["variable"].map({"loss": "loss", "val_loss": "loss", "auc": "AUC", "val_auc": "AUC"})
    long["data"] = long["variable"].map(lambda v: "validation (test split)" if v.startswith("val_") else "training")
    left, right = st.columns(2)
    for column, metric in ((left, "loss"), (right, "AUC")):
        frame = long[long["metric"] == metric]
        figure = px.line(frame, x="epoch", y="value", color="model", line_dash="data", markers=True)
        figure.update_layout(height=320, margin=dict(l=10, r=10, t=40, b=10), title=f"{metric} per epoch",
                             xaxis_title="epoch", yaxis_title=metric)  # fmt: skip
        column.plotly_chart(figure, width="stretch", key=f"{metric}-{job.id}-{len(events)}")


@st.fragment(run_every=2.0)
def training_status() -> None:
    job = latest_job(config, "train")
    if job is None:
        st.caption("No training yet on this catalog. Press Retrain.")
        return
    if job.active:
        st.subheader(f"Training job {job.id}")
        job_line(job)
        cancel_button(config, job)
        curves(config, job)
        st.session_state["train-was-active"] = job.id
        return
    if st.session_state.pop("train-was-active", None) == job.id:
        st.rerun(scope="app")  # refresh the sidebar and the run list
    st.subheader(f"Last training job {job.id}: {job.status}")
    if job.status == "failed":
        st.error(job.error or "The job failed; see its log in data/jobs.")
    elif job.status == "cancelled":
        st.warning("Cancelled: nothing of that run was saved.")
    curves(config, job)


training_status()

st.header("Latest run")
runs = state.runs(str(config.home), token)
if runs.empty:
    st.caption("No saved run yet.")
else:
    latest = runs.iloc[0]
    meta = state.run_meta(str(config.home), token, latest["id"])
    table = pd.DataFrame(holdout_table(SavedRun(latest["id"], config.models_dir / latest["path"], meta)))
    table["model"] = table["model"].map(DISPLAY_NAMES)
    for column in ("accuracy", "roc_auc"):
        table[f"{column} (95% CI)"] = [
            "n/a" if value is None else f"{value:.3f} [{low:.3f}, {high:.3f}]"
            for value, (low, high) in zip(table[column], table[f"{column}_ci"])
        ]
    st.caption(f"Run {latest['id']}: {meta['split']} split, {meta['training_preset']} preset, holdout of "
               f"{table['n'].iloc[0]} tracks" + (", **synthetic demo catalog**" if meta["synthetic"] else ""))  # fmt: skip
    st.dataframe(table[["model", "accuracy (95% CI)", "roc_auc (95% CI)", "brier_calibrated"]], hide_index=True,
                 column_config={"roc_auc (95% CI)": "ROC-AUC (95% CI)",
                                "brier_calibrated": st.column_config.NumberColumn("Brier (calibrated)", format="%.3f")})  # fmt: skip
    if latest["active"]:
        st.success("This run is active: new songs are scored with it.")
    elif st.button("Make this run active"):
        from core.catalog import Catalog
        from core.registry import set_active

        with Catalog.open(config) as catalog:
            set_active(catalog, latest["id"])
        st.rerun()
