"""Hitlens dashboard: navigation over the pages in pages/, and the shared sidebar."""

import streamlit as st

from core.errors import HitlensError
from ui import sidebar, state
from ui.navigation import DATASET, PAGES, SCORE
from ui.page import DEEP_LINK, NAVIGATION_READY

st.set_page_config(page_title="Hitlens", page_icon="🎧", layout="wide")

try:
    config, token = state.current()
    scoring = token is not None and state.active_run_id(str(config.home), token) is not None

    def landing() -> None:
        """The app's root URL: a visitor lands where the work is, on Score once a run can score
        and on Dataset before. (A page made the default would lose its own URL: /score.)"""
        st.switch_page(SCORE.file if scoring else DATASET.file)

    navigation = st.navigation(
        [
            st.Page(landing, title="Hitlens", url_path="start", default=True, visibility="hidden"),
            *[st.Page(page.file, title=page.title, icon=page.icon, url_path=page.url_path) for page in PAGES],
        ]
    )
    st.session_state[NAVIGATION_READY] = True
    if DEEP_LINK in st.session_state:  # a first request for a page's URL, before app.py had run
        st.switch_page(st.session_state.pop(DEEP_LINK))
    sidebar.render(config, token)
    navigation.run()
except HitlensError as problem:  # a damaged catalog, say: the sentence and its advice, not a stack trace
    st.error(str(problem))
