"""Dataset: what the catalog holds, and how completely."""

import pandas as pd
import streamlit as st

from core.catalog import explore
from core.catalog.track_writer import POPULARITY_SCALES
from core.config import DEFAULT_PRESET, FEATURE_PRESETS
from core.wording import default_threshold_rule
from ui import charts, state
from ui.collect import collect_panel
from ui.page import catalog_or_stop, through_app
from ui.tables import table_height

through_app("pages/dataset.py")
st.title("📊 Dataset")
config, current_token = state.current()  # the collect panel shows with no catalog too
current = state.summary(str(config.home), current_token) if current_token else None
collect_panel(config, synthetic=bool(current and current.synthetic), has_catalog=current_token is not None)
config, token = catalog_or_stop("dataset")

home = str(config.home)
summary = state.summary(home, token)
tracks = state.tracks(home, token)
scale_label = POPULARITY_SCALES.get(summary.popularity_scale or "", "popularity")
if summary.synthetic:
    st.warning(
        "**Synthetic demo catalog.** Artists, songs and audio are generated; popularity follows the "
        "rule documented in `core/demo/__init__.py`. Nothing here describes real artists or real music."
    )

columns = st.columns(4)
columns[0].metric("Tracks", f"{summary.tracks:,}")
columns[1].metric("Artists", f"{summary.artists:,}")
columns[2].metric("With audio", f"{summary.with_audio:,}")
columns[3].metric("Median popularity", f"{summary.popularity_median:,g}")

threshold, balance = state.class_balance(home, token)

HEADERS = {
    "group": "Song",
    "name": "Track",
    "artist": "Artist",
    "primary_artist": "Artist",
    "artists": "Artists",
    "album": "Album",
    "album_type": "Album type",
    "release_date": "Released",
    "popularity": "Popularity",
    "preview": "Preview",
    "tracks": "Tracks",
    "with_audio": "With audio",
    "mean_popularity": "Mean popularity",
    "first_year": "First year",
    "last_year": "Last year",
}
"""The header people read over each column the Dataset page's tables show."""


def table(frame: pd.DataFrame, **options):
    """``frame`` as a table with people's headers, tall enough for all its rows up to
    ``ui.tables.MOST_ROWS`` (then it scrolls); ``options`` go to ``st.dataframe``."""
    headers = {
        column: st.column_config.NumberColumn(HEADERS[column], format="%.1f")
        if column == "mean_popularity"
        else st.column_config.Column(HEADERS.get(column, column))
        for column in frame.columns
    }
    return st.dataframe(frame, hide_index=True, column_config=headers, height=table_height(len(frame)), **options)


def popularity() -> None:
    if balance.empty:
        st.plotly_chart(charts.popularity_histogram(tracks, threshold, scale_label), width="stretch")
        st.info(
            f"The threshold and the share of popular tracks per split appear once the catalog holds enough tracks "
            f"with audio to split ({summary.with_audio:,} now): collect or import more, with previews."
        )
        return
    left, right = st.columns(2)
    left.plotly_chart(charts.popularity_histogram(tracks, threshold, scale_label), width="stretch")
    right.plotly_chart(charts.class_balance(balance), width="stretch")
    chosen = (
        "the study's: popular means Spotify popularity at or above it"
        if default_threshold_rule(summary.popularity_scale) == "study"
        else "the median of each split's training part, chosen on training rows only"
    )
    st.caption(
        f"Threshold {threshold:g}, {chosen}. Splits: random (as in the study), grouped by song, grouped by artist."
    )


def previews_and_dates() -> None:
    left, right = st.columns(2)
    left.plotly_chart(charts.preview_comparison(tracks), width="stretch")
    with left:
        table(state.preview_breakdown(home, token))
    right.plotly_chart(charts.release_dates(tracks), width="stretch")


@st.fragment
def artist_charts() -> None:
    """Top and bottom artists; a fragment, so moving the slider redraws these two charts only."""
    min_tracks = st.slider("Minimum tracks per artist", 1, 30, 5)
    stats = state.artist_stats(home, token, min_tracks)
    if stats.empty:
        st.info(f"No artist has {charts.plural(min_tracks, 'track')} or more.")
        return
    for column, chart in zip(st.columns(2), charts.top_and_bottom_artists(stats, scale_label=scale_label), strict=True):
        column.plotly_chart(chart, width="stretch")
    st.caption(
        f"{charts.plural(len(stats), 'artist')} with at least {charts.plural(min_tracks, 'track')}; "
        "every credited artist counts a track. Each bar: the mean popularity of the artist's tracks, and "
        "how many tracks that mean is over."
    )


