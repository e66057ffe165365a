"""Train: choose models and settings, retrain in the background, watch the curves, and choose
which run scores songs."""

import pandas as pd
import streamlit as st

from core.config import FEATURE_PRESETS, TRAINING_PRESETS
from core.errors import UsageError
from core.jobs import latest_job, start_job
from core.learning.architectures import DISPLAY_NAMES, MODEL_NAMES, REGRESSION_MODEL, require_feeding_model
from core.learning.dataset import SPLITS, left_out_note
from core.learning.evaluate import holdout_table
from core.wording import context_inputs, regression_summary, with_interval
from ui import runs as run_choice
from ui import state
from ui.jobs import started_ago, training_job_view, training_settings
from ui.page import catalog_or_stop, through_app

FAST, STUDY = FEATURE_PRESETS["fast"], FEATURE_PRESETS["study"]

through_app("pages/train.py")
st.title("🏋️ Train")
config, token = catalog_or_stop("train")
last = latest_job(config, "train")
running = last if last and last.active else None
setup = latest_job(config, "setup")
setup = setup if setup and setup.active else None
mine: set[int] = st.session_state.setdefault("train-jobs-started-here", set())

# The form shows the last training job's settings (running or finished, from this tab, another
# or the command line): the artist's last choices, not the defaults.
chosen = training_settings(last.args if last else [])
with st.form("train"):
    models = st.multiselect(
        "Models",
        MODEL_NAMES,
        default=chosen["models"],
        format_func=DISPLAY_NAMES.__getitem__,
        help="The study's five learn from this catalog's spectrograms; musicnn is a logistic regression "
        "on embeddings pretrained on real recordings (seconds to train, no epochs). Audio + context and the "
        "popularity regression are fitted on the best of these audio models' verdicts and the artist's fans and "
        "history (seconds; they need an audio model in the same run).",
    )
    left, middle, right = st.columns(3)
    preset = left.selectbox(
        "Preset",
        list(TRAINING_PRESETS),
        index=list(TRAINING_PRESETS).index(chosen["preset"]),
        help=f"fast: {FAST.n_mels} x {FAST.frames} spectrograms, early stopping (minutes). "
        f"study: the study's {STUDY.n_mels} x {STUDY.frames} and epochs (hours on 2 cores).",
    )
    split = middle.selectbox(
        "Split",
        SPLITS,
        index=list(SPLITS).index(chosen["split"]),
        help="random as in the study; song and artist keep each group on one side.",
    )
    epochs = right.number_input("Epochs (0 = the preset's)", min_value=0, max_value=200, value=chosen["epochs"])
    retrain = st.form_submit_button("Retrain", type="primary")
st.caption(
    "A new run does not replace the one that scores your songs: when it finishes you choose (below, or on the "
    "Holdout page)."
)


def refusal(models: list[str]) -> str | None:
    """Why these models cannot be trained as one run (None: they can)."""
    if not models:
        return "Choose at least one model."
    try:
        require_feeding_model(models)
    except UsageError as problem:
        return str(problem)
    return None


if retrain:
    if (refused := refusal(models)) is not None:
        st.error(refused)
    elif setup is not None:
        st.warning(
            f"Set-up is still building the catalog and its default run (started {started_ago(setup)}): "
            "retrain once it has finished, so both do not share the two cores and the catalog is complete."
        )
    else:
        args = ["train", "--models", ",".join(models), "--preset", preset, "--split", split]
        args += ["--epochs", str(epochs)] if epochs else []
        job, started = start_job(config, "train", args)
        if started:
            mine.add(job.id)
            st.rerun()  # show the new job's live view and its settings in the form
        # The rerun above sees the same click again (Streamlit keeps a form's submit through
        # st.rerun): this tab's own job is not "another" one.
        if job.id not in mine:
            st.info(
                f"Another training job is already running (job {job.id}, started {started_ago(job)}, from another "
                "tab or the command line): here is its progress instead of a second one."
            )
        running = job

training_job_view(config, running or setup, last, mine)
run_choice.pending_choice(config)

st.header("Latest run")
runs = state.runs(str(config.home), token)
if runs.empty:
    st.caption("No saved run yet.")
else:
    latest = runs.iloc[0]
    meta = state.run_meta(str(config.home), token, latest["id"])
    table = pd.DataFrame([row for row in holdout_table(meta) if row["model"] != REGRESSION_MODEL])
    table["model"] = table["model"].map(DISPLAY_NAMES)
    for column in ("accuracy", "roc_auc"):
        table[f"{column} (95% CI)"] = [
            with_interval(value, interval) for value, interval in zip(table[column], table[f"{column}_ci"], strict=True)
        ]
    quick = ", set-up's quick-start run (CNN 1 and musicnn on an eighth of the demo)" if meta.quick_start else ""
    st.caption(
        f"Run {latest['id']}: {meta.split} split, {meta.training_preset} preset, holdout of "
        f"{table['n'].iloc[0]} tracks{quick}" + (", **synthetic demo catalog**" if meta.synthetic else "")
    )
    left_out = left_out_note(meta.left_out)  # runs before this note was kept have none
    if left_out:
        st.warning(left_out)
    st.dataframe(
        table[["model", "accuracy (95% CI)", "roc_auc (95% CI)", "brier_calibrated"]],
        hide_index=True,
        column_config={
            "model": "Model",
            "accuracy (95% CI)": "Accuracy (95% CI)",
            "roc_auc (95% CI)": "ROC-AUC (95% CI)",
            "brier_calibrated": st.column_config.NumberColumn("Brier (calibrated)", format="%.3f"),
        },
    )
    if meta.context_audio_model is not None:
        regression = meta.regression_metrics
        st.caption(
            f"The models on top of the audio verdict are {context_inputs(meta)}."
            + (
                ""
                if regression is None
                else f" Popularity regression: {regression_summary(regression, meta.threshold.scale)}."
            )
            + " More on the Holdout page."
        )
    run_choice.activate_button(config, latest["id"], bool(latest["active"]))
