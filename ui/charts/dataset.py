"""The Dataset page's charts: popularity, class balance, previews, release dates, artists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ui.charts.base import BLUE, HEIGHT, LEGEND_BELOW, ORANGE, figure, plural


def _vline(x: float, label: str) -> dict:
    line = dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, line=dict(color="crimson", dash="dash"))
    text = dict(xref="x", yref="paper", x=x, y=1, text=label, showarrow=False, xanchor="left", yanchor="bottom")
    return dict(shapes=[line], annotations=[text])


def popularity_bins(popularity: pd.Series, bins: int) -> np.ndarray:
    """Edges of about ``bins`` equal bins from 0 over ``popularity``, each a whole number wide
    (both scales count in whole numbers), so every bin holds the same scores."""
    top = float(popularity.max()) if popularity.notna().any() else 0.0
    width = max(np.ceil(top / bins), 1.0)
    return np.arange(int(top // width) + 2) * width


def _histogram_bars(popularity: pd.Series, edges: np.ndarray, name: str, colour: str, percent: bool) -> go.Bar:
    """A histogram counted here, not in the browser: one bar per bin, however many tracks
    (a catalog of 30,000 tracks sends 50 numbers, not 30,000); ``percent`` of the group, or tracks."""
    counts, _ = np.histogram(popularity.dropna(), bins=edges)
    heights = 100 * counts / max(counts.sum(), 1) if percent else counts
    unit = "%{y:.1f}%" if percent else "%{y} tracks"
    return go.Bar(
        x=(edges[:-1] + edges[1:]) / 2,
        y=heights,
        name=name,
        marker_color=colour,
        customdata=np.column_stack([edges[:-1], edges[1:]]),
        hovertemplate=f"{name}, %{{customdata[0]:,g}} to under %{{customdata[1]:,g}}: {unit}<extra></extra>",
    )


def popularity_histogram(tracks: pd.DataFrame, threshold: float, scale_label: str) -> go.Figure:
    """Every track's popularity, with the threshold where one is known (NaN: none yet)."""
    popularity = tracks["popularity"]
    trace = _histogram_bars(popularity, popularity_bins(popularity, 50), "tracks", BLUE, percent=False)
    threshold_line = {} if np.isnan(threshold) else _vline(threshold, f"popular ≥ {threshold:g}")
    return figure(
        [trace],
        "Popularity of all tracks",
        bargap=0.05,
        xaxis_title=scale_label,
        yaxis_title="tracks",
        **threshold_line,
    )


def class_balance(balance: pd.DataFrame) -> go.Figure:
    traces = [
        go.Bar(
            x=part["split"],
            y=part["popular_share"],
            name=name,
            text=part["popular_share"],
            texttemplate="%{text:.0%}",
            textposition="outside",
            textangle=0,
            cliponaxis=False,
            customdata=part["tracks"],
            hovertemplate=f"{name} of the %{{x}} split: %{{y:.0%}} popular of %{{customdata}} tracks<extra></extra>",
        )
        for name, part in balance.groupby("part", sort=False)
    ]
    return figure(
        traces,
        "Share of popular tracks per split",
        legend=LEGEND_BELOW,
        barmode="group",
        xaxis_title="split",
        yaxis=dict(title="popular share", tickformat=".0%", range=[0, 1.05]),
    )


def preview_comparison(tracks: pd.DataFrame) -> go.Figure:
    has_preview = tracks["preview_url"].notna()
    groups = (("with preview", has_preview, BLUE), ("no preview", ~has_preview, ORANGE))
    edges = popularity_bins(tracks["popularity"], 40)  # the same bins for both groups
    traces = [
        _histogram_bars(tracks.loc[mask, "popularity"], edges, name, colour, percent=True)
        for name, mask, colour in groups
    ]
    return figure(
        traces,
        "Popularity with and without a preview",
        legend=LEGEND_BELOW,
        barmode="group",
        bargap=0.1,
        xaxis_title="popularity",
        yaxis_title="% of group",
    )


def release_dates(tracks: pd.DataFrame) -> go.Figure:
    dates = pd.to_datetime(tracks["release_date"], errors="coerce").dropna()
    monthly = dates.dt.to_period("M").dt.to_timestamp().value_counts().sort_index()
    trace = go.Bar(
        x=monthly.index, y=monthly.values, marker_color=BLUE, hovertemplate="%{x|%B %Y}: %{y} tracks<extra></extra>"
    )
    return figure([trace], "Releases per month", xaxis_title="release month", yaxis_title="tracks")


ARTIST_LABEL_ROOM = 1.45
"""How far the artist charts' x axis runs past the highest mean: room for the label written
after each bar ("41.3 · 12 tracks")."""


def artist_bars(
    stats: pd.DataFrame, title: str, x_max: float | None = None, scale_label: str = "popularity"
) -> go.Figure:
    """Mean popularity per artist, the first row on top, each bar labelled with its mean and
    its number of tracks (``text``: "12 tracks"); ``x_max`` gives charts that are compared side
    by side one x scale."""
    rows = stats.iloc[::-1]
    trace = go.Bar(
        x=rows["mean_popularity"],
        y=rows["artist"],
        orientation="h",
        marker_color=BLUE,
        text=[plural(int(n), "track") for n in rows["tracks"]],
        texttemplate="<b>%{x:,.1f}</b> · %{text}",
        textposition="outside",
        textfont=dict(size=12, color="#333333"),
        cliponaxis=False,
        customdata=rows[["median_popularity"]],
        hovertemplate="%{y}: mean %{x:,.1f}, median %{customdata[0]:,g} over %{text}<extra></extra>",
    )
    xaxis = dict(title=f"mean {scale_label}", range=[0, x_max] if x_max is not None else None)
    return figure(
        [trace], title, height=max(HEIGHT, 26 * len(stats) + 90), xaxis=xaxis, yaxis=dict(title="", automargin=True)
    )


def top_and_bottom_artists(
    stats: pd.DataFrame, count: int = 15, scale_label: str = "popularity"
) -> tuple[go.Figure, go.Figure]:
    """The ``count`` artists of ``stats`` (best first) with the highest and the lowest mean
    popularity, on one x scale so the two charts compare side by side."""
    count = min(count, len(stats))
    x_max = ARTIST_LABEL_ROOM * max(float(stats["mean_popularity"].max()), 1.0)
    return (
        artist_bars(stats.head(count), f"Top {count} artists by mean popularity", x_max, scale_label),
        artist_bars(stats.tail(count).iloc[::-1], f"Bottom {count} artists by mean popularity", x_max, scale_label),
    )
