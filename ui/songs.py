"""The Score page's songs: the list of uploads (kept in the home by ``core.songs.uploads``, so
page visits and reloads do not lose them), scoring and explanations cached per content, and
the scored-songs history, whose rows reopen their song.

Server-wide caches are keyed by the upload's content hash and hold verdicts, tag profiles,
explanations and each song's best 30 s (2.6 MB), never the decoded song (106 MB of samples
for 20 minutes); a session holds file names, never the songs' bytes.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from core.config import MAX_UPLOAD_MB, SAMPLE_RATE, Settings
from core.learning.architectures import DISPLAY_NAMES
from core.wording import Verdict
from ui.tables import table_height

if TYPE_CHECKING:
    from core.pretrained.similarity import SongProfile
    from core.songs.scoring import ScoreResult
    from core.songs.uploads import KeptSong


@dataclass(frozen=True)
class Upload:
    name: str
    sha256: str
    path: Path  # the copy kept in the home (core.songs.uploads)
    label: str  # the name, numbered when another song on the list has the same name

    @property
    def stem(self) -> str:
        """The name without its extension: what files downloaded from the page are named after."""
        return self.name.rsplit(".", 1)[0]


@dataclass(frozen=True)
class Scored:
    """One upload's score: ``error`` (one line) or ``result`` and the musicnn ``profile`` (or
    why it could not run). Server-wide caches pickle it: it holds no samples."""

    sha256: str
    error: str | None = None
    result: ScoreResult | None = None
    profile: SongProfile | str | None = None


OPEN_FROM_HISTORY = "score-open"
"""Session key: the sha256 of a kept song the artist chose to reopen from the history; the
page shows that song on its next run (with the model chosen on the page)."""


def kept_uploads(config: Settings, label: str) -> list[Upload]:
    """The uploader, and every song on the list (oldest first). Each upload is kept in the home
    (``core.songs.uploads``), so the list survives page visits, reloads and restarts until "Clear
    the list"; the session holds file names, never the songs' bytes."""
    from core.catalog.history import content_hash
    from core.catalog.store import Catalog
    from core.songs import uploads

    hashed: dict[str, str] = st.session_state.setdefault("score-upload-hashes", {})  # uploader file id -> sha256
    files = st.file_uploader(
        label,
        type=["mp3", "wav", "flac", "ogg", "m4a"],
        accept_multiple_files=True,
        key=f"uploader-{st.session_state.get('uploader-round', 0)}",
    )
    let_go: list[str] = []
    for file in files or []:
        if file.size > MAX_UPLOAD_MB * 1024 * 1024:
            st.error(f"'{plain(file.name)}' is larger than {MAX_UPLOAD_MB} MB. Upload a compressed export (mp3, m4a).")
            _release_from_uploader(file.file_id)
            continue
        if file.file_id not in hashed:  # hashed and kept once per upload, not on every rerun
            data = file.getvalue()
            hashed[file.file_id] = content_hash(data)
            with Catalog.open(config) as catalog:
                let_go += uploads.keep(catalog, config, file.name, data, hashed[file.file_id])
            _release_from_uploader(file.file_id)
    if let_go:
        st.caption(
            f"Kept the newest uploads ({uploads.KEPT_UPLOADS_MB:,} MB at most); removed the oldest: "
            f"{plain(', '.join(let_go))}."
        )
    with Catalog.open(config) as catalog:
        listed = labelled(uploads.listed(catalog, config))
    if listed:
        left, right = st.columns([4, 1])
        left.caption(
            f"{len(listed)} song{'s' if len(listed) != 1 else ''} on your list: "
            + plain(", ".join(u.label for u in listed))
            + ". Kept in the Hitlens home: a reload or a later visit finds them here."
        )
        if right.button("Clear the list", help="The files stay, for the history below to reopen."):
            with Catalog.open(config) as catalog:
                uploads.clear_list(catalog)
            st.session_state["uploader-round"] = st.session_state.get("uploader-round", 0) + 1
            st.rerun()
    return listed


