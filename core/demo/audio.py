"""The demo songs' audio: rendered in worker processes, stored, reused, cleaned up.

Files are content-addressed (audio/demo/<sha[:2]>/<sha>.mp3), so a song's path is known
only once it is rendered. To resume an interrupted build without rendering every song again,
each rendered song also gets a small record, audio/demo/renders/<render key>, holding its
audio's SHA-256. The render key hashes everything the bytes depend on: the song's style,
traits and seed, the synthesiser's source, the encoder's settings, the sample rate and the
lameenc and numpy versions; change any and the song is rendered again. A record is written after its audio,
both atomically, and its audio is hashed again before it is reused.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import inspect
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import astuple
from importlib import metadata
from pathlib import Path

import lameenc
import numpy as np

import core.demo.synth
from core.catalog.store import Catalog
from core.config import SAMPLE_RATE, Settings
from core.demo.plan import SOURCE, DemoPlan, DemoSong
from core.demo.synth import ArtistStyle, SongTraits, render
from core.engine.parallel import process_pool, worker_count
from core.files import atomic_write_bytes, atomic_write_text, ensure_folder, remove_stale_partials

MP3_KBPS = 64
MP3_QUALITY = 7
"""LAME's speed/quality setting (0 best, 9 fastest). Measured on the 2-core reference machine,
a 30 s song took 0.05 s to encode at 7 against 0.29 s through libsndfile, which picks a slower
setting and offers no other: more than the synthesis itself (0.13 s). At 64 kbit/s the demo's
log-mel spectrograms stay within about 2 dB of libsndfile's encoding, highs included."""


def encode_mp3(samples: np.ndarray) -> bytes:
    """Mono float ``samples`` at ``SAMPLE_RATE`` as constant-bit-rate MP3 bytes (as streaming
    services' previews are). Without a gapless header a decoder keeps LAME's 67 ms of
    start-up delay, as it does for many real previews."""
    encoder = lameenc.Encoder()
    encoder.set_in_sample_rate(SAMPLE_RATE)
    encoder.set_out_sample_rate(SAMPLE_RATE)
    encoder.set_channels(1)
    encoder.set_bit_rate(MP3_KBPS)
    encoder.set_quality(MP3_QUALITY)
    pcm = (np.clip(samples, -1.0, 1.0) * np.iinfo(np.int16).max).astype(np.int16)
    return bytes(encoder.encode(pcm.tobytes()) + encoder.flush())


def audio_relative_path(sha256: str) -> str:
    return f"audio/{SOURCE}/{sha256[:2]}/{sha256}.mp3"


def demo_audio_dir(settings: Settings) -> Path:
    """The folder of the demo's audio, which Hitlens alone writes."""
    return settings.data_dir / "audio" / SOURCE


_RENDERS = "renders"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_AUDIO_FILE = re.compile(r"([0-9a-f]{2})[0-9a-f]{62}\.mp3")


@functools.cache
def _renderer_fingerprint() -> str:
    source = Path(core.demo.synth.__file__).read_bytes() + inspect.getsource(encode_mp3).encode()
    settings = f"{SAMPLE_RATE} {MP3_KBPS} {MP3_QUALITY} {metadata.version('lameenc')} {np.__version__}".encode()
    return hashlib.sha256(source + settings).hexdigest()


def render_key(song: DemoSong) -> str:
    """What a song's audio bytes depend on, hashed (the name of its render record)."""
    parts = (_renderer_fingerprint(), astuple(song.artist.style), astuple(song.traits), song.seed)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _render_song(task: tuple[ArtistStyle, SongTraits, int, str, str]) -> str:
    style, traits, seed, data_dir, key = task
    data = encode_mp3(render(style, traits, seed))
    sha256 = hashlib.sha256(data).hexdigest()
    target = Path(data_dir) / audio_relative_path(sha256)
    if not target.exists():
        atomic_write_bytes(target, data)
    atomic_write_text(Path(data_dir) / "audio" / SOURCE / _RENDERS / key, sha256)
    return sha256


