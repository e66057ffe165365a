import subprocess

import numpy as np
import pytest
import soundfile as sf

from core.audio import load_audio
from core.config import SAMPLE_RATE
from core.errors import AudioTooLong, AudioTooShort, SilentAudio, UnreadableAudio, UnsupportedFormat
from tests.conftest import shared_file


def _tone(seconds=6.0, rate=44_100, channels=2, hz=440.0):
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.5 * np.sin(2 * np.pi * hz * t)
    return np.stack([mono] * channels, axis=1).astype(np.float32), rate


def _m4a(path, samples, rate):
    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "f32le", "-ar", str(rate),
         "-ac", str(samples.shape[1]), "-i", "pipe:0", "-c:a", "aac", str(path)],
        input=samples.tobytes(), check=True,
    )  # fmt: skip


@pytest.mark.parametrize("extension, fmt", [("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3"), ("m4a", None)])
def test_each_format_decodes_to_mono_at_the_model_rate(tmp_path, extension, fmt):
    samples, rate = _tone()
    path = tmp_path / f"tone.{extension}"
    if fmt:
        sf.write(path, samples, rate, format=fmt)
    else:
        _m4a(path, samples, rate)
    decoded = load_audio(path)
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    assert abs(decoded.size / SAMPLE_RATE - 6.0) < 0.1  # codecs may add a few ms of padding
    spectrum = np.abs(np.fft.rfft(decoded))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / decoded.size
    assert abs(peak_hz - 440.0) < 2.0  # resampled, not sped up or slowed down


def test_uploaded_bytes_decode_like_the_file(tmp_path):
    samples, rate = _tone()
    path = tmp_path / "tone.mp3"
    sf.write(path, samples, rate, format="MP3")
    np.testing.assert_array_equal(load_audio(path.read_bytes(), name="song.mp3"), load_audio(path))


def test_m4a_upload_bytes_decode_in_the_data_folder_and_leave_nothing(home, tmp_path):
    samples, rate = _tone()
    path = tmp_path / "tone.m4a"
    _m4a(path, samples, rate)
    assert abs(load_audio(path.read_bytes(), name="../../take 3.m4a").size / SAMPLE_RATE - 6.0) < 0.1
    assert home.tmp_dir.is_dir() and not list(home.tmp_dir.iterdir())


@pytest.mark.parametrize("name", ["battle-epic.ogg", "elf-land.ogg", "main_menu.ogg"])
def test_real_recordings_decode(name):
    path = shared_file(f"data/real-audio/{name}")
    info = sf.info(path)
    decoded = load_audio(path)
    assert abs(decoded.size / SAMPLE_RATE - info.duration) < 0.05
    assert 0.01 < float(np.max(np.abs(decoded))) <= 1.0


def test_unsupported_format_names_the_supported_ones(tmp_path):
    path = tmp_path / "notes.mid"
    path.write_bytes(b"MThd\x00\x00\x00\x06")
    with pytest.raises(UnsupportedFormat, match="mp3, wav, flac, ogg or m4a"):
        load_audio(path)


@pytest.mark.parametrize("name, content", [
    ("letter.mp3", b"Dear studio, here is my demo. " * 200),  # a text file renamed .mp3
    ("broken.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8),  # corrupt header
    ("broken.m4a", b"\x00\x00\x00\x18ftypM4A " + b"\xff" * 3000),
])  # fmt: skip
def test_corrupt_or_fake_audio_is_reported_as_unreadable(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableAudio, match="could not be decoded.*Re-export"):
        load_audio(path)


def test_empty_and_too_short_audio(tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 1), dtype=np.float32), 22_050)
    with pytest.raises(AudioTooShort, match="contains no audio"):
        load_audio(empty)
    short = tmp_path / "short.wav"
    sf.write(short, _tone(seconds=2.0)[0], 44_100)
    with pytest.raises(AudioTooShort, match="2.0 s long; at least 5 s"):
        load_audio(short)


def test_too_long_audio_is_refused_from_its_header(tmp_path):
    path = tmp_path / "mixtape.wav"
    rate = 2_000  # 21 minutes of 8-bit audio at a low rate keeps the test file small
    sf.write(path, np.full((21 * 60 * rate, 1), 0.1, dtype=np.float32), rate, subtype="PCM_U8")
    with pytest.raises(AudioTooLong, match="21 min long; the limit is 20 min"):
        load_audio(path)


def test_silent_audio(tmp_path):
    path = tmp_path / "silence.flac"
    sf.write(path, np.zeros((10 * 22_050, 1), dtype=np.float32), 22_050)
    with pytest.raises(SilentAudio, match="silent"):
        load_audio(path)
