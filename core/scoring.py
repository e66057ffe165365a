"""Scoring songs with a saved run: windows, verdict, calibrated probability, percentile,
best 30 s window, and ranking many songs (the study's "sieve").

A song is cut into 30 s windows every ``SCORING_HOP_SECONDS`` (the last window ends at the
song's end; a song of 30 s or less is one window, padded like a short preview). Each window
gets the model's probability, calibrated on the run's test split. The song's probability is
the mean over its windows; its best window is the one with the highest probability: "use
this as your preview clip". The verdict is "popular" when the calibrated probability is at
least 0.5, i.e. when the model judges a popularity at or above the run's threshold more
likely than not. The percentile places the song among the calibrated probabilities of the
run's test and holdout tracks (catalog tracks no model trained on).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.audio import load_audio
from core.config import CLIP_SECONDS, SAMPLE_RATE, SCORING_HOP_SECONDS, FeaturePreset
from core.dataset import MinMaxScaling
from core.errors import AudioError
from core.evaluate import PlattCalibration
from core.features import log_mel
from core.registry import SavedRun


@dataclass
class SongScore:
    file: str
    duration_s: float
    verdict: str
    probability: float
    percentile: float | None
    best_window: tuple[float, float]
    windows: list[dict] = field(default_factory=list)  # start_s, end_s, probability
    samples: np.ndarray | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "verdict": self.verdict,
            "probability": round(self.probability, 4),
            "percentile": None if self.percentile is None else round(self.percentile, 1),
            "best_window": [round(v, 1) for v in self.best_window],
            "duration_s": round(self.duration_s, 1),
            "windows": self.windows,
        }


def best_model(run: SavedRun) -> str:
    """The run's model with the highest holdout ROC-AUC (the dummy only if it is alone)."""
    candidates = [m for m in run.models if m != "dummy"] or run.models
    return max(candidates, key=lambda m: run.meta["metrics"][m]["roc_auc"]["value"] or 0.0)


class Scorer:
    """One loaded model of a run, ready to score any number of songs."""

    def __init__(self, run: SavedRun, model: str | None = None):
        self.run = run
        self.model_name = model or best_model(run)
        self.model = run.load_model(self.model_name)
        meta = run.meta
        self.preset = FeaturePreset(**meta["feature_preset"])
        self.scaling = MinMaxScaling(**meta["scaling"])
        self.calibration = PlattCalibration(**meta["metrics"][self.model_name]["calibration"])
        # Runs saved before percentiles existed have no reference: their percentile is None.
        self.reference = np.sort(np.array(meta.get("reference_probabilities", {}).get(self.model_name, [])))
        self.auc = meta["metrics"][self.model_name]["roc_auc"]

    def predict(self, spectrograms: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for a batch of (n, mels, frames) dB spectrograms."""
        inputs = self.scaling.apply(spectrograms)[..., None]
        if self.model_name == "dummy":
            raw = self.model.predict_proba(np.zeros((len(inputs), 1)))[:, -1]
        else:
            raw = self.model.predict(inputs, batch_size=64, verbose=0).ravel()
        return self.calibration.apply(raw)

    def percentile_of(self, probability: float) -> float | None:
        if not len(self.reference):
            return None
        return float(100.0 * np.searchsorted(self.reference, probability, side="right") / len(self.reference))

    def windows(self, samples: np.ndarray) -> list[tuple[float, np.ndarray]]:
        """(start second, spectrogram) of every 30 s window of the song."""
        return [(start, log_mel(samples[int(start * SAMPLE_RATE):], self.preset)) for start in window_starts(samples.size / SAMPLE_RATE)]

    def score_samples(self, samples: np.ndarray, name: str) -> SongScore:
        duration = samples.size / SAMPLE_RATE
        windows = self.windows(samples)
        probabilities = self.predict(np.stack([spectrogram for _, spectrogram in windows]))
        song = float(probabilities.mean())
        best = int(np.argmax(probabilities))
        start = windows[best][0]
        return SongScore(
            file=name,
            duration_s=duration,
            verdict="popular" if song >= 0.5 else "not popular",
            probability=song,
            percentile=self.percentile_of(song),
            best_window=(start, min(start + CLIP_SECONDS, duration)),
            windows=[
                {"start_s": s, "end_s": min(s + CLIP_SECONDS, duration), "probability": round(float(p), 4)}
                for (s, _), p in zip(windows, probabilities)
            ],
            samples=samples,
        )

    def explain_best_window(self, song: SongScore, num_samples: int = 1000):
        """LIME explanation of the song's best window; cell times are seconds of the song."""
        from core.explain import explain

        start = song.best_window[0]
        window = song.samples[int(start * SAMPLE_RATE) :]
        return explain(log_mel(window, self.preset), window, self.preset, self.predict, num_samples=num_samples, offset_s=start)

    def score(self, source: str | Path | bytes, name: str | None = None) -> SongScore:
        label = name or Path(str(source)).name
        return self.score_samples(load_audio(source, name=label), label)


def window_starts(duration_s: float, hop_s: float = SCORING_HOP_SECONDS) -> list[float]:
    """Window starts every ``hop_s``; the last window ends exactly at the song's end."""
    if duration_s <= CLIP_SECONDS:
        return [0.0]
    last = duration_s - CLIP_SECONDS
    starts = list(np.arange(0.0, last, hop_s))
    return [float(s) for s in starts] + [float(last)]


@dataclass
class BatchItem:
    file: str
    score: SongScore | None = None
    error: str | None = None


def score_many(scorer: Scorer, sources: Iterable[tuple[str, str | Path | bytes]]) -> list[BatchItem]:
    """Score every (name, source); a bad file becomes an error entry and the rest go on.
    Scored songs come first, most promising first; errors follow in input order."""
    items = []
    for name, source in sources:
        try:
            items.append(BatchItem(name, score=scorer.score(source, name)))
        except AudioError as error:
            items.append(BatchItem(name, error=str(error)))
    scored = sorted((i for i in items if i.score), key=lambda i: -i.score.probability)
    return scored + [i for i in items if i.error]
