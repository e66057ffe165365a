"""Import a table of tracks the user already has (CSV or Parquet): Spotify popularity
collected earlier, a chart export, a playlist dump.

Columns are recognised by their usual names (``track_id``/``Track ID``, ``track_name``,
``track_artist``/``Artist``, ``track_popularity``/``Popularity``, ...) or mapped explicitly
with ``--map column=field``. Rows can be filtered (``--where playlist_genre=rap``). Several
artists in one cell are split on ";" or "|" (never on commas: "Tyler, The Creator" is one
artist). The study's dedup rules apply on insert. Audio comes from a local path column
when there is one (each file verified: it must decode and be at least 5 s long); rows
without usable audio are kept and counted. With a ``resolver`` (the CLI's default) the rows
still without audio get a preview from their preview URL column, or through Deezer by ISRC or
by artist and title (``core.collect.resolve``), committed batch by batch so an interrupted
import resumes; without network the rows simply stay without audio.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.audio import load_audio
from core.catalog import POPULARITY_SCALES, ArtistRef, Catalog, InsertReport, TrackRecord
from core.collect.collection import must_replace_demo
from core.collect.downloads import PreviewDownloader
from core.collect.resolve import DeezerResolver
from core.config import Settings
from core.errors import AudioError, CollectError, UsageError
from core.files import atomic_write_bytes

FIELDS = ("source_id", "name", "artists", "album", "album_type", "release_date", "duration_ms",
          "popularity", "isrc", "preview_url", "audio_path")  # fmt: skip
ALIASES = {
    "source_id": ["track_id", "track id", "id", "spotify_id", "uri"],
    "name": ["track_name", "track name", "name", "title", "song"],
    "artists": ["track_artist", "artist", "artists", "artist_name", "artist(s)"],
    "album": ["track_album_name", "album", "album_name"],
    "album_type": ["album_type", "track_album_type"],
    "release_date": ["track_album_release_date", "release_date", "album_release_date", "date"],
    "duration_ms": ["duration_ms", "duration (ms)", "duration"],
    "popularity": ["track_popularity", "popularity", "rank"],
    "isrc": ["isrc", "external_ids.isrc"],
    "preview_url": ["preview_url", "preview"],
    "audio_path": ["audio_path", "path", "file", "audio"],
}
SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")


RESOLVE_BATCH = 20


@dataclass
class ImportReport:
    rows_read: int
    rows_kept: int
    insert: InsertReport
    with_audio: int
    """Catalog tracks from this table with audio (a track in several rows counts once)."""
    without_audio: int
    audio_errors: dict[str, str]
    popularity_scale: str
    resolved: int = 0
    resolve_stopped: str | None = None
    """Why resolving previews stopped early (no network, throttled), if it did."""


def read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise UsageError(f"No file at {path}.", "Check the path.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path).astype(str)
    raise UsageError(f"'{path.name}' is neither CSV nor Parquet.", "Export the table as .csv or .parquet.")


def column_mapping(columns: list[str], overrides: dict[str, str]) -> dict[str, str]:
    """field -> column: explicit ``overrides`` first, then the usual names (case-insensitive)."""
    unknown = set(overrides.values()) - set(FIELDS)
    if unknown:
        raise UsageError(f"Unknown field(s) in --map: {', '.join(sorted(unknown))}.", f"Fields: {', '.join(FIELDS)}.")
    missing = set(overrides) - set(columns)
    if missing:
        raise UsageError(f"No column(s) {', '.join(sorted(missing))} in the table.", f"Columns: {', '.join(columns)}.")
    mapping = {field: column for column, field in overrides.items()}
    lowered = {c.strip().lower(): c for c in columns}
    for field, names in ALIASES.items():
        match = next((lowered[name] for name in names if name in lowered), None)
        if field not in mapping and match is not None:
            mapping[field] = match
    for required in ("name", "artists", "popularity"):
        if required not in mapping:
            raise UsageError(
                f"The table has no column for '{required}'.", f"Name it with --map COLUMN={required}."
            )
    return mapping


def import_table(
    settings: Settings,
    path: Path,
    *,
    overrides: dict[str, str] | None = None,
    where: dict[str, str] | None = None,
    scale: str | None = None,
    replace_demo: bool = False,
    resolver: DeezerResolver | None = None,
    downloader: PreviewDownloader | None = None,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
) -> ImportReport:
    table = read_table(path)
    rows_read = len(table)
    for column, value in (where or {}).items():
        if column not in table.columns:
            raise UsageError(f"No column '{column}' to filter on.", f"Columns: {', '.join(table.columns)}.")
        table = table[table[column].str.casefold() == value.casefold()]
    mapping = column_mapping(list(table.columns), overrides or {})
    frame = pd.DataFrame({field: table[column] for field, column in mapping.items()})
    frame["popularity"] = pd.to_numeric(frame["popularity"], errors="coerce")
    scale = scale or ("spotify" if frame["popularity"].max() <= 100 else "deezer_rank")
    if scale not in POPULARITY_SCALES:
        raise UsageError(f"Unknown popularity scale '{scale}'.", f"Choose one of: {', '.join(POPULARITY_SCALES)}.")
    records, audio_errors = [], {}
    for row in frame.to_dict("records"):
        record = _record(row, scale, path.stem)
        if row.get("audio_path"):
            try:
                record.audio_path, record.audio_sha256 = _store_audio(settings, path.parent / row["audio_path"])
            except AudioError as error:
                audio_errors[record.source_id] = str(error)
        records.append(record)
    with Catalog.open(settings, create=True) as catalog:
        if must_replace_demo(catalog, replace_demo, "import"):
            report = catalog.replace_tracks(records, meta={})
        else:
            report = catalog.add_tracks(records)
        sources = {record.source for record in records}
        stored = {(source, i) for source in sources for i in catalog.source_ids(source)}
        have_audio = {(source, i) for source in sources for i in catalog.source_ids(source, with_audio=True)}
    # Counted per catalog track: rows repeating a track, or dropped as duplicates, count once or not at all.
    tracks = {(r.source, r.source_id): r for r in records if (r.source, r.source_id) in stored}
    missing = [record for key, record in tracks.items() if key not in have_audio]
    result = ImportReport(rows_read, len(records), report, len(tracks) - len(missing), len(missing), audio_errors, scale)
    if resolver is not None and downloader is not None and missing:
        result.resolved, result.resolve_stopped = _resolve_previews(settings, missing, resolver, downloader, on_progress)
        result.with_audio += result.resolved
        result.without_audio -= result.resolved
    return result


def _resolve_previews(
    settings: Settings,
    records: list[TrackRecord],
    resolver: DeezerResolver,
    downloader: PreviewDownloader,
    on_progress: Callable[[int, int], None],
) -> tuple[int, str | None]:
    """Find and download previews batch by batch, each batch committed. Returns how many
    were resolved and, when a source problem stopped it early, the reason."""
    resolved = 0
    on_progress(0, len(records))
    for start in range(0, len(records), RESOLVE_BATCH):
        batch = {record.source_id: record for record in records[start : start + RESOLVE_BATCH]}
        try:
            requests = [request for request in map(resolver.find, batch.values()) if request]
            results = downloader.download_all(requests)
        except CollectError as error:
            return resolved, str(error)
        found = {request.key: request.url for request in requests}
        stored = [(batch[key], found[key], audio) for key, audio in results.items() if not isinstance(audio, str)]
        with Catalog.open(settings) as catalog:
            catalog.attach_audio([(r.source, r.source_id, url, a.path, a.sha256) for r, url, a in stored])
        resolved += len(stored)
        on_progress(min(start + RESOLVE_BATCH, len(records)), len(records))
    return resolved, None


def _record(row: dict, scale: str, table_name: str) -> TrackRecord:
    artists = [a.strip() for a in re.split(r"[;|]", row["artists"]) if a.strip()]
    source_id = (row.get("source_id") or "").strip()
    spotify = bool(SPOTIFY_ID.match(source_id))
    if not source_id:  # no id column: the row's content is its identity
        source_id = hashlib.sha256(f"{row['name']}|{row['artists']}|{row.get('album')}".encode()).hexdigest()[:22]
    duration = pd.to_numeric(row.get("duration_ms"), errors="coerce")
    return TrackRecord(
        source="spotify" if spotify else f"import:{table_name}",
        source_id=source_id,
        name=row["name"].strip(),
        artists=[ArtistRef(a.casefold(), a) for a in artists],  # no artist ids in such tables: the name is the id
        popularity=None if pd.isna(row["popularity"]) else float(row["popularity"]),
        popularity_scale=scale,
        isrc=row.get("isrc") or None,
        album=row.get("album") or None,
        album_type=row.get("album_type") or None,
        release_date=row.get("release_date") or None,
        duration_ms=None if pd.isna(duration) else int(duration),
        preview_url=row.get("preview_url") or None,
    )


def _store_audio(settings: Settings, source: Path) -> tuple[str, str]:
    """Verify a local file decodes and is long enough, then store it by content hash."""
    load_audio(source)
    data = source.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    relative = f"audio/import/{sha256[:2]}/{sha256}{source.suffix.lower()}"
    target = settings.data_dir / relative
    if not target.exists():
        atomic_write_bytes(target, data)
    return relative, sha256
