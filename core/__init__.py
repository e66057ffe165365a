"""Hitlens core: everything the dashboard and the CLI do, without any UI."""

import os

# Quiet TensorFlow's C++ info and warning logs: users of the CLI should see progress and
# errors. (Two start-up lines printed before TensorFlow configures its logger still appear.)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
