"""Hitlens core: everything the dashboard and the CLI do, without any UI."""

import os

from core import native_logs

# Quiet TensorFlow's C++ info and warning logs (the CPU instructions note among them): users of
# the CLI and the dashboard should see progress and errors. Set before anything imports
# TensorFlow, and inherited by jobs and pool workers (tests/test_terminal.py). The lines it
# prints while loading whatever this says (oneDNN's note, absl's warning) are silenced by
# core.native_logs, in this process and in every process that imports core.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
native_logs.install()
