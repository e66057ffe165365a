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

Artist context (``FAN_RULE``, beside ``SIGNAL_REGIONS``). Each artist has a fan count, stored
as if read the day after the last release (``FANS_READ_AT``):

    fans = round(exp(ln 50,000 + 3.5 * artist effect + noise)),   noise ~ N(0, 0.45)

drawn from a generator of its own (seeded with the demo's seed), so no other draw moves and
the audio and popularity are unchanged. Fan counts span about 900 to 1,000,000 (5-95%: about
6,000 to 480,000 at the default size). Log fans correlate with the hidden artist effect
(Spearman 0.94 at the default seed) but not perfectly: fans carry most of the artist's pull,
as a large fan base would. The effect itself is a small part of the label, so the most any
artist context can add to an audio model is small too: on the default demo's song split
(101 holdout tracks) a CNN 2 gains about 0.05 ROC-AUC from the effect itself.
Most artists release on several dates (74 of 80 at the default size), so each release has a
history of earlier ones for ``core.learning.context``.

Layout: ``core.demo.plan`` decides the artists, songs and releases and holds the rule's
constants; ``core.demo.audio`` renders, stores and cleans up the songs' audio;
``core.demo.build`` writes the demo catalog (whole, or its quick-start part first).
"""

from core.demo.audio import (
    audio_relative_path,
    demo_audio_dir,
    encode_mp3,
    remove_unreferenced_audio,
    render_audio,
    render_key,
)
from core.demo.build import (
    QUICK_START_EVERY,
    build_demo,
    demo_label,
    is_quick_start,
    quick_start_songs,
    render_counts,
    track_records,
)
from core.demo.plan import (
    ARTIST_EFFECT_SD,
    DEFAULT_SEED,
    DEFAULT_TRACKS,
    FAN_RULE,
    FANS_READ_AT,
    FIRST_DAY,
    LAST_DAY,
    NO_PREVIEW_PROBABILITY,
    POPULAR_MEAN,
    POPULAR_SD,
    RELEASE_NOISE_SD,
    SIGMOID_CENTRE,
    SIGMOID_SLOPE,
    SIGNAL_REGIONS,
    SOURCE,
    TRACKS_PER_ARTIST,
    TRAIT_PRESENT_PROBABILITY,
    UNPOPULAR_MEAN,
    UNPOPULAR_SD,
    ZERO_PROBABILITY,
    DemoArtist,
    DemoPlan,
    DemoRelease,
    DemoSong,
    FanRule,
    SignalRegion,
    plan_catalog,
)

__all__ = [
    "ARTIST_EFFECT_SD",
    "DEFAULT_SEED",
    "DEFAULT_TRACKS",
    "FANS_READ_AT",
    "FAN_RULE",
    "FIRST_DAY",
    "LAST_DAY",
    "NO_PREVIEW_PROBABILITY",
    "POPULAR_MEAN",
    "POPULAR_SD",
    "QUICK_START_EVERY",
    "RELEASE_NOISE_SD",
    "SIGMOID_CENTRE",
    "SIGMOID_SLOPE",
    "SIGNAL_REGIONS",
    "SOURCE",
    "TRACKS_PER_ARTIST",
    "TRAIT_PRESENT_PROBABILITY",
    "UNPOPULAR_MEAN",
    "UNPOPULAR_SD",
    "ZERO_PROBABILITY",
    "DemoArtist",
    "DemoPlan",
    "DemoRelease",
    "DemoSong",
    "FanRule",
    "SignalRegion",
    "audio_relative_path",
    "build_demo",
    "demo_audio_dir",
    "demo_label",
    "encode_mp3",
    "is_quick_start",
    "plan_catalog",
    "quick_start_songs",
    "remove_unreferenced_audio",
    "render_audio",
    "render_counts",
    "render_key",
    "track_records",
]
