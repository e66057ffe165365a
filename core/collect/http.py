"""HTTP for the collectors: a token-bucket rate limit, retries with jitter, and honest
waiting.

Every request goes through ``HttpClient.get``. Server errors (5xx), timeouts and dropped
connections are retried with exponential back-off and random jitter. A 429 is waited out
when its ``Retry-After`` is short; when it is long (Spotify sometimes asks for hours) the
client raises ``RateLimited`` saying when to resume instead of sleeping silently. The clock,
the sleep and the random source are injectable so tests run in no time.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests

from core.errors import AccessDenied, CollectError, NetworkUnavailable, RateLimited
from core.progress import describe_duration

MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 1.0
LONGEST_WAIT_SECONDS = 120.0
"""A Retry-After longer than this ends the run with a message instead of a silent sleep."""
TIMEOUT_SECONDS = 20.0


@dataclass
class Clock:
    """Time and waiting, swappable in tests."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = random.random


class TokenBucket:
    """At most ``capacity`` requests in a burst, refilled at ``rate`` per second: Deezer's
    quota (about 50 requests per 5 s) is ``TokenBucket(50, 10)``."""

    def __init__(self, capacity: int, rate: float, clock: Clock):
        self.capacity = capacity
        self.rate = rate
        self.clock = clock
        self.tokens = float(capacity)
        self.updated = clock.now()
        self.lock = threading.Lock()  # downloads refresh URLs from several threads

    def take(self) -> None:
        """Wait until a token is free, then use it."""
        with self.lock:
            self._take()

    def _take(self) -> None:
        now = self.clock.now()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            wait = (1 - self.tokens) / self.rate
            self.clock.sleep(wait)
            self.updated += wait  # the token that sleep earned, counted exactly: no float creep
            self.tokens = 1.0
        self.tokens -= 1


@dataclass
class HttpClient:
    """A requests session for one service (``name`` appears in messages)."""

    name: str
    session: requests.Session = field(default_factory=requests.Session)
    bucket: TokenBucket | None = None
    clock: Clock = field(default_factory=Clock)
    max_attempts: int = MAX_ATTEMPTS
    longest_wait: float = LONGEST_WAIT_SECONDS

    def get(self, url: str, params: dict | None = None, *, allow: tuple[int, ...] = ()) -> requests.Response:
        """GET ``url``; statuses in ``allow`` are returned to the caller instead of raised."""
        for attempt in range(1, self.max_attempts + 1):
            if self.bucket is not None:
                self.bucket.take()
            try:
                response = self.session.get(url, params=params, timeout=TIMEOUT_SECONDS)
            except (requests.ConnectionError, requests.Timeout) as error:
                if attempt == self.max_attempts:
                    raise NetworkUnavailable(
                        f"Cannot reach {self.name} ({type(error).__name__}).",
                        "Check the internet connection and run the same command again; "
                        "everything collected so far is kept.",
                    ) from error
                self.backoff(attempt)
                continue
            if response.status_code in allow or response.ok:
                return response
            if response.status_code == 429:
                self.wait_retry_after(response)
                continue
            if response.status_code in (401, 403):
                raise AccessDenied(
                    f"{self.name} refused the request (HTTP {response.status_code}).",
                    "Check that the credentials are valid and not revoked; finished pages are kept.",
                )
            if response.status_code >= 500 and attempt < self.max_attempts:
                self.backoff(attempt)
                continue
            raise CollectError(
                f"{self.name} answered HTTP {response.status_code} for {response.url}.",
                "Try again later; everything collected so far is kept.",
            )
        raise RateLimited(
            f"{self.name} kept throttling after {self.max_attempts} attempts.",
            "Wait a few minutes and run the same command again; everything collected so far is kept.",
        )

    def backoff(self, attempt: int) -> None:
        """Exponential back-off with full jitter: 1, 2, 4... seconds times a random factor."""
        self.clock.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1) * (0.5 + self.clock.random()))

    def wait_retry_after(self, response: requests.Response) -> None:
        wait_for(self.name, retry_after_seconds(response.headers.get("Retry-After")), self.clock, self.longest_wait)


def retry_after_seconds(value: str | None) -> float:
    """Retry-After as seconds (it may also be an HTTP date); 1 s when absent or unreadable."""
    if not value:
        return 1.0
    try:
        return max(float(value), 0.0)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
        except (TypeError, ValueError):
            return 1.0


def wait_for(service: str, seconds: float, clock: Clock, longest_wait: float) -> None:
    """Sleep ``seconds`` when that is short; otherwise stop with when to resume."""
    if seconds <= longest_wait:
        clock.sleep(seconds)
        return
    resume = datetime.now(UTC) + timedelta(seconds=seconds)
    raise RateLimited(
        f"{service} asks to wait {describe_duration(seconds)} before the next request "
        f"(until {resume:%Y-%m-%d %H:%M} UTC).",
        "Run the same command again after that; everything collected so far is kept.",
    )
