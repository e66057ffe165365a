"""The embedded demo catalog: synthetic hip-hop tracks whose popularity follows a written rule.

Nothing here is real: artists, titles and audio are generated from a seed, and the same
seed always gives the same catalog and the same audio bytes. It exists so Hitlens works on
a machine with no network, and so tests can check that models and explanations find a
signal whose location is known.

Structure. About one artist per 15 tracks (``--tracks 1200`` gives 80), each with a style
(tempo, trap or boom-bap kit, key, pad, vocal-like band). Artists release singles and
albums in 2019-2021; some album songs were also released earlier as a single, some albums
get a deluxe edition, a few songs land on compilations. Every release is a catalog row;
releases of one song share its audio (and ISRC) but not its popularity. About 8% of rows
have no preview (no audio), as in the study's data.

Popularity rule. Each song has three audio traits, each absent (probability 1/2) or present
with a strength drawn uniformly from [0.4, 1], placed in known regions (``SIGNAL_REGIONS``):

    hook  high mids (2-6 kHz), 10-20 s   a whistle-like lead melody       weight +1.5
    drop  bass (60-250 Hz),    20-30 s   sustained 808 notes              weight +1.2
    hiss  highs/air (> 6 kHz),  0-10 s   tape hiss and vinyl crackle      weight -1.1

For every release, ``z = sum(weight * strength) + artist effect + release noise`` with the
artist effect ~ N(0, 0.4) (fixed per artist) and release noise ~ N(0, 0.25). The release
is "popular-sounding" with probability ``sigmoid(6 (z - 0.3))``; its popularity (0-100,
Spotify's scale) is then drawn from N(47, 5) if so and N(27, 5.5) if not, rounded and
clipped to 1-100. Independently of the audio, a compilation release is 0 with probability
1/2 and any other release with probability 0.08 (Spotify's spike at 0). The result is
trimodal like the study's (spike at 0, peaks near 28 and 45) with about half the rows at or
above the study's threshold of 39. Audio alone predicts the label with a ROC-AUC of about
0.83 (audio plus the artist, about 0.87), so a good model lands near 0.75-0.85.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import inspect
import io
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import soundfile as sf

import core.synth
from core.catalog import ArtistRef, Catalog, TrackRecord
from core.config import SAMPLE_RATE, Settings
from core.errors import UsageError
from core.files import atomic_write_bytes, atomic_write_text, remove_stale_partials
from core.parallel import process_pool, worker_count
from core.synth import ArtistStyle, SongTraits, render

SOURCE = "demo"
DEFAULT_TRACKS = 1200
DEFAULT_SEED = 42
TRACKS_PER_ARTIST = 15
# The quick-start part of the catalog: every fourth song, so every artist style is there and a
# first model can be trained on it in about a minute while the rest is rendered.
QUICK_START_EVERY = 4


@dataclass(frozen=True)
class SignalRegion:
    trait: str
    band: str  # a name from core.bands.BANDS
    start_s: float
    end_s: float
    weight: float
    sound: str


SIGNAL_REGIONS: tuple[SignalRegion, ...] = (
    SignalRegion("hook", "high mids", 10.0, 20.0, +1.5, "a whistle-like lead melody"),
    SignalRegion("drop", "bass", 20.0, 30.0, +1.2, "sustained 808 notes"),
    SignalRegion("hiss", "highs/air", 0.0, 10.0, -1.1, "tape hiss and vinyl crackle"),
)
ARTIST_EFFECT_SD = 0.4
RELEASE_NOISE_SD = 0.25
SIGMOID_SLOPE = 6.0
SIGMOID_CENTRE = 0.3
TRAIT_PRESENT_PROBABILITY = 0.5
POPULAR_MEAN, POPULAR_SD = 47.0, 5.0
UNPOPULAR_MEAN, UNPOPULAR_SD = 27.0, 5.5
ZERO_PROBABILITY = {"compilation": 0.5, "other": 0.08}
NO_PREVIEW_PROBABILITY = 0.08
FIRST_DAY, LAST_DAY = date(2019, 1, 1), date(2021, 12, 31)

_PREFIXES = ["Lil", "Young", "MC", "DJ", "Big", "Yung", "Kid", "Lady", "King", "Saint", "", "", ""]
_NAMES = [
    "Placeholder",
    "Nebula",
    "Foobar",
    "Pixel",
    "Static",
    "Lorem",
    "Ipsum",
    "Sample",
    "Waveform",
    "Syntax",
    "Null",
    "Vector",
    "Sinewave",
    "Oscillator",
    "Decibel",
    "Tempo",
    "Quantize",
    "Metronome",
    "Loopback",
    "Fixture",
    "Mockingbird",
    "Testcase",
    "Snippet",
    "Buffer",
    "Bitrate",
    "Checksum",
    "Sidechain",
    "Reverb",
    "Subframe",
    "Hexcode",
    "Widget",
    "Gadget",
    "Dummy",
    "Proxy",
    "Stub",
    "Kernel",
    "Patch",
    "Codec",
    "Mixdown",
]
_SUFFIXES = ["", "", "", " the Synth", " Demo", " 3000", " Jr.", " XL", " Prime", " Beta"]
_TITLE_A = [
    "Midnight",
    "Paper",
    "Neon",
    "Velvet",
    "Concrete",
    "Golden",
    "Static",
    "Silent",
    "Ghost",
    "Cold",
    "Heavy",
    "Lucid",
    "Broken",
    "Electric",
    "Paper",
    "Hollow",
    "Sugar",
    "Crystal",
]
_TITLE_B = [
    "Dreams",
    "Chase",
    "Hustle",
    "Skyline",
    "Rain",
    "Motion",
    "Pressure",
    "Signals",
    "Summer",
    "Cash",
    "Echoes",
    "Flex",
    "Waves",
    "Blocks",
    "Tapes",
    "Corners",
    "Lights",
    "Engines",
]
_ALBUM_WORDS = ["Tape", "Sessions", "Chronicles", "Diaries", "Files", "Theory", "Season", "Code"]


@dataclass
class DemoArtist:
    index: int
    name: str
    style: ArtistStyle
    effect: float

    @property
    def source_id(self) -> str:
        return f"demo-artist-{self.index:03d}"


@dataclass
class DemoSong:
    index: int
    title: str
    artist: DemoArtist
    featuring: DemoArtist | None
    traits: SongTraits
    seed: int

    @property
    def audio_score(self) -> float:
        return sum(r.weight * getattr(self.traits, r.trait) for r in SIGNAL_REGIONS)


@dataclass
class DemoRelease:
    song: DemoSong
    album: str
    album_type: str
    release_date: date
    popularity: int
    has_preview: bool
    duration_ms: int


@dataclass
class DemoPlan:
    seed: int
    artists: list[DemoArtist]
    songs: list[DemoSong]
    releases: list[DemoRelease] = field(default_factory=list)


def plan_catalog(tracks: int = DEFAULT_TRACKS, seed: int = DEFAULT_SEED) -> DemoPlan:
    """Decide every artist, song and release (no audio yet). Pure and deterministic."""
    if tracks < 10:
        raise ValueError("the demo catalog needs at least 10 tracks")
    rng = np.random.default_rng(seed)
    artists = _make_artists(max(4, round(tracks / TRACKS_PER_ARTIST)), rng)
    productivity = rng.gamma(2.0, 1.0, size=len(artists))
    productivity /= productivity.sum()
    plan = DemoPlan(seed=seed, artists=artists, songs=[])
    titles: set[tuple[str, int]] = set()
    for artist in artists:  # every artist has at least one single
        _single(plan, artist, rng, titles)
    while len(plan.releases) < tracks:
        artist = artists[rng.choice(len(artists), p=productivity)]
        if rng.random() < 0.06 and len(plan.songs) >= 8:
            _compilation(plan, rng)
        elif rng.random() < 0.7:
            _single(plan, artist, rng, titles)
        else:
            _album(plan, artist, rng, titles)
    plan.releases = plan.releases[:tracks]
    used = {id(release.song) for release in plan.releases}
    plan.songs = [song for song in plan.songs if id(song) in used]
    return plan


def _make_artists(count: int, rng: np.random.Generator) -> list[DemoArtist]:
    names: list[str] = []
    while len(names) < count:
        name = " ".join(part for part in (rng.choice(_PREFIXES), rng.choice(_NAMES)) if part) + str(
            rng.choice(_SUFFIXES)
        )
        if name not in names:
            names.append(name)
    artists = []
    for index, name in enumerate(names):
        trap = bool(rng.random() < 0.6)
        style = ArtistStyle(
            tempo=float(rng.uniform(130, 160) if trap else rng.uniform(80, 98)),
            trap=trap,
            root_midi=int(rng.integers(28, 41)),
            kick_pitch=float(rng.uniform(100, 190)),
            snare_tone=float(rng.uniform(170, 260)),
            hat_brightness=float(rng.uniform(0, 1)),
            swing=0.0 if trap else float(rng.uniform(0.05, 0.3)),
            pad_level=float(rng.uniform(0.5, 1.5)),
            vocal_level=float(rng.uniform(0.3, 1.0)) if rng.random() < 0.6 else 0.0,
            vocal_pitch=float(rng.uniform(95, 220)),
        )
        effect = float(rng.normal(0.0, ARTIST_EFFECT_SD))
        artists.append(DemoArtist(index, name, style, effect))
    return artists


def _new_song(plan: DemoPlan, artist: DemoArtist, rng, titles: set[tuple[str, int]]) -> DemoSong:
    while True:
        title = f"{rng.choice(_TITLE_A)} {rng.choice(_TITLE_B)}"
        if rng.random() < 0.3:
            title += f" {rng.choice(['II', 'Pt. 2', 'Freestyle', 'Interlude', 'Remix'])}"
        if (title, artist.index) not in titles:
            titles.add((title, artist.index))
            break
    featuring = None
    if rng.random() < 0.12:
        featuring = plan.artists[int(rng.integers(len(plan.artists)))]
        featuring = None if featuring is artist else featuring

    def strength() -> float:
        present = rng.random() < TRAIT_PRESENT_PROBABILITY
        return float(rng.uniform(0.4, 1.0)) if present else 0.0

    traits = SongTraits(hook=strength(), drop=strength(), hiss=strength())
    song = DemoSong(len(plan.songs), title, artist, featuring, traits, int(rng.integers(2**31)))
    plan.songs.append(song)
    return song


def _release(plan: DemoPlan, song: DemoSong, album: str, album_type: str, day: date, rng) -> None:
    z = song.audio_score + song.artist.effect + rng.normal(0.0, RELEASE_NOISE_SD)
    popular = rng.random() < 1.0 / (1.0 + np.exp(-SIGMOID_SLOPE * (z - SIGMOID_CENTRE)))
    mean, sd = (POPULAR_MEAN, POPULAR_SD) if popular else (UNPOPULAR_MEAN, UNPOPULAR_SD)
    popularity = int(np.clip(round(rng.normal(mean, sd)), 1, 100))
    if rng.random() < ZERO_PROBABILITY["compilation" if album_type == "compilation" else "other"]:
        popularity = 0
    plan.releases.append(
        DemoRelease(
            song=song,
            album=album,
            album_type=album_type,
            release_date=day,
            popularity=popularity,
            has_preview=bool(rng.random() >= NO_PREVIEW_PROBABILITY),
            duration_ms=_song_length_ms(song),
        )
    )


def _song_length_ms(song: DemoSong) -> int:
    return 120_000 + (song.seed % 150_000)  # 2:00 to 4:30, the same on every release


def _random_day(rng, first: date = FIRST_DAY, last: date = LAST_DAY) -> date:
    return first + timedelta(days=int(rng.integers(0, (last - first).days + 1)))


def _single(plan: DemoPlan, artist: DemoArtist, rng, titles) -> None:
    song = _new_song(plan, artist, rng, titles)
    _release(plan, song, song.title, "single", _random_day(rng), rng)


def _album(plan: DemoPlan, artist: DemoArtist, rng, titles) -> None:
    name = f"{rng.choice(_TITLE_A)} {rng.choice(_ALBUM_WORDS)}"
    day = _random_day(rng)
    songs = [_new_song(plan, artist, rng, titles) for _ in range(int(rng.integers(6, 13)))]
    lead = songs[int(rng.integers(len(songs)))] if rng.random() < 0.5 else None
    if lead is not None:
        early = max(FIRST_DAY, day - timedelta(days=int(rng.integers(30, 120))))
        _release(plan, lead, lead.title, "single", early, rng)
    for song in songs:
        _release(plan, song, name, "album", day, rng)
    if rng.random() < 0.15:
        later = min(LAST_DAY, day + timedelta(days=int(rng.integers(60, 300))))
        for song in songs:
            _release(plan, song, f"{name} (Deluxe)", "album", later, rng)


def _compilation(plan: DemoPlan, rng) -> None:
    picks = rng.choice(len(plan.songs), size=min(len(plan.songs), int(rng.integers(4, 9))), replace=False)
    name = f"Demo Hits Vol. {len({r.album for r in plan.releases if r.album_type == 'compilation'}) + 1}"
    day = _random_day(rng)
    for index in sorted(picks):
        _release(plan, plan.songs[int(index)], name, "compilation", day, rng)


# --- audio ------------------------------------------------------------------------
#
# Files are content-addressed (audio/demo/<sha[:2]>/<sha>.mp3), so a song's path is known
# only once it is rendered. To resume an interrupted build without rendering every song again,
# each rendered song also gets a small record, audio/demo/renders/<render key>, holding its
# audio's SHA-256. The render key hashes everything the bytes depend on: the song's style,
# traits and seed, the synthesiser's source, the sample rate and the libsndfile and numpy
# versions; change any and the song is rendered again. A record is written after its audio,
# both atomically, and its audio is hashed again before it is reused.


def encode_mp3(samples: np.ndarray) -> bytes:
    handle = io.BytesIO()
    sf.write(handle, samples, SAMPLE_RATE, format="MP3")
    return handle.getvalue()


def audio_relative_path(sha256: str) -> str:
    return f"audio/{SOURCE}/{sha256[:2]}/{sha256}.mp3"


def demo_audio_dir(settings: Settings) -> Path:
    """The folder of the demo's audio, which Hitlens alone writes."""
    return settings.data_dir / "audio" / SOURCE


