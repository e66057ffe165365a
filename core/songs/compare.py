"""Compare two versions of one song (two mixes, a master and a remaster, an edit with another
intro): both are scored on the same aligned 30 s windows by the run's scorer, the difference
is set against the model's own noise, and the bars x bands whose weight changed most in the
best window are listed.

Alignment. B is placed on A's time line by cross-correlating low-resolution log-mel
spectrograms (``ALIGN_MELS`` bands, ``ALIGN_HOP`` samples = 23 ms a frame): at every shift
that overlaps at least half of the shorter version (and 5 s), the correlation of the two
over the frames where they overlap, each band's mean there removed (Pearson's r, the bands
pooled). 1 means the same sound; ``alignment`` is the best shift's. ``offset_s`` is the time
in B where A starts (negative: A has the longer intro). Below ``MIN_ALIGNMENT`` the files
are not two versions of one song and are refused with ``VersionsDoNotMatch``; see that
constant for the measurement behind it.

Windows. Only the stretch both versions cover is compared: it is cut into the scorer's 30 s
windows (``core.songs.scoring.window_starts``) and the same stretch of B is scored on exactly the
same windows. Window times are seconds of A.

Noise. The model's own noise is measured on copies of A that differ from it in nothing
musical: A round-tripped through MP3 and through Ogg Vorbis, and A shifted by half an
alignment frame (12 ms, the most the alignment can be off) one way and 1 dB quieter, and the
other way and 1 dB louder. Each copy is scored on the same windows, and its change in the
song's probability is one draw of what re-encoding alone does to the difference B - A.
``noise`` is three times their root mean square, and ``beyond_noise`` is
``|difference| > noise``. If re-encoding changes were normal, ``difference / rms`` would
follow Student's t with 4 degrees of freedom under "nothing changed", so a re-encoded copy
would be called beyond noise about 4% of the time (the largest of the four changes alone
would be beaten one time in five). The windows overlap and are not independent, so the
test is on the song's probability, not over windows.

Explanation. The best window (the highest probability in either version) is explained for
both versions with the scorer's own method (LIME with ``EXPLAIN_SAMPLES`` samples, or
musicnn's occlusion). Cells come from beat tracking each version's window (for musicnn, its own
3 s patches); B's weights are
carried onto A's cells by time overlap (identical grids map one to one), and
``regions_changed`` lists the cells whose weight changed most (B minus A).

Popularity. When the run has the popularity regression (``core.learning.popularity``), both versions
get the predicted popularity that ``score`` gives a song whose artist is not given (the
audio-only regression, fed by the audio model the run's models on top learned from, on the
same aligned stretch), and ``popularity_difference`` is B minus A. It is a function of that
model's probability alone, so it is beyond noise only when the probability's difference is;
and its 80% interval is for one song's popularity, usually far wider than any difference
between two mixes (``core.wording.popularity_difference`` says which).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
from scipy import signal

from core.audio.decode import decode
from core.config import MIN_AUDIO_SECONDS, SAMPLE_RATE
from core.errors import VersionsDoNotMatch
from core.learning.context import UNKNOWN_ARTIST
from core.learning.popularity import ContextModels, PredictedPopularity
from core.pretrained.domain import Applicability
from core.pretrained.similarity import Domain
from core.songs.explain import Explanation
from core.songs.scoring import Scorer, SongScore, judge

ALIGN_HOP = 512
ALIGN_MELS = 64
MIN_OVERLAP_SHARE = 0.5
MIN_ALIGNMENT = 0.7
"""Correlation below which two files are not versions of one song. Measured when written
(``align``; 30 demo songs, every pair of up to 5 songs by each of 30 demo artists, the three
real recordings): versions of one demo song score at least 0.99 (an MP3 round trip), 0.94 (a
3 kHz low-pass), 0.96 (4 s cut from the start), 0.84-0.91 (8 s of silence, 7.3 s of noise or
6 s of another song before it), 0.81 (its hook raised to full strength) and 0.757 (its hook
switched on or off, which also re-rolls the rhythm of the demo's vocal-like band); the real
recordings against themselves re-encoded or after 8 s of silence score at least 0.98, and
20 s excerpts of them 0.94. Different songs: demo songs of different artists at most 0.59
(846 pairs); of one artist (tempo within 3%, same kit, key and sound) at most 0.74, above
0.7 in 1 pair of 219; the real (orchestral) recordings against each other at most 0.65 and
against demo songs at most 0.25."""
EXPLAIN_SAMPLES = 300
LENGTH_TOLERANCE_S = 1.0  # versions whose lengths differ by more get a note on what was not compared
TOP_CHANGES = 5
NOISE_RMS_MULTIPLE = 3.0
NOISE_COPIES = 4
ENCODE_BLOCK_S = 10
NOISE_METHOD = (
    "3 x the root mean square change in A's probability when A alone is round-tripped through MP3 and "
    "Ogg Vorbis, or shifted by 12 ms and 1 dB either way"
)


@dataclass(frozen=True)
class Alignment:
    offset_s: float  # where A's start is in B: B's time = A's time + offset_s
    correlation: float  # normalised cross-correlation at that offset, at most 1


@dataclass
class Comparison:
    file_a: str
    file_b: str
    model: str
    alignment: Alignment
    windows: list[dict]  # start_s, end_s (A's time), probability_a, probability_b, difference
    probability_a: float
    probability_b: float
    noise: float
    best_window: tuple[float, float]
    explanation_method: str
    regions_changed: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # when only part of a file could be read
    # ``ContextModels.predicted_popularity`` of each version (None: the run has no regression),
    # and the audio model whose probability fed it
    popularity_a: PredictedPopularity | None = None
    popularity_b: PredictedPopularity | None = None
    popularity_model: str | None = None
    duration_a_s: float = 0.0  # each version's whole length
    duration_b_s: float = 0.0
    overlap_s: float = 0.0  # the stretch both cover: all that was compared
    applicability: Applicability | None = None  # whether A is in the run's domain (None: not judged)

    @property
    def coverage_note(self) -> str | None:
        """A sentence when the versions' lengths differ by more than ``LENGTH_TOLERANCE_S``:
        what was compared and what was not."""
        if abs(self.duration_a_s - self.duration_b_s) <= LENGTH_TOLERANCE_S:
            return None
        left_out = [
            f"{duration - self.overlap_s:.1f} s of {version}"
            for version, duration in (("A", self.duration_a_s), ("B", self.duration_b_s))
            if duration - self.overlap_s > 0.05
        ]
        return (
            f"A is {self.duration_a_s:.1f} s long and B {self.duration_b_s:.1f} s: only the {self.overlap_s:.1f} s "
            f"both cover were compared, so {' and '.join(left_out)} had no say in this comparison."
        )

    @property
    def difference(self) -> float:
        return self.probability_b - self.probability_a

    @property
    def popularity_difference(self) -> float | None:
        if self.popularity_a is None or self.popularity_b is None:
            return None
        return round(self.popularity_b.value - self.popularity_a.value, 1)

    @property
    def beyond_noise(self) -> bool:
        return abs(self.difference) > self.noise

    def as_dict(self) -> dict:
        return {
            "file_a": self.file_a,
            "file_b": self.file_b,
            "model": self.model,
            "offset_s": round(self.alignment.offset_s, 3),
            "alignment": round(self.alignment.correlation, 3),
            "probability_a": round(self.probability_a, 4),
            "probability_b": round(self.probability_b, 4),
            "difference": round(self.difference, 4),
            "noise": round(self.noise, 4),
            "noise_method": NOISE_METHOD,
            "beyond_noise": self.beyond_noise,
            "best_window": [round(v, 2) for v in self.best_window],
            "explanation_method": self.explanation_method,
            "regions_changed": self.regions_changed,
            "windows": self.windows,
            "notes": self.notes,
            "predicted_popularity_a": None if self.popularity_a is None else self.popularity_a.as_dict(),
            "predicted_popularity_b": None if self.popularity_b is None else self.popularity_b.as_dict(),
            "popularity_difference": self.popularity_difference,
            "popularity_model": self.popularity_model,
            "duration_a_s": round(self.duration_a_s, 2),
            "duration_b_s": round(self.duration_b_s, 2),
            "overlap_s": round(self.overlap_s, 2),
            "coverage_note": self.coverage_note,
            "in_domain": None if self.applicability is None else self.applicability.in_domain,
            "domain_reason": None if self.applicability is None else self.applicability.reason,
        }


@dataclass
class Versions:
    """Two decoded versions of one song, aligned."""

    name_a: str
    name_b: str
    a: np.ndarray  # mono float32 samples at SAMPLE_RATE
    b: np.ndarray
    alignment: Alignment
    notes: list[str] = field(default_factory=list)  # when only part of a file could be read


def load_versions(
    source_a: str | Path | bytes, source_b: str | Path | bytes, *, name_a: str | None = None, name_b: str | None = None
) -> Versions:
    """Decode both files (a bad one raises its ``AudioError``) and align them; before any
    model is loaded, so a wrong file is refused at once."""
    names = [name or Path(str(source)).name for name, source in ((name_a, source_a), (name_b, source_b))]
    decoded = [decode(source, name=name) for source, name in zip((source_a, source_b), names, strict=True)]
    versions = match_versions(decoded[0].samples, decoded[1].samples, *names)
    versions.notes = [d.note for d in decoded if d.note]
    return versions


def match_versions(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> Versions:
    """``a`` and ``b`` aligned; ``VersionsDoNotMatch`` when they do not line up as one song."""
    alignment = align(a, b)
    if alignment.correlation < MIN_ALIGNMENT:
        raise VersionsDoNotMatch(
            f"'{name_a}' and '{name_b}' do not sound like versions of one song "
            f"(alignment {alignment.correlation:.2f}, below {MIN_ALIGNMENT:.2f}).",
            "Compare two mixes or edits of the same song; to rank different songs, score them "
            "(the Score page's ranking, or 'python -m core score').",
        )
    return Versions(name_a, name_b, a, b, alignment)


def compare(
    scorer: Scorer,
    versions: Versions,
    *,
    explain_samples: int = EXPLAIN_SAMPLES,
    on_top: ContextModels | None = None,
    feeding: Scorer | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    domain: Domain | None = None,
) -> Comparison:
    """Score, weigh against noise and explain two aligned versions; see the module's docstring.
    With the run's ``domain``, A is judged in it or not: out of it, both probabilities are
    extrapolations, and the comparison says so (``in_domain``, ``domain_reason``).

    ``on_top``: the run's models on top of the audio verdict, for the predicted popularity
    (nothing when it has no regression); ``feeding``: a scorer of ``on_top.audio_model``
    when that is not ``scorer``'s model. ``on_progress(done, total)`` counts model passes."""
    fed_by = None if on_top is None or on_top.audio_regressor is None else (feeding or scorer)
    separately = fed_by is not None and fed_by is not scorer
    tick = _counter(2 + NOISE_COPIES + 2 + (2 if separately else 0), on_progress)
    start_a, start_b, length = overlap(
        versions.a.size, versions.b.size, round(versions.alignment.offset_s * SAMPLE_RATE)
    )
    part_a, part_b = versions.a[start_a : start_a + length], versions.b[start_b : start_b + length]
    song_a = scorer.score_samples(part_a, versions.name_a)
    if domain is not None:
        judge(song_a, domain)
    tick()
    song_b = scorer.score_samples(part_b, versions.name_b)
    tick()
    noise = model_noise(scorer, part_a, song_a, tick)
    shift = start_a / SAMPLE_RATE
    windows = [
        {
            "start_s": round(wa["start_s"] + shift, 2),
            "end_s": round(wa["end_s"] + shift, 2),
            "probability_a": wa["probability"],
            "probability_b": wb["probability"],
            "difference": round(wb["probability"] - wa["probability"], 4),
        }
        for wa, wb in zip(song_a.windows, song_b.windows, strict=True)
    ]
    best = int(np.argmax([max(w["probability_a"], w["probability_b"]) for w in windows]))
    window_start = song_a.windows[best]["start_s"]
    explained = []
    for part in (part_a, part_b):
        explained.append(
            scorer.explain_window(part[int(window_start * SAMPLE_RATE) :], window_start + shift, explain_samples)
        )
        tick()
    popularity: list[PredictedPopularity | None] = [None, None]
    if on_top is not None and fed_by is not None:
        fed = [song_a.probability, song_b.probability]
        if separately:  # the regression learned from another audio model's probability: score with it too
            fed = []
            for part, name in ((part_a, versions.name_a), (part_b, versions.name_b)):
                fed.append(fed_by.score_samples(part, name).probability)
                tick()
        popularity = [on_top.predicted_popularity(probability, UNKNOWN_ARTIST) for probability in fed]
    return Comparison(
        file_a=versions.name_a,
        file_b=versions.name_b,
        model=scorer.model_name,
        alignment=versions.alignment,
        windows=windows,
        probability_a=song_a.probability,
        probability_b=song_b.probability,
        noise=noise,
        best_window=(windows[best]["start_s"], windows[best]["end_s"]),
        explanation_method=explained[0].method,
        regions_changed=regions_changed(*explained),
        notes=versions.notes,
        popularity_a=popularity[0],
        popularity_b=popularity[1],
        popularity_model=None if fed_by is None else fed_by.model_name,
        duration_a_s=versions.a.size / SAMPLE_RATE,
        duration_b_s=versions.b.size / SAMPLE_RATE,
        overlap_s=length / SAMPLE_RATE,
        applicability=song_a.applicability,
    )


def _counter(total: int, on_progress: Callable[[int, int], None] | None) -> Callable[[], None]:
    """A callable that counts one more of ``total`` steps done and reports it."""
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, total)

    return tick


