"""Hitlens core: everything the dashboard and the CLI do, without any UI."""

import os

from core.engine import native_logs

# Quiet TensorFlow's C++ info and warning logs (the CPU instructions note among them): users of
# the CLI and the dashboard should see progress and errors. Set before anything imports
# TensorFlow, and inherited by jobs and pool workers (tests/test_terminal.py). The lines it
# prints while loading whatever this says (oneDNN's note, absl's warning) are silenced by
# core.engine.native_logs, in this process and in every process that imports core.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# oneDNN's CPU kernels, which TensorFlow turns on by itself only on CPUs with AVX-512: on this
# AVX2 machine (AMD EPYC, 2 cores) they explain a song with CNN 2 (1,000 LIME samples) in 1.06 s
# instead of 2.42 s, and run musicnn about 1.4 times as fast; probabilities change in the 7th
# decimal. A user's own setting wins (TF_ENABLE_ONEDNN_OPTS=0 restores TensorFlow's choice).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
native_logs.install()