def artists() -> None:
    artist_charts()
    st.subheader("Is an artist in the catalog?")
    query = st.text_input("Artist name", placeholder="e.g. Lil Nebula")
    if query.strip():
        found = state.search_artists(home, token, query.strip())
        if found.empty:
            st.error(
                f"No artist matching '{query}'. The catalog is a sample, not every release: collect more to add them."
            )
        else:
            table(found)
            st.caption(
                "Tracks counts releases credited to the artist; compare with their discography to judge completeness."
            )


def same_song() -> None:
    groups = state.duplicate_groups(home, token)
    st.caption(
        f"{groups['group'].nunique() if not groups.empty else 0} songs appear on more than one release "
        "(single, album, deluxe, compilation), each with its own popularity; rows with one Song number are "
        "releases of one song."
    )
    table(groups)


def catalog_map() -> None:
    embeddings, placed = state.catalog_embeddings(home, token, state.embeddings_stamp(home))
    if placed is None:
        st.info(
            "The map appears once the catalog's musicnn embeddings are computed (the set-up job does it, "
            "or `python -m core embeddings`)."
        )
        return
    synthetic = " (synthetic demo)" if embeddings.synthetic else ""
    st.plotly_chart(
        charts.catalog_map(
            placed.points,
            threshold,
            placed.explained,
            f"{len(embeddings):,} tracks placed by what musicnn hears{synthetic}",
        ),
        width="stretch",
    )
    st.caption(
        "Each dot is a track with audio, placed by a PCA of its musicnn embedding (pretrained on real recordings): "
        f"nearby tracks sound alike. Colour: popularity at or above {threshold:g}. Releases that share audio overlap."
    )


@st.fragment
def track_table() -> None:
    """The filterable table; choosing a row plays its preview and draws its spectrogram. A
    fragment, so filtering and choosing rerun this section only."""
    left, middle, right = st.columns(3)
    artist = left.selectbox("Artist", ["All", *sorted(tracks["primary_artist"].dropna().unique())])
    scores = tracks["popularity"]
    cast = (
        int if (scores % 1 == 0).all() else float
    )  # Spotify's and Deezer's scales are whole numbers: so is the slider
    top = cast(max(scores.max(), 1))
    low, high = middle.slider("Popularity", cast(0), top, (cast(0), top))
    audio_only = right.checkbox("Only tracks with audio", value=True)
    shown = tracks[(tracks["popularity"] >= low) & (tracks["popularity"] <= high)]
    if artist != "All":
        shown = shown[shown["primary_artist"] == artist]
    if audio_only:
        shown = shown[shown["audio_path"].notna()]
    columns = ["name", "artists", "album", "album_type", "release_date", "popularity"]
    selection = table(shown[columns], on_select="rerun", selection_mode="single-row", key="tracks")
    rows = selection.selection.rows if selection else []
    if not rows:
        st.caption("Select a row to play its preview and see its spectrogram.")
        return
    track = shown.iloc[rows[0]]
    st.subheader(f"{track['name']} — {track['artists']}")
    if not isinstance(track["audio_path"], str):
        st.info("This release has no preview, so there is no audio to play.")
        return
    st.audio(state.audio_file(home, track["audio_path"]))
    preset = FEATURE_PRESETS[DEFAULT_PRESET]
    values = explore.track_spectrogram(config, track["audio_sha256"], track["audio_path"], preset)
    st.plotly_chart(
        charts.spectrogram(values, preset, f"Log-mel spectrogram of the preview ({preset.name} preset)"),
        width="stretch",
    )
    low_db, high_db = charts.SPECTROGRAM_DB
    st.caption(
        f"Colour: loudness in dB relative to the clip's loudest moment, from {low_db:g} dB (silence, dark) to "
        f"{high_db:g} dB (bright). Dotted lines separate the named frequency bands."
    )


# One section at a time: a tab's charts are built and drawn only while it is open, so the
# page settles in the time of two charts, not of the eight and the map together.
SECTIONS = {
    "Popularity": popularity,
    "Previews and release dates": previews_and_dates,
    "Artists": artists,
    "Same song, several releases": same_song,
    "Map": catalog_map,
    "Tracks": track_table,
}
for tab, section in zip(
    st.tabs(list(SECTIONS), on_change="rerun", key="dataset_section"), SECTIONS.values(), strict=True
):
    if tab.open:
        with tab:
            section()
