"""Decode any common audio file to mono float32 at the model's sample rate, and validate it.

libsndfile (through soundfile) reads wav, flac, ogg/vorbis and mp3 directly and fast.
m4a/aac go through the ffmpeg binary that ships inside the ``imageio-ffmpeg`` wheel, so no
system package and no download is needed. Every failure is a typed ``AudioError`` whose
message says what is wrong and what to do.

Memory is bounded by the result, not by the file. A FLAC of a constant value compresses
eight channels at 192 kHz into a few hundred kilobytes; decoded whole it would take
gigabytes. So the header is checked first (length, and frames x channels at the file's own
rate), and the file is decoded in blocks of at most ``BLOCK_SAMPLES`` samples that are
downmixed and resampled as they arrive. Peak memory for an accepted file is about twice the
mono ``SAMPLE_RATE`` result (its pieces, then the joined array) plus one block: about
215 MB for a 20-minute song, whatever its channels or rate.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from core.config import MAX_AUDIO_SECONDS, MIN_AUDIO_SECONDS, SAMPLE_RATE, SILENCE_PEAK, settings
from core.engine.native_logs import native_stderr_silenced
from core.errors import (
    AudioTooLong,
    AudioTooShort,
    SilentAudio,
    UnreadableAudio,
    UnsupportedFormat,
)
from core.files import ensure_folder

LIBSNDFILE_EXTENSIONS = {".wav", ".flac", ".ogg", ".oga", ".mp3"}
FFMPEG_EXTENSIONS = {".m4a", ".aac", ".mp4"}
SUPPORTED_EXTENSIONS = LIBSNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS
SUPPORTED_LABEL = "mp3, wav, flac, ogg or m4a"

MAX_SOURCE_SAMPLES = int(MAX_AUDIO_SECONDS * 192_000 * 8)
"""Most samples (frames x channels at the file's own rate) a file may declare: 20 minutes
of eight channels at 192 kHz. Decoding more would take minutes of the server's time."""
BLOCK_SAMPLES = 1 << 19
"""Samples (frames x channels) decoded at a time: 2 MB of float32."""
TRUNCATION_TOLERANCE_SECONDS = 1.0
"""A file that decodes this much shorter than its header says gets a note: it is cut off."""


@dataclass(frozen=True)
class Decoded:
    """Mono float32 ``samples`` at ``SAMPLE_RATE``, and a ``note`` when only part of the file
    could be read (a truncated download or copy), saying how much."""

    samples: np.ndarray
    note: str | None = None


def load_audio(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    max_seconds: float = MAX_AUDIO_SECONDS,
    min_seconds: float = MIN_AUDIO_SECONDS,
) -> np.ndarray:
    """Decode ``source`` (a path, or the bytes of an upload called ``name``) to validated mono
    float32 samples at ``SAMPLE_RATE``."""
    return decode(source, name=name, max_seconds=max_seconds, min_seconds=min_seconds).samples


def decode(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    max_seconds: float = MAX_AUDIO_SECONDS,
    min_seconds: float = MIN_AUDIO_SECONDS,
) -> Decoded:
    """Like ``load_audio``, with a note when the file is cut off. Running out of memory while
    decoding is this file's ``AudioError``, so a batch goes on with the next file."""
    label = name or (Path(source).name if not isinstance(source, bytes) else "upload")
    extension = Path(name or (source if not isinstance(source, bytes) else "")).suffix.lower()
    _check_source(source, label)  # first: a folder is a folder, whatever its name ends with
    if extension not in SUPPORTED_EXTENSIONS:
        raise UnsupportedFormat(
            f"'{label}' is not a supported audio format ({extension or 'no extension'}).",
            f"Export it as {SUPPORTED_LABEL} and try again.",
        )
    try:
        if extension in FFMPEG_EXTENSIONS:
            decoded = Decoded(_decode_with_ffmpeg(source, label, extension, max_seconds))
        else:
            decoded = _decode_with_libsndfile(source, label, max_seconds)
    except MemoryError:
        raise AudioTooLong(
            f"'{label}' needs more memory to decode than the server has free.",
            "Upload a shorter or compressed export (stereo, 44.1 or 48 kHz), or try again later.",
        ) from None
    validate(decoded.samples, label, min_seconds=min_seconds, max_seconds=max_seconds)
    return decoded


def validate(
    samples: np.ndarray,
    label: str,
    *,
    min_seconds: float = MIN_AUDIO_SECONDS,
    max_seconds: float = MAX_AUDIO_SECONDS,
) -> None:
    seconds = samples.size / SAMPLE_RATE
    if samples.size == 0:
        raise _no_audio(label)
    if seconds < min_seconds:
        raise AudioTooShort(
            f"'{label}' is only {seconds:.1f} s long; at least {min_seconds:.0f} s are needed.",
            "Upload a longer clip (ideally 30 s or the whole song).",
        )
    if seconds > max_seconds:
        raise _too_long(label, seconds, max_seconds)
    if not np.isfinite(samples).all():
        raise _not_numbers(label)
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise SilentAudio(
            f"'{label}' is silent (no sample above -80 dBFS).",
            "Check that the export contains the mix and is not muted.",
        )


def _check_source(source: str | Path | bytes, label: str) -> None:
    """What can be told before decoding: a missing path, a folder, an empty file."""
    if isinstance(source, bytes):
        if not source:
            raise _no_audio(label)
        return
    path = Path(source)
    if path.is_dir():
        raise UnreadableAudio(f"'{label}' is a folder, not an audio file.", "Choose the audio file inside it.")
    if not path.exists():
        raise UnreadableAudio(f"'{label}' does not exist.", "Check the path, or restore the file.")
    if path.stat().st_size == 0:
        raise _no_audio(label)


def _no_audio(label: str) -> AudioTooShort:
    return AudioTooShort(f"'{label}' contains no audio.", "Check the export and upload the finished file.")


def _not_numbers(label: str) -> UnreadableAudio:
    return UnreadableAudio(
        f"'{label}' has samples that are not numbers (NaN or infinity): the export is damaged.",
        f"Re-export it as {SUPPORTED_LABEL} and try again.",
    )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _too_long(label: str, seconds: float, max_seconds: float) -> AudioTooLong:
    return AudioTooLong(
        f"'{label}' is {_duration(seconds)} long; the limit is {_duration(max_seconds)}.",
        "Upload a single song, or cut the part you want scored.",
    )


def _unreadable(label: str) -> UnreadableAudio:
    return UnreadableAudio(
        f"'{label}' could not be decoded as audio; it may be corrupt or not audio at all.",
        f"Re-export it as {SUPPORTED_LABEL} and try again.",
    )


def _decode_with_libsndfile(source: str | Path | bytes, label: str, max_seconds: float) -> Decoded:
    """Decoded in blocks; libmpg123's notes on a damaged or fake mp3 ("Illegal Audio-MPEG-Header",
    "Trying to resync...") are silenced: the file's own one-line error says what matters."""
    handle = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        with native_stderr_silenced(), sf.SoundFile(handle) as audio:
            rate, channels, declared = audio.samplerate, audio.channels, audio.frames
            # The header is checked before anything is decoded: a 2-hour file, or one that
            # declares billions of samples, is refused without touching its audio.
            if declared > 0 and declared / rate > max_seconds:
                raise _too_long(label, declared / rate, max_seconds)
            if declared * channels > MAX_SOURCE_SAMPLES:
                raise AudioTooLong(
                    f"'{label}' holds {channels} channels at {rate / 1000:g} kHz for {_duration(declared / rate)}: "
                    "more than the server decodes for one song.",
                    "Export a stereo mix at 44.1 or 48 kHz.",
                )
            samples, frames = _read_mono(audio, label, max_frames=int((max_seconds + 1) * rate))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        # libsndfile's own wording ("File does not exist...") misleads for a corrupt file.
        raise _unreadable(label) from None
    if frames / rate > max_seconds:  # a header that understated the length
        raise _too_long(label, frames / rate, max_seconds)
    return Decoded(samples, _truncation_note(frames / rate, declared / rate))


def _read_mono(audio: sf.SoundFile, label: str, max_frames: int) -> tuple[np.ndarray, int]:
    """The file's samples downmixed and resampled block by block, and how many frames it had.
    Stops one block after ``max_frames``: enough to tell "too long" without reading it all."""
    resampler = (
        None
        if audio.samplerate == SAMPLE_RATE
        else soxr.ResampleStream(audio.samplerate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
    )
    pieces, frames = [], 0
    buffer = np.empty((max(1, BLOCK_SAMPLES // audio.channels), audio.channels), dtype=np.float32)
    # Not ``SoundFile.blocks``: it trusts the header's length and pads a cut-off file.
    while len(block := _read_block(audio, buffer)):
        if not np.isfinite(block).all():  # before resampling smears it over its neighbours
            raise _not_numbers(label)
        mono = block.mean(axis=1, dtype=np.float32)
        pieces.append(mono if resampler is None else resampler.resample_chunk(mono))
        frames += len(block)
        if frames > max_frames:
            break
    if resampler is not None:
        pieces.append(resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return np.ascontiguousarray(samples, dtype=np.float32), frames


def _read_block(audio: sf.SoundFile, buffer: np.ndarray) -> np.ndarray:
    """The next frames of ``audio`` decoded into ``buffer``; empty at the end.

    Straight through libsndfile's ``sf_readf_float``, not ``SoundFile.read``: after every
    read, soundfile seeks to where the read ended to keep its own position. For an mp3 that
    seek restarts libmpg123 at the next frame without the bit reservoir of the frames before
    it, so each block boundary decoded one frame wrong (samples off by up to 0.07) and printed
    "part2_3_length ... too large for available bit count" on stderr: about one note per
    clip in every command, job log and dashboard session. Read straight through, a file
    decodes exactly as in one piece.
    """
    pointer = sf._ffi.cast("float *", buffer.ctypes.data)
    frames = sf._snd.sf_readf_float(audio._file, pointer, len(buffer))
    sf._error_check(audio._errorcode)
    return buffer[: max(frames, 0)]


def _truncation_note(read_s: float, declared_s: float) -> str | None:
    if declared_s - read_s < TRUNCATION_TOLERANCE_SECONDS:
        return None
    return (
        f"Only the first {read_s:.0f} s of {declared_s:.0f} s could be read: the file is cut off. "
        "The verdict is for that part; upload the complete file for the whole song."
    )


def _decode_with_ffmpeg(source: str | Path | bytes, label: str, extension: str, max_seconds: float) -> np.ndarray:
    import imageio_ffmpeg  # imported lazily: it locates its binary on import

    scratch_root = settings().tmp_dir  # uploads never touch disk outside the data folder
    ensure_folder(scratch_root)
    with tempfile.TemporaryDirectory(dir=scratch_root) as scratch:
        if isinstance(source, bytes):
            # The mp4 container keeps its index at the end, so ffmpeg needs a seekable file;
            # it gets a fixed name, never the uploader's.
            path = Path(scratch) / f"upload{extension}"
            path.write_bytes(source)
        else:
            path = Path(source)
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            # Decode one second past the limit: enough to tell "too long" without
            # decoding two hours of audio. ffmpeg downmixes and resamples as it goes.
            "-t",
            str(max_seconds + 1),
            "-vn",
            "-f",
            "f32le",
            "-ac",
            "1",
            "-ar",
            str(SAMPLE_RATE),
            "pipe:1",
        ]
        result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        raise _unreadable(label)
    samples = np.frombuffer(result.stdout, dtype="<f4").astype(np.float32)
    if samples.size / SAMPLE_RATE > max_seconds:
        raise _too_long(label, samples.size / SAMPLE_RATE, max_seconds)
    return samples