def align(a: np.ndarray, b: np.ndarray) -> Alignment:
    """Where ``a`` sits in ``b``: the shift with the highest correlation of their log-mel
    bands over the frames where they overlap (each band's mean there removed, so a silent or
    louder intro outside the overlap does not count), among shifts overlapping at least half
    of the shorter and at least ``MIN_AUDIO_SECONDS`` (what a scorer needs)."""
    x, y = _alignment_features(a), _alignment_features(b)
    n, m = x.shape[1], y.shape[1]
    lags = signal.correlation_lags(m, n)  # at lags[k], x's frame i meets y's frame i + lags[k]
    first = np.maximum(0, -lags)  # the overlap, in x's frames
    last = np.minimum(n, m - lags)
    frames = np.maximum(last - first, 1)
    sum_x, sum_xx = _running_sums(x, first, last), _running_sums(x**2, first, last)
    sum_y, sum_yy = _running_sums(y, first + lags, last + lags), _running_sums(y**2, first + lags, last + lags)
    sum_xy = signal.fftconvolve(y, x[:, ::-1], mode="full", axes=1)
    covariance = (sum_xy - sum_x * sum_y / frames).sum(axis=0)
    variance = (sum_xx - sum_x**2 / frames).sum(axis=0) * (sum_yy - sum_y**2 / frames).sum(axis=0)
    shorter = min(n, m)
    enough = (last - first) >= min(
        shorter, max(MIN_OVERLAP_SHARE * shorter, MIN_AUDIO_SECONDS * SAMPLE_RATE / ALIGN_HOP)
    )
    correlation = np.where(enough, covariance / np.sqrt(np.maximum(variance, 1e-12)), -np.inf)
    best = int(np.argmax(correlation))
    return Alignment(float(lags[best] * ALIGN_HOP / SAMPLE_RATE), float(correlation[best]))


