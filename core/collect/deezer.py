"""Deezer's public API (no key): the source that works for everyone in 2026.

``DeezerClient`` speaks the API: about 50 requests per 5 s (a token bucket), the quota error
Deezer sends with HTTP 200 (``{"error": {"code": 4}}``) answered with a back-off, "no data"
(code 800) as ``None``. ``DeezerSource`` samples recent hip-hop for ``core.collect.collection``:
it starts from the Rap/Hip Hop (genre 116) chart and genre artists, walks to their related
artists, and takes each artist's top tracks and a few of their albums released in the chosen
years. A track's ``rank`` (0 to about 1,000,000, refreshed from streams) is kept as its
popularity on its own scale, ``deezer_rank``. Each visited artist's ``nb_fan`` and
``nb_album`` (``artist/{id}``) are kept with the time they were read, for the tracks of that
visit and of the albums it queues.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from core.catalog.database import utc_now
from core.catalog.track_writer import ArtistRef, TrackRecord
from core.collect.collection import Candidate, YearRange
from core.collect.downloads import PreviewRequest
from core.collect.http import HttpClient
from core.errors import CollectError, RateLimited

API = "https://api.deezer.com"
HIP_HOP_GENRE = 116
QUOTA_ERROR_CODE = 4
NO_DATA_ERROR_CODE = 800
QUOTA_RETRIES = 5
QUOTA_BACKOFF_SECONDS = 5.0
ALBUMS_PER_ARTIST = 3


class DeezerClient:
    def __init__(self, http: HttpClient):
        self.http = http  # rate-limited: see core.collect.sources.deezer_client

    def get(self, path: str, **params) -> dict | None:
        """The JSON body of ``path``; None when Deezer has no such object."""
        for attempt in range(1, QUOTA_RETRIES + 1):
            body = self.http.get(f"{API}/{path.lstrip('/')}", params=params or None).json()
            error = body.get("error") if isinstance(body, dict) else None
            if not error:
                return body
            if error.get("code") == NO_DATA_ERROR_CODE:
                return None
            if error.get("code") != QUOTA_ERROR_CODE:
                raise CollectError(
                    f"Deezer answered an error for {path}: {error.get('message')} (code {error.get('code')}).",
                    "Run the same command again later; everything collected so far is kept.",
                )
            # Over quota: Deezer's window is 5 s, so wait it out, longer each time.
            self.http.clock.sleep(QUOTA_BACKOFF_SECONDS * attempt * (1 + self.http.clock.random()))
        raise RateLimited(
            f"Deezer kept answering 'quota limit exceeded' after {QUOTA_RETRIES} back-offs.",
            "Wait a few minutes and run the same command again; everything collected so far is kept.",
        )

    def items(self, path: str, **params) -> list[dict]:
        body = self.get(path, **params)
        return body.get("data", []) if body else []

    def artist(self, artist_id: int | str) -> dict | None:
        return self.get(f"artist/{artist_id}")

    def track(self, track_id: int | str) -> dict | None:
        return self.get(f"track/{track_id}")

    def track_by_isrc(self, isrc: str) -> dict | None:
        return self.get(f"track/isrc:{isrc}")

    def search_tracks(self, artist: str, title: str, limit: int = 10) -> list[dict]:
        return self.items("search", q=f'artist:"{artist}" track:"{title}"', limit=limit)

    def preview_request(self, track: dict) -> PreviewRequest | None:
        """How to download ``track``'s preview, refreshing the signed URL by id if it expired."""
        if not track.get("preview"):
            return None
        track_id = track["id"]

        def refresh() -> str | None:
            fresh = self.track(track_id)
            return fresh.get("preview") if fresh else None

        return PreviewRequest(str(track_id), track["preview"], refresh)


@dataclass(frozen=True)
class AlbumInfo:
    id: int
    title: str
    release_date: str
    record_type: str

    @classmethod
    def of(cls, album: dict) -> AlbumInfo:
        return cls(album["id"], album["title"], album["release_date"], album.get("record_type", "album"))


