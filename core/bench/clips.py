"""The demo clips the benchmarks run on, and a clips-per-second timer."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from core.catalog.store import Catalog
from core.config import Settings
from core.errors import UsageError


def demo_clips(settings: Settings, count: int) -> list[tuple[str, Path]]:
    with Catalog.open(settings) as catalog:
        if not catalog.summary().synthetic:
            raise UsageError("The benchmark runs on demo clips.", "Build them with 'python -m core demo'.")
        clips = sorted(catalog.audio_hashes())[:count]
    if len(clips) < count:
        raise UsageError(f"Only {len(clips)} demo clips have audio.", "Build a larger demo catalog.")
    return clips


def clips_per_second(run: Callable[[], object], clips: int) -> float:
    start = time.perf_counter()
    run()
    return clips / (time.perf_counter() - start)
