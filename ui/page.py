"""What every page checks first: is there a catalog (and, where needed, a trained run)?
Each check shows what to do and stops the page when the answer is no."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.config import Settings
from ui import state
from ui.jobs import no_catalog_notice


def catalog_or_stop(key: str) -> tuple[Settings, str]:
    """Settings and the catalog's change token; without a catalog, the set-up notice."""
    config, token = state.current()
    if token is None:
        no_catalog_notice(config, key)
        st.stop()
    return config, token


def runs_or_stop(config: Settings, token: str, why: str) -> pd.DataFrame:
    """The saved runs; without any, a pointer to the Train page."""
    runs = state.runs(str(config.home), token)
    if runs.empty or not runs["active"].any():
        st.info(f"No trained run yet, so {why}. Train one first (the default run is built in the "
                "background after set-up).")  # fmt: skip
        st.page_link("pages/train.py", label="Go to Train", icon="🏋️")
        st.stop()
    return runs
