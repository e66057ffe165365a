"""Plotly figures for the pages: readable on a laptop, every axis titled with its unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core.bands import mel_centres_hz
from core.config import FeaturePreset

HEIGHT = 360


def _layout(figure: go.Figure, **kwargs) -> go.Figure:
    figure.update_layout(height=kwargs.pop("height", HEIGHT), margin=dict(l=10, r=10, t=40, b=10), **kwargs)
    return figure


def popularity_histogram(tracks: pd.DataFrame, threshold: float, scale_label: str) -> go.Figure:
    figure = px.histogram(tracks, x="popularity", nbins=50, color_discrete_sequence=["#4C78A8"])
    figure.add_vline(x=threshold, line_dash="dash", line_color="crimson",
                     annotation_text=f"popular ≥ {threshold:g}", annotation_position="top right")  # fmt: skip
    return _layout(figure, title="Popularity of all tracks", xaxis_title=scale_label, yaxis_title="tracks")


def class_balance(balance: pd.DataFrame) -> go.Figure:
    figure = px.bar(balance, x="split", y="popular_share", color="part", barmode="group",
                    hover_data=["tracks"], text_auto=".0%")  # fmt: skip
    figure.update_yaxes(tickformat=".0%", range=[0, 1])
    return _layout(figure, title="Share of popular tracks per split", xaxis_title="split", yaxis_title="popular share")


def preview_comparison(tracks: pd.DataFrame) -> go.Figure:
    frame = tracks.assign(preview=np.where(tracks["preview_url"].isna(), "no preview", "with preview"))
    figure = px.histogram(frame, x="popularity", color="preview", barmode="overlay", histnorm="percent", nbins=40, opacity=0.6)
    return _layout(figure, title="Popularity with and without a preview", xaxis_title="popularity", yaxis_title="% of group")


def release_dates(tracks: pd.DataFrame) -> go.Figure:
    dates = pd.to_datetime(tracks["release_date"], errors="coerce").dropna()
    monthly = dates.dt.to_period("M").dt.to_timestamp().value_counts().sort_index()
    figure = px.bar(x=monthly.index, y=monthly.values)
    return _layout(figure, title="Releases per month", xaxis_title="release month", yaxis_title="tracks")


def artist_bars(stats: pd.DataFrame, title: str) -> go.Figure:
    figure = px.bar(stats.iloc[::-1], x="mean_popularity", y="artist", orientation="h",
                    hover_data=["tracks", "median_popularity"], text="tracks")  # fmt: skip
    figure.update_traces(texttemplate="%{text} tracks", textposition="inside")
    return _layout(figure, title=title, xaxis_title="mean popularity", yaxis_title="", height=max(HEIGHT, 24 * len(stats) + 80))


def spectrogram(values: np.ndarray, preset: FeaturePreset, title: str) -> go.Figure:
    times = np.arange(values.shape[1]) * preset.hop_length / preset.sample_rate
    figure = go.Figure(go.Heatmap(
        z=values, x=times, y=np.arange(values.shape[0]), colorscale="Magma", colorbar=dict(title="dB"),
        customdata=np.repeat(mel_centres_hz(preset)[:, None], values.shape[1], axis=1),
        hovertemplate="%{x:.1f} s, %{customdata:.0f} Hz: %{z:.0f} dB<extra></extra>",
    ))  # fmt: skip
    return _layout(figure, title=title, xaxis_title="time (s)", yaxis_title="mel band (low → high)")


def explanation_png(spectrogram: np.ndarray, weights: np.ndarray, times: np.ndarray, title: str) -> bytes:
    """The highlighted spectrogram as a PNG (matplotlib: plotly's image export needs a
    browser engine this app does not ship)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(11, 4), dpi=120)
    extent = [times[0], times[-1], 0, spectrogram.shape[0]]
    axes.imshow(spectrogram, origin="lower", aspect="auto", cmap="Greys", extent=extent)
    limit = float(np.abs(weights).max() or 1.0)
    image = axes.imshow(weights, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, alpha=0.55, extent=extent)
    figure.colorbar(image, ax=axes, label="LIME weight (+ toward popular)")
    axes.set(title=title, xlabel="time in the song (s)", ylabel="mel band (low → high)")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


POPULAR_COLOURS = {"popular": "#E45756", "not popular": "#4C78A8"}


def catalog_map(points: pd.DataFrame, threshold: float, explained: float, title: str,
                song: tuple[str, float, float] | None = None) -> go.Figure:  # fmt: skip
    """Every catalog track placed by its musicnn embedding; ``song`` (name, x, y) as a star."""
    frame = points.assign(verdict=np.where(points["popularity"] >= threshold, "popular", "not popular"))
    figure = px.scatter(frame, x="x", y="y", color="verdict", color_discrete_map=POPULAR_COLOURS, opacity=0.6,
                        hover_data={"track": True, "artist": True, "popularity": True, "x": False, "y": False, "verdict": False})  # fmt: skip
    figure.update_traces(marker=dict(size=6))
    if song is not None:
        name, x, y = song
        figure.add_trace(go.Scatter(x=[x], y=[y], mode="markers+text", text=[name], textposition="top center", name="your song",
                                    marker=dict(symbol="star", size=20, color="#F2B701", line=dict(width=1, color="black"))))  # fmt: skip
    return _layout(figure, title=title, height=460, legend_title="",
                   xaxis_title=f"PCA 1 (the two axes show {explained:.0%} of the variance)", yaxis_title="PCA 2")  # fmt: skip


def tag_bars(tags: list[dict]) -> go.Figure:
    frame = pd.DataFrame(tags).iloc[::-1]
    figure = px.bar(frame, x="probability", y="tag", orientation="h", text_auto=".0%")
    figure.update_traces(textposition="outside")
    figure.update_xaxes(tickformat=".0%", range=[0, 1])
    return _layout(figure, title="Top 10 tags (MSD musicnn, mean over the song)", xaxis_title="probability", yaxis_title="")


def tag_curves(curves: pd.DataFrame) -> go.Figure:
    long = curves.melt(id_vars="start_s", var_name="tag", value_name="probability")
    figure = px.line(long, x="start_s", y="probability", color="tag", markers=True)
    figure.update_yaxes(tickformat=".0%", range=[0, 1])
    return _layout(figure, title="Tags over time (one point per 3 s)", xaxis_title="time in the song (s)",
                   yaxis_title="probability", legend_title="")  # fmt: skip
