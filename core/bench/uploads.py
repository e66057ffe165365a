"""Dashboard uploads: the server's memory after long songs from sessions that closed."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from core.bench.dashboard import CHROMIUM, free_port, require_chromium, start_dashboard
from core.config import Settings
from core.errors import UsageError


def bench_uploads(settings: Settings, uploads: int = 10, minutes: float = 19.0, settle_s: float = 150.0) -> str:
    """The dashboard server's resident memory while ``uploads`` browser sessions each upload a
    different ``minutes``-long song to the Score page, wait for its verdict and explanation,
    and close; then again ``settle_s`` seconds later, once Streamlit has let go of the closed
    sessions (it keeps a disconnected session two minutes for a reconnect)."""
    require_chromium("upload")
    import soundfile as sf
    from playwright.sync_api import sync_playwright

    from core.config import SAMPLE_RATE

    port = free_port()
    server = start_dashboard(settings, port)
    readings = []
    try:
        with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))

            def session(song: Path | None) -> None:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{port}/score")
                page.get_by_text("Upload songs").first.wait_for(timeout=180_000)
                if song:
                    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(song))
                    page.get_by_text("Download the explanation (PNG)").wait_for(timeout=600_000)
                context.close()

            session(None)
            readings.append(("Score page opened once, no upload", _resident_mb(server.pid)))
            rng = np.random.default_rng(0)
            for number in range(1, uploads + 1):
                song = Path(scratch) / f"long song {number}.wav"
                # Different content each time, so no upload is served from another's cache.
                noise = rng.standard_normal(int(minutes * 60 * SAMPLE_RATE)).astype(np.float32)
                sf.write(song, 0.1 * noise, SAMPLE_RATE, subtype="PCM_16")
                session(song)
                song.unlink()
                if number in (1, uploads):
                    readings.append(
                        (f"after {number} upload session{'s' if number > 1 else ''} closed", _resident_mb(server.pid))
                    )
            time.sleep(settle_s)
            readings.append((f"{settle_s:.0f} s later", _resident_mb(server.pid)))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    decoded_mb = minutes * 60 * SAMPLE_RATE * 4 / 2**20
    lines = [
        f"Dashboard server resident memory (MB); each upload a different {minutes:g}-minute song "
        f"({decoded_mb:.0f} MB decoded), one browser session per upload, closed after its explanation.",
        "",
        "| moment | server RSS (MB) |",
        "|---|---:|",
    ]
    lines += [f"| {moment} | {mb:.0f} |" for moment, mb in readings]
    return "\n".join(lines)


def _resident_mb(pid: int) -> float:
    """Resident memory of a process, in MiB."""
    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.NoSuchProcess as error:
        raise UsageError(
            f"No memory figure for process {pid}: the dashboard server has ended.",
            "Run 'streamlit run app.py' to see why.",
        ) from error
