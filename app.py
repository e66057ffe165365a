"""Hitlens dashboard: navigation over the pages in pages/, and the shared sidebar."""

import streamlit as st

from ui import sidebar, state

st.set_page_config(page_title="Hitlens", page_icon="🎧", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/dataset.py", title="Dataset", icon="📊", default=True),
        st.Page("pages/train.py", title="Train", icon="🏋️"),
        st.Page("pages/holdout.py", title="Holdout results", icon="🎯"),
        st.Page("pages/score.py", title="Score a song", icon="🎤"),
    ]
)
config, token = state.current()
sidebar.render(config, token)
navigation.run()
