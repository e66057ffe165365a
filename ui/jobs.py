"""Job widgets: start the set-up job, show any running job's progress (polling), cancel."""

from __future__ import annotations

import streamlit as st

from core.config import Settings
from core.jobs import Job, active_jobs, cancel_job, latest_job, start_job
from ui import state

SETUP_ARGS = ["setup"]
KIND_LABELS = {
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
    st.warning("There is no catalog yet. Build the synthetic demo catalog (about 3 minutes), or "
               "collect real data (Dataset page, or `python -m core collect`).")  # fmt: skip
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