class DeezerSource:
    """Recent hip-hop from Deezer, page by page. The cursor (a JSON-able dict) holds the
    queue of what to visit next and what was seen; each call to ``next_page`` takes one
    unit of work from it, so a resumed collection continues exactly where it stopped."""

    name = "deezer"
    popularity_scale = "deezer_rank"

    def __init__(self, client: DeezerClient, years: YearRange, seed: int = 42):
        self.client = client
        self.years = years
        self.seed = seed

    @property
    def params(self) -> dict:
        return {"genre": HIP_HOP_GENRE, "years": str(self.years), "seed": self.seed}

    def start(self) -> dict:
        return {"queue": [["seeds"]], "seen_artists": [], "seen_albums": [], "pages": 0}

    def next_page(self, cursor: dict) -> list[Candidate] | None:
        """The next unit's tracks (possibly none); None when nothing is left to visit."""
        if not cursor["queue"]:
            return None
        kind, *args = cursor["queue"].pop(0)
        rng = random.Random(f"{self.seed}:{cursor['pages']}")
        cursor["pages"] += 1
        if kind == "seeds":
            self._add_artists(cursor, self._seed_artists(), rng)
            return []
        if kind == "artist":
            return self._visit_artist(cursor, args[0], rng)
        return self._visit_album(*args)

    def _seed_artists(self) -> list[dict]:
        chart = self.client.get(f"chart/{HIP_HOP_GENRE}") or {}
        artists = list(chart.get("artists", {}).get("data", []))
        artists += [track["artist"] for track in chart.get("tracks", {}).get("data", []) if "artist" in track]
        return artists + self.client.items(f"genre/{HIP_HOP_GENRE}/artists")

    def _add_artists(self, cursor: dict, artists: list[dict], rng: random.Random) -> None:
        fresh = list(dict.fromkeys(a["id"] for a in artists if a["id"] not in cursor["seen_artists"]))
        rng.shuffle(fresh)
        cursor["seen_artists"] += fresh
        cursor["queue"] += [["artist", artist_id] for artist_id in fresh]

    def _visit_artist(self, cursor: dict, artist_id: int, rng: random.Random) -> list[Candidate]:
        albums = {
            album["id"]: AlbumInfo.of(album)
            for album in self.client.items(f"artist/{artist_id}/albums", limit=100)
            if self.years.contains(album.get("release_date"))
        }
        top = [
            t for t in self.client.items(f"artist/{artist_id}/top", limit=50) if t.get("album", {}).get("id") in albums
        ]
        unseen = [album_id for album_id in albums if album_id not in cursor["seen_albums"]]
        rng.shuffle(unseen)
        chosen = unseen[:ALBUMS_PER_ARTIST]
        # Only an artist whose tracks are collected is worth a request for their fans. The
        # reading travels with the queued albums, so their tracks have it on a resumed run too.
        reading = artist_reading(artist_id, self.client.artist(artist_id)) if top or chosen else None
        cursor["seen_albums"] += chosen
        cursor["queue"][:0] = [["album", album_id, reading] for album_id in chosen]  # this artist's albums first
        self._add_artists(cursor, self.client.items(f"artist/{artist_id}/related"), rng)
        return [self.candidate(track, albums[track["album"]["id"]], reading) for track in top]

    def _visit_album(self, album_id: int, reading: dict | None = None) -> list[Candidate]:
        album = self.client.get(f"album/{album_id}")
        if not album or not self.years.contains(album.get("release_date")):
            return []
        info = AlbumInfo.of(album)
        return [self.candidate(track, info, reading) for track in album.get("tracks", {}).get("data", [])]

    def candidate(self, track: dict, album: AlbumInfo, reading: dict | None = None) -> Candidate:
        return Candidate(track_record(track, album, reading), self.client.preview_request(track))


def artist_reading(artist_id: int, artist: dict | None) -> dict | None:
    """What Deezer's artist object says about the artist now (``nb_fan``, ``nb_album``) and
    when it was read, as a JSON-able dict for the cursor; None when Deezer has no such artist."""
    if not artist:
        return None
    return {"id": artist_id, "fans": artist.get("nb_fan"), "albums": artist.get("nb_album"), "read_at": utc_now()}


def track_record(track: dict, album: AlbumInfo | None = None, reading: dict | None = None) -> TrackRecord:
    """A Deezer track object (from any endpoint) as a catalog row; ``album`` fills in what
    list endpoints leave out (release date, record type), ``reading`` (see
    :func:`artist_reading`) the fans of the artist it names; other contributors' fans stay
    unknown."""
    credited = track.get("contributors") or [track["artist"]]
    album_data = track.get("album", {})
    return TrackRecord(
        source="deezer",
        source_id=str(track["id"]),
        name=track["title"],
        artists=[artist_ref(a, reading) for a in credited],
        popularity=float(track["rank"]) if track.get("rank") is not None else None,
        popularity_scale="deezer_rank",
        isrc=track.get("isrc"),
        album=album.title if album else album_data.get("title"),
        album_type=album.record_type if album else album_data.get("record_type"),
        release_date=album.release_date if album else track.get("release_date") or album_data.get("release_date"),
        duration_ms=int(track["duration"]) * 1000 if track.get("duration") else None,
        preview_url=track.get("preview") or None,
    )


def artist_ref(artist: dict, reading: dict | None) -> ArtistRef:
    if reading is None or reading["id"] != artist["id"]:
        return ArtistRef(str(artist["id"]), artist["name"])
    return ArtistRef(str(artist["id"]), artist["name"], reading["fans"], reading["albums"], reading["read_at"])
