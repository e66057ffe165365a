"""Synthesised hip-hop beats for the demo catalog: drums, 808, chords, hook, vocal-like band.

Everything is plain numpy/scipy so a 30 s clip takes tens of milliseconds. A beat is fully
determined by an ``ArtistStyle`` (tempo, kit, key, instruments: what makes an artist
recognisable) and a ``SongTraits`` (the three traits that carry the demo's popularity
signal, each placed in a known time-frequency region, see ``core.demo``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from core.config import CLIP_SECONDS, SAMPLE_RATE

SR = SAMPLE_RATE
N = int(CLIP_SECONDS * SR)
MINOR_SCALE = np.array([0, 2, 3, 5, 7, 8, 10])


@dataclass(frozen=True)
class ArtistStyle:
    tempo: float  # beats per minute
    trap: bool  # half-time snare and rolling hats (else boom-bap with swing)
    root_midi: int  # key of the 808 and chords, MIDI 28-40 (41-82 Hz)
    kick_pitch: float  # Hz at the start of the kick's pitch sweep
    snare_tone: float  # Hz of the snare body
    hat_brightness: float  # 0..1
    swing: float  # 0..0.3 of a 16th
    pad_level: float
    vocal_level: float  # 0 when the artist's beats carry no vocal-like band
    vocal_pitch: float  # Hz


@dataclass(frozen=True)
class SongTraits:
    """Strengths in [0, 1] of the three traits whose regions ``core.demo`` documents."""

    hook: float  # a high lead melody (2-6 kHz) from 10 s to 20 s
    drop: float  # a sustained 808 (41-123 Hz and its harmonics) from 20 s to 30 s
    hiss: float  # tape hiss and crackle (6 kHz and up) in the first 10 s


def render(style: ArtistStyle, traits: SongTraits, seed: int) -> np.ndarray:
    """A 30 s mono float32 clip at 22,050 Hz, peak-normalised to 0.9."""
    rng = np.random.default_rng(seed)
    tempo = style.tempo * rng.uniform(0.97, 1.03)
    sixteenth = 60.0 / tempo / 4
    steps = int(N / SR / sixteenth) + 1
    mix = np.zeros(N + SR, dtype=np.float32)  # one spare second for tails

    _drums(mix, style, sixteenth, steps, rng)
    chord_roots = style.root_midi + rng.choice(MINOR_SCALE, size=4)
    bar = sixteenth * 16
    _pad(mix, style, chord_roots, bar, rng)
    _bassline(mix, style, chord_roots, bar, sixteenth, rng, start=0.0, end=20.0, level=0.25)
    if traits.drop > 0:
        _bassline(
            mix, style, chord_roots, bar, sixteenth, rng, start=20.0, end=30.0, level=0.9 * traits.drop, sustain=True
        )
    if traits.hook > 0:
        _hook(mix, chord_roots, sixteenth, rng, start=10.0, end=20.0, level=0.22 * traits.hook)
    if style.vocal_level > 0:
        _vocal(mix, style, rng)
    if traits.hiss > 0:
        _hiss(mix, rng, start=0.0, end=10.0, level=0.16 * traits.hiss)

    clip = mix[:N]
    return (0.9 * clip / max(float(np.max(np.abs(clip))), 1e-6)).astype(np.float32)


def _place(mix: np.ndarray, sound: np.ndarray, at_seconds: float, gain: float = 1.0) -> None:
    start = int(at_seconds * SR)
    if start >= mix.size:
        return
    end = min(mix.size, start + sound.size)
    mix[start:end] += gain * sound[: end - start]


def _envelope(seconds: float, decay: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(int(seconds * SR), dtype=np.float32) / SR
    return t, np.exp(-t / decay).astype(np.float32)


def _kick(start_hz: float) -> np.ndarray:
    t, env = _envelope(0.45, 0.12)
    freq = 45.0 + (start_hz - 45.0) * np.exp(-t / 0.04)
    return np.sin(2 * np.pi * np.cumsum(freq) / SR).astype(np.float32) * env


def _snare(tone_hz: float, rng: np.random.Generator) -> np.ndarray:
    t, env = _envelope(0.25, 0.07)
    noise = np.diff(rng.standard_normal(t.size + 1)).astype(np.float32) * 0.35
    body = np.sin(2 * np.pi * tone_hz * t) * np.exp(-t / 0.05)
    return (noise * env + 0.6 * body).astype(np.float32)


def _hat(brightness: float, rng: np.random.Generator) -> np.ndarray:
    _, env = _envelope(0.05, 0.012 + 0.01 * brightness)
    noise = rng.standard_normal(env.size + 2)
    return (np.diff(noise, 2) * 0.12 * env).astype(np.float32)


def _drums(mix, style: ArtistStyle, sixteenth: float, steps: int, rng) -> None:
    kick = _kick(style.kick_pitch)
    snare = _snare(style.snare_tone, rng)
    hat = _hat(style.hat_brightness, rng)
    kick_steps = {0, 10} if not style.trap else {0, 3, 7, 10}
    snare_steps = {8} if style.trap else {4, 12}
    for step in range(steps):
        position = step % 16
        at = step * sixteenth + (style.swing * sixteenth if step % 2 else 0.0)
        if position in kick_steps or (rng.random() < 0.08 and position % 2 == 0):
            _place(mix, kick, at, 0.9)
        if position in snare_steps:
            _place(mix, snare, at, 0.7)
        if style.trap:
            rolls = 2 if rng.random() < 0.15 else 1
            for roll in range(rolls):
                _place(mix, hat, at + roll * sixteenth / rolls, 0.5 * rng.uniform(0.7, 1.0))
        elif step % 2 == 0:
            _place(mix, hat, at, 0.5 * rng.uniform(0.7, 1.0))


def _midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _pad(mix, style: ArtistStyle, chord_roots, bar: float, rng) -> None:
    """Minor-seventh chords, one per bar, in the low mids (about 130-600 Hz)."""
    t = np.arange(int(bar * SR), dtype=np.float32) / SR
    attack = np.minimum(1.0, t / 0.15) * np.exp(-t / (bar * 1.5))
    bars = int(np.ceil(CLIP_SECONDS / bar))
    for index in range(bars):
        root = chord_roots[index % len(chord_roots)] + 24
        chord = np.zeros_like(t)
        for interval in (0, 3, 7, 10):
            hz = _midi_hz(root + interval)
            chord += np.sin(2 * np.pi * hz * t) + 0.3 * np.sin(2 * np.pi * 2 * hz * t + rng.uniform(0, 6))
        _place(mix, (chord * attack).astype(np.float32), index * bar, 0.05 * style.pad_level)


def _bassline(mix, style, chord_roots, bar, sixteenth, rng, *, start, end, level, sustain=False) -> None:
    """An 808: a sine one octave below the chord root, saturated for harmonics. Short
    notes by default; ``sustain`` holds each note for half a bar (the "drop")."""
    length = bar / 2 if sustain else sixteenth * 3
    t, env = _envelope(length, length / (1.5 if sustain else 3))
    at = start
    while at < end:
        index = int(at / bar)
        hz = _midi_hz(chord_roots[index % len(chord_roots)])
        glide = hz * (1 + 0.06 * np.exp(-t / 0.03))
        note = np.tanh(2.5 * np.sin(2 * np.pi * np.cumsum(glide) / SR)) * env
        _place(mix, note.astype(np.float32), at, level)
        at += length if sustain else sixteenth * rng.choice([4, 6, 8])


def _hook(mix, chord_roots, sixteenth, rng, *, start, end, level) -> None:
    """A whistle-like lead of eighth notes between about 2 and 4.5 kHz."""
    length = sixteenth * 2
    t = np.arange(int(length * SR), dtype=np.float32) / SR
    env = np.minimum(1.0, t / 0.01) * np.exp(-t / (length * 0.8))
    motif = rng.choice(MINOR_SCALE, size=8)
    at, index = start, 0
    while at < end:
        note = chord_roots[0] + 72 + motif[index % motif.size]  # five octaves above the 808
        hz = _midi_hz(note) * (1 + 0.004 * np.sin(2 * np.pi * 5.5 * t))
        phase = 2 * np.pi * np.cumsum(hz) / SR
        tone = np.sin(phase) + 0.25 * np.sin(3 * phase)
        _place(mix, (tone * env).astype(np.float32), at, level)
        at += length
        index += 1


def _vocal(mix, style: ArtistStyle, rng) -> None:
    """A pulse train through three formant resonators, chopped into syllables: the band a
    rapper's voice occupies (about 150 Hz - 3 kHz) without any words."""
    t = np.arange(N, dtype=np.float32) / SR
    pitch = style.vocal_pitch * (1 + 0.05 * np.sin(2 * np.pi * 0.3 * t))
    phase = np.cumsum(pitch) / SR
    pulses = (np.diff(np.floor(phase), prepend=0.0) > 0).astype(np.float32)
    voice = np.zeros(N, dtype=np.float32)
    for formant, width in ((600, 120), (1200, 160), (2400, 250)):
        b, a = signal.iirpeak(formant, formant / width, fs=SR)
        voice += signal.lfilter(b, a, pulses).astype(np.float32)
    syllables = 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * rng.uniform(3.5, 5.5) * t))
    mix[:N] += style.vocal_level * 0.5 * voice * syllables


_HISS_FILTER = signal.butter(4, 6000, btype="highpass", fs=SR, output="sos")


def _hiss(mix, rng, *, start, end, level) -> None:
    """Tape hiss and vinyl crackle above 6 kHz."""
    count = int((end - start) * SR)
    noise = rng.standard_normal(count).astype(np.float32)
    noise[rng.random(count) < 0.0015] *= 12  # crackle
    hiss = signal.sosfilt(_HISS_FILTER, noise).astype(np.float32)
    mix[int(start * SR) : int(start * SR) + count] += level * hiss
