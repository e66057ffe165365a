"""Import a table of tracks the user already has (CSV or Parquet): Spotify popularity
collected earlier, a chart export, a playlist dump.

Columns are recognised by their usual names (``track_id``/``Track ID``, ``track_name``,
``track_artist``/``Artist``, ``track_popularity``/``Popularity``, ...) or mapped explicitly
with ``--map column=field``. An ``artist_followers`` column (or ``followers``,
``artist_fans``, ``nb_fan``) gives the first artist's fans, stored as read on the day of the
import. Rows can be filtered (``--where playlist_genre=rap``). Several artists in one cell are
split on ";" or "|" (never on commas: "Tyler, The Creator" is one artist). The study's dedup
rules apply on insert. Audio comes from a local path column when there is one (each file
verified: it must decode and be at least 5 s long); rows without usable audio are kept and
counted. With a ``resolver`` (the CLI's default) the rows still without audio get a preview
from their preview URL column, or through Deezer by ISRC or by artist and title
(``core.collect.resolve``), committed batch by batch so an interrupted import resumes; without
network the rows simply stay without audio.

Nothing goes in unchecked. A table that cannot be read (empty, binary, badly quoted, a damaged
Parquet file) stops the import with one line. CSV is read as UTF-8, as UTF-16 with a
byte-order mark, or in the Windows-1252 / Latin-1 code pages spreadsheets export. Each row
must have a name, an artist and a finite popularity on the table's scale; a duration, when
given, of 1 s to 1 h; a release date, when given, that exists; a follower count, when given,
that is a whole number of 0 or more; a local audio file, when named, inside the table's folder
(unless ``allow_outside``). Rows that fail are counted and left out, the rest go in. The scale
is never guessed from stray values: a table whose popularity fits neither Spotify's 0-100 nor
Deezer ranks alone needs ``--scale``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from core.audio.decode import load_audio
from core.catalog.database import utc_now
from core.catalog.store import Catalog
from core.catalog.track_writer import POPULARITY_SCALES, ArtistRef, InsertReport, TrackRecord
from core.collect.collection import must_replace_demo
from core.collect.downloads import PreviewDownloader
from core.collect.resolve import DeezerResolver
from core.collect.table import Rejection, column_mapping, read_table
from core.config import Settings
from core.errors import AudioError, CollectError, TableError, UsageError
from core.files import atomic_write_bytes

SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")

SCALE_TOPS = {"spotify": 100, "deezer_rank": 1_000_000}
"""The highest popularity on each of ``POPULARITY_SCALES`` (the lowest is 0)."""
DURATION_MS = (1_000, 3_600_000)
"""A song's length: under a second is a column in seconds, over an hour is not a song."""
FIRST_YEAR = 1900
PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?")
"""A year, or a year and month: Spotify's release dates when that is all it knows."""
REJECTION_EXAMPLES = 3

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
    rejected: list[Rejection]
    """Every row left out, in table order (``describe_rejections`` sums them up)."""
    encoding: str
    resolved: int = 0
    resolve_stopped: str | None = None
    """Why resolving previews stopped early (no network, throttled), if it did."""


def import_table(
    settings: Settings,
    path: Path,
    *,
    overrides: dict[str, str] | None = None,
    where: dict[str, str] | None = None,
    scale: str | None = None,
    allow_outside: bool = False,
    replace_demo: bool = False,
    resolver: DeezerResolver | None = None,
    downloader: PreviewDownloader | None = None,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
) -> ImportReport:
    """Check the table row by row and store its valid rows in one transaction. Raises
    TableError, before anything is stored, when the table cannot be read, its popularity
    mixes scales (without ``scale``), or no row is valid."""
    if scale is not None and scale not in POPULARITY_SCALES:
        raise UsageError(f"Unknown popularity scale '{scale}'.", f"Choose one of: {', '.join(POPULARITY_SCALES)}.")
    table = read_table(path)
    rows = _filtered(table.frame, where or {}, path.name)
    mapping = column_mapping(list(rows.columns), overrides or {})
    frame = pd.DataFrame({field: rows[column] for field, column in mapping.items()})
    scale = scale or choose_scale(frame["popularity"], path.name)
    accepted, rejected = _check_rows(frame, mapping, scale, path, allow_outside)
    rejected = sorted(table.malformed + rejected, key=lambda rejection: rejection.row)
    if not accepted:
        raise TableError(
            f"No row of '{path.name}' can be imported: {describe_rejections(rejected)}.",
            "Fix those values, or name the right columns with --map (and the scale with --scale).",
        )
    records, audio_errors = _store_local_audio(settings, accepted)
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
    result = ImportReport(
        rows_read=len(table.frame) + len(table.malformed),
        rows_kept=len(records),
        insert=report,
        with_audio=len(tracks) - len(missing),
        without_audio=len(missing),
        audio_errors=audio_errors,
        popularity_scale=scale,
        rejected=rejected,
        encoding=table.encoding,
    )
    if resolver is not None and downloader is not None and missing:
        result.resolved, result.resolve_stopped = _resolve_previews(
            settings, missing, resolver, downloader, on_progress
        )
        result.with_audio += result.resolved
        result.without_audio -= result.resolved
    return result


