"""The Collect panel of the Dataset page: start ``python -m core collect`` as a background
job, watch its progress (it survives a reload), and see why the last one stopped."""

from __future__ import annotations

from datetime import date

import streamlit as st

from core.config import Settings
from core.errors import CredentialsMissing
from core.jobs import latest_job, start_job
from ui.jobs import cancel_button, job_line

SOURCES = {
    "deezer": "Deezer — public, no key: rank (0 to ~1,000,000) as popularity, 30 s previews",
    "spotify": "Spotify — needs an app with extended quota: popularity 0-100; previews through Deezer",
}


def collect_panel(config: Settings, synthetic: bool, has_catalog: bool) -> None:
    job = latest_job(config, "collect")
    with st.expander("📥 Collect real data", expanded=not has_catalog or bool(job and job.active)):
        if job and job.active:
            _progress(config)
            return
        if job and job.status == "failed":
            st.error(f"The last collection (job {job.id}) stopped: {job.error}")
        elif job and job.status == "cancelled":
            st.warning(
                f"The last collection (job {job.id}) was cancelled; what it collected is kept. "
                "Start it again to resume."
            )
        elif job and job.status == "succeeded":
            st.success(f"The last collection (job {job.id}) finished: {job.message}.")
        _form(config, synthetic)


def _form(config: Settings, synthetic: bool) -> None:
    """The collection's settings. The source is chosen outside the form, so that choosing it
    shows at once the fields only that source has (Spotify's market); the rest is sent together."""
    this_year = date.today().year
    source = st.radio("Source", list(SOURCES), format_func=SOURCES.get)
    with st.form("collect"):
        left, middle, right = st.columns(3)
        tracks = left.number_input(
            "Tracks",
            min_value=10,
            max_value=50_000,
            value=1000,
            step=100,
            help="Stop when the catalog holds this many tracks from the source.",
        )
        years = middle.slider("Release years", 2000, this_year, (this_year - 2, this_year))
        market = right.text_input("Spotify market", value="US", max_chars=2) if source == "spotify" else None
        replace = False
        if synthetic:
            replace = st.checkbox(
                "Replace the synthetic demo catalog (trained runs are kept)",
                help="Real tracks are never mixed with the synthetic demo.",
            )
        start = st.form_submit_button("Start collecting", type="primary")
    st.caption(
        "Runs in the background, page by page; stop it any time and start it again with the same "
        "settings to resume. Without network it stops with a message and keeps what it has."
    )
    if not start:
        return
    if synthetic and not replace:
        st.error("Tick 'Replace the synthetic demo catalog' first: real tracks must not be mixed with the demo.")
        return
    if source == "spotify" and not _spotify_credentials_ready():
        return
    args = [
        "collect",
        "--source",
        source,
        "--tracks",
        str(tracks),
        "--years",
        f"{years[0]}-{years[1]}",
    ]
    args += ["--market", market] if market is not None else []  # only Spotify searches within a market
    job, started = start_job(config, "collect", args + (["--replace-demo"] if replace else []))
    if not started:
        st.info(f"A collection is already running (job {job.id}); here is its progress instead of a second one.")
    st.rerun()


def _spotify_credentials_ready() -> bool:
    from core.collect.spotify import find_credentials

    try:
        find_credentials()
    except CredentialsMissing as error:
        st.error(str(error))
        return False
    return True


@st.fragment(run_every=2.0)
def _progress(config: Settings) -> None:
    job = latest_job(config, "collect")
    if job is None or not job.active:
        st.rerun(scope="app")  # show what it collected
        return
    st.caption(f"Collection job {job.id}: {' '.join(job.args[1:])}")
    job_line(job)
    cancel_button(config, job, after="the current page")
