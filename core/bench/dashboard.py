"""The dashboard under benchmark: a headless server of its own, and Chromium waiting on its pages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core.config import REPO_ROOT, Settings
from core.errors import UsageError

CHROMIUM = Path("/usr/bin/chromium")
# [script finished, page settled]. Script finished: Streamlit's own run state (its status widget
# shows the same, but only after a delay) with the main block rendered; settled: besides, no
# element still a loading skeleton and every Plotly chart drawn (Plotly's 4.7 MB bundle is
# evaluated on each page load, after the script's messages arrive).
_STATE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const done = !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementContainer"]').length > 0 && (EXTRA);
  const drawn = !document.querySelector('[data-testid="stSkeleton"]')
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(chart => chart.querySelector('.main-svg'));
  return [done, done && drawn];
}"""


def require_chromium(benchmark: str) -> None:
    """Stop, saying how to install it, where Debian's Chromium is missing."""
    if not CHROMIUM.exists():
        raise UsageError(
            f"The {benchmark} benchmark drives Debian's Chromium at {CHROMIUM}.",
            "Install it: apt-get install chromium.",
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_dashboard(settings: Settings, port: int, log: Path | None = None, timeout: float = 120.0) -> subprocess.Popen:
    """The dashboard as ``make run`` serves it (``python -m ui.server``: ``streamlit run app.py``
    after compiling librosa's kernels), headless against ``settings.home``, once it answers
    its health check within ``timeout`` seconds. What it prints goes to ``log`` (a file), or
    nowhere; a server that does not answer is killed, and the error quotes the log's end."""
    output = None if log is None else log.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ui.server",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "HITLENS_HOME": str(settings.home)},
        stdout=subprocess.DEVNULL if output is None else output,
        stderr=subprocess.STDOUT,
    )
    if output is not None:
        output.close()  # the server writes through its own copy of the descriptor
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            return process
        except OSError:
            time.sleep(0.25)
    process.kill()
    process.wait()
    said = "" if log is None else " It printed: " + " | ".join(log.read_text(errors="replace").splitlines()[-5:])
    raise UsageError(
        f"The dashboard did not start within {timeout:.0f} s.{said}", "Run 'python -m ui.server' to see why."
    )


def settle(page, since: float, extra: str = "true", hold: float = 0.5, timeout: float = 180.0) -> tuple[float, float]:
    """Seconds from ``since`` until the script finished, and until the page settled; each is
    the moment it became true and then stayed true for ``hold`` seconds (a rerun or a chart
    drawn later starts the wait again). ``extra``: a JavaScript condition the script's end must
    also meet (its new output is on the page)."""
    state = _STATE_JS.replace("EXTRA", extra)
    done_at: float | None = None
    drawn_at: float | None = None
    while (now := time.perf_counter()) - since < timeout:
        done, drawn = page.evaluate(state)
        done_at = (done_at or now) if done else None
        drawn_at = (drawn_at or now) if drawn else None
        if done_at is not None and drawn_at is not None and now - drawn_at >= hold:
            return done_at - since, drawn_at - since
        page.wait_for_timeout(25)
    raise UsageError(f"The page {page.url} did not settle within {timeout:.0f} s.", "Open it in a browser to see why.")