def _filtered(table: pd.DataFrame, where: dict[str, str], table_name: str) -> pd.DataFrame:
    """The rows whose ``where`` columns hold the given values (ignoring case)."""
    for column, value in where.items():
        if column not in table.columns:
            raise UsageError(f"No column '{column}' to filter on.", f"Columns: {', '.join(table.columns)}.")
        table = table[table[column].str.casefold() == value.casefold()]
        if table.empty:
            raise UsageError(
                f"No row of '{table_name}' has {column} = '{value}'.", "Check the value (any case matches)."
            )
    return table


def choose_scale(popularity: pd.Series, table_name: str) -> str:
    """Spotify when every plausible value is within 0-100, Deezer rank when every one is
    above 100. A mix is refused rather than guessed: one typo of 101 must not relabel a
    Spotify table as Deezer ranks. Values no scale allows (text, negative, infinite) play no
    part: their rows are rejected either way."""
    values = popularity.map(_number).astype(float)
    plausible = values[(values >= 0) & (values <= SCALE_TOPS["deezer_rank"])]
    above = plausible[plausible > SCALE_TOPS["spotify"]]
    if above.empty:
        return "spotify"
    if len(above) == len(plausible):
        return "deezer_rank"
    first = above.index[0]
    raise TableError(
        f"The popularity of '{table_name}' mixes scales: {len(plausible) - len(above)} values fit Spotify's 0-100 "
        f"and {len(above)} {'is' if len(above) == 1 else 'are'} above (row {first}: {popularity[first]}).",
        "Say which scale it is with --scale spotify or --scale deezer_rank; "
        "values outside it are then rejected row by row.",
    )


def describe_rejections(rejected: list[Rejection]) -> str:
    """How many rows were left out and the first few, on one line."""
    text = f"{len(rejected)} row{'' if len(rejected) == 1 else 's'} rejected (not stored): "
    text += "; ".join(map(str, rejected[:REJECTION_EXAMPLES]))
    more = len(rejected) - REJECTION_EXAMPLES
    return text + (f"; and {more} more" if more > 0 else "")


