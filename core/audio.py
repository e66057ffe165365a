"""Decode any common audio file to mono float32 at the model's sample rate, and validate it.

libsndfile (through soundfile) reads wav, flac, ogg/vorbis and mp3 directly and fast.
m4a/aac go through the ffmpeg binary that ships inside the ``imageio-ffmpeg`` wheel, so no
system package and no download is needed. Every failure is a typed ``AudioError`` whose
message says what is wrong and what to do.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from core.config import MAX_AUDIO_SECONDS, MIN_AUDIO_SECONDS, SAMPLE_RATE, SILENCE_PEAK, settings
from core.errors import (
    AudioTooLong,
    AudioTooShort,
    SilentAudio,
    UnreadableAudio,
    UnsupportedFormat,
)

LIBSNDFILE_EXTENSIONS = {".wav", ".flac", ".ogg", ".oga", ".mp3"}
FFMPEG_EXTENSIONS = {".m4a", ".aac", ".mp4"}
SUPPORTED_EXTENSIONS = LIBSNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS
SUPPORTED_LABEL = "mp3, wav, flac, ogg or m4a"


def load_audio(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    max_seconds: float = MAX_AUDIO_SECONDS,
    min_seconds: float = MIN_AUDIO_SECONDS,
) -> np.ndarray:
    """Decode ``source`` (a path, or the bytes of an upload called ``name``) to validated mono
    float32 samples at ``SAMPLE_RATE``."""
    label = name or (Path(source).name if not isinstance(source, bytes) else "upload")
    extension = Path(name or (source if not isinstance(source, bytes) else "")).suffix.lower()
    if extension not in SUPPORTED_EXTENSIONS:
        raise UnsupportedFormat(
            f"'{label}' is not a supported audio format ({extension or 'no extension'}).",
            f"Export it as {SUPPORTED_LABEL} and try again.",
        )
    if extension in FFMPEG_EXTENSIONS:
        samples = _decode_with_ffmpeg(source, label, extension, max_seconds)
    else:
        samples = _decode_with_libsndfile(source, label, max_seconds)
    validate(samples, label, min_seconds=min_seconds, max_seconds=max_seconds)
    return samples


def validate(
    samples: np.ndarray,
    label: str,
    *,
    min_seconds: float = MIN_AUDIO_SECONDS,
    max_seconds: float = MAX_AUDIO_SECONDS,
) -> None:
    seconds = samples.size / SAMPLE_RATE
    if samples.size == 0:
        raise AudioTooShort(
            f"'{label}' contains no audio.", "Check the export and upload the finished file."
        )
    if seconds < min_seconds:
        raise AudioTooShort(
            f"'{label}' is only {seconds:.1f} s long; at least {min_seconds:.0f} s are needed.",
            "Upload a longer clip (ideally 30 s or the whole song).",
        )
    if seconds > max_seconds:
        raise _too_long(label, seconds, max_seconds)
    if not np.isfinite(samples).all() or float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise SilentAudio(
            f"'{label}' is silent (no sample above -80 dBFS).",
            "Check that the export contains the mix and is not muted.",
        )


def _too_long(label: str, seconds: float, max_seconds: float) -> AudioTooLong:
    return AudioTooLong(
        f"'{label}' is {seconds / 60:.0f} min long; the limit is {max_seconds / 60:.0f} min.",
        "Upload a single song, or cut the part you want scored.",
    )


def _unreadable(label: str) -> UnreadableAudio:
    return UnreadableAudio(
        f"'{label}' could not be decoded as audio; it may be corrupt or not audio at all.",
        f"Re-export it as {SUPPORTED_LABEL} and try again.",
    )


def _decode_with_libsndfile(source: str | Path | bytes, label: str, max_seconds: float) -> np.ndarray:
    handle = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        with sf.SoundFile(handle) as audio:
            # Check the length from the header first: a 2-hour file is refused before
            # it is decoded into memory.
            if audio.frames > 0 and audio.frames / audio.samplerate > max_seconds:
                raise _too_long(label, audio.frames / audio.samplerate, max_seconds)
            data = audio.read(dtype="float32", always_2d=True)
            rate = audio.samplerate
    except (sf.LibsndfileError, RuntimeError, TypeError):
        # libsndfile's own wording ("File does not exist...") misleads for a corrupt file.
        raise _unreadable(label) from None
    return _to_model_rate(data.mean(axis=1, dtype=np.float32), rate)


def _decode_with_ffmpeg(source: str | Path | bytes, label: str, extension: str, max_seconds: float) -> np.ndarray:
    import imageio_ffmpeg  # imported lazily: it locates its binary on import

    scratch_root = settings().tmp_dir  # uploads never touch disk outside the data folder
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch_root) as scratch:
        if isinstance(source, bytes):
            # The mp4 container keeps its index at the end, so ffmpeg needs a seekable file;
            # it gets a fixed name, never the uploader's.
            path = Path(scratch) / f"upload{extension}"
            path.write_bytes(source)
        else:
            path = Path(source)
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path),
            # Decode one second past the limit: enough to tell "too long" without
            # decoding two hours of audio.
            "-t", str(max_seconds + 1), "-vn", "-f", "f32le", "-ac", "1",
            "-ar", str(SAMPLE_RATE), "pipe:1",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        raise _unreadable(label)
    samples = np.frombuffer(result.stdout, dtype="<f4").astype(np.float32)
    if samples.size / SAMPLE_RATE > max_seconds:
        raise _too_long(label, samples.size / SAMPLE_RATE, max_seconds)
    return samples


def _to_model_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return np.ascontiguousarray(samples, dtype=np.float32)
    return soxr.resample(samples, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)

