"""The demo catalog itself: its rows, and the build that renders their audio and writes them."""

from __future__ import annotations

from collections.abc import Callable

from core.catalog.store import Catalog
from core.catalog.track_writer import ArtistRef, TrackRecord
from core.config import Settings
from core.demo.audio import audio_lock, audio_relative_path, remove_unreferenced_audio, render_audio
from core.demo.plan import DEFAULT_SEED, DEFAULT_TRACKS, FANS_READ_AT, SOURCE, DemoArtist, DemoPlan, plan_catalog
from core.errors import UsageError

# The quick-start part of the catalog: every eighth song (108 of the default demo's 887 with audio), so every
# artist style is there and a first verdict is possible about a minute after set-up starts;
# its clips' musicnn embeddings take 40 s on the 2-core reference machine.
QUICK_START_EVERY = 8


def track_records(plan: DemoPlan, hashes: dict[int, str], songs: set[int] | None = None) -> list[TrackRecord]:
    """The catalog rows of the releases of ``songs`` (default: all); ``hashes`` gives each
    rendered song's audio."""
    records = []
    for row, release in enumerate(plan.releases):
        song = release.song
        if songs is not None and song.index not in songs:
            continue
        source_id = f"demo{plan.seed}-{row:05d}"
        artists = [_artist_ref(song.artist)]
        title = song.title
        if song.featuring is not None:
            artists.append(_artist_ref(song.featuring))
            title = f"{song.title} (feat. {song.featuring.name})"
        sha256 = hashes.get(song.index) if release.has_preview else None
        records.append(
            TrackRecord(
                source=SOURCE,
                source_id=source_id,
                name=title,
                artists=artists,
                popularity=float(release.popularity),
                popularity_scale="spotify",
                isrc=f"XDDMO{19 + song.seed % 3:02d}{song.index:05d}",  # one per recording
                album=release.album,
                album_type=release.album_type,
                release_date=release.release_date.isoformat(),
                duration_ms=release.duration_ms,
                preview_url=f"demo://preview/{source_id}" if release.has_preview else None,
                audio_path=audio_relative_path(sha256) if sha256 else None,
                audio_sha256=sha256,
            )
        )
    return records


def _artist_ref(artist: DemoArtist) -> ArtistRef:
    return ArtistRef(artist.source_id, artist.name, fans=artist.fans, read_at=FANS_READ_AT)


def render_counts(tracks: int = DEFAULT_TRACKS, seed: int = DEFAULT_SEED) -> tuple[int, int]:
    """How many songs the demo renders in all, and in its quick-start part."""
    plan = plan_catalog(tracks, seed)
    rendered = {r.song.index for r in plan.releases if r.has_preview}
    return len(rendered), len(rendered & quick_start_songs(plan))


def quick_start_songs(plan: DemoPlan) -> set[int]:
    return {song.index for song in plan.songs if song.index % QUICK_START_EVERY == 0}


def demo_label(tracks: int, seed: int, *, quick_start: bool = False) -> str:
    """The catalog's ``demo`` fact: which demo it holds, and whether only its quick-start part."""
    return f"tracks={tracks} seed={seed}" + (" quick-start" if quick_start else "")


def is_quick_start(catalog: Catalog) -> bool:
    """Whether the catalog holds only the quick-start part of a demo (set-up completes it)."""
    return (catalog.get_meta("demo") or "").endswith(" quick-start")


def build_demo(
    settings: Settings,
    *,
    tracks: int = DEFAULT_TRACKS,
    seed: int = DEFAULT_SEED,
    replace: bool = False,
    quick_start: bool = False,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Catalog:
    """Render the demo audio and write the demo catalog in one transaction.

    With ``quick_start`` only every fourth song's releases are written; a later build of the
    same demo completes that catalog without rendering those songs again. An interrupted
    build resumes: the songs it rendered are reused (see ``core.demo.audio``). The
    catalog rows appear all at once or not at all; then the audio of the demo this one
    replaced, and of any build interrupted for good, is deleted.
    """
    catalog = Catalog.open(settings, create=True)
    completing = catalog.get_meta("demo") == demo_label(tracks, seed, quick_start=True)
    if catalog.track_count() and not (replace or completing):
        catalog.close()
        raise UsageError(
            f"A catalog with tracks already exists at {settings.catalog_path}.",
            "Pass --replace to rebuild it as the demo catalog (its tracks are deleted).",
        )
    plan = plan_catalog(tracks, seed)
    songs = quick_start_songs(plan) if quick_start else {song.index for song in plan.songs}
    try:
        with audio_lock(settings, exclusive=False):  # no clean-up while our files are not in the catalog
            known = _rendered_songs(catalog, plan) if completing else {}
            hashes = known | render_audio(plan, settings, songs - set(known), workers=workers, on_progress=on_progress)
            meta = {"demo": demo_label(tracks, seed, quick_start=quick_start)}
            catalog.replace_tracks(track_records(plan, hashes, songs), meta=meta)
    except BaseException:
        catalog.close()
        raise
    remove_unreferenced_audio(settings)
    return catalog


def _rendered_songs(catalog: Catalog, plan: DemoPlan) -> dict[int, str]:
    """Song index -> audio SHA-256 of the songs the catalog already holds (by release row)."""
    prefix = f"demo{plan.seed}-"
    rendered = {}
    for source_id, sha256 in catalog.conn.execute(
        "SELECT source_id, audio_sha256 FROM tracks WHERE source = ? AND audio_sha256 IS NOT NULL", (SOURCE,)
    ):
        if source_id.startswith(prefix):
            rendered[plan.releases[int(source_id[len(prefix) :])].song.index] = sha256
    return rendered
