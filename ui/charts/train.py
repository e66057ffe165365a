"""The Train page's chart: learning curves per run and model."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.learning.architectures import DISPLAY_NAMES
from ui.charts.base import LEGEND_BELOW, MODEL_COLOURS, figure

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
