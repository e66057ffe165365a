"""Cached reads of core for the pages. Every cached function takes the catalog's change
token, so a new catalog, new tracks or a new run produce fresh results; when the token
changes the old entries are dropped."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from core.catalog.store import Catalog, CatalogSummary
from core.config import Settings, settings

if TYPE_CHECKING:
    from core.learning.registry import RunMeta

_last_token: str | None = None


def current() -> tuple[Settings, str | None]:
    """Settings and the change token (None when there is no catalog with tracks)."""
    global _last_token
    config = settings()
    token = None
    if Catalog.exists(config):
        with Catalog.open(config) as catalog:
            if catalog.track_count():
                token = catalog.change_token()
    if token != _last_token:
        st.cache_data.clear()
        _last_token = token
    return config, token


@st.cache_data(show_spinner=False)
def summary(home: str, token: str) -> CatalogSummary:
    with Catalog.open(_settings(home)) as catalog:
        return catalog.summary()


@st.cache_data(show_spinner=False)
def tracks(home: str, token: str) -> pd.DataFrame:
    with Catalog.open(_settings(home)) as catalog:
        return catalog.tracks()


@st.cache_data(show_spinner=False)
def artist_stats(home: str, token: str, min_tracks: int) -> pd.DataFrame:
    from core.catalog import explore

    with Catalog.open(_settings(home)) as catalog:
        return explore.artist_stats(catalog, min_tracks)


@st.cache_data(show_spinner=False)
def search_artists(home: str, token: str, query: str) -> pd.DataFrame:
    from core.catalog import explore

    with Catalog.open(_settings(home)) as catalog:
        return explore.search_artists(catalog, query)


def audio_file(home: str, audio_path: str) -> str:
    with Catalog.open(_settings(home)) as catalog:
        return str(catalog.audio_file(audio_path))


@st.cache_data(show_spinner=False)
def preview_breakdown(home: str, token: str) -> pd.DataFrame:
    from core.catalog import explore

    with Catalog.open(_settings(home)) as catalog:
        return explore.preview_breakdown(catalog)


@st.cache_data(show_spinner=False)
def duplicate_groups(home: str, token: str) -> pd.DataFrame:
    """Releases of one song, from the tracks already read (``tracks``): a second read of the
    catalog took 2 s on 28,000 tracks."""
    from core.catalog import explore

    return explore.releases_of_one_song(tracks(home, token))


@st.cache_data(show_spinner=False)
def class_balance(home: str, token: str) -> tuple[float, pd.DataFrame]:
    from core.catalog.explore import class_balance as compute

    with Catalog.open(_settings(home)) as catalog:
        return compute(catalog)


@st.cache_data(show_spinner=False)
def runs(home: str, token: str) -> pd.DataFrame:
    from core.learning.registry import list_runs

    config = _settings(home)
    with Catalog.open(config) as catalog:
        return list_runs(config, catalog)


@st.cache_data(show_spinner=False)
def active_run_id(home: str, token: str) -> str | None:
    from core.learning.registry import active_run_id as read

    with Catalog.open(_settings(home)) as catalog:
        return read(catalog)


@st.cache_data(show_spinner=False)
def run_meta(home: str, token: str, run_id: str) -> RunMeta:
    from core.learning.registry import load_run

    config = _settings(home)
    with Catalog.open(config) as catalog:
        return load_run(config, catalog, run_id).meta


@st.cache_data(show_spinner=False)
def catalog_context(home: str, token: str):
    """Every catalog artist's fans and history (``core.learning.context.CatalogContext``): the Score
    page's artist box."""
    from core.learning.context import CatalogContext

    with Catalog.open(_settings(home)) as catalog:
        return CatalogContext.read(catalog)


def embeddings_stamp(home: str) -> int:
    """How many clips have a cached MSD musicnn embedding: changes while set-up computes them."""
    from core.pretrained.cache import EmbeddingCache
    from core.pretrained.musicnn import DEFAULT_MODEL

    return EmbeddingCache(_settings(home)).stored(DEFAULT_MODEL)


@st.cache_resource(show_spinner=False, max_entries=2)
def catalog_embeddings(home: str, token: str, stamp: int):
    """The catalog's pooled embeddings ("sounds like") and their 2-D map, or None for the
    map while fewer than three clips have one."""
    from core.pretrained.similarity import CatalogEmbeddings

    embeddings = CatalogEmbeddings.load(_settings(home))
    return embeddings, (embeddings.map() if len(embeddings) >= 3 else None)


@st.cache_resource(show_spinner=False, max_entries=4)
def run_domain(home: str, token: str, run_id: str, stamp: int):
    """The domain of run ``run_id`` (``core.pretrained.similarity.Domain``), fitted on its
    training clips' embeddings, and the share of its holdout clips the rule lets through."""
    embeddings, _ = catalog_embeddings(home, token, stamp)
    members = run_meta(home, token, run_id).split_members
    domain = embeddings.domain(members.get("train"))
    holdout = members.get("holdout")
    return domain, (None if holdout is None else embeddings.pass_rate(domain, holdout))


@st.cache_data(show_spinner=False)
def damaged_active_run(home: str, token: str) -> tuple[str, str] | None:
    """(id, why) of the active run when it cannot score (``core.learning.registry.run_damage``), else None."""
    from core.learning.registry import list_runs

    with Catalog.open(_settings(home)) as catalog:
        runs = list_runs(_settings(home), catalog, damaged=True)
    broken = runs[runs["active"] & runs["damaged"].notna()]
    return None if broken.empty else (str(broken.iloc[0]["id"]), str(broken.iloc[0]["damaged"]))


def _settings(home: str) -> Settings:
    return Settings(home=Path(home))
