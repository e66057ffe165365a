"""Reading a table of tracks (CSV or Parquet) as text cells, and recognising its columns.

A table that cannot be read (missing, empty, binary, badly quoted, a damaged Parquet file)
raises one TableError or UsageError saying why and what to do. CSV is read as UTF-8, as
UTF-16 with a byte-order mark, or in the Windows-1252 / Latin-1 code pages spreadsheets
export; a CSV row with the wrong number of values is kept aside as a ``Rejection``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.errors import TableError, UsageError

FIELDS = (
    "source_id",
    "name",
    "artists",
    "album",
    "album_type",
    "release_date",
    "duration_ms",
    "popularity",
    "isrc",
    "preview_url",
    "audio_path",
    "artist_followers",
)
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
    "artist_followers": ["artist_followers", "followers", "artist_fans", "nb_fan"],
}
ENCODINGS = {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252", "latin-1": "Latin-1"}
"""Tried in this order: accented letters in a code page are invalid UTF-8, and Latin-1
decodes any byte (binary content is caught after decoding)."""
CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
"""Control characters no text table holds; more than 1 in 100 means binary data."""


@dataclass(frozen=True)
class Rejection:
    """A row left out of the import, and the first value that kept it out. ``row`` is the
    row's number as a spreadsheet shows the table (in a CSV the header is row 1; in a
    Parquet table the first row is row 1); ``column`` is the table's own column name, empty
    when the whole row is malformed."""

    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        value = " ".join(self.value.split())
        value = value if len(value) <= 40 else value[:39] + "…"
        where = f"row {self.row}, {self.column}" if self.column else f"row {self.row}"
        return f"{where} '{value}': {self.reason}"


@dataclass
class Table:
    """A table's cells as text (a missing value is ""), indexed by row number."""

    frame: pd.DataFrame
    encoding: str
    malformed: list[Rejection]
    """CSV rows whose number of values differs from the header's."""


def read_table(path: Path) -> Table:
    """Read a CSV or Parquet table; raises TableError, in one line, when it cannot be read."""
    if not path.exists():
        raise UsageError(f"No file at {path}.", "Check the path.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    raise UsageError(f"'{path.name}' is neither CSV nor Parquet.", "Export the table as .csv or .parquet.")


def _read_csv(path: Path) -> Table:
    text, encoding = _decode(path)
    if not text.strip():
        raise TableError(f"'{path.name}' is empty.", "Export the table again, with a header row and one row per track.")
    (_, header), *body = _csv_rows(text, path.name)
    twice = [column for column, count in Counter(header).items() if count > 1 and column.strip()]
    if twice:
        raise TableError(f"The header of '{path.name}' names the column '{twice[0]}' twice.", "Rename one of them.")
    if not body:
        raise TableError(f"'{path.name}' has a header but no rows.", "Export the table again with its tracks.")
    width = len(header)
    good = [(number, fields) for number, fields in body if len(fields) == width]
    reason = "{} values where the header has {} (a comma in an unquoted value?)"
    malformed = [
        Rejection(number, "", ",".join(fields), reason.format(len(fields), width))
        for number, fields in body
        if len(fields) != width
    ]
    frame = pd.DataFrame(
        [fields for _, fields in good], columns=header, dtype=str, index=[number for number, _ in good]
    )
    return Table(frame, encoding, malformed)


def _decode(path: Path) -> tuple[str, str]:
    """The file's text and the name of the encoding it was read with."""
    data = path.read_bytes()
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    for codec, name in ({"utf-16": "UTF-16"} if utf16 else ENCODINGS).items():
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        sample = text[:65_536]
        if len(CONTROL.findall(sample)) <= len(sample) / 100:
            return text, name
        break
    raise TableError(
        f"'{path.name}' is not a text table: it holds binary data (a workbook saved under a .csv name?).",
        "Open it in its program and export it as CSV or Parquet.",
    )


def _csv_rows(text: str, table_name: str) -> list[tuple[int, list[str]]]:
    """Each non-blank row with its number, counted as a spreadsheet counts rows. Quoting is
    strict: a quote left open would otherwise swallow the rest of the file into one value."""
    reader = csv.reader(io.StringIO(text), strict=True)
    rows: list[tuple[int, list[str]]] = []
    number = 0
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return rows
        except csv.Error as error:
            raise TableError(
                f"'{table_name}' is not well-formed CSV: the row starting on line {line} cannot be read ({error}).",
                "Put double quotes around each value that holds a comma, a quote or a line break, and double "
                "the quotes inside it; or export the table again.",
            ) from None
        number += 1
        if fields:
            rows.append((number, fields))


def _read_parquet(path: Path) -> Table:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError):  # pyarrow's errors derive from these
        raise TableError(
            f"'{path.name}' is not a readable Parquet file.", "Export the table again as .parquet or .csv."
        ) from None
    if frame.empty:
        raise TableError(f"'{path.name}' has no rows.", "Export the table again with its tracks.")
    frame = frame.astype(str).fillna("")
    frame.index = range(1, len(frame) + 1)
    return Table(frame, "UTF-8", [])


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
            raise UsageError(f"The table has no column for '{required}'.", f"Name it with --map COLUMN={required}.")
    return mapping
