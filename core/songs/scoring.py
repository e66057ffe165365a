"""Scoring songs with a saved run: windows, verdict, calibrated probability, percentile,
best 30 s window, and ranking many songs (the study's "sieve").

Applicability comes first. A song is judged in domain or not for the run
(``core.pretrained.domain``): only in domain does it get a verdict; otherwise the verdict is
"withheld" with the reason, its probability stays as secondary detail and it gets no
percentile. ``verdict_of`` is the one place a verdict is decided.

A song is cut into 30 s windows every ``SCORING_HOP_SECONDS`` (the last window ends at the
song's end, unless that end is within ``SCORING_TAIL_SECONDS`` of another window's; a song of
30 s or less is one window, padded like a short preview). Each window
gets the model's probability, calibrated on the run's test split. The song's probability is
the mean over its windows; its best window is the one with the highest probability: "use
this as your preview clip". The verdict of a song in domain is "popular" when the calibrated
probability is at least ``POPULAR_AT`` (0.5), i.e. when the model judges a popularity at or
above the run's threshold more likely than not. The percentile places the song among the calibrated probabilities of the
run's test and holdout tracks (catalog tracks no model trained on).

With a run's models on top of the audio verdict (``core.learning.popularity.ContextModels``), a song
also gets a predicted popularity with its interval and, when its artist is given, the
verdict with the artist's context (``song_in_context``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypedDict

import numpy as np

from core.audio.decode import decode
from core.audio.features import log_mel
from core.config import (
    CLIP_SECONDS,
    PREDICT_BATCH,
    SAMPLE_RATE,
    SCORING_HOP_SECONDS,
    SCORING_TAIL_SECONDS,
    FeaturePreset,
)
from core.errors import AudioError, HitlensError, UsageError
from core.learning.architectures import PRETRAINED_MODEL
from core.learning.context import ArtistContext
from core.learning.dataset import MinMaxScaling
from core.learning.evaluate import PlattCalibration
from core.learning.popularity import ContextModels, PredictedPopularity
from core.learning.registry import SavedRun
from core.pretrained.domain import Applicability, unjudged
from core.pretrained.musicnn import (
    DEFAULT_MODEL,
    INPUT,
    PATCH_FRAMES,
    PATCH_SECONDS,
    PatchOutputs,
    input_mel,
    load_model,
    patch_count,
    patch_starts,
    pool,
)
from core.pretrained.similarity import CatalogEmbeddings, Domain, SongProfile
from core.wording import Verdict, context_difference

POPULAR_AT = 0.5
NOT_JUDGED = "This song was not checked against the run's catalog, so it gets no verdict."


def verdict_of(probability: float, applicability: Applicability | None) -> Verdict:
    """The verdict: withheld unless the song is judged in the run's domain, else popular when
    the calibrated probability is at least ``POPULAR_AT``."""
    if applicability is None or not applicability.in_domain:
        return Verdict.WITHHELD
    return Verdict.POPULAR if probability >= POPULAR_AT else Verdict.NOT_POPULAR


class WindowScore(TypedDict):
    """One 30 s window of a song and its calibrated probability, as ``score --json`` lists them."""

    start_s: float
    end_s: float
    probability: float


@dataclass(frozen=True)
class ScoreResult:
    """A song's score as Hitlens reports it, on the pages, in the history and in ``score
    --json`` (``as_dict``): figures rounded as reported, and none of what the scorer kept to
    explain the song (its samples, musicnn's outputs), so it is small to cache and to keep."""

    file: str
    verdict: Verdict
    applicability: Applicability  # whether the song is in the run's domain, and why
    probability: float
    percentile: float | None  # among the run's held-out tracks; only in domain
    best_window: tuple[float, float]
    duration_s: float
    windows: list[WindowScore]
    note: str | None  # when only part of the file could be read, how much

    @property
    def in_domain(self) -> bool:
        return self.applicability.in_domain

    @property
    def domain_reason(self) -> str:
        return self.applicability.reason

    def as_dict(self) -> dict:
        """The song's fields in ``score --json``: their names and values are read by scripts."""
        return {
            "file": self.file,
            "verdict": self.verdict.value,
            **self.applicability.as_dict(),
            "probability": self.probability,
            "percentile": self.percentile,
            "best_window": list(self.best_window),
            "duration_s": self.duration_s,
            "windows": self.windows,
            "note": self.note,
        }


@dataclass
class SongScore:
    file: str
    duration_s: float
    probability: float
    catalog_percentile: float | None  # among the run's held-out tracks; shown only in domain
    best_window: tuple[float, float]
    windows: list[WindowScore] = field(default_factory=list)
    samples: np.ndarray | None = field(default=None, repr=False)
    patches: PatchOutputs | None = field(default=None, repr=False)  # MSD musicnn, when the scorer ran it
    note: str | None = None  # when only part of the file could be read, how much
    applicability: Applicability | None = None  # None: not judged (withheld)
    profile: SongProfile | None = field(default=None, repr=False)  # what musicnn hears, once judged

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.probability, self.applicability)

    @property
    def in_domain(self) -> bool:
        return self.applicability is not None and self.applicability.in_domain

    @property
    def percentile(self) -> float | None:
        """Where the song's probability falls among the catalog's held-out tracks: only for a
        song in domain (out of it the probability is an extrapolation, not a rank)."""
        return self.catalog_percentile if self.in_domain else None

    def result(self) -> ScoreResult:
        """What is reported of the score: probability to 4 places, percentile, best window and
        duration to 1 (the verdict is decided on the probability before rounding)."""
        start, end = self.best_window
        return ScoreResult(
            file=self.file,
            verdict=self.verdict,
            applicability=self.applicability or unjudged(NOT_JUDGED),
            probability=round(self.probability, 4),
            percentile=None if self.percentile is None else round(self.percentile, 1),
            best_window=(round(start, 1), round(end, 1)),
            duration_s=round(self.duration_s, 1),
            windows=self.windows,
            note=self.note,
        )

    def as_dict(self) -> dict:
        return self.result().as_dict()


