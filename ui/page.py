"""What every page checks first: is there a catalog (and, where needed, a trained run)?
Each check shows what to do and stops the page when the answer is no."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from core.config import Settings
from core.learning.architectures import DISPLAY_NAMES
from core.learning.registry import BEST_MODEL_RULE
from core.wording import holdout_auc
from ui import state
from ui.jobs import no_catalog_notice

if TYPE_CHECKING:
    from core.learning.registry import RunMeta


def through_app(page_file: str) -> None:
    """Make sure this page runs inside app.py's navigation. On a fresh server, a first request
    for /train is served straight from pages/train.py (Streamlit still treats pages/ as its
    own page list until app.py has called st.navigation once), without the shared sidebar:
    run app.py first, and let it open the page asked for."""
    if not st.session_state.get(NAVIGATION_READY):
        st.session_state[DEEP_LINK] = page_file
        st.switch_page("app.py")


NAVIGATION_READY, DEEP_LINK = "navigation-ready", "deep-link"


def catalog_or_stop(key: str) -> tuple[Settings, str]:
    """Settings and the catalog's change token; without a catalog, the set-up notice."""
    config, token = state.current()
    if token is None:
        no_catalog_notice(config, key)
        st.stop()
    return config, token


def runs_or_stop(config: Settings, token: str, why: str, *, need_active: bool = True) -> pd.DataFrame:
    """The saved runs that can score; without an active one, what set-up is doing about it or a
    pointer to the Train page. An active run that cannot score is said with its reason; a page
    that can go on without it (``need_active`` False: the Holdout page, where another is chosen)
    goes on with the other runs."""
    from core.jobs import latest_job

    runs = state.runs(str(config.home), token)
    damaged_active = state.damaged_active_run(str(config.home), token)
    if damaged_active is not None:  # the active run cannot score: say why, and where to choose another
        run_id, damage = damaged_active
        st.error(
            f"The active run {run_id} cannot score: {damage}. Choose another run on the Holdout page "
            "(or 'python -m core runs --activate ID'), or train a new one."
        )
        if runs.empty or need_active:
            st.stop()
        return runs
    if runs.empty or not runs["active"].any():
        setup = latest_job(config, "setup")
        if setup and setup.active:
            _waiting_for_first_run(config, why)
        else:
            st.info(f"No trained run yet, so {why}. Train one on the Train page.")
            st.page_link("pages/train.py", label="Go to Train", icon="🏋️")
        st.stop()
    return runs


@st.fragment(run_every=3.0)
def _waiting_for_first_run(config: Settings, why: str) -> None:
    """Before set-up's first run: how long until a first verdict, refreshed while it comes (the
    sidebar reruns the page when the run is there)."""
    from core.jobs import latest_job
    from core.setup import MESSAGE_PARTS, first_verdict_wait

    setup = latest_job(config, "setup")
    if setup is None or not setup.active:
        st.rerun(scope="app")
    wait = first_verdict_wait(setup.message)
    headline = f"**First verdict in about {wait}.**" if wait else "**Set-up is starting;** its time left shows soon."
    st.info(
        f"{headline} No trained run yet, so {why}: set-up is preparing the demo catalog and a first model in the "
        "background. This page fills in by itself; you can upload songs as soon as it does."
    )
    st.caption(f"Set-up now: {(setup.message or 'starting…').split(MESSAGE_PARTS)[0]}.")


def active_run_line(meta: RunMeta) -> None:
    """Which run scores songs, how good its best model is, and where to choose another."""
    best = meta.best_model
    quick = (
        (
            " This is set-up's **quick-start run** (CNN 1 and musicnn on an eighth of the demo): its holdout is a "
            "dozen tracks, so its figures say little; the default run replaces it when set-up finishes, unless you "
            "choose another."
        )
        if meta.quick_start
        else ""
    )
    left, right = st.columns([4, 1])
    badge = "best model" if meta.best_model_crowned else "no model beats the majority-class baseline; default"
    left.caption(
        f"Scoring with run **{meta.id}** ({meta.split} split, {meta.training_preset} preset, trained "
        f"{meta.created_at[:16].replace('T', ' ')} UTC; {badge} {DISPLAY_NAMES[best]}, "
        f"{holdout_auc(meta.metrics[best].roc_auc)}).{quick}",
        help=BEST_MODEL_RULE + ".",
    )
    right.page_link("pages/holdout.py", label="Choose the run", icon="🎯")