def _release_from_uploader(file_id: str) -> None:
    """Drop Streamlit's own record of an upload once it is kept in the home.

    Streamlit frees a session's uploaded files only when it shuts the session down, and a
    closed browser tab's session is kept for a reconnect and later dropped without a shutdown
    (Streamlit 1.67): every upload of every closed tab stayed in the server's memory."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is not None:
        # The protocol Streamlit types the manager with lacks remove_file; its one implementation has it.
        context.uploaded_file_mgr.remove_file(context.session_id, file_id)  # type: ignore[attr-defined]


AUDIO_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "m4a": "audio/mp4"}


def audio_type(name: str) -> str:
    """The MIME type a browser needs to play an upload as it was sent."""
    return AUDIO_TYPES.get(name.rsplit(".", 1)[-1].lower(), "audio/mpeg")


def labelled(songs: list[KeptSong]) -> list[Upload]:
    """The songs with names that tell them apart: two different files both called
    ``mix.wav`` become ``mix.wav`` and ``mix.wav (2)``, so neither result hides the other."""
    seen: dict[str, int] = {}
    listed = []
    for song in songs:
        seen[song.name] = seen.get(song.name, 0) + 1
        count = seen[song.name]
        listed.append(Upload(song.name, song.sha256, song.path, song.name if count == 1 else f"{song.name} ({count})"))
    return listed


MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def plain(text: str) -> str:
    """``text`` (a file name) escaped so that Markdown shows it as typed: a name such as
    ``**final** [v2].mp3`` is not bold and not a link in headings, captions and error boxes."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


@st.cache_data(show_spinner="Cutting the best 30 s…", max_entries=32)
def best_window(
    sha256: str, start_s: float, end_s: float, _name: str, _source: Path | bytes, _samples: np.ndarray | None = None
) -> np.ndarray:
    """The samples of an upload's best window: all the page plays, explains and draws. Only
    these 30 s (2.6 MB) are kept; the decoded song (up to 106 MB) is let go at once.
    ``_samples``: the decoded song, when the caller has it (scoring just decoded it), so the
    page does not decode the upload a second time."""
    from core.audio.decode import load_audio

    samples = load_audio(_source, name=_name) if _samples is None else _samples
    return samples[int(start_s * SAMPLE_RATE) : int(end_s * SAMPLE_RATE)].copy()


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def scorer(home: str, run_id: str, model: str):
    from core.catalog.store import Catalog
    from core.learning.registry import load_run
    from core.songs.scoring import scorer_for

    settings = Settings(home=Path(home))
    with Catalog.open(settings) as catalog:
        return scorer_for(load_run(settings, catalog, run_id), model)


@st.cache_data(show_spinner=False, max_entries=64)
def score_upload(
    home: str, run_id: str, model: str, sha256: str, domain_stamp: int, _name: str, _source: Path | bytes, _domain
) -> Scored:
    """Score one upload with the model the artist chose, judged against the run's ``_domain``
    (``domain_stamp`` changes with it), and add what the page shows to the history. Keyed by
    the upload's content hash, not its bytes: hashing megabytes on every rerun is what made
    the page slow."""
    from core.catalog.history import record_score
    from core.catalog.store import Catalog
    from core.songs.scoring import score_many

    item = score_many(scorer(home, run_id, model), [(_name, _source)], _domain)[0]
    if item.error or item.score is None:
        return Scored(sha256, error=item.error)
    song = item.score
    # musicnn could not run (it is missing): the verdict is withheld and says why; the rest stands
    profile = song.profile if song.profile is not None else (song.applicability.reason if song.applicability else "")
    result = song.result()
    start, end = result.best_window
    best_window(sha256, start, end, _name, _source, _samples=song.samples)  # cut while decoded
    with Catalog.open(Settings(home=Path(home))) as catalog:
        record_score(catalog, run_id=run_id, model=model, sha256=sha256, result=result.as_dict())
    return Scored(sha256, result=result, profile=profile)


@st.cache_data(show_spinner=False, max_entries=64)
def feeding_probability(home: str, run_id: str, model: str, sha256: str, _name: str, _source: Path | bytes) -> float:
    """The calibrated probability of ``model``, the audio model a run's models on top learned
    from, when the artist chose another: an input of those models, never shown as a verdict
    and never added to the history."""
    return scorer(home, run_id, model).score(_source, _name).probability


