"""Hitlens dashboard entry point (the full multipage dashboard is its own issue)."""

import streamlit as st

from core.catalog import POPULARITY_SCALES, Catalog
from core.errors import CatalogMissing

st.set_page_config(page_title="Hitlens", page_icon="🎧", layout="wide")
st.title("🎧 Hitlens")
st.caption("Does an unreleased hip-hop song sound like what is popular on Spotify now?")

try:
    with Catalog.open() as catalog:
        summary = catalog.summary()
except CatalogMissing as error:
    st.warning(str(error))
    st.stop()

if summary.synthetic:
    st.info(
        "**Synthetic demo catalog.** Artists, songs and audio are generated; popularity "
        "follows a documented rule. Figures computed on it say nothing about real music."
    )
columns = st.columns(4)
columns[0].metric("Tracks", f"{summary.tracks:,}")
columns[1].metric("Artists", f"{summary.artists:,}")
columns[2].metric("With audio", f"{summary.with_audio:,}")
columns[3].metric("Median popularity", f"{summary.popularity_median:.0f}" if summary.popularity_median is not None else "-")
scale = POPULARITY_SCALES.get(summary.popularity_scale or "", summary.popularity_scale)
st.caption(f"Source: {summary.source} · popularity: {scale}")
