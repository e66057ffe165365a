"""The Score page's songs: uploads kept for the session (a page switch does not lose them),
scoring and explanations cached per content, the ranking, and the scored-songs history.

What outlives a session is small. Server-wide caches are keyed by the upload's content hash
and hold verdicts, tag profiles, explanations and each song's best 30 s (2.6 MB), never the
decoded song (106 MB of samples for 20 minutes).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core.architectures import DISPLAY_NAMES
from core.config import MAX_UPLOAD_MB, SAMPLE_RATE, Settings

# What one browser session keeps in memory: the newest uploads up to this size in total.
SESSION_UPLOADS_MB = 2 * MAX_UPLOAD_MB


@dataclass(frozen=True)
class Upload:
    name: str
    sha256: str
    data: bytes
    label: str  # the name, numbered when another upload of this session has the same name


@dataclass(frozen=True)
class Scored:
    """One upload's score: ``error`` (one line) or ``result`` (``SongScore.as_dict()``) and
    the musicnn ``profile`` (or why it could not run)."""

    sha256: str
    error: str | None = None
    result: dict | None = None
    profile: object = None


def session_uploads(label: str) -> list[Upload]:
    """The uploader, and every song uploaded in this session (newest last): files stay when
    the artist visits another page and comes back, until "Clear the list"."""
    from core.history import content_hash

    kept: dict[str, tuple[str, bytes]] = st.session_state.setdefault("score-uploads", {})  # sha256 -> (name, data)
    hashed: dict[str, str] = st.session_state.setdefault("score-upload-hashes", {})  # uploader file id -> sha256
    files = st.file_uploader(
        label,
        type=["mp3", "wav", "flac", "ogg", "m4a"],
        accept_multiple_files=True,
        key=f"uploader-{st.session_state.get('uploader-round', 0)}",
    )
    for file in files or []:
        if file.size > MAX_UPLOAD_MB * 1024 * 1024:
            st.error(f"'{plain(file.name)}' is larger than {MAX_UPLOAD_MB} MB. Upload a compressed export (mp3, m4a).")
            _release_from_uploader(file.file_id)
            continue
        if file.file_id not in hashed:  # hashed once per upload, not on every rerun
            data = file.getvalue()
            hashed[file.file_id] = content_hash(data)
            kept.pop(hashed[file.file_id], None)  # the same content again moves to the end, once
            kept[hashed[file.file_id]] = (file.name, data)
            _release_from_uploader(file.file_id)
    dropped = []
    while sum(len(data) for _, data in kept.values()) > SESSION_UPLOADS_MB * 1024 * 1024 and len(kept) > 1:
        dropped.append(kept.pop(next(iter(kept)))[0])
    if dropped:
        st.caption(
            f"Kept the newest uploads ({SESSION_UPLOADS_MB} MB at most per session); "
            f"let go of: {plain(', '.join(dropped))}."
        )
    uploads = labelled(kept)
    if uploads:
        left, right = st.columns([4, 1])
        left.caption(
            f"{len(uploads)} song{'s' if len(uploads) != 1 else ''} in this session: "
            + plain(", ".join(u.label for u in uploads))
        )
        if right.button("Clear the list"):
            kept.clear()
            hashed.clear()
            st.session_state["uploader-round"] = st.session_state.get("uploader-round", 0) + 1
            st.rerun()
    return uploads


def _release_from_uploader(file_id: str) -> None:
    """Drop Streamlit's own record of an upload once this session keeps its bytes.

    Streamlit frees a session's uploaded files only when it shuts the session down, and a
    closed browser tab's session is kept for a reconnect and later dropped without a shutdown
    (Streamlit 1.67): every upload of every closed tab stayed in the server's memory. The
    session's list holds the same bytes, and goes with the session."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is not None:
        context.uploaded_file_mgr.remove_file(context.session_id, file_id)


AUDIO_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "m4a": "audio/mp4"}


def audio_type(name: str) -> str:
    """The MIME type a browser needs to play an upload as it was sent."""
    return AUDIO_TYPES.get(name.rsplit(".", 1)[-1].lower(), "audio/mpeg")


def labelled(kept: dict[str, tuple[str, bytes]]) -> list[Upload]:
    """The uploads with names that tell them apart: two different files both called
    ``mix.wav`` become ``mix.wav`` and ``mix.wav (2)``, so neither result hides the other."""
    seen: dict[str, int] = {}
    uploads = []
    for sha256, (name, data) in kept.items():
        seen[name] = seen.get(name, 0) + 1
        uploads.append(Upload(name, sha256, data, name if seen[name] == 1 else f"{name} ({seen[name]})"))
    return uploads


MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def plain(text: str) -> str:
    """``text`` (a file name) escaped so that Markdown shows it as typed: a name such as
    ``**final** [v2].mp3`` is not bold and not a link in headings, captions and error boxes."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


@st.cache_data(show_spinner="Cutting the best 30 s…", max_entries=32)
def best_window(
    sha256: str, start_s: float, end_s: float, _name: str, _data: bytes, _samples: np.ndarray | None = None
) -> np.ndarray:
    """The samples of an upload's best window: all the page plays, explains and draws. Only
    these 30 s (2.6 MB) are kept; the decoded song (up to 106 MB) is let go at once.
    ``_samples``: the decoded song, when the caller has it (scoring just decoded it), so the
    page does not decode the upload a second time."""
    from core.audio import load_audio

    samples = load_audio(_data, name=_name) if _samples is None else _samples
    return samples[int(start_s * SAMPLE_RATE) : int(end_s * SAMPLE_RATE)].copy()


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def scorer(home: str, run_id: str, model: str):
    from core.catalog import Catalog
    from core.registry import load_run
    from core.scoring import scorer_for

    settings = Settings(home=Path(home))
    with Catalog.open(settings) as catalog:
        return scorer_for(load_run(settings, catalog, run_id), model)


@st.cache_data(show_spinner=False, max_entries=64)
def score_upload(
    home: str, run_id: str, model: str, sha256: str, domain_stamp: int, _name: str, _data: bytes, _domain
) -> Scored:
    """Score one upload with the model the artist chose, judged against the run's ``_domain``
    (``domain_stamp`` changes with it), and add what the page shows to the history. Keyed by
    the upload's content hash, not its bytes: hashing megabytes on every rerun is what made
    the page slow."""
    from core.catalog import Catalog
    from core.history import record_score
    from core.scoring import score_many

    item = score_many(scorer(home, run_id, model), [(_name, _data)], _domain)[0]
    if item.error or item.score is None:
        return Scored(sha256, error=item.error)
    song = item.score
    # musicnn could not run (it is missing): the verdict is withheld and says why; the rest stands
    profile = song.profile if song.profile is not None else (song.applicability.reason if song.applicability else "")
    result = song.as_dict()
    best_window(sha256, *result["best_window"], _name, _data, _samples=song.samples)  # cut while decoded
    with Catalog.open(Settings(home=Path(home))) as catalog:
        record_score(catalog, run_id=run_id, model=model, sha256=sha256, result=result)
    return Scored(sha256, result=result, profile=profile)


@st.cache_data(show_spinner=False, max_entries=64)
def feeding_probability(home: str, run_id: str, model: str, sha256: str, _name: str, _data: bytes) -> float:
    """The calibrated probability of ``model``, the audio model a run's models on top learned
    from, when the artist chose another: an input of those models, never shown as a verdict
    and never added to the history."""
    return scorer(home, run_id, model).score(_data, _name).probability


@st.cache_data(show_spinner=False, max_entries=16)
def explanation(home: str, run_id: str, model: str, sha256: str, start_s: float, _window: np.ndarray):
    """The explanation of the best window, once per song content, run and model."""
    return scorer(home, run_id, model).explain_window(_window, start_s)


def ranking(results: dict[str, Scored]) -> pd.DataFrame:
    """One row per scored upload (``results`` is keyed by the upload's label): songs with a
    verdict first, most probable first, then the withheld ones (their probability is no rank)."""
    rows = [
        {
            "file": name,
            "verdict": s.result["verdict"],
            "probability": s.result["probability"],
            "percentile": s.result["percentile"],
            "best 30 s": f"{s.result['best_window'][0]:.0f}-{s.result['best_window'][1]:.0f} s",
            "withheld": not s.result["in_domain"],
        }
        for name, s in results.items()
        if s.result
    ]
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).sort_values(["withheld", "probability"], ascending=[True, False]).drop(columns="withheld")


def as_shown(table: pd.DataFrame) -> pd.DataFrame:
    """A ranking or history table as the page draws it: probabilities as percentages, and
    nothing beside a withheld verdict (no probability bar that would read as a score, no
    percentile, no best 30 s: each rests on the verdict); the CSV keeps every figure."""
    judged = table["verdict"] != "withheld"
    window = "best 30 s" if "best 30 s" in table else "best_window"
    return table.assign(
        probability=(100 * table["probability"]).where(judged),
        percentile=[
            f"{p:.0f}" if ok and pd.notna(p) else "—" for p, ok in zip(table["percentile"], judged, strict=True)
        ],
        **{window: table[window].where(judged, "—")},
    )


def wav_bytes(samples: np.ndarray) -> bytes:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def history(config: Settings) -> None:
    """Every song scored in this catalog, newest first; a search finds the versions of a song."""
    from core.catalog import Catalog
    from core.history import scored_songs

    st.subheader("Scored songs")
    query = st.text_input("Find a song by file name", key="history-query", placeholder="e.g. mix 2")
    with Catalog.open(config) as catalog:
        table = scored_songs(catalog, query.strip())
    if table.empty:
        st.caption("No song scored yet." if not query.strip() else f"No scored file name contains '{plain(query)}'.")
        return
    table["model"] = table["model"].map(lambda name: DISPLAY_NAMES.get(name, name))
    st.dataframe(
        as_shown(table.drop(columns=["sha256", "in_domain"])).sort_values(["file", "scored"]),
        hide_index=True,
        column_config={
            "probability": st.column_config.ProgressColumn(
                "model's probability",
                help="The model's calibrated probability; none is shown beside a withheld verdict.",
                format="%.0f%%",
                min_value=0,
                max_value=100,
            ),
            "percentile": st.column_config.TextColumn("percentile"),
            "best_window": "best 30 s",
        },
    )
    st.caption(
        f"{len(table)} score{'s' if len(table) != 1 else ''}, sorted by file name so the versions of a song sit "
        "together; one row per song content, run and model. Kept in the catalog."
    )