@st.cache_data(show_spinner=False, max_entries=16)
def explanation(home: str, run_id: str, model: str, sha256: str, start_s: float, _window: np.ndarray):
    """The explanation of the best window, once per song content, run and model."""
    return scorer(home, run_id, model).explain_window(_window, start_s)


def as_shown(table: pd.DataFrame) -> pd.DataFrame:
    """A ranking or history table as the page draws it: probabilities as percentages, and
    nothing beside a withheld verdict (no probability bar that would read as a score, no
    percentile, no best 30 s: each rests on the verdict); the CSV keeps every figure."""
    judged = table["verdict"] != Verdict.WITHHELD
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
    """Every song scored in this catalog; a search finds the versions of a song, and a song
    whose upload is kept reopens from here (or its file is removed)."""
    from core.catalog.history import scored_songs
    from core.catalog.store import Catalog
    from core.songs import uploads

    st.subheader("Scored songs")
    query = st.text_input("Find a song by file name", key="history-query", placeholder="e.g. mix 2")
    with Catalog.open(config) as catalog:
        table = scored_songs(catalog, query.strip())
        kept = uploads.kept_hashes(catalog)
        files, size = uploads.kept_size(catalog)
    if table.empty:
        st.caption("No song scored yet." if not query.strip() else f"No scored file name contains '{plain(query)}'.")
        return
    table = table.sort_values(["file", "scored"]).reset_index(drop=True)
    shown = as_shown(table.drop(columns=["sha256", "in_domain"])).assign(
        model=table["model"].map(lambda name: DISPLAY_NAMES.get(name, name)),
        kept=["yes" if sha in kept else "no" for sha in table["sha256"]],
    )
    st.dataframe(
        shown,
        hide_index=True,
        height=table_height(len(shown)),
        # What a row says first, beside the file: a long file name must not push it out of sight.
        column_order=["file", "verdict", "probability", "percentile", "model", "best_window", "scored", "run", "kept"],
        column_config={
            "file": st.column_config.TextColumn("File", width="medium"),
            "scored": "Scored (UTC)",
            "run": "Run",
            "model": "Model",
            "verdict": "Verdict",
            "probability": st.column_config.ProgressColumn(
                "Model's probability",
                help="The model's calibrated probability; none is shown beside a withheld verdict.",
                format="%.0f%%",
                min_value=0,
                max_value=100,
            ),
            "percentile": st.column_config.TextColumn("Percentile"),
            "best_window": "Best 30 s",
            "kept": st.column_config.TextColumn("File kept", help="Whether the upload is kept here to reopen."),
        },
    )
    st.caption(
        f"{len(table)} score{'s' if len(table) != 1 else ''}, sorted by file name so the versions of a song sit "
        f"together; one row per song content, run and model. Kept uploads: "
        f"{files} file{'s' if files != 1 else ''}, {size / 1024 / 1024:,.0f} MB (at most {uploads.KEPT_UPLOADS_MB:,} "
        "MB; past that the oldest go first)."
    )
    _reopen_or_remove(config, table[table["sha256"].isin(kept)])


def _reopen_or_remove(config: Settings, kept_rows: pd.DataFrame) -> None:
    """Reopen a scored song whose upload is kept (back on the list and shown, scored by the
    model chosen on the page), or delete the kept file."""
    from core.catalog.store import Catalog
    from core.songs import uploads

    if kept_rows.empty:
        st.caption("None of these uploads is kept any more: upload a song again to reopen it.")
        return
    newest = kept_rows.sort_values("scored", ascending=False).drop_duplicates("sha256")
    options = {row.sha256: f"{row.file} (last scored {row.scored})" for row in newest.itertuples()}
    left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    sha256 = left.selectbox("Reopen a scored song", list(options), format_func=options.__getitem__, key="history-song")
    if sha256 is None:
        return
    if middle.button("Open it", type="primary", key="history-open", help="Back on the list above, without uploading."):
        with Catalog.open(config) as catalog:
            uploads.list_again(catalog, sha256)
        st.session_state[OPEN_FROM_HISTORY] = sha256
        st.rerun()
    if right.button("Remove its file", key="history-remove", help="Deletes the kept upload; its history rows stay."):
        with Catalog.open(config) as catalog:
            uploads.forget(catalog, config, sha256)
        st.rerun()
