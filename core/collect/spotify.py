"""The study's Spotify sampler, for apps that still have the access it needs.

Each page is one search, ``genre:hip-hop year:Y1-Y2 track:<wildcard>`` with a random wildcard
(a character with ``%`` before, after or both) at a random offset below the search paging
limit, as the study sampled random tracks rather than only the most popular ones. The
randomness is seeded per page, so a resumed collection asks the same questions again.

What Spotify gives in 2026 (see the README's "Collect real data"): since November 2024 new
and development-mode apps get ``preview_url: null``; since February/March 2026 they also get
no ``popularity`` and at most 10 search results a page. The sampler asks for 50 a page and
falls back to 10 when refused; it stops with an explanation when ``popularity`` is absent;
a missing preview is resolved through Deezer by ISRC. Each page's artists are looked up in
batches (``GET /artists``) for their ``followers``, kept with the time they were read; an app
that gets no followers, or no such endpoint, stores them as unknown and goes on.
"""

from __future__ import annotations

import os
import random
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOauthError

from core.catalog.database import utc_now
from core.catalog.track_writer import ArtistRef, TrackRecord
from core.collect.collection import Candidate, YearRange
from core.collect.http import LONGEST_WAIT_SECONDS, MAX_ATTEMPTS, Clock, retry_after_seconds, wait_for
from core.collect.resolve import DeezerResolver
from core.config import REPO_ROOT
from core.errors import AccessDenied, CollectError, CredentialsMissing, NetworkUnavailable, RateLimited

FULL_PAGE = 50
DEVELOPMENT_MODE_PAGE = 10
ARTISTS_PER_CALL = 50
"""Spotify's limit for one ``GET /artists``."""
PAGING_LIMIT = 1000
"""Spotify's search stops near offset 1000: offset + limit must not pass it."""
WILDCARD_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
SECRETS_FILE = REPO_ROOT / ".streamlit" / "secrets.toml"
T = TypeVar("T")

NO_POPULARITY = (
    "This Spotify app receives no 'popularity' field: since February 2026 (all development-mode "
    "apps from 9 March 2026) Spotify removed popularity, previews and large search pages from "
    "apps without extended quota, so it cannot label tracks the way the study did.",
    "Collect from Deezer instead (python -m core collect --source deezer; its rank is the "
    "popularity figure), or import a table of Spotify popularity you already have "
    "(python -m core import FILE).",
)


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str


def find_credentials(secrets_file: Path | None = None) -> Credentials:
    """From SPOTIPY_CLIENT_ID / SPOTIPY_CLIENT_SECRET, else ``.streamlit/secrets.toml``
    (top-level keys of those names, or ``client_id``/``client_secret`` under ``[spotify]``)."""
    secrets_file = secrets_file or SECRETS_FILE
    client_id, secret = os.environ.get("SPOTIPY_CLIENT_ID"), os.environ.get("SPOTIPY_CLIENT_SECRET")
    if not (client_id and secret) and secrets_file.exists():
        secrets = tomllib.loads(secrets_file.read_text())
        section = secrets.get("spotify", {})
        client_id = client_id or secrets.get("SPOTIPY_CLIENT_ID") or section.get("client_id")
        secret = secret or secrets.get("SPOTIPY_CLIENT_SECRET") or section.get("client_secret")
    if not (client_id and secret):
        raise CredentialsMissing(
            "No Spotify credentials: SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET are not set.",
            "Set them (or add them to .streamlit/secrets.toml), or collect from Deezer, which needs no key.",
        )
    return Credentials(client_id, secret)


def spotify_client(credentials: Credentials, session: requests.Session | None = None) -> spotipy.Spotify:
    """A client that never retries on its own: a 429 comes back to us, so a wait of hours is
    reported rather than slept through. The token stays in memory, never in a file."""
    session = session or requests.Session()
    auth = SpotifyClientCredentials(
        credentials.client_id, credentials.client_secret, requests_session=session, cache_handler=MemoryCacheHandler()
    )
    return spotipy.Spotify(
        auth_manager=auth, requests_session=session, retries=0, status_retries=0, requests_timeout=20
    )


def _never(error: spotipy.SpotifyException) -> bool:
    return False


