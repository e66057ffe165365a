"""Plotly figures for the pages: readable on a laptop, every axis titled with its unit.

Figures are built with ``plotly.graph_objects`` and plain layout dicts: Plotly Express takes
10 to 30 times longer to build the same chart (measured: 38 ms against 1 to 3 ms for the
popularity histogram), and every page builds its figures again on each rerun.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import hex_to_rgb, sequential

from core.architectures import DISPLAY_NAMES, MODEL_NAMES
from core.bands import BANDS, band_rows, mel_centres_hz
from core.config import FeaturePreset
from core.evaluate import STUDY_RESULTS
from core.features import FLOOR_DB
from core.registry import Estimate, RunMeta

HEIGHT = 360
MARGIN = dict(l=10, r=10, t=40, b=10)
LEGEND_BELOW = dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0, title_text="")
"""A horizontal legend under the x axis title: it costs the plot none of its width."""
FONT = dict(size=13)
BLUE, GREY, RED, ORANGE = "#4C78A8", "#BBBBBB", "#E45756", "#F58518"
POPULAR_COLOURS = {"popular": RED, "not popular": BLUE}
MODEL_COLOURS = dict(
    zip(
        MODEL_NAMES,
        ("#9D9D9D", "#F58518", "#54A24B", "#4C78A8", "#B279A2", "#E45756", "#2F2F8F", "#72B7B2"),
        strict=True,
    )
)
SPECTROGRAM_COLOURS = "Magma"
"""Sequential, dark to bright: quiet is dark, loud is bright. Shared with the PNG exports
(matplotlib knows it as ``magma``)."""
SPECTROGRAM_SCALE = [
    [i / (len(sequential.Magma) - 1), "rgb({}, {}, {})".format(*hex_to_rgb(colour))]
    for i, colour in enumerate(sequential.Magma)
]
"""``SPECTROGRAM_COLOURS`` as rgb() stops. Not the name nor hex: Streamlit's theme replaces the
hex colours #000001 to #000040 in a figure with its own (its template's placeholders), and
Magma starts at #000004, which became pale pink, so silence looked loud."""
SPECTROGRAM_DB = (FLOOR_DB, 0.0)
"""The colour scale's fixed range: the spectrogram's floor (-80 dB, silence) to its loudest
bin (0 dB), so a quiet clip looks dark instead of being stretched over the whole scale."""


def plural(count: int, word: str) -> str:
    """``1 track``, ``2 tracks``."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def figure(
    traces: list, title: str, height: int = HEIGHT, legend: dict | None = None, margin: dict | None = None, **layout
) -> go.Figure:
    """A figure with the look every chart of the app shares: its title, a fixed height, tight
    margins (``margin`` changes some sides of ``MARGIN``), and a horizontal legend under the
    plot where there is one. ``layout`` is the rest of the chart's own layout."""
    return go.Figure(
        data=traces,
        layout=dict(
            title=dict(text=title),
            height=height,
            margin={**MARGIN, **(margin or {})},
            font=FONT,
            showlegend=legend is not None,
            legend=legend or {},
            **layout,
        ),
    )


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


def band_ticks(preset: FeaturePreset, rows_per_label: float) -> tuple[list[float], list[str], list[float]]:
    """Where each band's name goes on a spectrogram's mel-row axis, and the rows between
    bands. A name sits at its band's middle row, moved up (never past its band's top row) to
    keep ``rows_per_label`` from the name below: the low bands span only a few mel rows."""
    spans = [band_rows(band, preset) for band in BANDS]
    positions: list[float] = []
    for rows in spans:
        wanted = (rows.start + rows.stop - 1) / 2
        if positions:
            wanted = min(max(wanted, positions[-1] + rows_per_label), max(wanted, rows.stop - 1))
        positions.append(wanted)
    boundaries = [rows.stop - 0.5 for rows in spans[:-1]]
    return positions, [band.label for band in BANDS], boundaries


