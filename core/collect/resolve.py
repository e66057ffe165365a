"""Find a track's 30 s preview on Deezer when its own source gives none: by ISRC (the same
recording, exact), else by artist and title with a match score, rejecting poor matches.

Used for Spotify tracks without ``preview_url`` (every app since November 2024) and for
imported tables (a Spotify popularity export, a chart).
"""

from __future__ import annotations

from difflib import SequenceMatcher

from core.catalog.dedup import normalise_title
from core.catalog.track_writer import TrackRecord
from core.collect.deezer import DeezerClient
from core.collect.downloads import PreviewRequest

MIN_MATCH_SCORE = 0.8
"""Below this a search hit is another song (a cover, a remix, a namesake) and is rejected."""
DURATION_TOLERANCE_MS = 10_000


def match_score(record: TrackRecord, candidate: dict) -> float:
    """0-1: title similarity (after the study's title normalisation) weighted 0.6, primary
    artist similarity 0.4; halved when both durations are known and differ by over 10 s."""
    title = SequenceMatcher(None, normalise_title(record.name), normalise_title(candidate.get("title", ""))).ratio()
    wanted = record.artists[0].name.casefold() if record.artists else ""
    artist = SequenceMatcher(None, wanted, candidate.get("artist", {}).get("name", "").casefold()).ratio()
    score = 0.6 * title + 0.4 * artist
    duration_s = candidate.get("duration")
    if record.duration_ms and duration_s and abs(record.duration_ms - duration_s * 1000) > DURATION_TOLERANCE_MS:
        score *= 0.5
    return score


class DeezerResolver:
    def __init__(self, client: DeezerClient):
        self.client = client

    def find(self, record: TrackRecord) -> PreviewRequest | None:
        """Where to download ``record``'s preview, keyed by its source id; None if not found."""
        if record.preview_url:
            return PreviewRequest(record.source_id, record.preview_url)
        track = self.client.track_by_isrc(record.isrc) if record.isrc else None
        if track is None and record.artists:
            hits = self.client.search_tracks(record.artists[0].name, record.name)
            best = max(hits, key=lambda hit: match_score(record, hit), default=None)
            track = best if best is not None and match_score(record, best) >= MIN_MATCH_SCORE else None
        request = self.client.preview_request(track) if track else None
        return PreviewRequest(record.source_id, request.url, request.refresh) if request else None
