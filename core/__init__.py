"""Hitlens core: everything the dashboard and the CLI do, without any UI."""

import os

# Quiet TensorFlow's C++ info and warning logs, its start-up lines included (the CPU
# instructions note and absl's "before InitializeLog" warning): users of the CLI and the
# dashboard should see progress and errors. Set before anything imports TensorFlow, and
# inherited by jobs and pool workers (tests/test_terminal.py).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
