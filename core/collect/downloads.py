"""Preview downloads: a few at a time, each verified before any catalog row points at it.

A preview is fetched, decoded (it must be audio, not silent, at least
``MIN_PREVIEW_SECONDS`` long) and written atomically under ``data/audio/<source>/`` named by
its SHA-256, so an interrupted download leaves nothing half-written and the same clip is
stored once. Signed preview URLs expire: a 403 or 410 asks the source for a fresh URL once
(Deezer: by track id) and tries again. A bad preview (refused, not audio, too short) is
reported and its track kept without audio; a lost connection, a long throttle or a full disk
stop the run before the page is committed, so the next run fetches the page again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from core.audio.decode import load_audio
from core.collect.http import HttpClient
from core.config import MIN_PREVIEW_SECONDS, Settings
from core.errors import AudioError, CollectError, NetworkUnavailable, RateLimited
from core.files import atomic_write_bytes

DOWNLOAD_WORKERS = 4
EXPIRED_STATUSES = (403, 410)


@dataclass(frozen=True)
class PreviewRequest:
    key: str
    url: str
    refresh: Callable[[], str | None] | None = None
    """Returns a fresh URL for this preview, or None when the source has none any more."""


@dataclass(frozen=True)
class StoredAudio:
    path: str
    """Relative to the data folder, as the catalog stores it."""
    sha256: str


class PreviewDownloader:
    def __init__(self, http: HttpClient, settings: Settings, source: str, workers: int = DOWNLOAD_WORKERS):
        self.http = http
        self.settings = settings
        self.source = source
        self.workers = workers

    def download_all(self, requests: list[PreviewRequest]) -> dict[str, StoredAudio | str]:
        """key -> the stored audio, or why it could not be had. Runs ``workers`` at a time."""
        if not requests:
            return {}
        with ThreadPoolExecutor(max_workers=min(self.workers, len(requests))) as pool:
            results = list(pool.map(self.download, requests))
        return {request.key: result for request, result in zip(requests, results, strict=True)}

    def download(self, request: PreviewRequest) -> StoredAudio | str:
        try:
            response = self.http.get(request.url, allow=EXPIRED_STATUSES)
            if response.status_code in EXPIRED_STATUSES and request.refresh is not None:
                fresh = request.refresh()
                if not fresh:
                    return "the source no longer offers a preview"
                response = self.http.get(fresh, allow=EXPIRED_STATUSES)
            if response.status_code in EXPIRED_STATUSES:
                return f"preview URL refused (HTTP {response.status_code})"
            return self.store(response.content)
        except (NetworkUnavailable, RateLimited):
            raise  # the whole page waits for the next run, rather than keeping tracks without audio
        except (CollectError, AudioError) as error:
            return str(error)

    def store(self, data: bytes) -> StoredAudio:
        load_audio(data, name="preview.mp3", min_seconds=MIN_PREVIEW_SECONDS)
        sha256 = hashlib.sha256(data).hexdigest()
        relative = f"audio/{self.source}/{sha256[:2]}/{sha256}.mp3"
        target = self.settings.data_dir / relative
        if not target.exists():
            atomic_write_bytes(target, data)
        return StoredAudio(relative, sha256)
