"""Hitlens dashboard: navigation over the pages in pages/, and the shared sidebar."""

import streamlit as st

from core.errors import HitlensError
from ui import sidebar, state
from ui.page import DEEP_LINK, NAVIGATION_READY

st.set_page_config(page_title="Hitlens", page_icon="🎧", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/dataset.py", title="Dataset", icon="📊", default=True),
        st.Page("pages/train.py", title="Train", icon="🏋️"),
        st.Page("pages/holdout.py", title="Holdout results", icon="🎯"),
        st.Page("pages/score.py", title="Score a song", icon="🎤"),
    ]
)
st.session_state[NAVIGATION_READY] = True
if DEEP_LINK in st.session_state:  # a first request for a page's URL, before app.py had run
    st.switch_page(st.session_state.pop(DEEP_LINK))
try:
    config, token = state.current()
    sidebar.render(config, token)
    navigation.run()
except HitlensError as problem:  # a damaged catalog, say: the sentence and its advice, not a stack trace
    st.error(str(problem))
