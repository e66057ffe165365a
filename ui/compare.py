"""The Score page's comparison of two versions of one song (issue 14, item 5): two of the
session's uploads compared by ``core.songs.compare`` with the page's model, as ``python -m core
compare`` does. The last result is kept in the session, so it is still there after a visit to
another page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.errors import HitlensError
from core.learning.architectures import DISPLAY_NAMES
from core.learning.popularity import ContextModels
from core.wording import SYNTHETIC_VERDICTS, noise_verdict, offset_words, popularity_difference
from ui import charts, songs

if TYPE_CHECKING:
    from core.learning.registry import RunMeta
    from core.pretrained.similarity import Domain

KEPT = "compare-result"
"""Session key of the last comparison: ``pair`` (run, model, A's and B's content hashes),
``labels`` (A's and B's names on the page) and either ``result`` (``Comparison.as_dict()``)
or ``error`` (one line)."""


def section(home: str, run_id: str, meta: RunMeta, model: str, uploads: list[songs.Upload], domain: Domain) -> None:
    """Pick A and B among ``uploads``, compare them on a click, and show the comparison; a
    divider under it sets it apart from the chosen song's details that follow. ``domain``:
    the run's, to say when both probabilities are extrapolations."""
    st.subheader("Compare two versions of one song")
    _section(home, run_id, meta, model, uploads, domain)
    st.divider()


def _section(home: str, run_id: str, meta: RunMeta, model: str, uploads: list[songs.Upload], domain: Domain) -> None:
    if len(uploads) < 2:
        st.caption(
            "Upload two mixes or edits of one song above (another intro is fine) to compare them here: which one "
            "the model prefers, whether the difference is beyond the model's own noise, and what changed."
        )
        return
    kept = st.session_state.get(KEPT)
    labels = [u.label for u in uploads]
    hashes = [u.sha256 for u in uploads]
    first, second = len(uploads) - 2, len(uploads) - 1  # the two newest uploads
    if kept and kept["pair"][2] in hashes and kept["pair"][3] in hashes:  # back from another page
        first, second = hashes.index(kept["pair"][2]), hashes.index(kept["pair"][3])
    left, right = st.columns(2)
    label_a = left.selectbox("Version A (the reference)", labels, index=first, key="compare-a")
    label_b = right.selectbox("Version B (differences are B minus A)", labels, index=second, key="compare-b")
    a, b = uploads[labels.index(label_a)], uploads[labels.index(label_b)]
    pair = (run_id, model, a.sha256, b.sha256)
    if a.sha256 == b.sha256:
        st.info("A and B are the same file: pick two different versions.")
        return
    if st.button("Compare A and B", type="primary"):
        st.session_state[KEPT] = {
            "pair": pair,
            "labels": (a.label, b.label),
            **_compare(home, meta, model, a, b, domain),
        }
        kept = st.session_state[KEPT]
    if not kept or kept["pair"] != pair:
        st.caption(
            f"Scores both on the same aligned 30 s windows with {DISPLAY_NAMES[model]}, measures the model's own noise "
            "on re-encoded copies of A and explains the best window of each: from seconds to a few minutes "
            "(musicnn on whole songs is the slowest), with a bar that shows how far it is."
        )
        return
    if kept.get("error"):
        st.error(kept["error"])
        return
    _show(kept["result"], kept["labels"], meta)


def _compare(home: str, meta: RunMeta, model: str, a: songs.Upload, b: songs.Upload, domain: Domain) -> dict:
    """``{"result": ...}`` or ``{"error": one line}``, with a progress bar while it runs."""
    from core.songs.compare import compare as compare_versions
    from core.songs.compare import load_versions

    holder = st.empty()  # the progress bar, gone once the comparison is done or refused
    bar = holder.progress(0.0, text=f"Decoding and aligning {songs.plain(a.label)} and {songs.plain(b.label)}…")

    def on_progress(done: int, total: int) -> None:
        bar.progress(
            done / total,
            text=f"Comparing: {done} of {total} model passes done (both versions, four re-encoded copies of A for "
            "the model's noise, then the best window of each explained)…",
        )

    try:
        versions = load_versions(a.path, b.path, name_a=a.name, name_b=b.name)
        scorer = songs.scorer(home, meta.id, model)
        on_top = ContextModels.of(meta)
        feeding = None
        if on_top is not None and on_top.audio_regressor is not None and on_top.audio_model != model:
            feeding = songs.scorer(home, meta.id, on_top.audio_model)  # the regression learned from its probability
        bar.progress(0.0, text="Comparing: scoring both versions…")
        result = compare_versions(
            scorer, versions, on_top=on_top, feeding=feeding, on_progress=on_progress, domain=domain
        )
    except HitlensError as problem:
        return {"error": songs.plain(str(problem))}
    finally:
        holder.empty()
    return {"result": result.as_dict()}


