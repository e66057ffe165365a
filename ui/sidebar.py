"""The sidebar every page shares: the catalog, the active run, running jobs."""

from __future__ import annotations

import streamlit as st

from core.catalog.track_writer import POPULARITY_SCALES
from core.config import Settings
from core.jobs import latest_job
from ui import state
from ui.jobs import running_jobs_panel


def render(config: Settings, token: str | None) -> None:
    with st.sidebar:
        st.subheader("Catalog")
        if token is None:
            st.caption("No catalog yet.")
        else:
            summary = state.summary(str(config.home), token)
            if summary.synthetic:
                st.markdown(":orange-badge[⚠ synthetic demo]")
            st.markdown(
                f"**{summary.tracks:,}** tracks · **{summary.with_audio:,}** with audio  \n"
                f"source: {summary.source}  \n"
                f"popularity: {POPULARITY_SCALES.get(summary.popularity_scale or '', summary.popularity_scale)}"
            )
            runs = state.runs(str(config.home), token)
            active = runs[runs["active"]]
            st.subheader("Active model run")
            if active.empty:
                setup = latest_job(config, "setup")
                st.caption(
                    "Set-up is training a first model."
                    if setup and setup.active
                    else "None yet: train one on the Train page."
                )
            else:
                row = active.iloc[0]
                quick = " · quick start" if row["quick_start"] else ""
                st.markdown(f"`{row['id']}`  \n{row['split']} split · {row['training_preset']} preset{quick}")
        running_jobs_panel(config)
