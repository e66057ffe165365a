"""Job widgets: start the set-up job, show any running job's progress (polling), cancel."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import streamlit as st

from core.config import DEFAULT_TRAINING_PRESET, Settings
from core.jobs import Job, JobKind, active_jobs, cancel_job, job_events, latest_job, start_job
from core.learning.architectures import MODEL_NAMES
from core.progress import describe_duration
from core.setup import is_study_comparison, study_comparison_note
from ui import charts, state

SETUP_ARGS = ["setup"]
KIND_LABELS: dict[JobKind, str] = {
    "setup": "Building the demo catalog, its spectrograms, musicnn embeddings and the default run",
    "train": "Training",
    "demo": "Building the demo catalog",
    "features": "Computing spectrograms",
    "embeddings": "Computing musicnn embeddings",
    "collect": "Collecting real data",
}


def start_setup(config: Settings) -> Job:
    job, _ = start_job(config, "setup", SETUP_ARGS)
    return job


def no_catalog_notice(config: Settings, key: str) -> None:
    """What every page shows while there is no catalog: the running set-up, or a button."""
    setup = latest_job(config, "setup")
    if setup and setup.active:
        st.info("The demo catalog is being built in the background; this page fills in when it is ready.")
        return
    st.warning(
        "There is no catalog yet. Build the synthetic demo catalog (about 3 minutes), or "
        "collect real data (Dataset page, or `python -m core collect`)."
    )
    if setup and setup.status == "failed":
        st.error(f"The last set-up failed: {setup.error}")
    if st.button("Build the demo catalog", key=f"setup-{key}", type="primary"):
        start_setup(config)
        st.rerun()


def job_line(job: Job) -> None:
    label = KIND_LABELS.get(job.kind, job.kind)
    st.progress(job.progress, text=f"{label}: {job.message or 'starting…'}")


def running_jobs_panel(config: Settings) -> None:
    """Sidebar progress of every running job, polled every 2 s while any runs (and not at
    all otherwise); the whole page reruns when they finish, so what they made appears."""
    if active_jobs(config):
        st.subheader("Running")
        _poll_jobs(config)


@st.fragment(run_every=2.0)
def _poll_jobs(config: Settings) -> None:
    jobs = active_jobs(config)
    for job in jobs:
        job_line(job)
    # Rerun the page when the jobs end, and also when what they made so far changes the
    # catalog (the demo catalog is usable long before the default run is trained).
    _, token = state.current()
    changed = st.session_state.get("poll-token", token) != token
    st.session_state["poll-token"] = token
    if not jobs or changed:
        st.rerun(scope="app")


def cancel_button(config: Settings, job: Job, after: str = "the current batch") -> None:
    if job.cancel_requested:
        st.caption(f"Cancelling after {after}…")
    elif st.button("Cancel", key=f"cancel-{job.id}"):
        cancel_job(config, job.id)
        st.rerun(scope="fragment")


def started_ago(job: Job) -> str:
    """ "2 min ago": when the job started, as a person says it."""
    started = datetime.fromisoformat(job.started_at or job.created_at)
    return f"{describe_duration((datetime.now(UTC) - started).total_seconds())} ago"


def training_settings(args: list[str]) -> dict:
    """The Train form's values from a train job's arguments (the defaults for none)."""
    values = dict(itertools.pairwise(args))  # each option with the word after it
    models = values.get("--models", "all")
    return {
        "models": list(MODEL_NAMES) if models == "all" else [m for m in models.split(",") if m in MODEL_NAMES],
        "preset": values.get("--preset", DEFAULT_TRAINING_PRESET),
        "split": values.get("--split", "random"),
        "epochs": int(values.get("--epochs", 0)),
    }


def training_job_view(config: Settings, running: Job | None, last: Job | None, mine: set[int]) -> None:
    """The running training (a Retrain job, or set-up training its runs) with live curves,
    polled every 2 s only while it runs; otherwise how the last training job ended. ``mine``:
    the jobs this browser tab started, called "your training job"."""
    if running is not None:
        _live_training(config, running.id, running.id in mine)
    elif last is not None:
        st.subheader(f"{_job_title(last, last.id in mine, others='Last training job')} {last.status}")
        if last.status == "failed":
            st.error(last.error or "The job failed; see its log in data/jobs.")
        elif last.status == "cancelled":
            st.warning("Cancelled: nothing of that run was saved.")
        _curves(config, last)
    else:
        st.caption("No Retrain yet on this catalog: the runs below were trained by set-up.")


def _job_title(job: Job, mine: bool, others: str = "Training job") -> str:
    """How a training view names its job: set-up's, this tab's own ("Your training job 3:"),
    or another's (``others``)."""
    if job.kind == "setup":
        return "Set-up:"
    if is_study_comparison(job):
        return f"Set-up's study comparison (job {job.id}, every model):"
    return f"{'Your training job' if mine else others} {job.id}:"


def study_comparison_pending(config: Settings, models: tuple[str, ...]) -> None:
    """On a run without the CNN-GRU (``models``) while set-up's study comparison trains: say
    which figures are still coming."""
    job = latest_job(config, "train")
    if "cnn_gru" not in models and job is not None and job.active and is_study_comparison(job):
        st.info(study_comparison_note(job.message))


@st.fragment(run_every=2.0)
def _live_training(config: Settings, job_id: int, mine: bool) -> None:
    from core.jobs import get_job

    job = get_job(config, job_id)
    if not job.active:
        st.rerun(scope="app")  # show the finished run, the run choice and the sidebar afresh
    st.subheader(f"{_job_title(job, mine)} running since {started_ago(job)}")
    if is_study_comparison(job):
        st.caption(
            "Set-up trains the study's five models with musicnn's head in one run: when it finishes, that run replaces "
            "set-up's default run as the one that scores your songs, unless you have chosen another."
        )
    job_line(job)
    if job.kind == "train":
        cancel_button(config, job)
    _curves(config, job)


def _curves(config: Settings, job: Job) -> None:
    events = job_events(config, job.id)
    if events.empty or "epoch" not in events:
        st.caption("Curves appear after the first epoch." if job.active else "No epoch finished: no curves.")
        return
    events = events.dropna(subset=["epoch"])
    for column, metric in zip(st.columns(2), charts.TRAINING_METRICS, strict=True):
        column.plotly_chart(
            charts.training_curves(events, metric), width="stretch", key=f"{metric}-{job.id}-{len(events)}"
        )