def _show(result: dict, labels: tuple[str, str], meta: RunMeta) -> None:
    """The comparison: alignment, probabilities against noise, popularity, windows, what changed."""
    name = DISPLAY_NAMES.get(result["model"], result["model"])
    if meta.synthetic:
        st.caption(f"**Trained on the synthetic demo catalog.** {SYNTHETIC_VERDICTS}")
    st.markdown(
        f"**A:** {songs.plain(labels[0])} ({result['duration_a_s']:.1f} s) · **B:** {songs.plain(labels[1])} "
        f"({result['duration_b_s']:.1f} s) — aligned at **{result['alignment']:.2f}** (1 is the same sound): "
        f"{offset_words(result['offset_s'])}; compared over the **{result['overlap_s']:.1f} s** both cover."
    )
    if result["coverage_note"]:
        st.warning(result["coverage_note"])
    if result["in_domain"] is False:
        st.warning(
            f"Both probabilities are extrapolations, so read the difference as a guess: {result['domain_reason']}"
        )
    columns = st.columns(4)
    # A change within noise is shown neither up nor down.
    colour: Literal["normal", "off"] = "normal" if result["beyond_noise"] else "off"
    columns[0].metric(f"A ({name})", f"{result['probability_a']:.0%}")
    columns[1].metric(
        f"B ({name})",
        f"{result['probability_b']:.0%}",
        delta=f"{100 * result['difference']:+.1f} points",
        delta_color=colour,
    )
    popularity_a, popularity_b = result["predicted_popularity_a"], result["predicted_popularity_b"]
    if popularity_a is not None and popularity_b is not None:
        columns[2].metric("Predicted popularity A", f"{popularity_a['value']:.1f}")
        columns[3].metric(
            "Predicted popularity B",
            f"{popularity_b['value']:.1f}",
            delta=f"{result['popularity_difference']:+.1f}",
            delta_color=colour,
        )
    st.info(noise_verdict(result))  # not green for "beyond noise": B may be the worse one
    st.markdown(popularity_difference(result))
    st.caption(f"The model's own noise: {result['noise_method']}.")
    st.plotly_chart(window_figure(result, labels, meta.synthetic), width="stretch")
    start, end = result["best_window"]
    st.markdown(
        f"**What changed** in the best 30 s ({start:.0f}-{end:.0f} s of A), by {result['explanation_method']}: "
        "the bars x bands whose weight changed most, B minus A (positive: pushes B more toward popular)."
        + (
            ""
            if result["beyond_noise"]
            else " The verdicts differ by no more than the model's noise, so read these as noise too."
        )
    )
    st.dataframe(
        regions_table(result["regions_changed"]),
        hide_index=True,
        column_config={
            column: st.column_config.NumberColumn(format="%+.4f") for column in ("weight in A", "weight in B", "change")
        },
    )
    for note in result["notes"]:
        st.warning(note)


def window_figure(result: dict, labels: tuple[str, str], synthetic: bool) -> go.Figure:
    """Each aligned 30 s window's probability in A and in B, with the best window shaded."""
    windows = result["windows"]
    starts = [w["start_s"] for w in windows]
    mode = "lines+markers" if len(windows) > 1 else "markers"
    traces = [
        go.Scatter(
            x=starts,
            y=[w[f"probability_{version.lower()}"] for w in windows],
            mode=mode,
            name=f"{version}: {label}",
            marker=dict(color=colour, size=size, symbol=symbol),
            line=dict(color=colour, dash=dash),
            customdata=[w["end_s"] for w in windows],
            hovertemplate=f"{version}, window %{{x:.0f}}-%{{customdata:.0f}} s of A: %{{y:.1%}}<extra></extra>",
        )
        # A drawn wide and open, B narrow and solid on top: where they agree, both stay visible
        for version, label, colour, size, symbol, dash in (
            ("A", labels[0], charts.GREY, 14, "circle-open", "dash"),
            ("B", labels[1], charts.BLUE, 7, "circle", "solid"),
        )
    ]
    title = "Probability of each aligned 30 s window" + (" (synthetic demo)" if synthetic else "")
    return charts.window_chart(traces, title, result["best_window"], "time in A", legend=charts.LEGEND_BELOW)


def regions_table(regions: list[dict]) -> pd.DataFrame:
    """``regions_changed`` as the artist reads it: when, which band, the weights and the change."""
    return pd.DataFrame(
        {
            "time in A": [f"{r['start_s']:.1f}-{r['end_s']:.1f} s" for r in regions],
            "band": [r["band"] for r in regions],
            "weight in A": [r["weight_a"] for r in regions],
            "weight in B": [r["weight_b"] for r in regions],
            "change": [r["weight_change"] for r in regions],
        }
    )
