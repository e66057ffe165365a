"""The study's deduplication rules, as functions over a table of tracks.

Each rule returns a boolean mask of the rows it would drop, so callers can count, show or
apply them. ``study_dedup`` applies all four in the study's order: exact duplicates, rows
without audio (the study: without a preview), duplicate preview URLs, then rows sharing
(name, duration, popularity).
Different releases of one song (single, album, deluxe) differ in popularity and are kept,
as in the study.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

STUDY_FIELDS = [
    "source_id",
    "name",
    "artists",
    "album",
    "album_type",
    "release_date",
    "duration_ms",
    "popularity",
    "preview_url",
]
"""The fields the study's rows carried; rows equal on all of them are exact duplicates."""


def exact_duplicates(tracks: pd.DataFrame) -> pd.Series:
    fields = [f for f in STUDY_FIELDS if f in tracks.columns]
    return tracks.duplicated(subset=fields, keep="first")


def missing_audio(tracks: pd.DataFrame) -> pd.Series:
    """Rows without audio. A catalog track has audio when the catalog holds its audio file,
    whatever its origin (a downloaded preview, or a local file from an import with no
    preview URL at all); a table without an audio column (the study's own rows) has audio
    when it has a preview URL, as in the study."""
    column = tracks["audio_path"] if "audio_path" in tracks.columns else tracks["preview_url"]
    return column.isna() | (column.astype("string").str.strip() == "")


def duplicate_preview_urls(tracks: pd.DataFrame) -> pd.Series:
    return tracks["preview_url"].notna() & tracks.duplicated(subset=["preview_url"], keep="first")


def same_name_duration_popularity(tracks: pd.DataFrame) -> pd.Series:
    return tracks.duplicated(subset=["name", "duration_ms", "popularity"], keep="first")


RULES = {
    "exact duplicate": exact_duplicates,
    "no audio": missing_audio,
    "duplicate preview URL": duplicate_preview_urls,
    "same name, duration and popularity": same_name_duration_popularity,
}


@dataclass
class DedupResult:
    kept: pd.DataFrame
    dropped: dict[str, int]


def study_dedup(tracks: pd.DataFrame) -> DedupResult:
    """Apply the four rules one after another, counting what each one drops."""
    dropped: dict[str, int] = {}
    for rule, mask_of in RULES.items():
        mask = mask_of(tracks)
        dropped[rule] = int(mask.sum())
        tracks = tracks[~mask]
    return DedupResult(kept=tracks.reset_index(drop=True), dropped=dropped)


_DECORATIONS = re.compile(
    r"[\(\[][^\)\]]*(feat\.?|ft\.?|with|remaster|deluxe|version|edit|explicit|clean)[^\)\]]*[\)\]]"
    r"|\s-\s.*(remaster|version|edit|mix).*$",
    re.IGNORECASE,
)


def normalise_title(title: str | None) -> str:
    """A title reduced to what identifies the song: no "(feat. X)", "(Deluxe)", "- Remastered",
    accents, punctuation or case."""
    text = _DECORATIONS.sub("", title or "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^0-9a-z]+", " ", text.casefold())
    return text.strip()