def scorer_for(run: SavedRun, model: str | None = None) -> Scorer:
    """A scorer for ``model`` of ``run`` (default: its best model)."""
    name = model or run.meta.best_model
    if name not in run.models:
        raise UsageError(f"Run {run.id} has no model '{name}'.", f"Choose one of: {', '.join(run.models)}.")
    return EmbeddingScorer(run) if name == PRETRAINED_MODEL else Scorer(run, name)


class Scorer:
    """One loaded spectrogram model of a run, ready to score any number of songs."""

    def __init__(self, run: SavedRun, model: str | None = None):
        self.run = run
        self.model_name = model or run.meta.best_model
        self.model = run.load_model(self.model_name)
        meta = run.meta
        self.preset = FeaturePreset(**meta.feature_preset)
        self.scaling = MinMaxScaling(**meta.scaling)
        self.calibration = PlattCalibration(**meta.metrics[self.model_name].calibration)
        # Runs saved before percentiles existed have no reference: their percentile is None.
        self.reference = np.sort(np.array(meta.reference_probabilities.get(self.model_name, [])))
        self.auc = meta.metrics[self.model_name].roc_auc

    def spectrogram(self, samples: np.ndarray) -> np.ndarray:
        """The model's input for the 30 s window starting at ``samples[0]``."""
        return log_mel(samples, self.preset)

    def predict(self, spectrograms: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for a batch of (n, mels, frames) dB spectrograms."""
        inputs = self.scaling.apply(spectrograms)[..., None]
        if self.model_name == "dummy":
            raw = self.model.predict_proba(np.zeros((len(inputs), 1)))[:, -1]
        else:
            # predict_on_batch, not predict: Keras 3's predict builds a data pipeline on every call,
            # which made LIME's 1,000 samples take 1.7 s where these batches take 0.9 s (CNN 2, fast).
            raw = np.concatenate(
                [
                    self.model.predict_on_batch(inputs[i : i + PREDICT_BATCH])
                    for i in range(0, len(inputs), PREDICT_BATCH)
                ]
            ).ravel()
        return self.calibration.apply(raw)

    def percentile_of(self, probability: float) -> float | None:
        if not len(self.reference):
            return None
        return float(100.0 * np.searchsorted(self.reference, probability, side="right") / len(self.reference))

    def windows(self, samples: np.ndarray) -> list[tuple[float, np.ndarray]]:
        """(start second, spectrogram) of every 30 s window of the song."""
        return [
            (start, self.spectrogram(samples[int(start * SAMPLE_RATE) :]))
            for start in window_starts(samples.size / SAMPLE_RATE)
        ]

    def score_samples(self, samples: np.ndarray, name: str) -> SongScore:
        windows = self.windows(samples)
        probabilities = self.predict(np.stack([spectrogram for _, spectrogram in windows]))
        return self._song(name, samples, [start for start, _ in windows], probabilities)

    def _song(
        self, name: str, samples: np.ndarray, starts: list[float], probabilities: np.ndarray, **extra
    ) -> SongScore:
        """The song's verdict from its windows' calibrated probabilities."""
        duration = samples.size / SAMPLE_RATE
        song = float(probabilities.mean())
        start = starts[int(np.argmax(probabilities))]
        return SongScore(
            file=name,
            duration_s=duration,
            probability=song,
            catalog_percentile=self.percentile_of(song),
            best_window=(start, min(start + CLIP_SECONDS, duration)),
            windows=[
                {"start_s": s, "end_s": min(s + CLIP_SECONDS, duration), "probability": round(float(p), 4)}
                for s, p in zip(starts, probabilities, strict=True)
            ],
            samples=samples,
            **extra,
        )

    def explain_best_window(self, song: SongScore, num_samples: int = 1000):
        """Explanation of the song's best window; cell times are seconds of the song."""
        start = song.best_window[0]
        assert song.samples is not None, "a scored song keeps its samples"
        return self.explain_window(song.samples[int(start * SAMPLE_RATE) :], start, num_samples)

    def explain_window(self, window: np.ndarray, start_s: float, num_samples: int = 1000):
        """LIME explanation of the 30 s ``window`` that starts ``start_s`` into the song."""
        from core.songs.explain import explain

        return explain(
            self.spectrogram(window), window, self.preset, self.predict, num_samples=num_samples, offset_s=start_s
        )

    def score(self, source: str | Path | bytes, name: str | None = None, domain: Domain | None = None) -> SongScore:
        """Decode and score one file; with ``domain`` (the run's), judge whether the song is in it."""
        label = name or Path(str(source)).name
        decoded = decode(source, name=label)
        song = self.score_samples(decoded.samples, label)
        song.note = decoded.note
        if domain is not None:
            judge(song, domain)
        return song


class EmbeddingScorer(Scorer):
    """Scores with the ``musicnn`` model: one pass of musicnn over the song's 3 s patches,
    then each 30 s window's probability from the pooled embeddings of the patches wholly
    inside it (a 30 s catalog preview has 10). The same pass gives the song's tags and its
    "sounds like" embedding, so nothing is computed twice."""

    def __init__(self, run: SavedRun, model: str = PRETRAINED_MODEL):
        super().__init__(run, model)
        self.preset = INPUT
        self.musicnn = load_model(self.model.embedding_model)

    def spectrogram(self, samples: np.ndarray) -> np.ndarray:
        return input_mel(samples[: int(CLIP_SECONDS * SAMPLE_RATE)])

    def head_probability(self, pooled: np.ndarray) -> np.ndarray:
        return self.calibration.apply(self.model.predict_proba(pooled))

    def predict(self, spectrograms: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for a batch of musicnn inputs (n, 96, frames)."""
        return self.head_probability(np.stack([self.musicnn.analyse_mel(s).pooled() for s in spectrograms]))

    def score_samples(self, samples: np.ndarray, name: str) -> SongScore:
        outputs = self.musicnn.analyse(samples, name)
        starts = window_starts(samples.size / SAMPLE_RATE)
        patch_start = patch_starts(len(outputs))
        pooled = []
        for start in starts:
            inside = (patch_start >= start - 1e-6) & (patch_start + PATCH_SECONDS <= start + CLIP_SECONDS + 1e-6)
            pooled.append(outputs.select(inside if inside.any() else slice(None)).pooled())
        return self._song(name, samples, starts, self.head_probability(np.stack(pooled)), patches=outputs)

    def explain_window(self, window: np.ndarray, start_s: float, num_samples: int = 0):
        """Occlusion over musicnn's 3 s patches x bands (``num_samples`` is not used): LIME's
        1,000 variants of 10 patches would take minutes here (see ``core.songs.explain``)."""
        from core.songs.explain import occlusion, spans_between

        mel = self.spectrogram(window)
        edges = [patch * PATCH_SECONDS for patch in range(patch_count(mel.shape[1]) + 1)]
        return occlusion(mel, spans_between(edges), self.preset, self._hiding_effects, offset_s=start_s)

    def _hiding_effects(self, mel: np.ndarray, segments: np.ndarray, cells: int) -> np.ndarray:
        """For each cell: probability with the window as it is minus with the cell silenced.
        Only the patches a cell touches are run again."""
        base = self.musicnn.analyse_mel(mel)
        count = len(base)
        mel = mel[:, : count * PATCH_FRAMES]
        segments = segments[:, : mel.shape[1]]
        floor = float(mel.min())
        variants: list[tuple[int, int, np.ndarray]] = []
        for cell in range(cells):
            hidden = segments == cell
            for patch in np.unique(np.flatnonzero(hidden.any(axis=0)) // PATCH_FRAMES):
                frames = slice(patch * PATCH_FRAMES, (patch + 1) * PATCH_FRAMES)
                variant = np.where(hidden[:, frames], floor, mel[:, frames])
                variants.append((cell, int(patch), variant.T))
        embeddings: np.ndarray | list = (
            self.musicnn.run_patches(np.stack([v for _, _, v in variants])).embeddings if variants else []
        )
        changed = [base.embeddings.copy() for _ in range(cells)]
        for (cell, patch, _), embedding in zip(variants, embeddings, strict=True):
            changed[cell][patch] = embedding
        reference = self.head_probability(base.pooled()[None])[0]
        hidden_probability = self.head_probability(np.stack([pool(e) for e in changed]))
        return reference - hidden_probability


def window_starts(duration_s: float, hop_s: float = SCORING_HOP_SECONDS) -> list[float]:
    """Window starts every ``hop_s``; the last window ends exactly at the song's end, and no
    other starts within ``SCORING_TAIL_SECONDS`` of it. A song at most that much longer than a
    clip is one window, at its start."""
    last = duration_s - CLIP_SECONDS
    if last < SCORING_TAIL_SECONDS:
        return [0.0]
    starts = [float(start) for start in np.arange(0.0, last, hop_s) if last - start >= SCORING_TAIL_SECONDS]
    return [*starts, float(last)]


def song_profile(song: SongScore) -> SongProfile:
    """What MSD musicnn hears in the whole song (reusing the scorer's pass when it made one)."""
    if song.profile is not None:
        return song.profile
    if song.patches is not None:
        return SongProfile.of(song.patches)
    assert song.samples is not None, "a scored song keeps its samples"
    return SongProfile.of(load_model(DEFAULT_MODEL).analyse(song.samples, song.file))


def judge(song: SongScore, domain: Domain) -> None:
    """Hear the song with musicnn (kept as ``song.profile``) and judge whether it is in the
    run's ``domain``; when musicnn cannot run, the verdict is withheld and says why."""
    try:
        song.profile = song_profile(song)
    except HitlensError as problem:
        song.applicability = unjudged(
            f"musicnn, which tells whether a song is like the run's catalog, could not run "
            f"({problem.problem}); {problem.advice}"
        )
        return
    song.applicability = domain.judge(song.profile)


FAR_NEIGHBOURS = (
    "These are the nearest catalog songs, but they are far: the song is unlike the catalog, so what they did "
    "says little about it."
)


def describe_song(song: SongScore, catalog: CatalogEmbeddings, threshold: float) -> dict:
    """``tags`` (top 10 MSD tags), ``sounds_like`` (the 10 nearest catalog tracks, popular
    at ``threshold``), the share of those that are popular, ``nearest_similarity`` (to the
    nearest catalog clip), and ``sounds_like_note`` when the song is out of the run's domain
    (its neighbours are far), as ``score --json`` gives them. Before the catalog's embeddings
    exist ``sounds_like`` is empty and ``nearest_similarity`` None."""
    profile = song_profile(song)
    nearest = catalog.nearest(profile.pooled, threshold)
    far = bool(nearest) and not song.in_domain
    return {
        "nearest_similarity": nearest[0]["similarity"] if nearest else None,
        "tags": profile.top_tags(),
        "sounds_like": nearest,
        "sounds_like_popular_share": round(float(np.mean([n["popular"] for n in nearest])), 3) if nearest else None,
        "sounds_like_note": FAR_NEIGHBOURS if far else None,
    }


@dataclass(frozen=True)
class ChanceWithContext:
    """The answer of a run's audio + context model for a song of a known artist: the chance
    for this artist's release (rounded as ``score --json`` gives it), and what knowing the
    artist changes against the sound alone, in words."""

    probability: float
    difference: str


@dataclass(frozen=True)
class SongInContext:
    """What a run's models on top of the audio verdict add for a song in domain: two other
    questions, never a second verdict. ``predicted_popularity``: the regression's answer (None
    without one); ``context``: what was known of the artist, in words; ``fans_note``: said when
    the artist's fans lie beyond those the models learned from; ``chance_with_context``: None
    unless the artist is known and the run has the audio + context model."""

    audio_model: str  # the audio model whose probability fed the models on top
    context: str
    predicted_popularity: PredictedPopularity | None
    fans_note: str | None
    chance_with_context: ChanceWithContext | None = None

    def as_dict(self) -> dict:
        """The fields ``score --json`` adds; ``probability_with_context`` and
        ``context_difference`` only when there is a chance with the artist's context."""
        fields: dict = {
            "context_audio_model": self.audio_model,
            "context": self.context,
            "predicted_popularity": None if self.predicted_popularity is None else self.predicted_popularity.as_dict(),
            "fans_note": self.fans_note,
        }
        if self.chance_with_context is not None:
            fields["probability_with_context"] = self.chance_with_context.probability
            fields["context_difference"] = self.chance_with_context.difference
        return fields


def song_in_context(models: ContextModels, audio_probability: float, artist: ArtistContext) -> SongInContext:
    """What a run's ``models`` on top of the audio verdict answer for a song in domain whose
    feeding audio model (``models.audio_model``) gave ``audio_probability``: the predicted
    popularity, with the artist's context when anything is known about them, else from the
    audio alone (fans missing, no history), and, when the artist is known and the run has the
    audio + context model, the chance for this artist's release."""
    answers = SongInContext(
        audio_model=models.audio_model,
        context=artist.describe() if artist.known else "none: audio only (no artist given, so no fans and no history)",
        predicted_popularity=models.predicted_popularity(audio_probability, artist),
        fans_note=models.fans_note(artist),
    )
    with_context = models.probability(audio_probability, artist)
    if with_context is None:
        return answers
    difference = context_difference(audio_probability, with_context, artist.describe())
    return replace(answers, chance_with_context=ChanceWithContext(round(with_context, 4), difference))


@dataclass
class BatchItem:
    file: str
    score: SongScore | None = None
    error: str | None = None


def score_many(
    scorer: Scorer, sources: Iterable[tuple[str, str | Path | bytes]], domain: Domain | None = None
) -> list[BatchItem]:
    """Score every (name, source), judged against the run's ``domain`` when given; a bad file
    becomes an error entry and the rest go on. Songs with a verdict come first, most
    promising first; withheld songs follow (by probability, which is no rank of theirs),
    then errors in input order."""
    items = []
    for name, source in sources:
        try:
            items.append(BatchItem(name, score=scorer.score(source, name, domain)))
        except AudioError as error:
            items.append(BatchItem(name, error=str(error)))
    return sorted((i for i in items if i.score), key=ranking_key) + [i for i in items if i.error]


def ranking_key(item: BatchItem) -> tuple[bool, float]:
    """Songs with a verdict before withheld ones, each most probable first."""
    assert item.score is not None
    return (not item.score.in_domain, -item.score.probability)
