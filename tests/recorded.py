"""Recorded HTTP for the collector tests: no socket is ever opened.

``ReplaySession`` is a real ``requests.Session`` whose transport answers from a handler, so
spotipy and the Deezer client run their real code paths. ``Recordings`` replays files in the
format of ``../shared/data/api-samples/deezer/*.json`` (a list of {method, uri, status, body}).
``FakeDeezer`` serves a small hip-hop catalogue in the shapes of those real responses, with
faults to inject (quota errors, expired preview URLs, dropped connections).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import requests
import soundfile as sf
from requests.adapters import BaseAdapter

from core.collect.http import Clock


@dataclass
class Reply:
    status: int = 200
    body: object = None
    headers: dict = field(default_factory=dict)


class ReplayAdapter(BaseAdapter):
    def __init__(self, handler: Callable[[requests.PreparedRequest], Reply]):
        super().__init__()
        self.handler = handler

    def send(self, request, **kwargs):
        reply = self.handler(request)
        response = requests.Response()
        response.status_code = reply.status
        response.url = request.url
        response.request = request
        response.headers.update(reply.headers)
        if isinstance(reply.body, bytes):
            response._content = reply.body
        else:
            response._content = json.dumps(reply.body).encode()
            response.headers.setdefault("Content-Type", "application/json")
        response.reason = "OK" if reply.status < 400 else "Error"
        response.encoding = "utf-8"
        return response

    def close(self):
        pass


class ReplaySession(requests.Session):
    def __init__(self, handler: Callable[[requests.PreparedRequest], Reply]):
        super().__init__()
        self.requests: list[str] = []

        def logged(request):
            self.requests.append(request.url)
            return handler(request)

        for prefix in ("https://", "http://"):
            self.mount(prefix, ReplayAdapter(logged))


def route(url: str) -> tuple[str, dict]:
    """(path, query) of a URL: what handlers match on."""
    parts = urlsplit(url)
    return parts.path.strip("/"), dict(parse_qsl(parts.query))


class Recordings:
    """Answers from recorded exchanges, matched on method, path and query (any order)."""

    def __init__(self, exchanges: list[dict]):
        self.exchanges = {(e["method"], *_key(e["uri"])): Reply(e["status"], e["body"]) for e in exchanges}

    @classmethod
    def load(cls, *paths: Path) -> Recordings:
        return cls([exchange for path in paths for exchange in json.loads(path.read_text())])

    def __call__(self, request) -> Reply:
        key = (request.method, *_key(request.url))
        if key not in self.exchanges:
            raise AssertionError(f"no recording for {request.method} {request.url}")
        return self.exchanges[key]


def _key(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    return parts.netloc, parts.path, json.dumps(sorted(parse_qsl(parts.query)))


class FakeClock(Clock):
    """Time that advances only when slept; every sleep is recorded."""

    def __init__(self):
        self.time = 0.0
        self.sleeps: list[float] = []
        super().__init__(now=lambda: self.time, sleep=self._sleep, random=lambda: 0.5)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds


def mp3_clips(count: int, seconds: float = 12.0) -> list[bytes]:
    """Distinct short mp3 clips (a chord and noise, different per clip)."""
    rate = 22_050
    t = np.arange(int(seconds * rate)) / rate
    clips = []
    for index in range(count):
        rng = np.random.default_rng(index)
        signal = sum(np.sin(2 * np.pi * f * t) for f in (110 * (index + 1), 330, 550)) / 4
        signal = (signal + 0.05 * rng.standard_normal(t.size)).astype("float32")
        buffer = io.BytesIO()
        sf.write(buffer, signal, rate, format="MP3")
        clips.append(buffer.getvalue())
    return clips


API = "api.deezer.com"
CDN = "cdns-preview-e.dzcdn.net"


class FakeDeezer:
    """A small Deezer with ``artists`` rap artists, each with albums in and out of the year
    range, top tracks, related artists, a fan count (``fans``), and previews served as mp3 bytes.

    Faults: ``quota_errors[path] = n`` answers the quota error n times first;
    ``unknown_artists`` holds artist ids whose ``artist/{id}`` answers "no data";
    ``expired`` holds track ids whose first preview URL answers 403; ``cdn_down`` makes the
    preview host unreachable; ``fail_after`` raises
    ``interrupt`` once that many requests were served (a Ctrl-C or a dropped connection).
    """

    def __init__(self, clips: list[bytes], artists: int = 8):
        self.clips = clips
        self.artist_ids = [1000 + i for i in range(artists)]
        self.fans = {artist_id: 2_500 * (i + 1) ** 3 for i, artist_id in enumerate(self.artist_ids)}
        self.unknown_artists: set[int] = set()
        self.quota_errors: dict[str, int] = {}
        self.expired: set[int] = set()
        self.fail_after: int | None = None
        self.cdn_down = False
        self.interrupt: BaseException = KeyboardInterrupt()
        self.served = 0
        self.preview_version: dict[int, int] = {}
        self.albums = {}
        self.tracks = {}
        for a, artist_id in enumerate(self.artist_ids):
            for b, year in enumerate((2019, 2020, 2021, 2015)):
                album_id = artist_id * 10 + b
                record_type = "single" if b == 1 else "album"
                self.albums[album_id] = {
                    "id": album_id,
                    "title": f"Album {a}-{b}",
                    "release_date": f"{year}-0{b + 3}-1{a % 9}",
                    "record_type": record_type,
                    "artist": self.artist(artist_id),
                }
                for n in range(1 if record_type == "single" else 4):
                    track_id = album_id * 100 + n
                    self.tracks[track_id] = {
                        "id": track_id,
                        "title": f"Song {a}-{n}" if b != 2 else f"Cut {a}-{n}",
                        "duration": 150 + 7 * n + a,
                        "rank": (track_id * 7919) % 900_000 + 1000,
                        "album_id": album_id,
                        "artist_id": artist_id,
                        "isrc": f"USRC1{track_id:07d}",
                    }
        # A compilation re-issue with the very same name, duration and rank as a track
        # already collected: the study drops such a row on insert.
        first = self.tracks[self.artist_ids[0] * 1000]
        self.duplicate_id = 9_999_001
        self.albums[99_990] = {
            "id": 99_990,
            "title": "Hits Compilation",
            "release_date": "2020-12-01",
            "record_type": "compile",
            "artist": self.artist(self.artist_ids[0]),
        }
        self.tracks[self.duplicate_id] = {**first, "id": self.duplicate_id, "album_id": 99_990, "isrc": "USRC19999001"}

    def artist(self, artist_id: int) -> dict:
        return {
            "id": artist_id,
            "name": f"MC {artist_id}",
            "link": f"https://www.deezer.com/artist/{artist_id}",
            "picture": f"https://api.deezer.com/artist/{artist_id}/image",
            "type": "artist",
        }

    def preview_url(self, track_id: int) -> str:
        version = self.preview_version.get(track_id, 0)
        return f"https://{CDN}/stream/c-{track_id:x}-{version}.mp3"

    def track_item(self, track_id: int, *, full: bool = False) -> dict:
        track = self.tracks[track_id]
        album = self.albums[track["album_id"]]
        item = {
            "id": track_id,
            "readable": True,
            "title": track["title"],
            "title_short": track["title"],
            "title_version": "",
            "link": f"https://www.deezer.com/track/{track_id}",
            "duration": track["duration"],
            "rank": track["rank"],
            "explicit_lyrics": True,
            "preview": self.preview_url(track_id),
            "artist": self.artist(track["artist_id"]),
            "album": {"id": album["id"], "title": album["title"], "type": "album"},
            "type": "track",
        }
        if full:
            item.update(
                isrc=track["isrc"], release_date=album["release_date"], contributors=[self.artist(track["artist_id"])]
            )
        return item

    def album_tracks(self, album_id: int) -> list[int]:
        return [t for t, track in self.tracks.items() if track["album_id"] == album_id]

    def artist_albums(self, artist_id: int) -> list[int]:
        return [a for a, album in self.albums.items() if album["artist"]["id"] == artist_id]

    def __call__(self, request) -> Reply:
        self.served += 1
        if self.fail_after is not None and self.served > self.fail_after:
            self.fail_after = None
            raise self.interrupt
        parts = urlsplit(request.url)
        path, query = route(request.url)
        if parts.netloc == CDN:
            if self.cdn_down:
                raise requests.ConnectionError("preview host unreachable")
            return self.preview(path)
        if self.quota_errors.get(path, 0) > 0:
            self.quota_errors[path] -= 1
            return Reply(200, {"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}})
        body = self.api(path, query)
        if body is None:
            return Reply(200, {"error": {"type": "DataException", "message": "no data", "code": 800}})
        return Reply(200, body)

    def api(self, path: str, query: dict) -> dict | None:
        if path == "chart/116":
            top = [self.track_item(a * 1000) for a in self.artist_ids[:2]]
            return {
                "tracks": {"data": top, "total": len(top)},
                "artists": {"data": [self.artist(a) for a in self.artist_ids[:3]], "total": 3},
            }
        if path == "genre/116/artists":
            return {"data": [self.artist(a) for a in self.artist_ids[2:4]]}
        if match := re.fullmatch(r"artist/(\d+)/(albums|top|related)", path):
            artist_id, what = int(match[1]), match[2]
            if what == "albums":
                albums = [self.albums[a] for a in self.artist_albums(artist_id)]
                return {
                    "data": [{k: v for k, v in album.items() if k != "artist"} for album in albums],
                    "total": len(albums),
                }
            if what == "top":
                tracks = [t for a in self.artist_albums(artist_id) for t in self.album_tracks(a)][:5]
                return {
                    "data": [self.track_item(t) | {"contributors": [self.artist(artist_id)]} for t in tracks],
                    "total": len(tracks),
                }
            index = self.artist_ids.index(artist_id)
            related = self.artist_ids[index + 1 : index + 3] + self.artist_ids[max(index - 1, 0) : index]
            return {"data": [self.artist(a) for a in related], "total": len(related)}
        if match := re.fullmatch(r"artist/(\d+)", path):
            artist_id = int(match[1])
            if artist_id not in self.fans or artist_id in self.unknown_artists:
                return None
            return self.artist(artist_id) | {  # the fields of ../shared/data/api-samples/deezer/artist.json
                "share": f"https://www.deezer.com/artist/{artist_id}?utm_source=deezer",
                "picture_small": f"https://e-cdns-images.dzcdn.net/images/artist/{artist_id:x}/56x56-000000-80-0-0.jpg",
                "nb_album": len(self.artist_albums(artist_id)),
                "nb_fan": self.fans[artist_id],
                "radio": True,
                "tracklist": f"https://api.deezer.com/artist/{artist_id}/top?limit=50",
            }
        if match := re.fullmatch(r"album/(\d+)", path):
            album = self.albums.get(int(match[1]))
            if album is None:
                return None
            tracks = [self.track_item(t) for t in self.album_tracks(album["id"])]
            return album | {"tracks": {"data": tracks}}
        if path == "search":
            wanted = re.fullmatch(r'artist:"(.*)" track:"(.*)"', query["q"])
            title = wanted[2].casefold()  # Deezer's search is fuzzy: containment either way will do
            hits = [
                self.track_item(t)
                for t, track in self.tracks.items()
                if title in track["title"].casefold() or track["title"].casefold() in title
            ]
            return {"data": hits[: int(query.get("limit", 25))], "total": len(hits)}
        if match := re.fullmatch(r"track/isrc:(\w+)", path):
            found = [t for t, track in self.tracks.items() if track["isrc"] == match[1]]
            return self.track_item(found[0], full=True) if found else None
        if match := re.fullmatch(r"track/(\d+)", path):
            track_id = int(match[1])
            if track_id not in self.tracks:
                return None
            if track_id in self.expired:  # the lookup signs a fresh URL
                self.expired.discard(track_id)
                self.preview_version[track_id] = self.preview_version.get(track_id, 0) + 1
            return self.track_item(track_id, full=True)
        raise AssertionError(f"FakeDeezer has no route for {path}")

    def preview(self, path: str) -> Reply:
        match = re.fullmatch(r"stream/c-([0-9a-f]+)-(\d+)\.mp3", path)
        track_id, version = int(match[1], 16), int(match[2])
        if track_id in self.expired or version != self.preview_version.get(track_id, 0):
            return Reply(403, b"URL signature expired")
        return Reply(200, self.clips[track_id % len(self.clips)], {"Content-Type": "audio/mpeg"})


class FakeSpotify:
    """Spotify's token and search endpoints over ``tracks`` hip-hop tracks whose ISRCs are
    those of a ``FakeDeezer`` (so missing previews can be resolved there). Switches model what
    an app may get in 2026: ``popularity`` (absent for development-mode apps since 2026),
    ``previews`` (null since November 2024), ``max_limit`` (10 for development-mode apps),
    ``followers`` (artists' follower counts, absent for apps registered since 2026),
    ``artists_status`` (an error status for ``GET /artists``, as for an app without it);
    ``retry_after`` answers the next search with a 429; ``token_error`` rejects the credentials."""

    def __init__(self, deezer: FakeDeezer, tracks: int = 60):
        self.deezer = deezer
        self.items = [self.item(index, track_id) for index, track_id in enumerate(sorted(deezer.tracks)[:tracks])]
        self.popularity = True
        self.previews = False
        self.max_limit = 50
        self.followers = True
        self.artists_status: int | None = None
        self.artist_lookups: list[list[str]] = []
        self.retry_after: str | None = None
        self.token_error: str | None = None
        self.search_status: int | None = None
        self.searches: list[dict] = []

    def item(self, index: int, deezer_id: int) -> dict:
        track = self.deezer.tracks[deezer_id]
        album = self.deezer.albums[track["album_id"]]
        artist = {"id": f"ar{track['artist_id']:020d}", "name": f"MC {track['artist_id']}", "type": "artist"}
        return {
            "album": {
                "album_type": album["record_type"].replace("compile", "compilation"),
                "id": f"al{album['id']:020d}",
                "name": album["title"],
                "release_date": album["release_date"],
                "release_date_precision": "day",
                "artists": [artist],
                "images": [],
                "type": "album",
            },
            "artists": [artist],
            "disc_number": 1,
            "duration_ms": track["duration"] * 1000 + 412,
            "explicit": True,
            "external_ids": {"isrc": track["isrc"]},
            "id": f"sp{index:020d}",
            "name": track["title"],
            "popularity": (index * 37) % 90 + 5,
            "preview_url": None,
            "track_number": 1,
            "type": "track",
            "uri": f"spotify:track:sp{index:020d}",
        }

    def __call__(self, request) -> Reply:
        parts = urlsplit(request.url)
        if parts.netloc in (API, CDN):
            return self.deezer(request)
        if parts.netloc == "accounts.spotify.com":
            if self.token_error:
                return Reply(400, {"error": self.token_error, "error_description": "Invalid client secret"})
            return Reply(200, {"access_token": "recorded-token", "token_type": "Bearer", "expires_in": 3600})
        if parts.netloc == "p.scdn.co":
            return Reply(200, self.deezer.clips[0], {"Content-Type": "audio/mpeg"})
        path, query = route(request.url)
        if path == "v1/artists":
            return self.artists(query["ids"].split(","))
        assert path == "v1/search", path
        self.searches.append(query)
        if self.retry_after is not None:
            retry_after, self.retry_after = self.retry_after, None
            return Reply(
                429, {"error": {"status": 429, "message": "API rate limit exceeded"}}, {"Retry-After": retry_after}
            )
        if self.search_status:
            return Reply(
                self.search_status, {"error": {"status": self.search_status, "message": "Invalid access token"}}
            )
        limit, offset = int(query["limit"]), int(query["offset"])
        if limit > self.max_limit:
            return Reply(400, {"error": {"status": 400, "message": "Invalid limit"}})
        items = [dict(item) for item in self.items[offset : offset + limit]]
        for item in items:
            if not self.popularity:
                del item["popularity"]
            if self.previews:
                item["preview_url"] = f"https://p.scdn.co/mp3-preview/{item['id']}"
        return Reply(
            200,
            {
                "tracks": {
                    "href": request.url,
                    "items": items,
                    "limit": limit,
                    "offset": offset,
                    "total": len(self.items),
                    "next": None,
                    "previous": None,
                }
            },
        )

    def artists(self, ids: list[str]) -> Reply:
        """``GET /artists?ids=...``: full artist objects, with ``followers`` when the app gets them."""
        self.artist_lookups.append(ids)
        if len(ids) > 50:
            return Reply(400, {"error": {"status": 400, "message": "Too many ids requested"}})
        if self.artists_status:
            return Reply(self.artists_status, {"error": {"status": self.artists_status, "message": "Forbidden"}})
        found = []
        for artist_id in ids:
            artist = {
                "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist_id}"},
                "genres": ["hip hop", "rap"],
                "href": f"https://api.spotify.com/v1/artists/{artist_id}",
                "id": artist_id,
                "images": [],
                "name": f"MC {int(artist_id[2:])}",
                "type": "artist",
                "uri": f"spotify:artist:{artist_id}",
            }
            if self.followers:
                artist["followers"] = {"href": None, "total": self.deezer.fans.get(int(artist_id[2:]), 0)}
            if self.popularity:
                artist["popularity"] = int(artist_id[-2:]) + 10
            found.append(artist)
        return Reply(200, {"artists": found})