def _already_rendered(settings: Settings, key: str) -> str | None:
    """The SHA-256 of the song rendered under ``key``, if its file is there and intact."""
    try:
        sha256 = (demo_audio_dir(settings) / _RENDERS / key).read_text().strip()
        if not _SHA256.fullmatch(sha256):
            return None
        data = (settings.data_dir / audio_relative_path(sha256)).read_bytes()
    except OSError:
        return None
    return sha256 if hashlib.sha256(data).hexdigest() == sha256 else None


def render_audio(
    plan: DemoPlan,
    settings: Settings,
    songs: set[int],
    *,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[int, str]:
    """Render and store the audio of the songs ``songs`` that have a preview; song index ->
    SHA-256. Songs an interrupted build already rendered are reused, not rendered again;
    progress counts the songs left to render."""
    wanted = sorted({r.song.index for r in plan.releases if r.has_preview and r.song.index in songs})
    by_index = {song.index: song for song in plan.songs}
    keys = {i: render_key(by_index[i]) for i in wanted}
    hashes: dict[int, str] = {}
    for index in wanted:
        if sha256 := _already_rendered(settings, keys[index]):
            hashes[index] = sha256
    todo = [i for i in wanted if i not in hashes]
    data_dir = str(settings.data_dir)
    tasks = [(by_index[i].artist.style, by_index[i].traits, by_index[i].seed, data_dir, keys[i]) for i in todo]
    if on_progress:
        on_progress(0, len(tasks))
    if not tasks:
        return hashes
    with process_pool(worker_count(workers, len(tasks))) as pool:
        for done, (index, sha256) in enumerate(zip(todo, pool.map(_render_song, tasks, chunksize=4), strict=True), 1):
            hashes[index] = sha256
            if on_progress:
                on_progress(done, len(tasks))
    return hashes


@contextmanager
def audio_lock(settings: Settings, *, exclusive: bool) -> Iterator[bool]:
    """A lock on the demo's audio folder: builds hold it shared while their rendered files are
    not yet in the catalog; clean-up needs it alone and does not wait for it. Yields whether
    it was taken."""
    folder = demo_audio_dir(settings)
    ensure_folder(folder)
    with open(folder / ".lock", "a") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX | fcntl.LOCK_NB) if exclusive else fcntl.LOCK_SH)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_unreferenced_audio(settings: Settings) -> int | None:
    """Delete the demo audio files the catalog no longer refers to (a replaced demo's, an
    interrupted build's), with their render records and stale partial files; returns how many
    audio files, or None when another demo build is running (it cleans up when it ends).

    Only files named like the demo's own (``audio/demo/<sha[:2]>/<sha>.mp3``, regular files,
    not links) are candidates; nothing outside ``audio/demo`` is touched.
    """
    folder = demo_audio_dir(settings)
    if not Catalog.exists(settings):
        return 0
    with audio_lock(settings, exclusive=True) as alone:
        if not alone:
            return None
        with Catalog.open(settings) as catalog:
            rows = catalog.conn.execute(
                "SELECT DISTINCT audio_path FROM tracks WHERE audio_path LIKE ?", (f"audio/{SOURCE}/%",)
            )
            referenced = {row[0] for row in rows}
        removed = 0
        for path in _audio_files(folder):
            if path.relative_to(settings.data_dir).as_posix() not in referenced:
                path.unlink(missing_ok=True)
                removed += 1
        records = folder / _RENDERS
        if records.is_dir():
            for record in records.iterdir():
                try:
                    sha256 = record.read_text().strip() if record.is_file() and not record.is_symlink() else ""
                except OSError:
                    continue
                if _SHA256.fullmatch(sha256) and audio_relative_path(sha256) not in referenced:
                    record.unlink(missing_ok=True)
        remove_stale_partials(folder)
    return removed


def _audio_files(folder: Path) -> Iterator[Path]:
    for bucket in os.scandir(folder):
        if not (len(bucket.name) == 2 and bucket.is_dir(follow_symlinks=False)):
            continue
        for entry in os.scandir(bucket.path):
            match = _AUDIO_FILE.fullmatch(entry.name)
            if match and match.group(1) == bucket.name and entry.is_file(follow_symlinks=False):
                yield Path(entry.path)
