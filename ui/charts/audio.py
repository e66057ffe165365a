"""Charts of sound, on the Dataset and Score pages: spectrograms and the map of the catalog."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import hex_to_rgb, sequential

from core.audio.bands import BANDS, band_rows, mel_centres_hz
from core.audio.features import FLOOR_DB
from core.config import FeaturePreset
from ui.charts.base import LEGEND_BELOW, POPULAR_COLOURS, figure

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
