"""What a song sounds like, on the Score page, from musicnn (pretrained on real recordings):
its tags and their course over the song, the nearest catalog tracks to hear, and its place on
the map of the catalog. What the model hears, not a verdict on quality."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from ui import charts, songs, state

if TYPE_CHECKING:
    from core.pretrained.similarity import CatalogEmbeddings, CatalogMap, Domain, SongProfile


def section(
    home: str,
    label: str,
    profile: SongProfile | str,
    embeddings: CatalogEmbeddings,
    catalog_map: CatalogMap | None,
    threshold: float,
    in_domain: bool,
    domain: Domain,
) -> None:
    """What the song called ``label`` on the page sounds like, from its ``profile`` (or why
    musicnn could not run: said, and the rest of the page stands). Its neighbours among the
    catalog's ``embeddings`` are popular at the run's ``threshold``; a song out of the run's
    ``domain`` is told that they are far. ``catalog_map``: None while too few clips have an
    embedding."""
    st.subheader("What it sounds like")
    if isinstance(profile, str):
        st.error(profile)
        return
    st.caption(
        "From musicnn, pretrained on real recordings (Million Song Dataset tags from Last.fm): what the model hears, "
        "not a verdict on quality."
    )
    left, right = st.columns(2)
    left.plotly_chart(charts.tag_bars(profile.top_tags()), width="stretch")
    top = [t["tag"] for t in profile.top_tags()]
    picked = right.multiselect("Tags over time", profile.tag_names, default=top[:3], key=f"tags-{label}")
    if picked:
        right.plotly_chart(charts.tag_curves(profile.curves(picked)), width="stretch")

    if not len(embeddings):
        st.info(
            "The catalog's embeddings are not computed yet (the set-up job does it, or `python -m core embeddings`), "
            "so there are no similar catalog tracks to show."
        )
        return
    if embeddings.missing_note:
        st.caption(embeddings.missing_note)
    nearest = embeddings.nearest(profile.pooled, threshold)
    share = np.mean([n["popular"] for n in nearest])
    synthetic = " of the **synthetic demo catalog**" if embeddings.synthetic else ""
    if in_domain:
        st.markdown(
            f"**Sounds like** these {len(nearest)} catalog songs{synthetic} (cosine similarity of musicnn embeddings): "
            f"**{share:.0%}** of them are popular (popularity ≥ {threshold:g})."
        )
    else:
        st.markdown(
            f"**The nearest catalog songs{synthetic} are far**: the closest is at similarity "
            f"{nearest[0]['similarity']:.2f}, so what these {len(nearest)} did ({share:.0%} popular) says little "
            "about your song."
        )
    picked_row = st.dataframe(
        pd.DataFrame(nearest)[["track", "artist", "popularity", "popular", "similarity"]],
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=f"neighbours-{label}",
        column_config={
            "similarity": st.column_config.ProgressColumn("similarity", format="%.2f", min_value=0, max_value=1)
        },
    )
    rows_picked = picked_row.selection.rows if picked_row else []
    if rows_picked:
        neighbour = nearest[rows_picked[0]]
        st.caption(f"Preview of {songs.plain(neighbour['track'])} by {songs.plain(neighbour['artist'])}")
        st.audio(state.audio_file(home, neighbour["audio_path"]))
    else:
        st.caption("Select a row to hear that track's preview.")
    if catalog_map is not None:
        x, y = catalog_map.place(profile.pooled)
        title = "Your song on the map of the catalog" + (" (synthetic demo)" if embeddings.synthetic else "")
        distance = (nearest[0]["similarity"], None if domain.rule is None else domain.rule.similarity_floor)
        st.plotly_chart(
            charts.catalog_map(
                catalog_map.points, threshold, catalog_map.explained, title, song=(label, x, y), nearest=distance
            ),
            width="stretch",
        )
        st.caption(
            f"Two axes keep {catalog_map.explained:.0%} of the embeddings' spread, so a point can land among tracks "
            "it is far from: the star's label gives its real similarity to the nearest catalog track."
        )
