"""The Score page's charts: tags, tags over time, probabilities over the song's windows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from ui.charts.base import BLUE, HEIGHT, LEGEND_BELOW, figure

if TYPE_CHECKING:
    from core.songs.scoring import ScoreResult


def tag_bars(tags: list[dict]) -> go.Figure:
    frame = pd.DataFrame(tags).iloc[::-1]
    trace = go.Bar(
        x=frame["probability"],
        y=frame["tag"],
        orientation="h",
        marker_color=BLUE,
        texttemplate="%{x:.0%}",
        textposition="outside",
        cliponaxis=False,
        hovertemplate="%{y}: %{x:.1%}<extra></extra>",
    )
    return figure(
        [trace],
        "Top 10 tags (MSD musicnn, mean over the song)",
        xaxis=dict(title="probability", tickformat=".0%", range=[0, 1]),
        yaxis_title="",
    )


def tag_curves(curves: pd.DataFrame) -> go.Figure:
    traces = [
        go.Scatter(
            x=curves["start_s"],
            y=curves[tag],
            mode="lines+markers",
            name=tag,
            hovertemplate=f"{tag}, %{{x:.0f}} s: %{{y:.0%}}<extra></extra>",
        )
        for tag in curves.columns
        if tag != "start_s"
    ]
    return figure(
        traces,
        "Tags over time (one point per 3 s)",
        legend=LEGEND_BELOW,
        xaxis_title="time in the song (s)",
        yaxis=dict(title="probability", tickformat=".0%", range=[0, 1]),
    )


def window_probabilities(result: ScoreResult) -> go.Figure:
    """Each 30 s window's probability, drawn from where it starts: the best window is shaded
    from its start, so its shading begins at its own point."""
    windows = result.windows
    best_start, best_end = result.best_window
    trace = go.Scatter(
        x=[w["start_s"] for w in windows],
        y=[w["probability"] for w in windows],
        mode="lines+markers",
        name="window",
        hovertemplate="window %{x:.0f}-%{customdata:.0f} s: %{y:.0%}<extra></extra>",
        customdata=[w["end_s"] for w in windows],
    )
    label = dict(xref="x", yref="paper", x=best_start, y=1, xanchor="left", yanchor="top", showarrow=False)
    return window_chart(
        [trace],
        "Probability of each 30 s window",
        (best_start, best_end),
        "time in the song",
        annotations=[dict(**label, text="best 30 s")],
    )


def window_chart(
    traces: list[go.Scatter],
    title: str,
    best_window: tuple[float, float],
    time_axis: str,
    legend: dict | None = None,
    **layout,
) -> go.Figure:
    """Probabilities of 30 s windows, each drawn where its window starts on ``time_axis`` (what
    the x axis measures, in seconds), with the best window's whole span shaded and the coin toss
    dotted: a song's windows on the Score page, and two versions' in its comparison. A legend
    (under the plot) gets the height it needs below the axis title."""
    start, end = best_window
    return figure(
        traces,
        title,
        height=300 if legend is None else HEIGHT,
        legend=legend,
        shapes=[
            dict(
                type="rect",
                xref="x",
                yref="paper",
                x0=start,
                x1=end,
                y0=0,
                y1=1,
                fillcolor="green",
                opacity=0.12,
                line=dict(width=0),
            ),
            dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=0.5, y1=0.5, line=dict(color="grey", dash="dot")),
        ],
        xaxis_title=f"{time_axis} (s): each point where its 30 s window starts",
        yaxis=dict(title="probability of popular", range=[0, 1], tickformat=".0%"),
        **layout,
    )