class _Invalid(ValueError):
    """A value that keeps its row out of the catalog."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _check_rows(
    frame: pd.DataFrame, mapping: dict[str, str], scale: str, path: Path, allow_outside: bool
) -> tuple[list[tuple[TrackRecord, Path | None]], list[Rejection]]:
    """Each row as a record with the local audio file it names, or as the rejection of its
    first bad value."""
    folder = path.parent.resolve()
    accepted, rejected = [], []
    read_at = utc_now()  # what the table says about artists, as of this import
    for number, row in zip(frame.index, frame.to_dict("records"), strict=True):
        try:
            record = _record(row, scale, path.stem, read_at)
            accepted.append((record, _audio_source(row.get("audio_path", ""), folder, allow_outside)))
        except _Invalid as invalid:
            rejected.append(Rejection(int(number), mapping[invalid.field], row[invalid.field], invalid.reason))
    return accepted, rejected


def _store_local_audio(
    settings: Settings, accepted: list[tuple[TrackRecord, Path | None]]
) -> tuple[list[TrackRecord], dict[str, str]]:
    """The records, each with its local file stored when the file decodes; a file that does
    not leaves its row without audio, and its error is returned by source id."""
    audio_errors = {}
    for record, source in accepted:
        if source is not None:
            try:
                record.audio_path, record.audio_sha256 = _store_audio(settings, source)
            except AudioError as error:
                audio_errors[record.source_id] = str(error)
    return [record for record, _ in accepted], audio_errors


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


def _record(row: dict, scale: str, table_name: str, read_at: str) -> TrackRecord:
    """The row as a catalog record; raises _Invalid at its first value that cannot be stored.
    The row's follower count, if any, is its first artist's, read at ``read_at``."""
    name = row["name"].strip()
    if not name:
        raise _Invalid("name", "empty")
    artists = [ArtistRef(a.strip().casefold(), a.strip()) for a in re.split(r"[;|]", row["artists"]) if a.strip()]
    if not artists:
        raise _Invalid("artists", "empty")
    popularity = _popularity(row["popularity"], scale)
    duration_ms = _duration_ms(row.get("duration_ms", ""))
    release_date = _release_date(row.get("release_date", ""))
    fans = _followers(row.get("artist_followers", ""))
    if fans is not None:
        artists[0] = ArtistRef(artists[0].source_id, artists[0].name, fans=fans, read_at=read_at)
    source_id = (row.get("source_id") or "").strip()
    spotify = bool(SPOTIFY_ID.match(source_id))
    if not source_id:  # no id column: the row's content is its identity
        source_id = hashlib.sha256(f"{row['name']}|{row['artists']}|{row.get('album')}".encode()).hexdigest()[:22]
    return TrackRecord(
        source="spotify" if spotify else f"import:{table_name}",
        source_id=source_id,
        name=name,
        artists=artists,  # no artist ids in such tables: the name is the id
        popularity=popularity,
        popularity_scale=scale,
        isrc=row.get("isrc") or None,
        album=row.get("album") or None,
        album_type=row.get("album_type") or None,
        release_date=release_date,
        duration_ms=duration_ms,
        preview_url=row.get("preview_url") or None,
    )


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _popularity(text: str, scale: str) -> float:
    value = _number(text)
    if value is None:
        raise _Invalid("popularity", "not a number" if text.strip() else "empty")
    if not math.isfinite(value):
        raise _Invalid("popularity", "not a finite number")
    if not 0 <= value <= SCALE_TOPS[scale]:
        raise _Invalid("popularity", f"outside {POPULARITY_SCALES[scale]}")
    return value


def _duration_ms(text: str) -> int | None:
    if not text.strip():
        return None
    value = _number(text)
    if value is None or not math.isfinite(value):
        raise _Invalid("duration_ms", "not a number")
    if not DURATION_MS[0] <= value <= DURATION_MS[1]:
        raise _Invalid("duration_ms", "not between 1 s and 1 h in milliseconds")
    return round(value)


def _followers(text: str) -> int | None:
    if not text.strip():
        return None
    value = _number(text)
    if value is None or not math.isfinite(value):
        raise _Invalid("artist_followers", "not a number")
    if value < 0 or value != int(value):
        raise _Invalid("artist_followers", "not a whole number of 0 or more")
    return int(value)


def _release_date(text: str) -> str | None:
    """The date as the catalog stores it (ISO, which its year queries read), or None."""
    text = text.strip()
    if not text:
        return None
    partial = PARTIAL_DATE.fullmatch(text)
    try:
        day = date(int(partial[1]), int(partial[2] or 1), 1) if partial else datetime.fromisoformat(text).date()
    except ValueError:
        raise _Invalid("release_date", "not a date like 2019-06-14, 2019-06 or 2019") from None
    last_year = date.today().year + 1
    if not FIRST_YEAR <= day.year <= last_year:
        raise _Invalid("release_date", f"not between {FIRST_YEAR} and {last_year}")
    return text if partial else day.isoformat()


def _audio_source(text: str, folder: Path, allow_outside: bool) -> Path | None:
    """The local file a row names, relative to the table's folder. It must stay inside that
    folder unless allowed: a table from elsewhere must not point the import at any file on
    this machine (``../../.ssh/id_rsa``)."""
    if not text.strip():
        return None
    source = (folder / text.strip()).resolve()
    if not allow_outside and not source.is_relative_to(folder):
        raise _Invalid("audio_path", "outside the table's folder (--allow-outside accepts it)")
    return source


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
