"""Serve the dashboard: ``python -m ui.server [streamlit options]`` is ``streamlit run app.py``
after compiling librosa's kernels.

librosa 0.11 compiles its beat tracker with numba on first use, and one of its kernels is not
cached on disk: 6 to 7 s on a 2-core machine, which the first explanation of every server
process paid. Compiling it in a background thread while a session explained crashed the
process (numba's compiler and the beat tracker in two threads at once), so it is done here, in
the only thread, before Streamlit starts serving (see `core.audio.warmup`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.audio.warmup import compile_librosa_kernels

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli

    print(f"Compiled librosa's kernels in {compile_librosa_kernels():.1f} s; starting the dashboard.", flush=True)
    return cli.main(args=["run", str(APP), *(sys.argv[1:] if argv is None else argv)], prog_name="streamlit")


if __name__ == "__main__":
    sys.exit(main())
