"""The Holdout page's charts: metrics with intervals beside the study, ROC and reliability,
confusion matrices, split and context comparisons, the regression. Several panels share a
figure, so that one legend serves them all and the page draws 4 charts instead of 11 (each
Plotly chart costs the browser about 0.2 s to draw)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from core.learning.architectures import DISPLAY_NAMES, MODEL_NAMES
from core.learning.evaluate import STUDY_RESULTS
from core.learning.registry import Estimate, RunMeta
from ui.charts.base import BLUE, GREY, LEGEND_BELOW, MODEL_COLOURS, ORANGE, figure

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


def _bounds(estimate: Estimate) -> tuple[float, float, float]:
    """An estimate's value, low and high, where the caller kept only estimates that have them."""
    assert estimate.value is not None and estimate.low is not None and estimate.high is not None
    return estimate.value, estimate.low, estimate.high


def _bars_with_intervals(
    labels: list[str], estimates: list[Estimate], name: str, colour: str, axis: str, horizontal: bool, **extra
) -> go.Bar:
    value_axis, label_axis = ("x", "y") if horizontal else ("y", "x")
    error = dict(
        type="data",
        array=[high - value for value, _, high in map(_bounds, estimates)],
        arrayminus=[value - low for value, low, _ in map(_bounds, estimates)],
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
    traces: list = []
    shapes: list = []
    layout: dict[str, Any] = {}
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
    columns, traces, annotations = _domains(per_row, 0.06), [], []
    layout: dict[str, Any] = {}
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
    (``core.learning.popularity.regression_metrics``' points), with the diagonal (a perfect prediction)
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
