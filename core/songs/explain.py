"""Which parts of a song push its verdict, over a musical time x frequency grid: LIME for
the spectrogram models, occlusion for the pretrained ``musicnn`` model.

Instead of photo superpixels, the spectrogram is cut into cells a musician can act on:
time cells of one bar (four beats) when librosa finds a tempo, fixed 2.5 s cells otherwise,
times the five named bands of ``core.audio.bands``. LIME hides random subsets of cells, filling
them with the spectrogram's silence floor (its minimum: hiding means "no sound there", not
"average sound"), asks the model for each variant in batches, and fits a local linear model
whose weights say how much each cell pushes toward (positive) or away from (negative)
"popular".

Only what holds is a finding. LIME's weights come from random samples, and a cell's rank can
be an accident of the draw. So the samples are also split into ``len(seeds)`` interleaved
parts (independent draws of the same distribution), each fitted on its own: a cell is
*stable* when it is among the ``STABLE_RANK`` heaviest cells, with the same sign, in every
part. With no signal at all a cell passes by chance with probability about
(``STABLE_RANK`` / cells)^3 / 4: with 10 of 90 cells, 0.0003, so about 0.03 false findings
per explanation. The explanation is stable when at least one cell is; otherwise pages and the
CLI say there is no stable explanation. ``stability`` is the share of the five heaviest cells
of the whole fit that are stable. Measured when written (the quick-start CNN 1 of the default
demo, six songs with only the hook planted, 1,000 samples): every one had 1 to 4 stable cells
among its five heaviest, all in the hook's 10-20 s. (One set of samples for the whole fit and
the parts keeps the model calls at ``num_samples``: on 2 cores those calls are nearly all of
an explanation's time.)

For ``musicnn`` one model call costs 10 patches (about 0.3 s here), so LIME's 1,000 variants
would take minutes. ``occlusion`` instead silences one cell at a time and reruns only the
patch that cell lies in: its time cells are musicnn's own 3 s patches, not bars, so each
cell costs one patch run (50 for a 30 s window, about 1.5 s here; bars, which straddle
patches, cost about 170 runs and 7 s in the Score page) and no cell mixes two patches' worth
of evidence. Each weight is the drop in probability when that cell is silent. It is deterministic (run
again, it gives the same weights), so there is no stability figure; a cell is a finding
(stable) when silencing it moves the probability by at least ``OCCLUSION_MIN_EFFECT``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import librosa
import numpy as np

from core.audio.bands import BANDS, BANDS_BY_NAME, band_pass, band_rows
from core.config import SAMPLE_RATE, FeaturePreset

FIXED_CELL_SECONDS = 2.5
DEFAULT_SAMPLES = 1000
TOP_REGIONS = 5
STABILITY_SEEDS = (0, 1, 2)
STABLE_RANK = 10  # a stable cell is among this many heaviest of every independent fit
OCCLUSION_MIN_EFFECT = 0.01  # one point of probability


@dataclass(frozen=True)
class Cell:
    index: int
    start_s: float
    end_s: float
    band: str
    time_label: str  # "bar 5" or "10.0-12.5 s"


@dataclass
class Explanation:
    cells: list[Cell]
    weights: np.ndarray  # one per cell, same order
    segments: np.ndarray  # (mels, frames) cell index of every bin; len(cells) past the audio's end
    time_unit: str  # "bar", "seconds" (fixed cells) or "patch" (musicnn's own 3 s patches)
    method: str = "LIME"  # or "occlusion"
    stability: float | None = None  # the share of the five heaviest cells that are stable (LIME)
    regions: list[dict] = field(default_factory=list)
    stable_cells: np.ndarray | None = None  # one bool per cell: a finding (see the module's docstring)

    @property
    def stable(self) -> bool:
        """Whether anything in it holds: at least one stable cell."""
        return self.stable_cells is not None and bool(self.stable_cells.any())

    def top(self, sign: int, count: int = TOP_REGIONS) -> list[tuple[Cell, float]]:
        """The ``count`` heaviest stable cells pushing toward (+1) or away from (-1) popular."""
        order = np.argsort(-sign * self.weights)
        holds = self.stable_cells if self.stable_cells is not None else np.zeros(len(self.cells), dtype=bool)
        return [(self.cells[i], float(self.weights[i])) for i in order if sign * self.weights[i] > 0 and holds[i]][
            :count
        ]


def time_cells(samples: np.ndarray, sample_rate: int, seconds: float) -> tuple[list[tuple[float, float, str]], str]:
    """(start, end, label) of each time cell: bars when a tempo is found, else fixed cells."""
    tempo, beats = librosa.beat.beat_track(y=samples[: int(seconds * sample_rate)], sr=sample_rate, units="time")
    tempo = float(np.atleast_1d(tempo)[0])
    if tempo > 0 and len(beats) >= 8:
        bar = 4 * 60.0 / tempo
        start = float(beats[0]) % bar
        edges = [0.0, *list(np.arange(start if start > 0.2 else bar, seconds, bar)), seconds]
        edges = sorted(set(round(e, 3) for e in edges))
        return [(a, b, f"bar {i + 1}") for i, (a, b) in enumerate(itertools.pairwise(edges))], "bar"
    return spans_between([*list(np.arange(0.0, seconds, FIXED_CELL_SECONDS)), seconds]), "seconds"


def spans_between(edges: list[float]) -> list[tuple[float, float, str]]:
    """(start, end, label) of the time cells between consecutive ``edges`` (seconds)."""
    return [(a, b, f"{a:.1f}-{b:.1f} s") for a, b in itertools.pairwise(edges)]


def audible_seconds(samples: np.ndarray, preset: FeaturePreset) -> float:
    """How much of the window starting at ``samples[0]`` holds the song: the window's length,
    or less when the song ends first (the rest of the model's input is padding)."""
    return min(preset.clip_seconds, samples.size / SAMPLE_RATE)


def grid(
    preset: FeaturePreset, spans: list[tuple[float, float, str]], offset_s: float = 0.0
) -> tuple[np.ndarray, list[Cell]]:
    """The segment map (mels x frames -> cell index) and the cells, time-major; cell times
    are shifted by ``offset_s``. Frames after the last span (the padding of a window longer
    than the song) get the index ``len(cells)``: no cell, never explained or listed."""
    seconds_per_frame = preset.hop_length / preset.sample_rate

    def frame_of(seconds: float) -> int:
        return round(seconds / seconds_per_frame)

    segments = np.full(preset.shape, len(spans) * len(BANDS), dtype=int)
    cells: list[Cell] = []
    for start, end, label in spans:
        for band in BANDS:
            index = len(cells)
            last = (
                None if end >= preset.clip_seconds else max(frame_of(end), frame_of(start) + 1)
            )  # a full window: to its last frame
            frames = slice(frame_of(start), last)
            segments[band_rows(band, preset), frames] = index
            cells.append(Cell(index, start + offset_s, end + offset_s, band.name, label))
    return segments, cells


def explain(
    spectrogram: np.ndarray,
    samples: np.ndarray,
    preset: FeaturePreset,
    predict: Callable[[np.ndarray], np.ndarray],
    *,
    num_samples: int = DEFAULT_SAMPLES,
    seeds: tuple[int, ...] = STABILITY_SEEDS,
    offset_s: float = 0.0,
) -> Explanation:
    """Explain ``predict`` (dB spectrograms (n, mels, frames) -> probabilities of popular)
    on one window that starts ``offset_s`` into the song (cells report song time). The
    weights come from all ``num_samples`` samples (drawn with ``seeds[0]``); which cells are
    stable from fitting ``len(seeds)`` interleaved parts of them apart (at least two)."""
    if len(seeds) < 2:
        raise ValueError("stability needs at least two independent fits (two seeds)")
    spans, unit = time_cells(samples, SAMPLE_RATE, audible_seconds(samples, preset))
    segments, cells = grid(preset, spans, offset_s)
    # The padding past the song's end is one more segment for LIME; its weight is dropped.
    segment_count = int(segments.max()) + 1
    data, probabilities = _perturb(spectrogram, segments, segment_count, predict, num_samples, seeds[0])
    weights = _lime_fit(data, probabilities, seeds[0])[: len(cells)]
    parts = [
        _lime_fit(data[i :: len(seeds)], probabilities[i :: len(seeds)], seed)[: len(cells)]
        for i, seed in enumerate(seeds)
    ]
    stable = stable_cells(weights, parts)
    heaviest = np.argsort(-np.abs(weights))[:TOP_REGIONS]
    return Explanation(
        cells,
        weights,
        segments,
        unit,
        stability=float(stable[heaviest].mean()),
        regions=_regions(cells, weights, stable),
        stable_cells=stable,
    )


def stable_cells(weights: np.ndarray, parts: list[np.ndarray], rank: int = STABLE_RANK) -> np.ndarray:
    """One bool per cell: among the ``rank`` heaviest cells of every part's fit, with the sign
    it has in ``weights`` (the whole fit)."""
    holds = np.ones(len(weights), dtype=bool)
    for part in parts:
        heavy = np.zeros(len(weights), dtype=bool)
        heavy[np.argsort(-np.abs(part))[:rank]] = True
        holds &= heavy & (np.sign(part) == np.sign(weights)) & (weights != 0)
    return holds


def occlusion(
    spectrogram: np.ndarray,
    spans: list[tuple[float, float, str]],
    preset: FeaturePreset,
    hiding_effects: Callable[[np.ndarray, np.ndarray, int], np.ndarray],
    *,
    unit: str = "patch",
    offset_s: float = 0.0,
) -> Explanation:
    """Explain one window by silencing each cell of ``spans`` x bands in turn.
    ``hiding_effects(spectrogram, segments, cells)`` returns, per cell, the probability as it
    is minus the probability with that cell at the silence floor (positive: the cell pushes
    toward popular)."""
    segments, cells = grid(preset, spans, offset_s)
    weights = np.asarray(hiding_effects(spectrogram, segments, len(cells)), dtype=float)
    stable = np.abs(weights) >= OCCLUSION_MIN_EFFECT
    return Explanation(
        cells,
        weights,
        segments,
        unit,
        method="occlusion",
        regions=_regions(cells, weights, stable),
        stable_cells=stable,
    )


def _regions(cells: list[Cell], weights: np.ndarray, stable: np.ndarray) -> list[dict]:
    """Every cell, heaviest first, with whether it is a finding."""
    order = np.argsort(-np.abs(weights), kind="stable")
    return [
        {
            "start_s": round(cells[i].start_s, 2),
            "end_s": round(cells[i].end_s, 2),
            "band": cells[i].band,
            "weight": round(float(weights[i]), 5),
            "stable": bool(stable[i]),
        }
        for i in order
    ]


PERTURB_BATCH = 250  # perturbed spectrograms built and scored at a time: bounds memory at the study's resolution
KERNEL_WIDTH = 0.25  # lime_image's default


def _perturb(spectrogram, segments, count, predict, num_samples, seed) -> tuple[np.ndarray, np.ndarray]:
    """LIME's samples for an image: random on/off rows over the segments (the first row all
    on), each "off" segment filled with the spectrogram's silence floor, and the model's
    probability for each. Built in batches with numpy; lime_image's own loop copies the image
    once per sample and cost more than the model here."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 2, size=(num_samples, count), dtype=np.int8)
    data[0] = 1
    floor = float(spectrogram.min())
    probabilities = np.concatenate(
        [
            predict(np.where(data[start : start + PERTURB_BATCH][:, segments].astype(bool), spectrogram, floor))
            for start in range(0, num_samples, PERTURB_BATCH)
        ]
    )
    return data, probabilities


def _lime_fit(data: np.ndarray, probabilities: np.ndarray, seed: int) -> np.ndarray:
    """LIME's locally weighted linear fit (``lime.lime_base``, as ``lime_image`` calls it):
    samples weighted by an exponential kernel on their cosine distance to the unperturbed
    row; one weight per segment."""
    from lime.lime_base import LimeBase
    from sklearn.metrics import pairwise_distances

    distances = pairwise_distances(data, np.ones((1, data.shape[1])), metric="cosine").ravel()
    base = LimeBase(lambda d: np.sqrt(np.exp(-(d**2) / KERNEL_WIDTH**2)), random_state=seed)
    labels = np.column_stack([1 - probabilities, probabilities])
    _, local, _, _ = base.explain_instance_with_data(data, labels, distances, 1, num_features=data.shape[1])
    weights = np.zeros(data.shape[1])
    for index, weight in local:
        weights[index] = weight
    return weights


def region_audio(
    samples: np.ndarray, cell: Cell, sample_rate: int = SAMPLE_RATE, offset_s: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The stretch of ``samples`` (the song, or the part of it from ``offset_s``) that ``cell``
    covers, as it is and with only the cell's band left: "play that bar, and that bar's bass
    alone"."""
    stretch = samples[int((cell.start_s - offset_s) * sample_rate) : int((cell.end_s - offset_s) * sample_rate)]
    return stretch, band_pass(stretch, BANDS_BY_NAME[cell.band], sample_rate)


def describe(cell: Cell, weight: float) -> str:
    """ "bar 9 (16.5-18.2 s), bass: pushes toward popular" """
    direction = "pushes toward popular" if weight > 0 else "pulls away from popular"
    when = (
        cell.time_label
        if cell.time_label.endswith(" s")
        else f"{cell.time_label} ({cell.start_s:.1f}-{cell.end_s:.1f} s)"
    )
    return f"{when}, {cell.band}: {direction}"
