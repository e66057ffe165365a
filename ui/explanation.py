"""An explanation drawn on the musical grid it was computed on: bars across, the five named
bands down, every cell the same size whatever its width in mel rows (sub-bass is one or two
rows of a spectrogram but matters as much as the low mids), coloured by its weight; and the
Score page's section that explains the chosen song's best 30 s with it (``section``)."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.audio.bands import BANDS
from core.audio.features import log_mel
from core.config import SAMPLE_RATE, FeaturePreset
from core.errors import HitlensError
from core.learning.architectures import DISPLAY_NAMES, PRETRAINED_MODEL
from core.songs.explain import Explanation, audible_seconds, describe, region_audio
from core.wording import (
    SYNTHETIC_VERDICTS,
    cell_name,
    explanation_stability,
    holdout_auc,
    no_stable_explanation,
    time_cells_origin,
)
from ui import charts, songs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from core.learning.registry import Estimate, RunMeta
    from core.songs.scoring import ScoreResult

WEIGHT_COLOURS = "RdBu_r"  # red: toward popular, blue: away, white: no effect
UNSTABLE_COLOURS = "Greys"  # an explanation with no stable cell: sizes only, no direction to read


def shown_weights(explanation: Explanation) -> tuple[np.ndarray, str, float, float, str]:
    """(weights as bands x time cells, colour scale, lowest, highest, colour bar title): signed
    red and blue when the explanation is stable, else their sizes in grey."""
    weights, _, _ = weight_grid(explanation)
    limit = float(np.abs(weights).max() or 1.0)
    if explanation.stable:
        return weights, WEIGHT_COLOURS, -limit, limit, "weight (+ toward popular)"
    return np.abs(weights), UNSTABLE_COLOURS, 0.0, limit, "size of weight (not stable)"


def weight_grid(explanation: Explanation) -> tuple[np.ndarray, list[str], list[str]]:
    """(weights as bands x time cells, time labels, band labels): lowest band first."""
    bands = len(BANDS)
    times = len(explanation.cells) // bands
    weights = np.asarray(explanation.weights).reshape(times, bands).T
    labels = [explanation.cells[t * bands].time_label.removeprefix("bar ") for t in range(times)]
    return weights, labels, [band.label for band in BANDS]


def region_ranks(explanation: Explanation, count: int = 3) -> dict[int, str]:
    """Cell index -> "+1", "+2", ... for the strongest pushes and "-1", ... for the pulls:
    the labels the region list and the grid share."""
    ranks = {}
    for sign, mark in ((+1, "+"), (-1, "−")):
        for rank, (cell, _) in enumerate(explanation.top(sign, count), 1):
            ranks[cell.index] = f"{mark}{rank}"
    return ranks


def grid_figure(explanation: Explanation, title: str) -> go.Figure:
    """The grid coloured by weight; greyed, with no ranks, when nothing in it is stable."""
    _, times, bands = weight_grid(explanation)
    weights, colours, low, high, legend = shown_weights(explanation)
    ranks = region_ranks(explanation)
    band_count = len(BANDS)
    text = [[ranks.get(t * band_count + b, "") for t in range(len(times))] for b in range(band_count)]
    spans = [
        [
            f"{explanation.cells[t * band_count].start_s:.1f}-{explanation.cells[t * band_count].end_s:.1f} s"
            for t in range(len(times))
        ]
        for _ in range(band_count)
    ]
    unit = cell_name(explanation.time_unit)
    when = "bar %{x} (%{customdata})" if explanation.time_unit == "bar" else "%{customdata}"  # other labels are times
    start = explanation.cells[0].start_s
    trace = go.Heatmap(
        z=weights,
        x=times,
        y=bands,
        colorscale=colours,
        zmin=low,
        zmax=high,
        xgap=2,
        ygap=2,
        text=text,
        texttemplate="%{text}",
        textfont=dict(size=14),
        customdata=spans,
        colorbar=dict(title=dict(text=legend.replace(" (", "<br>("))),
        hovertemplate=f"{when}<br>%{{y}}<br>weight %{{z:.3f}}<extra></extra>",
    )
    return charts.figure(
        [trace],
        title,
        height=330,
        margin=dict(t=50),
        xaxis=dict(
            title=f"{unit} of the best 30 s (which starts {start:.0f} s into the song)",
            type="category",
            tickangle=0,
        ),
        yaxis=dict(title="", type="category"),
    )


def region_lines(explanation: Explanation, count: int = 3) -> dict[int, list[str]]:
    """For +1 (toward popular) and -1 (away): the described top regions with their grid mark."""
    ranks = region_ranks(explanation, count)
    return {
        sign: [f"{ranks[cell.index]} {describe(cell, weight)}" for cell, weight in explanation.top(sign, count)]
        for sign in (+1, -1)
    }


def figure_png(draw: Callable[[], Figure]) -> bytes:
    """The figure ``draw`` returns, as PNG bytes: the page passes the drawing, not the figure,
    so it is drawn only when the download is clicked (on Streamlit's download thread)."""
    buffer = io.BytesIO()
    draw().savefig(buffer, format="png")
    return buffer.getvalue()


def explanation_figure(
    explanation: Explanation,
    spectrogram: np.ndarray,
    times: np.ndarray,
    preset: FeaturePreset,
    title: str,
    notes: Sequence[str] = (),
) -> Figure:
    """The grid, the spectrogram with named bands, the region list and ``notes`` under it
    (which run and model, and the warnings the page shows beside the verdict), in one figure
    that still says what it is when shared on its own (matplotlib: plotly's image export needs
    a browser engine this app does not ship). A ``Figure`` of its own, not pyplot's shared
    state, as it is drawn on a thread of Streamlit's."""
    from matplotlib.figure import Figure

    _, time_labels, bands = weight_grid(explanation)
    weights, colours, low, high, legend = shown_weights(explanation)
    lines = region_lines(explanation)
    figure = Figure(figsize=(12, 10), dpi=110, layout="constrained")
    top, bottom, panel = figure.subplots(3, 1, gridspec_kw=dict(height_ratios=[3, 4, 2.6]))
    image = top.imshow(weights, origin="lower", aspect="auto", cmap=colours, vmin=low, vmax=high)
    top.set_xticks(range(len(time_labels)), time_labels)
    top.set_yticks(range(len(bands)), bands)
    ranks = region_ranks(explanation)
    for index, mark in ranks.items():
        top.text(index // len(BANDS), index % len(BANDS), mark, ha="center", va="center", fontsize=10, weight="bold")
    top.set(
        title=title,
        xlabel=f"{cell_name(explanation.time_unit)} of the best 30 s "
        f"(which starts {explanation.cells[0].start_s:.0f} s into the song)",
    )
    figure.colorbar(image, ax=top, label=legend)

    extent = [times[0], times[-1], 0, spectrogram.shape[0]]
    picture = bottom.imshow(
        spectrogram,
        origin="lower",
        aspect="auto",
        cmap=charts.SPECTROGRAM_COLOURS.lower(),
        extent=extent,
        vmin=charts.SPECTROGRAM_DB[0],
        vmax=charts.SPECTROGRAM_DB[1],
    )
    rows, names, _ = charts.band_ticks(preset, rows_per_label=preset.n_mels / 14)
    bottom.set_yticks(rows, names)
    bottom.set(xlabel="time in the song (s)", title="Spectrogram of the same window")
    figure.colorbar(picture, ax=bottom, label="dB")

    panel.axis("off")
    text = (
        [
            "Pushes toward popular:",
            *(lines[+1] or ["no stable region"]),
            "Pulls away from popular:",
            *(lines[-1] or ["no stable region"]),
        ]
        if explanation.stable
        else [no_stable_explanation(explanation.method)]
    )
    panel.text(0, 1, "\n".join([*text, "", *notes]), va="top", family="monospace", fontsize=9, wrap=True)
    return figure


# What the page draws under the grid: finer than the fast preset's 0.19 s frames, and in dB
# whatever the model's own input is (musicnn's is log-compressed mel energy, not dB).
DISPLAY = FeaturePreset("display", n_mels=96, n_fft=2048, hop_length=1024)


def audible_spectrogram(window: np.ndarray, start_s: float) -> tuple[np.ndarray, np.ndarray, FeaturePreset]:
    """The dB spectrogram of the window starting ``start_s`` into the song, cut where the song
    ends (no padding drawn), with each frame's time in the song."""
    values = log_mel(window[: DISPLAY.clip_samples], DISPLAY)
    seconds_per_frame = DISPLAY.hop_length / DISPLAY.sample_rate
    frames = min(values.shape[1], int(np.ceil(audible_seconds(window, DISPLAY) / seconds_per_frame)) + 1)
    return values[:, :frames], start_s + np.arange(frames) * seconds_per_frame, DISPLAY


def region_players(explanation: Explanation, window: np.ndarray, start_s: float, count: int = 3) -> None:
    """The top regions each way, each with its bar as it is and with only its band, cut from
    the explained ``window`` that starts ``start_s`` into the song."""
    if not explanation.stable:
        st.info(no_stable_explanation(explanation.method))
        return
    left, right = st.columns(2)
    ranks = region_ranks(explanation, count)
    for column, sign, heading in ((left, +1, "Pushes toward popular"), (right, -1, "Pulls away from popular")):
        column.markdown(f"**{heading}**")
        top = explanation.top(sign, count)
        if not top:
            column.caption("No stable region pulls this way.")
        for cell, weight in top:
            column.markdown(f"**{ranks[cell.index]}** {describe(cell, weight)}")
            whole, band_only = region_audio(window, cell, offset_s=start_s)
            if whole.size:
                play, isolate = column.columns(2)
                play.caption("the bar")
                play.audio(whole, sample_rate=SAMPLE_RATE)
                isolate.caption(f"only the {cell.band}")
                isolate.audio(band_only, sample_rate=SAMPLE_RATE)


def section(
    home: str,
    run_id: str,
    meta: RunMeta,
    model: str,
    auc: Estimate,
    upload: songs.Upload,
    result: ScoreResult,
    window: np.ndarray,
) -> None:
    """The Score page's "What drives the verdict" for ``upload``, scored by ``model`` of run
    ``run_id`` (``auc``: its holdout ROC-AUC, named in the PNG): the grid over the best 30 s
    (``window``), its spectrogram, the regions to hear and the PNG to download. A withheld
    verdict gets no explanation, only why; a failed one stops the page with its reason."""
    st.subheader("What drives the verdict")
    if not result.in_domain:
        st.info(
            "No explanation: the verdict is withheld, and what moves a model's guess outside the music it learned "
            "from says nothing about your song."
        )
        return
    start, end = result.best_window
    method = "occlusion (each cell silenced in turn)" if model == PRETRAINED_MODEL else "LIME (1,000 samples)"
    try:
        with st.spinner(f"Explaining the best 30 s with {method}…"):
            explained = songs.explanation(home, run_id, model, upload.sha256, start, _window=window)
    except HitlensError as problem:
        st.error(str(problem))
        st.stop()

    grid_title = (
        f"Each {cell_name(explained.time_unit)} and band of the best 30 s: red pushes toward popular, blue away"
        if explained.stable
        else "No stable explanation: the weights' sizes, greyed (not findings)"
    )
    st.plotly_chart(grid_figure(explained, grid_title), width="stretch")
    spectrogram, times, preset = audible_spectrogram(window, start)
    st.plotly_chart(
        charts.spectrogram(spectrogram, preset, "Spectrogram of the best 30 s", start_s=start), width="stretch"
    )
    st.caption(
        f"{explanation_stability(explained.stability, explained.method)}. Time cells are "
        f"{time_cells_origin(explained.time_unit)}"
        + ("; the marks +1, +2, … and −1, −2, … match the lists below." if explained.stable else ".")
    )
    region_players(explained, window, start)
    cautions = [f"WARNING: {SYNTHETIC_VERDICTS}"] if meta.synthetic else []  # said in the PNG too
    png = functools.partial(  # drawn when clicked: it took longer than the explanation it shows
        figure_png,
        functools.partial(
            explanation_figure,
            explained,
            spectrogram,
            times,
            preset,
            f"{upload.label}: {result.verdict} ({result.probability:.0%}), best 30 s {start:.0f}-{end:.0f} s",
            [
                f"Scored with {DISPLAY_NAMES[model]} of run {meta.id} ({meta.split} split; {holdout_auc(auc)}).",
                *cautions,
            ],
        ),
    )
    st.download_button("Download the explanation (PNG)", png, f"{upload.stem}-explanation.png", "image/png")