_RENDERS = "renders"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_AUDIO_FILE = re.compile(r"([0-9a-f]{2})[0-9a-f]{62}\.mp3")


@functools.cache
def _renderer_fingerprint() -> str:
    source = Path(core.synth.__file__).read_bytes() + inspect.getsource(encode_mp3).encode()
    versions = f"{SAMPLE_RATE} {sf.__libsndfile_version__} {np.__version__}".encode()
    return hashlib.sha256(source + versions).hexdigest()


def render_key(song: DemoSong) -> str:
    """What a song's audio bytes depend on, hashed (the name of its render record)."""
    parts = (_renderer_fingerprint(), astuple(song.artist.style), astuple(song.traits), song.seed)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _render_song(task: tuple[ArtistStyle, SongTraits, int, str, str]) -> str:
    style, traits, seed, data_dir, key = task
    data = encode_mp3(render(style, traits, seed))
    sha256 = hashlib.sha256(data).hexdigest()
    target = Path(data_dir) / audio_relative_path(sha256)
    if not target.exists():
        atomic_write_bytes(target, data)
    atomic_write_text(Path(data_dir) / "audio" / SOURCE / _RENDERS / key, sha256)
    return sha256


def _already_rendered(settings: Settings, key: str) -> str | None:
    """The SHA-256 of the song rendered under ``key``, if its file is there and intact."""
    try:
        sha256 = (demo_audio_dir(settings) / _RENDERS / key).read_text().strip()
        if not _SHA256.fullmatch(sha256):
            return None
        data = (settings.data_dir / audio_relative_path(sha256)).read_bytes()
    except OSError:
        return None
    return sha256 if hashlib.sha256(data).hexdigest() == sha256 else None


