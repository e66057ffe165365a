"""Frequency bands with the names musicians use, and their rows in a mel spectrogram.

The demo catalog states where its signal lives in these terms, and explanations report
regions in them, so the two always speak the same language.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from core.config import FeaturePreset


@dataclass(frozen=True)
class Band:
    name: str
    low_hz: float
    high_hz: float

    @property
    def label(self) -> str:
        """The name with its range, as axes show it: "sub-bass <60 Hz", "low mids 250 Hz-2 kHz",
        "high mids 2-6 kHz", "highs/air >6 kHz"."""

        def hz(value: float, unit: bool = True) -> str:
            text = f"{value / 1000:g}" if value >= 1000 else f"{value:g}"
            return f"{text} {'kHz' if value >= 1000 else 'Hz'}" if unit else text

        if self.low_hz <= 0:
            return f"{self.name} <{hz(self.high_hz)}"
        if self.high_hz == float("inf"):
            return f"{self.name} >{hz(self.low_hz)}"
        same_unit = (self.low_hz >= 1000) == (self.high_hz >= 1000)
        return f"{self.name} {hz(self.low_hz, unit=not same_unit)}-{hz(self.high_hz)}"


BANDS: tuple[Band, ...] = (
    Band("sub-bass", 0.0, 60.0),
    Band("bass", 60.0, 250.0),
    Band("low mids", 250.0, 2000.0),
    Band("high mids", 2000.0, 6000.0),
    Band("highs/air", 6000.0, float("inf")),
)
BANDS_BY_NAME = {band.name: band for band in BANDS}


def mel_centres_hz(preset: FeaturePreset) -> np.ndarray:
    """Centre frequency of each mel row of ``preset``, lowest first (librosa's Slaney mels).
    librosa spaces n_mels + 2 edge points from 0 Hz to Nyquist; filter i peaks at point i + 1."""
    edges = librosa.mel_frequencies(n_mels=preset.n_mels + 2, fmin=0.0, fmax=preset.sample_rate / 2)
    return edges[1:-1]


def band_rows(band: Band, preset: FeaturePreset) -> slice:
    """The contiguous mel rows whose centres fall inside ``band`` (at least one row)."""
    centres = mel_centres_hz(preset)
    inside = np.flatnonzero((centres >= band.low_hz) & (centres < band.high_hz))
    if inside.size == 0:
        nearest = int(np.argmin(np.abs(centres - (band.low_hz + band.high_hz) / 2)))
        return slice(nearest, nearest + 1)
    return slice(int(inside[0]), int(inside[-1]) + 1)


def band_pass(samples: np.ndarray, band: Band, sample_rate: int) -> np.ndarray:
    """``samples`` with only ``band`` left: a zero-phase 4th-order Butterworth filter
    (low-pass for sub-bass, high-pass for the highs), so an artist can hear what a region of
    an explanation holds without shifting it in time."""
    from scipy.signal import butter, sosfiltfilt

    nyquist = sample_rate / 2
    high = min(band.high_hz, nyquist * 0.99)
    if band.low_hz <= 0:
        sos = butter(4, high, btype="lowpass", fs=sample_rate, output="sos")
    elif band.high_hz >= nyquist:
        sos = butter(4, band.low_hz, btype="highpass", fs=sample_rate, output="sos")
    else:
        sos = butter(4, [band.low_hz, high], btype="bandpass", fs=sample_rate, output="sos")
    return sosfiltfilt(sos, samples).astype(np.float32)
