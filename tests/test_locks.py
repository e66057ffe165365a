"""The GPU lock is the CPU lock with TensorFlow's CUDA build: `make gpu` changes nothing else."""

from __future__ import annotations

import re

from tests.helpers import REPO

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)")


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (REPO / name).read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_the_gpu_lock_swaps_tensorflows_build_and_keeps_every_shared_version():
    cpu, gpu = _pins("requirements.txt"), _pins("requirements-gpu.txt")
    assert gpu["tensorflow"] == cpu["tensorflow-cpu"]  # the same TensorFlow, built for CUDA
    assert "tensorflow-cpu" not in gpu and any(name.startswith("nvidia-cudnn") for name in gpu)
    shared = set(cpu) & set(gpu)
    assert {"keras", "numpy", "protobuf"} <= shared
    assert {name: gpu[name] for name in shared} == {name: cpu[name] for name in shared}