def spectrogram(
    values: np.ndarray, preset: FeaturePreset, title: str, start_s: float = 0.0, height: int = 400
) -> go.Figure:
    """A log-mel spectrogram (mel rows x frames, dB) with song time on x (``start_s`` is the
    time of its first frame) and the named frequency bands on y; colour fixed to
    ``SPECTROGRAM_DB`` with ``SPECTROGRAM_COLOURS``."""
    times = start_s + np.arange(values.shape[1]) * preset.hop_length / preset.sample_rate
    hz = np.repeat(mel_centres_hz(preset).round().astype(np.int32)[:, None], values.shape[1], axis=1)
    plot_px = height - 90  # the height less the title and the x axis
    ticks, labels, boundaries = band_ticks(preset, rows_per_label=values.shape[0] * 16 / plot_px)
    low, high = SPECTROGRAM_DB
    trace = go.Heatmap(
        z=values,
        x=times,
        y=np.arange(values.shape[0]),
        zmin=low,
        zmax=high,
        colorscale=SPECTROGRAM_SCALE,
        colorbar=dict(title=dict(text="dB"), ticksuffix=" dB"),
        customdata=hz,
        hovertemplate="%{x:.1f} s, %{customdata} Hz: %{z:.0f} dB<extra></extra>",
    )
    faint = dict(color="rgba(255,255,255,0.45)", width=1, dash="dot")
    lines = [dict(type="line", xref="paper", x0=0, x1=1, y0=y, y1=y, line=faint) for y in boundaries]
    return figure(
        [trace],
        title,
        height=height,
        shapes=lines,
        xaxis_title="time in the song (s)",
        yaxis=dict(title="frequency band", tickvals=ticks, ticktext=labels, ticks=""),
    )


def catalog_map(
    points: pd.DataFrame,
    threshold: float,
    explained: float,
    title: str,
    song: tuple[str, float, float] | None = None,
    nearest: tuple[float, float | None] | None = None,
) -> go.Figure:
    """Every catalog track placed by its musicnn embedding; ``song`` (name, x, y) as a star,
    labelled with ``nearest``: its similarity to the nearest catalog track and the similarity
    the run's own clips keep to each other (None: unknown), since the projection hides distance."""
    popular = points["popularity"] >= threshold
    traces = [
        go.Scatter(
            x=part["x"],
            y=part["y"],
            mode="markers",
            name=verdict,
            opacity=0.6,
            marker=dict(size=6, color=POPULAR_COLOURS[verdict]),
            customdata=part[["track", "artist", "popularity"]],
            hovertemplate="%{customdata[0]} — %{customdata[1]}<br>popularity %{customdata[2]}<extra></extra>",
        )
        for verdict, part in (("not popular", points[~popular]), ("popular", points[popular]))
    ]
    notes = []
    if song is not None:
        name, x, y = song
        star = dict(symbol="star", size=20, color="#F2B701", line=dict(width=1, color="black"))
        traces.append(go.Scatter(x=[x], y=[y], mode="markers", name="your song", marker=star, hoverinfo="skip"))
        label = f"<b>{name}</b>"
        if nearest is not None:  # the projection hides distance: say it in numbers, legibly
            similarity, floor = nearest
            label += f"<br>nearest catalog track: similarity {similarity:.2f}"
            if floor is not None:
                label += " (close)" if similarity >= floor else f"<br>far: the run's clips sit at {floor:.2f}+"
        notes.append(
            dict(
                x=x, y=y, text=label, showarrow=True, arrowhead=0, ax=0, ay=-60, align="left",
                bgcolor="rgba(255,255,255,0.92)", bordercolor="#888", borderwidth=1, font=dict(size=12, color="#222"),
            )
        )  # fmt: skip
    return figure(
        traces,
        title,
        height=480,
        annotations=notes,
        legend=LEGEND_BELOW,
        yaxis_title="PCA 2",
        xaxis_title=f"PCA 1 (the two axes show {explained:.0%} of the variance)",
    )


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


def window_probabilities(result: dict) -> go.Figure:
    """Each 30 s window's probability (``SongScore.as_dict()``), drawn from where it starts:
    the best window is shaded from its start, so its shading begins at its own point."""
    windows = result["windows"]
    best_start, best_end = result["best_window"]
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


TRAINING_METRICS = {"loss": "loss", "AUC": "auc"}
"""What the training curves show: a title's name for each metric -> its column in a job's
events (``val_`` + the column: the same metric on the test split)."""


