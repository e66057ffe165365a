"""Holdout results: each run's models with 95% intervals, beside the study's own figures."""

import streamlit as st

from core.learning.registry import RunMeta
from core.wording import DEMO_FANS, bootstrap_intervals, context_inputs, regression_summary, scale_name
from ui import charts, state
from ui import runs as run_choice
from ui.jobs import study_comparison_pending
from ui.page import catalog_or_stop, runs_or_stop, through_app
from ui.runs import differences, runs_trained_alike, training_settings

through_app("pages/holdout.py")
st.title("🎯 Holdout results")
config, token = catalog_or_stop("holdout")
home = str(config.home)
runs = runs_or_stop(config, token, "there are no holdout results to show", need_active=False)

labels = {
    row["id"]: f"{row['id']} · {row['split']} split · {row['training_preset']}" + (" · active" if row["active"] else "")
    for _, row in runs.iterrows()
}
default = int(runs.index[runs["active"]][0]) if runs["active"].any() else 0
run_id = st.selectbox("Run", list(labels), index=default, format_func=labels.__getitem__)
run_choice.activate_button(config, run_id, bool(runs.loc[runs["id"] == run_id, "active"].iloc[0]))
meta = state.run_meta(home, token, run_id)
ours = "this run (synthetic demo catalog)" if meta.synthetic else f"this run ({meta.catalog.source} catalog)"
if meta.synthetic:
    st.warning(
        "These figures come from the **synthetic demo catalog**: they show the pipeline works, not how well "
        "any model predicts real popularity. The study's figures are on real Spotify data."
    )
study_comparison_pending(config, meta.models)
n = meta.metrics[meta.models[0]].n
st.caption(
    f"Holdout split: {n} tracks never used for training or calibration · {meta.split} split · threshold "
    f"{meta.threshold.value:g} ({meta.threshold.rule}) · error bars: {bootstrap_intervals(meta.bootstrap_unit)} "
    "(1,000 resamples); each bar's figure and its interval are written over it"
)


def model_metrics() -> None:
    st.plotly_chart(charts.holdout_metrics(meta, ours), width="stretch")


def roc_and_reliability() -> None:
    st.plotly_chart(charts.roc_and_reliability(meta), width="stretch")
    st.caption("Probabilities are calibrated (Platt scaling) on the test split, then checked here on the holdout.")


def confusion_matrices() -> None:
    st.subheader("Confusion matrices")
    st.caption(
        f"Actual: popularity at or above {meta.threshold.value:g}. Predicted popular: the model's raw probability at "
        "least 0.5."
    )
    st.plotly_chart(charts.confusion_matrices(meta), width="stretch")


SPLIT_CONTEXT = {
    "random": "The random split lets an artist's songs, and even releases of one song, sit on both sides: the "
    "holdout's artists are known from training, with their fans and their earlier releases.",
    "song": "The song split keeps every release of a song on one side, but compares the same artists on both "
    "sides: the holdout's artists are known from training, with their fans and their earlier releases.",
    "artist": "The artist split's holdout artists are unseen: the model knows their fans only, no history (their "
    "earlier releases are not in the training data, as for a new artist).",
}


def models_on_top(meta) -> None:
    """Audio alone vs audio + the artist's context, and the popularity regression (runs that have them)."""
    st.subheader("Audio alone vs audio + the artist's context")
    alike, _ = runs_trained_alike(meta, runs, home, token)  # this run, and the latest trained alike of each other split
    with_context = {
        split: run for split, run in alike.items() if run.context_audio_model is not None and "context" in run.metrics
    }
    if "context" in meta.metrics:
        st.markdown(
            f"The audio + context model is a logistic regression {context_inputs(meta)}; trained on the training "
            f"split, its regularisation chosen on the test split. {SPLIT_CONTEXT.get(meta.split, '')}"
        )
        st.plotly_chart(charts.context_comparison(with_context), width="stretch")
        gain = meta.context_gain
        if gain is not None and gain.value is not None:
            beyond = "beyond" if gain.low > 0 or gain.high < 0 else "within"
            st.caption(
                f"On this run's holdout the artist's context changes the ROC-AUC by {gain.value:+.3f} (95% paired "
                f"bootstrap interval {gain.low:+.3f} to {gain.high:+.3f}): {beyond} the noise of which "
                f"{meta.bootstrap_unit}s happen to be in the holdout. Paired: both models are measured on the same "
                f"resampled {meta.bootstrap_unit}s, so the gain's interval is narrower than the two bars' intervals "
                "suggest."
            )
    if meta.synthetic:
        st.info(DEMO_FANS)
    regression = meta.regression_metrics
    if regression is None or meta.popularity_model is None:
        return
    st.subheader("Predicted popularity")
    scale = scale_name(meta.threshold.scale)
    audio = meta.regression_metrics_audio
    st.markdown(
        f"A ridge regression of the popularity itself ({scale}) from the same inputs, with a split-conformal "
        f"interval from the test split's errors. On the holdout: {regression_summary(regression, meta.threshold.scale)}"
        f" (nominal {regression['nominal_coverage']:.0%}; within sampling error the two should agree)."
        + ("" if audio is None else f" From the audio alone: {regression_summary(audio, meta.threshold.scale)}.")
    )
    st.plotly_chart(charts.predicted_vs_actual(regression, meta.popularity_model["q"], scale), width="stretch")


def not_compared(run: RunMeta, other: RunMeta) -> str:
    """Why ``other`` (of another split) is left out of the comparison with ``run``: what differs."""
    differing = differences(run, other)
    mine, theirs = training_settings(run), training_settings(other)
    return (
        f"Not compared: the {other.split} split's latest run ({other.id}) was trained with "
        + ", ".join(theirs[key][1] for key in differing)
        + "; this run with "
        + ", ".join(mine[key][1] for key in differing)
        + f". Train the {other.split} split with this run's settings to compare the two."
    )


def split_comparison() -> None:
    alike, unlike = runs_trained_alike(meta, runs, home, token)
    if len(alike) > 1:
        st.subheader("Random vs grouped splits (runs trained alike)")
        st.plotly_chart(charts.split_comparison(alike), width="stretch")
        settings = ", ".join(words for _, words in training_settings(meta).values())
        st.caption(f"Every run here was trained with {settings}: only the split differs.")
    for other in unlike.values():
        st.caption(not_compared(meta, other))
    if len(alike) == 1 and not unlike:
        st.caption("Train with the song or artist split to compare it with the random split here.")


# One section, and one figure, at a time: a tab's figures are built and drawn only while it is
# open. In the browser, drawing each Plotly figure took more time than the page's script (profiled
# on a reload), so the first tab holds one.
sections = {
    "Models": model_metrics,
    "ROC and reliability": roc_and_reliability,
    "Confusion matrices": confusion_matrices,
}
if meta.context_audio_model is not None:
    sections["Audio + artist context"] = lambda: models_on_top(meta)
sections["Random vs grouped splits"] = split_comparison
for tab, section in zip(
    st.tabs(list(sections), on_change="rerun", key="holdout_section"), sections.values(), strict=True
):
    if tab.open:
        with tab:
            section()
