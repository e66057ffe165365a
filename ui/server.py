"""Serve the dashboard: ``python -m ui.server [streamlit options]`` is ``streamlit run app.py``
after compiling librosa's beat tracker.

librosa 0.11 builds its beat tracker with numba when ``librosa.beat`` is first imported (one
of its kernels is not cached on disk) and compiles the onset envelope on first use: 6 to 7 s on
a 2-core machine, which the first explanation of every server process paid. Compiling it in a
background thread while a session explained crashed the process (numba's compiler and the
beat tracker in two threads at once), so it is done here, in the only thread, before Streamlit
starts serving.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

APP = Path(__file__).resolve().parent.parent / "app.py"


def compile_beat_tracker() -> float:
    """Track beats in 10 s of quiet noise, so every later call runs compiled code; seconds taken."""
    from core.config import SAMPLE_RATE
    from core.explain import time_cells

    started = time.perf_counter()
    noise = np.random.default_rng(0).standard_normal(10 * SAMPLE_RATE).astype(np.float32) * 0.01
    time_cells(noise, SAMPLE_RATE, 10.0)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli

    print(f"Compiled librosa's beat tracker in {compile_beat_tracker():.1f} s; starting the dashboard.", flush=True)
    return cli.main(args=["run", str(APP), *(sys.argv[1:] if argv is None else argv)], prog_name="streamlit")


if __name__ == "__main__":
    sys.exit(main())