def training_curves(events: pd.DataFrame, metric: str) -> go.Figure:
    """``metric`` (a key of ``TRAINING_METRICS``) per epoch for every run and model of a
    training job's ``events`` (one row per run, model and epoch; set-up trains two runs, its
    events name them): training solid, validation dotted, one trace and legend entry per run
    and model, so that one model's two runs are never joined into one line. The earlier run
    is drawn fainter."""
    column = TRAINING_METRICS[metric]
    runs = events["run"].fillna("") if "run" in events else pd.Series("", index=events.index)
    named_runs = runs.nunique() > 1
    traces = []
    for (run, model), rows in events.groupby([runs, "model"], sort=False):
        label = DISPLAY_NAMES[model] + (f" ({run})" if named_runs and run else "")
        faint = named_runs and run != runs.iloc[-1]
        traces += [
            go.Scatter(
                x=rows["epoch"],
                y=rows[name],
                mode="lines+markers",
                name=label,
                legendgroup=f"{run}/{model}",
                showlegend=data == "training",
                opacity=0.45 if faint else 1.0,
                line=dict(color=MODEL_COLOURS.get(model), dash=dash),
                hovertemplate=f"{label}, {data}, epoch %{{x}}: %{{y:.3f}}<extra></extra>",
            )
            for name, data, dash in ((column, "training", "solid"), (f"val_{column}", "validation (test split)", "dot"))
            if name in rows
        ]
    return figure(
        traces,
        f"{metric} per epoch (dotted: validation on the test split)",
        legend=LEGEND_BELOW,
        xaxis=dict(title="epoch", dtick=1 if events["epoch"].max() <= 20 else None, tickformat="d"),
        yaxis_title=metric,
    )


# Holdout results: several panels per figure, so that one legend serves them all and the page
# draws 4 charts instead of 11 (each Plotly chart costs the browser about 0.2 s to draw).

OURS, STUDY = BLUE, GREY
STUDY_LABEL = "the study (real Spotify data)"
_DOTTED = dict(color="grey", dash="dot", width=1.5)


def _domains(count: int, gap: float) -> list[list[float]]:
    """``count`` equal spans of [0, 1] with ``gap`` between neighbours."""
    width = (1 - gap * (count - 1)) / count
    return [[i * (width + gap), i * (width + gap) + width] for i in range(count)]


def _panel_title(text: str, x: list[float], y: float) -> dict:
    return dict(
        text=f"<b>{text}</b>",
        xref="paper",
        yref="paper",
        x=sum(x) / 2,
        y=y,
        xanchor="center",
        yanchor="bottom",
        showarrow=False,
        font=dict(size=14),
    )


INTERVAL_FONT = dict(size=12, color="#333333")
UNIT_RANGE = dict(range=[0, 1.22], tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0])
"""A 0-1 axis with room past 1 for the figures written beyond the intervals."""


def interval_text(estimate: Estimate, stacked: bool = False) -> str:
    """A figure and its 95% interval as written beside its bar: ``0.71 (0.65–0.77)``, or the
    interval under the figure (``stacked``) over a bar too narrow for one line."""
    interval = f"{estimate.low:.2f}–{estimate.high:.2f}"
    return f"<b>{estimate.value:.2f}</b>" + (f"<br>{interval}" if stacked else f" ({interval})")


def _interval_bars(
    labels: list[str],
    estimates: list[Estimate],
    name: str,
    colour: str,
    axis: str = "",
    horizontal: bool = False,
    **extra,
) -> list:
    """Bars with 95% error bars, and each bar's figure and interval written past the end of its
    error bar: readable without hovering. ``horizontal``: labels down the y axis, bars to the
    right. ``extra`` goes to the bars."""
    return [
        _bars_with_intervals(labels, estimates, name, colour, axis, horizontal, **extra),
        _interval_labels(labels, estimates, name, axis, horizontal),
    ]


def _bars_with_intervals(
    labels: list[str], estimates: list[Estimate], name: str, colour: str, axis: str, horizontal: bool, **extra
) -> go.Bar:
    value_axis, label_axis = ("x", "y") if horizontal else ("y", "x")
    error = dict(
        type="data",
        array=[e.high - e.value for e in estimates],
        arrayminus=[e.value - e.low for e in estimates],
        color="#333333",
        thickness=1.5,
    )
    return go.Bar(
        **{label_axis: labels, value_axis: [e.value for e in estimates], f"error_{value_axis}": error},
        name=name,
        orientation="h" if horizontal else "v",
        offsetgroup=name,
        marker_color=colour,
        xaxis=f"x{axis}",
        yaxis=f"y{axis}",
        customdata=[[e.low, e.high] for e in estimates],
        hovertemplate=f"%{{{label_axis}}}, {name}: %{{{value_axis}:.2f}}"
        "<br>95% interval %{customdata[0]:.2f}–%{customdata[1]:.2f}<extra></extra>",
        **extra,
    )


