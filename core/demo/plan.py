"""The demo catalog's plan: every artist, song and release, decided from a seed before any
audio exists, and the constants of the popularity rule that ``core.demo`` describes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from core.demo.synth import ArtistStyle, SongTraits

SOURCE = "demo"
"""The catalog source of every demo row (and the folder of its audio)."""
DEFAULT_TRACKS = 1200
DEFAULT_SEED = 42
TRACKS_PER_ARTIST = 15


@dataclass(frozen=True)
class SignalRegion:
    trait: str
    band: str  # a name from core.audio.bands.BANDS
    start_s: float
    end_s: float
    weight: float
    sound: str


SIGNAL_REGIONS: tuple[SignalRegion, ...] = (
    SignalRegion("hook", "high mids", 10.0, 20.0, +1.5, "a whistle-like lead melody"),
    SignalRegion("drop", "bass", 20.0, 30.0, +1.2, "sustained 808 notes"),
    SignalRegion("hiss", "highs/air", 0.0, 10.0, -1.1, "tape hiss and vinyl crackle"),
)


@dataclass(frozen=True)
class FanRule:
    """The demo artists' fan counts, the companion of ``SIGNAL_REGIONS`` for the artist
    context: ``fans = round(exp(log_median + effect_weight * artist effect + noise))`` with
    noise ~ N(0, ``noise_sd``) drawn per artist from its own generator (seeded with the demo's
    seed and ``stream``, so no other draw of the demo moves). The fans thus depend mostly, not
    wholly, on the hidden artist effect: with the effect's sd of 0.4, log fans vary with an sd of
    about 1.5 (1.4 from the effect, 0.45 from the noise) and correlate about 0.95 with it.

    Why so tight a link: the effect is a small part of the label (sd 0.4 next to the audio
    traits' 0.8), so even the effect itself lifts a CNN 2's holdout ROC-AUC on the default demo's
    song split by only about 0.05; a looser link (noise sd 0.9) let the fans carry 70% of that,
    a gain well inside its interval."""

    log_median: float
    effect_weight: float
    noise_sd: float
    stream: int = 1


FAN_RULE = FanRule(log_median=math.log(50_000), effect_weight=3.5, noise_sd=0.45)
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
FANS_READ_AT = f"{LAST_DAY + timedelta(days=1)}T00:00:00+00:00"
"""When the demo's fan counts were "read": the day after its last release, as if collected then."""

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
    fans: int = 0
    """Set by ``FAN_RULE`` once every artist is drawn."""

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
    _draw_fans(artists, seed)
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


def _draw_fans(artists: list[DemoArtist], seed: int, rule: FanRule = FAN_RULE) -> None:
    noise = np.random.default_rng([seed, rule.stream]).normal(0.0, rule.noise_sd, size=len(artists))
    for artist, drawn in zip(artists, noise, strict=True):
        artist.fans = round(math.exp(rule.log_median + rule.effect_weight * artist.effect + drawn))


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