def render_audio(
    plan: DemoPlan,
    settings: Settings,
    songs: set[int],
    *,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[int, str]:
    """Render and store the audio of the songs ``songs`` that have a preview; song index ->
    SHA-256. Songs an interrupted build already rendered are reused, not rendered again;
    progress counts the songs left to render."""
    wanted = sorted({r.song.index for r in plan.releases if r.has_preview and r.song.index in songs})
    songs = {song.index: song for song in plan.songs}
    keys = {i: render_key(songs[i]) for i in wanted}
    hashes: dict[int, str] = {}
    for index in wanted:
        if sha256 := _already_rendered(settings, keys[index]):
            hashes[index] = sha256
    todo = [i for i in wanted if i not in hashes]
    data_dir = str(settings.data_dir)
    tasks = [(songs[i].artist.style, songs[i].traits, songs[i].seed, data_dir, keys[i]) for i in todo]
    if on_progress:
        on_progress(0, len(tasks))
    if not tasks:
        return hashes
    with process_pool(worker_count(workers, len(tasks))) as pool:
        for done, (index, sha256) in enumerate(zip(todo, pool.map(_render_song, tasks, chunksize=4), strict=True), 1):
            hashes[index] = sha256
            if on_progress:
                on_progress(done, len(tasks))
    return hashes


@contextmanager
def _audio_lock(settings: Settings, *, exclusive: bool) -> Iterator[bool]:
    """A lock on the demo's audio folder: builds hold it shared while their rendered files are
    not yet in the catalog; clean-up needs it alone and does not wait for it. Yields whether
    it was taken."""
    folder = demo_audio_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX | fcntl.LOCK_NB) if exclusive else fcntl.LOCK_SH)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_unreferenced_audio(settings: Settings) -> int | None:
    """Delete the demo audio files the catalog no longer refers to (a replaced demo's, an
    interrupted build's), with their render records and stale partial files; returns how many
    audio files, or None when another demo build is running (it cleans up when it ends).

    Only files named like the demo's own (``audio/demo/<sha[:2]>/<sha>.mp3``, regular files,
    not links) are candidates; nothing outside ``audio/demo`` is touched.
    """
    folder = demo_audio_dir(settings)
    if not Catalog.exists(settings):
        return 0
    with _audio_lock(settings, exclusive=True) as alone:
        if not alone:
            return None
        with Catalog.open(settings) as catalog:
            rows = catalog.conn.execute(
                "SELECT DISTINCT audio_path FROM tracks WHERE audio_path LIKE ?", (f"audio/{SOURCE}/%",)
            )
            referenced = {row[0] for row in rows}
        removed = 0
        for path in _audio_files(folder):
            if path.relative_to(settings.data_dir).as_posix() not in referenced:
                path.unlink(missing_ok=True)
                removed += 1
        records = folder / _RENDERS
        if records.is_dir():
            for record in records.iterdir():
                try:
                    sha256 = record.read_text().strip() if record.is_file() and not record.is_symlink() else ""
                except OSError:
                    continue
                if _SHA256.fullmatch(sha256) and audio_relative_path(sha256) not in referenced:
                    record.unlink(missing_ok=True)
        remove_stale_partials(folder)
    return removed