def _interval_labels(
    labels: list[str], estimates: list[Estimate], name: str, axis: str, horizontal: bool
) -> go.Scatter:
    """``interval_text`` of each bar, just past the end of its error bar. It shares the offset
    group ``name`` with its bars, so in grouped bars each label sits over its own bar (the
    figure's layout needs ``scattermode="group"``)."""
    value_axis, label_axis = ("x", "y") if horizontal else ("y", "x")
    gap = "\u2002" if horizontal else ""  # an en space: clear of the error bar's cap
    return go.Scatter(
        **{label_axis: labels, value_axis: [e.high for e in estimates]},
        text=[gap + interval_text(e, stacked=not horizontal) for e in estimates],
        mode="text",
        textposition="middle right" if horizontal else "top center",
        textfont=INTERVAL_FONT,
        orientation="h" if horizontal else "v",
        offsetgroup=name,
        xaxis=f"x{axis}",
        yaxis=f"y{axis}",
        showlegend=False,
        hoverinfo="skip",
    )


def _plain_bars(labels: list[str], values: list[float], name: str, colour: str, axis: str = "", **extra) -> go.Bar:
    """Bars without intervals (the study's figures), each figure written at the bar's foot."""
    return go.Bar(
        x=labels,
        y=values,
        name=name,
        offsetgroup=name,
        marker_color=colour,
        xaxis=f"x{axis}",
        yaxis=f"y{axis}",
        texttemplate="%{y:.2f}",
        textposition="inside",
        insidetextanchor="start",
        textangle=0,
        textfont=INTERVAL_FONT,
        hovertemplate=f"%{{x}}, {name}: %{{y:.2f}}<extra></extra>",
        **extra,
    )


def _chance(axis: str = "", label: str = "chance (0.5)", show: bool = True, horizontal: bool = False) -> list:
    """A dotted line at 0.5 across a panel (down it when ``horizontal``), named in the legend
    rather than written over the bars."""
    across = dict(xref=f"x{axis} domain", yref=f"y{axis}", x0=0, x1=1, y0=0.5, y1=0.5)
    down = dict(xref=f"x{axis}", yref=f"y{axis} domain", x0=0.5, x1=0.5, y0=0, y1=1)
    shape = dict(type="line", line=_DOTTED, **(down if horizontal else across))
    legend = go.Scatter(
        x=[None], y=[None], mode="lines", line=_DOTTED, name=label, legendgroup="chance", showlegend=show
    )
    return [shape, legend]


def holdout_metrics(meta: RunMeta, ours: str) -> go.Figure:
    """Accuracy (top) and ROC-AUC (below) of every model of a run, with one legend: this run with
    its 95% bootstrap intervals written over each bar, beside the study's own figures where it
    had the model. One panel above the other, so every bar is wide enough for its label."""
    models = meta.models
    order = [DISPLAY_NAMES[m] for m in models]
    study = [m for m in models if m in STUDY_RESULTS]  # the study had no pretrained model
    traces, shapes, layout = [], [], {}
    top, bottom = _domains(2, 0.14)[::-1]
    for row, (metric, key, index, domain) in enumerate(
        (("accuracy", "accuracy", 0, top), ("ROC-AUC", "roc_auc", 1, bottom))
    ):
        first, axis = row == 0, "" if row == 0 else "2"
        estimates = {m: getattr(meta.metrics[m], key) for m in models}
        known = [m for m in models if estimates[m].value is not None]
        traces += _interval_bars(
            [DISPLAY_NAMES[m] for m in known],
            [estimates[m] for m in known],
            ours,
            OURS,
            axis,
            legendgroup="ours",
            showlegend=first,
        )
        traces.append(
            _plain_bars(
                [DISPLAY_NAMES[m] for m in study],
                [STUDY_RESULTS[m][index] for m in study],
                STUDY_LABEL,
                STUDY,
                axis,
                legendgroup="study",
                showlegend=first,
            )
        )
        shape, legend = _chance(axis, show=first)
        shapes.append(shape)
        traces.append(legend)
        layout[f"xaxis{axis}"] = dict(anchor=f"y{axis}", categoryorder="array", categoryarray=order)
        layout[f"yaxis{axis}"] = dict(title=metric, domain=domain, anchor=f"x{axis}", **UNIT_RANGE)
    return figure(
        traces,
        "Accuracy and ROC-AUC on the holdout split",
        height=720,
        legend=dict(LEGEND_BELOW, y=-0.08),
        barmode="group",
        scattermode="group",
        bargap=0.2,
        bargroupgap=0.05,
        shapes=shapes,
        **layout,
    )


