"""A resumable collection: pages from a source, previews downloaded, committed page by page.

A source (``DeezerSource``, ``SpotifySource``) turns a cursor (a JSON-able dict) into the next
page of candidate tracks and advances the cursor. After each page, its new tracks (with their
verified audio) and the advanced cursor are committed in one transaction, so Ctrl-C, a crash
or a dropped connection at any moment leaves the catalog as it was after the last whole page,
and running the same command again continues from there: no duplicate, no lost row, and the
same final catalog as an uninterrupted run. The study's dedup rules apply on insert.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from core.catalog.store import Catalog
from core.catalog.track_writer import InsertReport, TrackRecord
from core.collect.downloads import PreviewDownloader, PreviewRequest
from core.config import Settings
from core.errors import Cancelled, UsageError
from core.files import remove_stale_partials

BARREN_PAGES = 50
"""Stop when this many pages in a row bring no new track: the source is exhausted."""


@dataclass(frozen=True)
class YearRange:
    first: int
    last: int

    @classmethod
    def parse(cls, text: str | None) -> YearRange:
        """'2019-2021', '2024', or None for the last three years (recent hip-hop)."""
        if not text:
            this_year = date.today().year
            return cls(this_year - 2, this_year)
        match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?", text)
        if not match:
            raise UsageError(f"'{text}' is not a year range.", "Write it like 2019-2021 or 2024.")
        first, last = int(match[1]), int(match[2] or match[1])
        if first > last:
            raise UsageError(f"The range {text} ends before it starts.", "Write the earlier year first.")
        return cls(first, last)

    def contains(self, release_date: str | None) -> bool:
        if not release_date:
            return False
        return self.first <= int(release_date[:4]) <= self.last

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


@dataclass
class Candidate:
    record: TrackRecord
    preview: PreviewRequest | None


class Source(Protocol):
    name: str

    @property
    def params(self) -> dict: ...

    def start(self) -> dict: ...

    def next_page(self, cursor: dict) -> list[Candidate] | None: ...


@dataclass
class CollectReport:
    source: str
    target: int
    tracks: int = 0
    """Tracks of this source in the catalog at the end."""
    with_audio: int = 0
    pages: int = 0
    resumed: bool = False
    exhausted: bool = False
    insert: InsertReport = field(default_factory=InsertReport)
    download_errors: dict[str, str] = field(default_factory=dict)


def collect(
    settings: Settings,
    source: Source,
    downloader: PreviewDownloader,
    target: int,
    *,
    replace_demo: bool = False,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    should_cancel: Callable[[], bool] = lambda: False,
) -> CollectReport:
    """Collect until the catalog holds ``target`` tracks from ``source`` (or it runs dry)."""
    report = CollectReport(source.name, target)
    remove_stale_partials(settings.data_dir / "audio")  # downloads a crash cut short
    with Catalog.open(settings, create=True) as catalog:
        replace = must_replace_demo(catalog, replace_demo, "collect")
        cursor = catalog.collection_cursor(source.name, source.params)
        report.resumed = cursor is not None and not replace
        if cursor is None or replace:
            cursor = source.start()
        have = 0 if replace else catalog.source_count(source.name)
        barren = 0
        on_progress(min(have, target), target)
        while have < target and barren < BARREN_PAGES:
            if should_cancel():
                raise Cancelled(kept=f"the {have} tracks collected so far are kept; run the same command to resume.")
            candidates = source.next_page(cursor)
            if candidates is None:
                report.exhausted = True
                break
            known = catalog.source_ids(source.name, with_audio=True)
            fresh = [c for c in candidates if c.record.source_id not in known]
            records = _with_audio(fresh[: target - have], downloader, report)
            page = catalog.commit_page(records, source.name, source.params, cursor, replace=replace)
            replace = False
            report.pages += 1
            report.insert.add(page)
            barren = 0 if page.inserted else barren + 1
            have = catalog.source_count(source.name)
            on_progress(min(have, target), target)
        report.exhausted |= barren >= BARREN_PAGES
        report.tracks = catalog.source_count(source.name)
        report.with_audio = len(catalog.source_ids(source.name, with_audio=True))
    return report


def must_replace_demo(catalog: Catalog, replace_demo: bool, command: str) -> bool:
    """Real tracks never mix with the synthetic demo: replace it (when asked) or refuse.
    Returns whether the first write must remove the demo tracks."""
    if not catalog.synthetic:
        return False
    if not replace_demo:
        raise UsageError(
            "This catalog holds the synthetic demo; real tracks must not be mixed into it.",
            "Add --replace-demo to replace it (trained runs are kept), or use another home "
            f"(HITLENS_HOME=/path/to/real python -m core {command} ...).",
        )
    return True


def _with_audio(candidates: list[Candidate], downloader: PreviewDownloader, report: CollectReport) -> list[TrackRecord]:
    results = downloader.download_all([c.preview for c in candidates if c.preview is not None])
    records = []
    for candidate in candidates:
        result = results.get(candidate.preview.key) if candidate.preview else None
        record = candidate.record
        if isinstance(result, str):
            report.download_errors[record.source_id] = result
        elif result is not None:
            record = dataclasses.replace(record, audio_path=result.path, audio_sha256=result.sha256)
        records.append(record)
    return records