def _audio_files(folder: Path) -> Iterator[Path]:
    for bucket in os.scandir(folder):
        if not (len(bucket.name) == 2 and bucket.is_dir(follow_symlinks=False)):
            continue
        for entry in os.scandir(bucket.path):
            match = _AUDIO_FILE.fullmatch(entry.name)
            if match and match.group(1) == bucket.name and entry.is_file(follow_symlinks=False):
                yield Path(entry.path)


# --- catalog ----------------------------------------------------------------------


def track_records(plan: DemoPlan, hashes: dict[int, str], songs: set[int] | None = None) -> list[TrackRecord]:
    """The catalog rows of the releases of ``songs`` (default: all); ``hashes`` gives each
    rendered song's audio."""
    records = []
    for row, release in enumerate(plan.releases):
        song = release.song
        if songs is not None and song.index not in songs:
            continue
        source_id = f"demo{plan.seed}-{row:05d}"
        artists = [ArtistRef(song.artist.source_id, song.artist.name)]
        title = song.title
        if song.featuring is not None:
            artists.append(ArtistRef(song.featuring.source_id, song.featuring.name))
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
    build resumes: the songs it rendered are reused (see the audio section above). The
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
        with _audio_lock(settings, exclusive=False):  # no clean-up while our files are not in the catalog
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
