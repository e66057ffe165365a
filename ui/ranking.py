"""The Score page's ranking: every song on the list scored (cached per content), ranked with
the songs that get a verdict first, as a table and a CSV, and the song shown below it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from ui import songs

if TYPE_CHECKING:
    from core.pretrained.similarity import Domain, SongProfile
    from core.songs.scoring import ScoreResult


def score_all(
    home: str, run_id: str, model: str, files: list[songs.Upload], stamp: int, domain: Domain
) -> dict[str, songs.Scored]:
    """Each upload's score by its label, with ``model`` of run ``run_id``, judged against the
    run's ``domain`` (``stamp``: the embedding cache's, which the domain follows)."""
    results = {}
    with st.status(f"Scoring {len(files)} file(s)…", expanded=False) as status:
        for song in files:
            status.update(label=f"Scoring and listening to {songs.plain(song.label)}…")
            results[song.label] = songs.score_upload(
                home, run_id, model, song.sha256, stamp, song.name, _source=song.path, _domain=domain
            )
        status.update(label=f"Scored {len(files)} file(s)", state="complete")
    return results


def table(results: dict[str, songs.Scored]) -> pd.DataFrame:
    """One row per scored upload (``results`` is keyed by the upload's label): songs with a
    verdict first, most probable first, then the withheld ones (their probability is no rank)."""
    rows = [
        {
            "file": name,
            "verdict": s.result.verdict,
            "probability": s.result.probability,
            "percentile": s.result.percentile,
            "best 30 s": f"{s.result.best_window[0]:.0f}-{s.result.best_window[1]:.0f} s",
            "withheld": not s.result.in_domain,
        }
        for name, s in results.items()
        if s.result is not None
    ]
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).sort_values(["withheld", "probability"], ascending=[True, False]).drop(columns="withheld")


def section(results: dict[str, songs.Scored]) -> pd.DataFrame:
    """Say why each file that could not be scored was not, then draw the ranking and offer its
    CSV; returns the ranking (empty, and nothing drawn, when no file could be scored)."""
    for scored in results.values():
        if scored.error:
            st.error(songs.plain(scored.error))
    ranked = table(results)
    if ranked.empty:
        return ranked
    st.subheader("Ranking")
    st.dataframe(
        songs.as_shown(ranked),  # shown as 63%, as everywhere else; the CSV keeps 0.6299
        hide_index=True,
        column_config={
            "verdict": st.column_config.TextColumn(
                "verdict", help="'withheld': the song is unlike the music the run learned from, so it gets no verdict."
            ),
            "probability": st.column_config.ProgressColumn(
                "model's probability",
                help="The chosen model's calibrated probability (for a withheld song only in the CSV and its details).",
                format="%.0f%%",
                min_value=0,
                max_value=100,
            ),
            "percentile": st.column_config.TextColumn(
                "percentile",
                help="The song's probability is higher than this share of the catalog's held-out tracks "
                "(none for a withheld song).",
            ),
        },
    )
    st.download_button("Download the ranking (CSV)", ranked.to_csv(index=False), "hitlens-ranking.csv", "text/csv")
    return ranked


def chosen_song(
    files: list[songs.Upload], results: dict[str, songs.Scored], ranked: pd.DataFrame, opened: str | None
) -> tuple[songs.Upload, ScoreResult, SongProfile | str]:
    """The song box over the ``ranked`` songs, on ``opened`` (the sha256 of a song reopened
    from the history) when given: the chosen upload, its score and what musicnn hears in it (or
    why it could not run)."""
    if opened:  # show the reopened song
        st.session_state["score-song"] = next((u.label for u in files if u.sha256 == opened), None)
    choice = st.selectbox("Song", ranked["file"].tolist(), key="score-song")
    scored = results[choice]
    assert scored.result is not None and scored.profile is not None, "the ranking lists scored songs only"
    return next(u for u in files if u.label == choice), scored.result, scored.profile