def roc_and_reliability(meta: RunMeta) -> go.Figure:
    """ROC curves and the reliability of the calibrated probabilities, one colour and one
    legend entry per model for both panels."""
    traces = []
    for model in meta.models:
        metrics, colour, name = meta.metrics[model], MODEL_COLOURS.get(model), DISPLAY_NAMES[model]
        auc = metrics.roc_auc.value
        label = f"{name} (AUC {auc:.2f})" if auc is not None else f"{name} (AUC n/a)"
        curve = metrics.roc_curve
        traces.append(
            go.Scatter(
                x=curve["fpr"],
                y=curve["tpr"],
                mode="lines",
                name=label,
                legendgroup=model,
                # the dummy's curve is the chance diagonal: dotted like it, or it hides the dots
                line=dict(color=colour, dash="dot" if model == "dummy" else "solid"),
                hovertemplate=f"{name}: false positive rate %{{x:.2f}}, true positive rate %{{y:.2f}}<extra></extra>",
            )
        )
        reliability = metrics.reliability
        traces.append(
            go.Scatter(
                x=reliability["predicted"],
                y=reliability["observed"],
                mode="lines+markers",
                name=label,
                legendgroup=model,
                showlegend=False,
                line=dict(color=colour),
                xaxis="x2",
                yaxis="y2",
                hovertemplate=f"{name}: predicted %{{x:.2f}}, observed %{{y:.2f}}<extra></extra>",
            )
        )
    left, right = _domains(2, 0.1)
    diagonals = [dict(type="line", xref=f"x{a}", yref=f"y{a}", x0=0, y0=0, x1=1, y1=1, line=_DOTTED) for a in ("", "2")]
    return figure(
        traces,
        "",
        height=460,
        legend=LEGEND_BELOW,
        shapes=diagonals,
        annotations=[
            _panel_title("ROC curves (dotted: chance)", left, 1.02),
            _panel_title("Reliability of calibrated probabilities (dotted: perfect)", right, 1.02),
        ],
        xaxis=dict(domain=left, title="false positive rate", range=[0, 1]),
        yaxis=dict(title="true positive rate", range=[0, 1.02]),
        xaxis2=dict(domain=right, anchor="y2", title="predicted probability of popular", range=[0, 1]),
        yaxis2=dict(anchor="x2", title="observed share popular", range=[0, 1.02]),
    )