class SpotifySource:
    name = "spotify"
    popularity_scale = "spotify"

    def __init__(
        self,
        client: spotipy.Spotify,
        resolver: DeezerResolver | None,
        years: YearRange,
        market: str = "US",
        seed: int = 42,
        clock: Clock | None = None,
    ):
        self.client = client
        self.resolver = resolver
        self.years = years
        self.market = market
        self.seed = seed
        self.clock = clock or Clock()

    @property
    def params(self) -> dict:
        return {"years": str(self.years), "market": self.market, "seed": self.seed}

    def start(self) -> dict:
        return {"pages": 0, "limit": FULL_PAGE}

    def next_page(self, cursor: dict) -> list[Candidate]:
        rng = random.Random(f"{self.seed}:{cursor['pages']}")
        cursor["pages"] += 1
        query = f"genre:hip-hop year:{self.years} track:{wildcard(rng)}"
        position = rng.random()
        page = self._search(query, cursor, position)
        if not page["items"] and page["total"]:
            # The offset passed the last match: sample again below the total.
            page = self._search(query, cursor, position, total=page["total"])
        items = [item for item in page["items"] if item]
        if any("popularity" not in item for item in items):
            raise AccessDenied(*NO_POPULARITY)
        artists = self._artists({a["id"] for item in items for a in item.get("artists", []) if a.get("id")})
        return [self.candidate(item, artists) for item in items]

    def _search(self, query: str, cursor: dict, position: float, total: int | None = None) -> dict:
        """One search page at relative ``position`` of the reachable results, with the
        largest page size the app is allowed."""

        def search() -> dict:
            limit = cursor["limit"]
            reachable = min(total, PAGING_LIMIT) if total else PAGING_LIMIT
            offset = int(position * max(reachable - limit, 1))
            return self.client.search(q=query, type="track", limit=limit, offset=offset, market=self.market)["tracks"]

        def smaller_page(error: spotipy.SpotifyException) -> bool:
            if (
                error.http_status == 400
                and "limit" in str(error.msg).lower()
                and cursor["limit"] > DEVELOPMENT_MODE_PAGE
            ):
                cursor["limit"] = DEVELOPMENT_MODE_PAGE  # development-mode apps: 10 a page
                return True
            return False

        return self._call(search, retry=smaller_page)

    def _artists(self, ids: set[str]) -> dict[str, ArtistRef]:
        """The artists ``ids`` with their followers as Spotify gives them now, 50 a request.
        Since 2024-2026 an app may get no ``followers`` or no such endpoint (400, 403, 404):
        then those artists' followers are unknown, never an error."""
        ordered, read_at, found = sorted(ids), utc_now(), {}

        def batch(chunk: list[str]) -> list[dict]:
            try:
                return self.client.artists(chunk).get("artists") or []
            except spotipy.SpotifyException as error:
                if error.http_status in (400, 403, 404):
                    return []
                raise

        for start in range(0, len(ordered), ARTISTS_PER_CALL):
            for artist in self._call(partial(batch, ordered[start : start + ARTISTS_PER_CALL])):
                followers = (artist or {}).get("followers") or {}
                if followers.get("total") is not None:
                    fans = int(followers["total"])
                    found[artist["id"]] = ArtistRef(artist["id"], artist["name"], fans=fans, read_at=read_at)
        return found

    def _call(self, request: Callable[[], T], retry: Callable[[spotipy.SpotifyException], bool] = _never) -> T:
        """``request()``, with 429s waited out (or reported when long) and Spotify's failures
        as ``CollectError``s; ``retry`` may fix the request and ask for another attempt."""
        for _ in range(MAX_ATTEMPTS):
            try:
                return request()
            except spotipy.SpotifyException as error:
                if retry(error):
                    continue
                if error.http_status == 429:
                    retry_after = (error.headers or {}).get("Retry-After")
                    wait_for("Spotify", retry_after_seconds(retry_after), self.clock, LONGEST_WAIT_SECONDS)
                    continue
                raise _spotify_error(error) from error
            except SpotifyOauthError as error:
                raise AccessDenied(
                    f"Spotify rejected the app's credentials ({error.error or error}).",
                    "Check SPOTIPY_CLIENT_ID/SPOTIPY_CLIENT_SECRET; if they were revoked, create new ones "
                    "in the Spotify developer dashboard. Finished pages are kept.",
                ) from error
            except (requests.ConnectionError, requests.Timeout) as error:
                raise NetworkUnavailable(
                    "Cannot reach Spotify.", "Check the internet connection and run the same command again."
                ) from error
        raise RateLimited(
            f"Spotify kept answering 429 after {MAX_ATTEMPTS} short waits.",
            "Wait a few minutes and run the same command again; finished pages are kept.",
        )

    def candidate(self, item: dict, artists: dict[str, ArtistRef] | None = None) -> Candidate:
        record = track_record(item, artists)
        # No preview from Spotify: Deezer's, for the same recording (ISRC) or a close match.
        preview = self.resolver.find(record) if self.resolver else None
        if preview is not None:
            record.preview_url = preview.url
        return Candidate(record, preview)


def wildcard(rng: random.Random) -> str:
    """A random character with '%' before, after or both, as in the study."""
    character = rng.choice(WILDCARD_CHARACTERS)
    return rng.choice([f"%{character}", f"{character}%", f"%{character}%"])


def track_record(item: dict, artists: dict[str, ArtistRef] | None = None) -> TrackRecord:
    """A Spotify track object as a catalog row; ``artists`` holds the credited artists as
    looked up (with their followers), others have none."""
    album = item.get("album") or {}
    known = artists or {}
    return TrackRecord(
        source="spotify",
        source_id=item["id"],
        name=item["name"],
        artists=[known.get(a["id"]) or ArtistRef(a["id"], a["name"]) for a in item.get("artists", [])],
        popularity=float(item["popularity"]),
        popularity_scale="spotify",
        isrc=(item.get("external_ids") or {}).get("isrc"),
        album=album.get("name"),
        album_type=album.get("album_type"),
        release_date=album.get("release_date"),
        duration_ms=item.get("duration_ms"),
        preview_url=item.get("preview_url"),
    )


def _spotify_error(error: spotipy.SpotifyException) -> CollectError:
    if error.http_status in (401, 403):
        return AccessDenied(
            f"Spotify refused the search (HTTP {error.http_status}: {str(error.msg).strip()}).",
            "The app's credentials may be revoked, or the app lacks access (since 2026 a "
            "development-mode app's owner needs Premium). Collect from Deezer instead, or fix the app.",
        )
    return CollectError(
        f"Spotify answered HTTP {error.http_status}: {str(error.msg).strip()}.",
        "Run the same command again later; finished pages are kept.",
    )