def _running_sums(values: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """(bands, len(first)): each band's sum over frames ``first[k]`` to ``last[k]`` (excluded)."""
    totals = np.concatenate([np.zeros((len(values), 1)), np.cumsum(values, axis=1)], axis=1)
    return totals[:, last] - totals[:, first]


def _alignment_features(samples: np.ndarray) -> np.ndarray:
    """(bands, frames) log-mel levels, each band scaled to unit spread over time, so that all
    bands weigh alike in the correlation."""
    power = librosa.feature.melspectrogram(
        y=samples, sr=SAMPLE_RATE, n_fft=2048, hop_length=ALIGN_HOP, n_mels=ALIGN_MELS
    )
    levels = librosa.power_to_db(power, ref=np.max, top_db=80.0)
    centred = levels - levels.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    return centred / np.where(spread > 1e-6, spread, 1.0)


def overlap(size_a: int, size_b: int, offset: int) -> tuple[int, int, int]:
    """(start in A, start in B, length) in samples of the stretch both versions cover when
    B's sample ``i + offset`` is A's sample ``i``."""
    start_a = max(0, -offset)
    start_b = start_a + offset
    return start_a, start_b, min(size_a - start_a, size_b - start_b)


def model_noise(
    scorer: Scorer, samples: np.ndarray, scored: SongScore, tick: Callable[[], None] | None = None
) -> float:
    """Three times the root mean square change in the song's probability over the
    ``NOISE_COPIES`` copies of ``samples`` that differ only in encoding, timing by half an
    alignment frame and level by 1 dB (see the module's docstring); ``tick()`` after each."""
    changes = []
    for copy in _copies(samples):
        changes.append(scorer.score_samples(copy, scored.file).probability - scored.probability)
        if tick is not None:
            tick()
    return NOISE_RMS_MULTIPLE * float(np.sqrt(np.mean(np.square(changes))))


def _copies(samples: np.ndarray) -> list[np.ndarray]:
    """The ``NOISE_COPIES`` copies: MP3 and Ogg round trips, 12 ms later and 1 dB quieter, earlier and louder."""
    shift = ALIGN_HOP // 2
    later = np.concatenate([np.zeros(shift, dtype=samples.dtype), samples[:-shift]])
    earlier = np.concatenate([samples[shift:], np.zeros(shift, dtype=samples.dtype)])
    decibel = 10 ** (1 / 20)
    return [_round_trip(samples, "MP3"), _round_trip(samples, "OGG"), later / decibel, earlier * decibel]


def _round_trip(samples: np.ndarray, audio_format: str) -> np.ndarray:
    """``samples`` encoded to ``audio_format`` in memory and decoded again, cut to their length.

    Written ``ENCODE_BLOCK_S`` at a time: libsndfile 1.2.2's Vorbis encoder crashed the process
    (a segmentation fault) when given a whole song of about 5 minutes in one write."""
    handle = io.BytesIO()
    block = ENCODE_BLOCK_S * SAMPLE_RATE
    with sf.SoundFile(handle, "w", SAMPLE_RATE, 1, format=audio_format) as encoder:
        for start in range(0, samples.size, block):
            encoder.write(samples[start : start + block])
    handle.seek(0)
    decoded, _ = sf.read(handle, dtype="float32")
    return np.pad(decoded, (0, max(0, samples.size - decoded.size)))[: samples.size]


def regions_changed(a: Explanation, b: Explanation, count: int = TOP_CHANGES) -> list[dict]:
    """The ``count`` cells of ``a`` whose weight changed most in ``b`` (B minus A)."""
    weights_b = on_cells(b, a)
    changes = weights_b - a.weights
    order = np.argsort(-np.abs(changes), kind="stable")[:count]
    return [
        {
            "start_s": round(float(a.cells[i].start_s), 2),
            "end_s": round(float(a.cells[i].end_s), 2),
            "band": a.cells[i].band,
            "weight_change": round(float(changes[i]), 5),
            "weight_a": round(float(a.weights[i]), 5),
            "weight_b": round(float(weights_b[i]), 5),
        }
        for i in order
    ]


def on_cells(source: Explanation, target: Explanation) -> np.ndarray:
    """``source``'s weights carried onto ``target``'s cells: each target cell gets, from every
    source cell of its band, the share of that cell's weight its time overlap covers."""
    weights = np.zeros(len(target.cells))
    for i, cell in enumerate(target.cells):
        for other, weight in zip(source.cells, source.weights, strict=True):
            if other.band != cell.band:
                continue
            shared = min(cell.end_s, other.end_s) - max(cell.start_s, other.start_s)
            if shared > 0:
                weights[i] += weight * shared / (other.end_s - other.start_s)
    return weights
