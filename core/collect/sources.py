"""Build a source and its preview downloader from command-line choices; one HTTP session
for everything (tests swap ``new_session`` for one that replays recorded responses)."""

from __future__ import annotations

import requests

from core.collect.collection import Source, YearRange
from core.collect.deezer import DeezerClient, DeezerSource
from core.collect.downloads import PreviewDownloader
from core.collect.http import Clock, HttpClient, TokenBucket
from core.collect.resolve import DeezerResolver
from core.config import Settings

SOURCES = ("deezer", "spotify")
DEEZER_REQUESTS_PER_5_S = 50


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "Hitlens/1 (hip-hop popularity research)"
    return session


def deezer_client(session: requests.Session, clock: Clock) -> DeezerClient:
    bucket = TokenBucket(DEEZER_REQUESTS_PER_5_S, DEEZER_REQUESTS_PER_5_S / 5, clock)
    return DeezerClient(HttpClient("Deezer", session, bucket, clock))


def build_source(
    settings: Settings, name: str, years: YearRange, *, market: str = "US", seed: int = 42, clock: Clock | None = None
) -> tuple[Source, PreviewDownloader]:
    clock = clock or Clock()
    session = new_session()
    deezer = deezer_client(session, clock)
    if name == "deezer":
        source: Source = DeezerSource(deezer, years, seed)
    else:
        from core.collect.spotify import SpotifySource, find_credentials, spotify_client

        client = spotify_client(find_credentials(), session)
        source = SpotifySource(client, DeezerResolver(deezer), years, market, seed, clock)
    previews = HttpClient(f"{name.capitalize()} previews", session, clock=clock)
    return source, PreviewDownloader(previews, settings, name)


def preview_resolver(settings: Settings, clock: Clock | None = None) -> tuple[DeezerResolver, PreviewDownloader]:
    """What ``import`` uses to give table rows audio: Deezer lookups and a downloader."""
    clock = clock or Clock()
    session = new_session()
    downloader = PreviewDownloader(HttpClient("preview host", session, clock=clock), settings, "import")
    return DeezerResolver(deezer_client(session, clock)), downloader