def confusion_matrices(meta: RunMeta, per_row: int = 3) -> go.Figure:
    """One matrix per model, ``per_row`` to a row: actual class down, predicted across,
    counts in the cells; every matrix on the same colour scale (0 to the holdout's size)."""
    models = meta.models
    rows = -(-len(models) // per_row)
    classes = ["not popular", "popular"]
    row_height, title_px, axis_px = 190, 30, 55
    height = rows * (row_height + title_px + axis_px) + 20
    columns, traces, annotations, layout = _domains(per_row, 0.06), [], [], {}
    for i, model in enumerate(models):
        row, column = divmod(i, per_row)
        top = 1 - (row * (row_height + title_px + axis_px) + title_px) / height
        y_domain = [top - row_height / height, top]
        axis = "" if i == 0 else str(i + 1)
        matrix = meta.metrics[model].confusion
        traces.append(
            go.Heatmap(
                z=matrix,
                x=classes,
                y=classes,
                text=matrix,
                texttemplate="%{text}",
                textfont=dict(size=18),
                colorscale="Blues",
                zmin=0,
                zmax=meta.metrics[model].n,
                showscale=False,
                xaxis=f"x{axis}",
                yaxis=f"y{axis}",
                hovertemplate="actual %{y}, predicted %{x}: %{z} tracks<extra></extra>",
            )
        )
        layout[f"xaxis{axis}"] = dict(
            domain=columns[column], anchor=f"y{axis}", title=dict(text="predicted", standoff=8)
        )
        layout[f"yaxis{axis}"] = dict(
            domain=y_domain,
            anchor=f"x{axis}",
            autorange="reversed",
            showticklabels=column == 0,
            title=dict(text="actual" if column == 0 else "", standoff=6),
        )
        annotations.append(_panel_title(DISPLAY_NAMES[model], columns[column], top + 4 / height))
    return figure(traces, "", height=height, annotations=annotations, **layout)


SPLIT_COLOURS = (BLUE, ORANGE, "#54A24B")


def split_comparison(metas: dict[str, RunMeta]) -> go.Figure:
    """ROC-AUC of each model in runs that differ in their split (split name -> run meta), one
    bar per run, models down the side: a horizontal bar has room for its figure and interval
    written after it, however many runs are compared."""
    models = [m for m in MODEL_NAMES if any(m in meta.models for meta in metas.values())]
    traces = []
    for (split, meta), colour in zip(metas.items(), SPLIT_COLOURS, strict=False):
        known = [m for m in meta.models if meta.metrics[m].roc_auc.value is not None]
        traces += _interval_bars(
            [DISPLAY_NAMES[m] for m in known],
            [meta.metrics[m].roc_auc for m in known],
            f"{split} split",
            colour,
            horizontal=True,
        )
    shape, legend = _chance(horizontal=True)
    return figure(
        [*traces, legend],
        "ROC-AUC by split: a random split lets songs and artists leak across the split",
        height=22 * len(models) * len(metas) + 40 * len(models) + 150,
        legend=LEGEND_BELOW,
        barmode="group",
        scattermode="group",
        shapes=[shape],
        xaxis=dict(title="holdout ROC-AUC", **UNIT_RANGE),
        yaxis=dict(
            categoryorder="array", categoryarray=[DISPLAY_NAMES[m] for m in models], autorange="reversed", title=""
        ),
    )


# Holdout results of the models on top of the audio verdict (issue 14).


def context_comparison(metas: dict[str, RunMeta]) -> go.Figure:
    """Holdout ROC-AUC of the audio model that fed the audio + context model, beside the audio
    + context model itself, for each split's run (split name -> run meta), with 95% intervals."""
    labels = [
        f"{split} split<br>(fed by {DISPLAY_NAMES[meta.context_audio_model or '']})" for split, meta in metas.items()
    ]
    audio = [meta.metrics[meta.context_audio_model or ""].roc_auc for meta in metas.values()]
    context = [meta.metrics["context"].roc_auc for meta in metas.values()]
    traces = [
        trace
        for name, estimates, colour in (
            ("audio only", audio, BLUE),
            ("audio + artist context", context, MODEL_COLOURS["context"]),
        )
        for trace in _interval_bars(
            [label for label, e in zip(labels, estimates, strict=True) if e.value is not None],
            [e for e in estimates if e.value is not None],
            name,
            colour,
        )
    ]
    shape, legend = _chance()
    return figure(
        [*traces, legend],
        "Holdout ROC-AUC: the audio model alone and with the artist's context",
        height=420,
        legend=LEGEND_BELOW,
        barmode="group",
        scattermode="group",
        shapes=[shape],
        yaxis=dict(title="ROC-AUC", **UNIT_RANGE),
        xaxis=dict(categoryorder="array", categoryarray=labels),
    )


def predicted_vs_actual(regression: dict, half_width: float, scale_label: str) -> go.Figure:
    """Each holdout track's predicted popularity against its actual one
    (``core.popularity.regression_metrics``' points), with the diagonal (a perfect prediction)
    and the band of the prediction interval around it (``half_width`` either side)."""
    points = regression["points"]
    level = regression["nominal_coverage"]
    q = min(half_width, 100.0)
    edge = [0.0, 100.0]
    band = go.Scatter(  # between actual = predicted - q and predicted + q, within the 0-100 square
        x=[0.0, 0.0, 100 - q, 100.0, 100.0, q],
        y=[0.0, q, 100.0, 100.0, 100 - q, 0.0],
        fill="toself",
        fillcolor="rgba(76, 120, 168, 0.15)",
        mode="lines",
        line=dict(width=0),
        name=f"{level:.0%} prediction interval (±{q:.0f})",
        hoverinfo="skip",
    )
    diagonal = go.Scatter(x=edge, y=edge, mode="lines", line=_DOTTED, name="perfect prediction", hoverinfo="skip")
    tracks = go.Scatter(
        x=points["predicted"],
        y=points["actual"],
        mode="markers",
        name="holdout track",
        marker=dict(size=7, color=BLUE, opacity=0.7),
        hovertemplate="predicted %{x:.0f}, actual %{y:.0f}<extra></extra>",
    )
    return figure(
        [band, diagonal, tracks],
        "Predicted vs actual popularity on the holdout",
        height=440,
        legend=LEGEND_BELOW,
        xaxis=dict(title=f"predicted popularity ({scale_label})", range=[0, 100]),
        yaxis=dict(title="actual popularity", range=[0, 100]),
    )
