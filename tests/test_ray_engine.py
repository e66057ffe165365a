"""The Ray engine (``--engine ray``) on a real two-node Ray cluster on 127.0.0.1: a head and one
more node of one CPU each, with Ray's token authentication, started by this module and stopped
at its end. Every result must equal the local engine's (same cache keys, values within 1e-4;
a run trained on Ray, the same figures as one trained here);
a node lost mid-run must lose nothing, and a driver killed mid-run must leave only whole files
and a rerun that computes exactly the rest."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
import pytest

from core.audio.features import FeatureCache
from core.config import FEATURE_PRESETS, Settings
from core.pretrained.cache import EmbeddingCache
from core.pretrained.musicnn import DEFAULT_MODEL
from tests.helpers import REPO, call_cli, demo_clips, run_cli

RAY = Path(sys.executable).parent / "ray"
TOLERANCE = 1e-4
NODE_START_S = 60
RUN_S = 180
STOP_GRACE_S = 10


@dataclass(frozen=True)
class Cluster:
    temp_dir: Path
    env: dict[str, str]  # what a driver needs: RAY_ADDRESS and the token


def free_port() -> int:
    """A port nothing listens on now, from the kernel's ephemeral range (above Ray's worker ports)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ray_command(*args: str, env: dict[str, str]) -> str:
    """``ray ARGS``, run from the cluster's own folder: its nodes share nothing with the tests'
    working folder, as on other machines."""
    result = subprocess.run(
        [str(RAY), *args], cwd=env["HOME"], env=env, capture_output=True, text=True, timeout=NODE_START_S, check=False
    )
    assert result.returncode == 0, f"ray {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def node_options(temp_dir: Path) -> list[str]:
    """What both nodes share: loopback, one CPU, a small object store, this module's own temp
    folder, and ports of their own (Ray's fixed defaults would collide between the two nodes)."""
    return [
        "--node-ip-address=127.0.0.1",
        "--num-cpus=1",
        "--object-store-memory=200000000",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
        f"--dashboard-agent-listen-port={free_port()}",
    ]


def wait_for_nodes(count: int, env: dict[str, str], *, exactly: bool = False) -> None:
    """Until ``ray status`` lists ``count`` live nodes (at least, or ``exactly``: a killed node
    is dropped only once its heartbeats are missed)."""
    deadline = time.monotonic() + NODE_START_S
    while time.monotonic() < deadline:
        status = ray_command("status", env=env)
        live = status.split("Active:", 1)[-1].split("Pending:", 1)[0].count("node_")
        if live == count or (live > count and not exactly):
            return
        time.sleep(1)
    raise AssertionError(f"the cluster did not reach {count} live nodes within {NODE_START_S} s:\n{status}")


def cluster_processes(temp_dir: Path) -> list[psutil.Process]:
    """Every process of the cluster in ``temp_dir`` (its daemons name the folder on their
    command line; workers are their children), and nothing else on the machine."""
    found: dict[int, psutil.Process] = {}
    for process in psutil.process_iter(["cmdline"]):
        if any(str(temp_dir) in part for part in process.info["cmdline"] or []):
            for member in [process, *_children(process)]:
                found[member.pid] = member
    return list(found.values())


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def stop_cluster(temp_dir: Path) -> None:
    """Stop this module's nodes only (``ray stop`` would stop every Ray on the machine), at
    once: nothing in them is kept. Twice, for a worker started while the first pass ran."""
    for _ in range(2):
        processes = cluster_processes(temp_dir)
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(processes, timeout=STOP_GRACE_S)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # A short folder: Ray's sockets live under it, and a socket's path must stay under 108 bytes.
    temp_dir = Path(tempfile.mkdtemp(prefix="hitlens-ray-"))
    env = {**os.environ, "HOME": str(temp_dir)}  # `--generate` keeps its token in ~/.ray: the user's is not touched
    env.pop("RAY_ADDRESS", None)
    try:
        token = ray_command("get-auth-token", "--generate", env=env).strip().splitlines()[-1]
        env |= {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
        port = free_port()
        head = [f"--port={port}", f"--ray-client-server-port={free_port()}", "--include-dashboard=false"]
        ray_command("start", "--head", *head, *node_options(temp_dir), env=env)
        ray_command("start", f"--address=127.0.0.1:{port}", *node_options(temp_dir), env=env)
        env["RAY_ADDRESS"] = f"127.0.0.1:{port}"
        wait_for_nodes(2, env)
        yield Cluster(temp_dir, env)
    finally:
        stop_cluster(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert not cluster_processes(temp_dir), "the cluster's processes outlived the module"


def copy_home(source: Settings, target: Path, *, models: bool = False) -> Settings:
    """A copy of a session fixture's home, which tests must not change."""
    shutil.copytree(source.data_dir, target / "data")
    if models:
        shutil.copytree(source.models_dir, target / "models")
    return Settings(home=target)


def on_ray(*args: str, home: Settings, cluster: Cluster) -> subprocess.CompletedProcess:
    return run_cli(*args, "--engine", "ray", home=home.home, env=cluster.env, timeout=RUN_S)


def assert_same_features(expected: Settings, actual: Settings) -> None:
    expected_cache, actual_cache = FeatureCache(expected), FeatureCache(actual)
    files = sorted(p.relative_to(expected.features_dir) for p in expected.features_dir.rglob("*.npy"))
    assert files, "nothing to compare"
    assert files == sorted(p.relative_to(actual.features_dir) for p in actual.features_dir.rglob("*.npy"))
    preset = FEATURE_PRESETS["fast"]
    for file in files:
        sha = file.stem
        np.testing.assert_allclose(actual_cache.load(sha, preset), expected_cache.load(sha, preset), atol=TOLERANCE)


def embedding_shas(settings: Settings) -> list[str]:
    """The clips cached (``<folder>/<2 hex>/<sha256>.npz``), not the pooled index beside them."""
    return sorted(path.stem for path in EmbeddingCache(settings).folder(DEFAULT_MODEL).glob("*/*.npz"))


def assert_same_embeddings(expected: Settings, actual: Settings, shas: list[str]) -> None:
    expected_cache, actual_cache = EmbeddingCache(expected), EmbeddingCache(actual)
    for sha in shas:
        want, got = expected_cache.load(sha, DEFAULT_MODEL), actual_cache.load(sha, DEFAULT_MODEL)
        np.testing.assert_allclose(got.tags, want.tags, atol=TOLERANCE)
        np.testing.assert_allclose(got.embeddings, want.embeddings, atol=TOLERANCE)


def test_spectrograms_on_ray_equal_the_local_engines(cluster, tiny_demo_home, tmp_path):
    local = copy_home(tiny_demo_home, tmp_path / "local")
    ray = copy_home(tiny_demo_home, tmp_path / "ray")
    expected = call_cli("features", home=local.home, check=True)

    result = on_ray("features", home=ray, cluster=cluster)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected.stdout.strip().splitlines()[-1]  # "8 computed, ..."
    assert_same_features(local, ray)
    resumed = call_cli("features", home=ray.home, check=True)  # the local engine takes the Ray engine's files
    clips = len(list(ray.features_dir.rglob("*.npy")))
    assert resumed.stdout.strip().splitlines()[-1] == f"0 computed, {clips} already cached, 0 failed"


def test_without_a_cluster_a_local_ray_computes_them_and_stops(tiny_demo_home, tmp_path):
    local = copy_home(tiny_demo_home, tmp_path / "local")
    ray = copy_home(tiny_demo_home, tmp_path / "ray")
    call_cli("features", home=local.home, check=True)
    temp_dir = Path(tempfile.mkdtemp(prefix="hitlens-ray-"))  # the local Ray's session files, and its token
    env = {"RAY_ADDRESS": "", "RAY_TMPDIR": str(temp_dir), "HOME": str(temp_dir)}
    try:
        result = run_cli("features", "--engine", "ray", "--workers", "1", home=ray.home, env=env, timeout=RUN_S)
        assert result.returncode == 0, result.stderr
        assert_same_features(local, ray)
        assert list(temp_dir.glob("ray/session_*")), "no local Ray ran here"
        assert not cluster_processes(temp_dir), "the local Ray outlived the command"
    finally:
        stop_cluster(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_embeddings_on_ray_equal_the_local_engines(cluster, tiny_demo_home, tmp_path):
    local = copy_home(tiny_demo_home, tmp_path / "local")
    ray = copy_home(tiny_demo_home, tmp_path / "ray")
    expected = call_cli("embeddings", home=local.home, check=True)

    result = on_ray("embeddings", home=ray, cluster=cluster)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected.stdout.strip().splitlines()[-1]
    assert embedding_shas(ray) == embedding_shas(local)
    assert_same_embeddings(local, ray, embedding_shas(local))
    resumed = call_cli("embeddings", home=ray.home, check=True)  # the local engine takes the Ray engine's files
    assert resumed.stdout.strip().splitlines()[-1] == f"0 computed, {len(embedding_shas(ray))} already cached, 0 failed"


def assert_close(actual, expected, where: str = "result") -> None:
    """Equal JSON, numbers within ``TOLERANCE``."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), where
        for key in expected:
            assert_close(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
            assert_close(got, want, f"{where}[{index}]")
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert actual == pytest.approx(expected, abs=TOLERANCE), where
    else:
        assert actual == expected, where


def test_scores_on_ray_equal_the_local_engines(cluster, trained_home, tmp_path, monkeypatch):
    home = copy_home(trained_home, tmp_path / "home", models=True)
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("not a song")
    monkeypatch.chdir(REPO)  # where run_cli runs the command: files named relative to it, as a user may
    files = [os.path.relpath(path, REPO) for path in [*demo_clips(home, 3), not_audio]]
    expected = call_cli("score", *files, "--json", home=home.home)

    result = on_ray("score", *files, "--json", home=home, cluster=cluster)

    assert result.returncode == expected.returncode == 1, result.stderr  # the text file cannot be scored
    scores = json.loads(result.stdout)  # only JSON on stdout: Ray's own logs stay out of it
    assert [s["file"] for s in scores] == [s["file"] for s in json.loads(expected.stdout)]  # the same ranking
    assert_close(scores, json.loads(expected.stdout))
    assert "error" in scores[-1] and sum("verdict" in s for s in scores) == 3


def run_meta(home: Settings, run_id: str) -> dict:
    return json.loads((home.models_dir / run_id / "run.json").read_text())


def test_training_on_ray_gives_the_local_engines_run(cluster, trained_home, tmp_path):
    home = copy_home(trained_home, tmp_path / "home", models=True)  # holds the local engine's run
    (local_id,) = [run["id"] for run in json.loads(call_cli("runs", "--json", home=home.home, check=True).stdout)]

    result = on_ray("train", "--models", "dummy,cnn2,musicnn", "--epochs", "1", home=home, cluster=cluster)

    assert result.returncode == 0, result.stderr
    runs = json.loads(call_cli("runs", "--json", home=home.home, check=True).stdout)
    assert [run["id"] for run in runs][1:] == [local_id] and not runs[0]["active"]  # one more run, not chosen
    local, ray = run_meta(home, local_id), run_meta(home, runs[0]["id"])
    assert ray["models"] == local["models"] and ray["epochs_run"] == local["epochs_run"]
    assert ray["device"].startswith("Ray tasks on CPU: ") and ray["device"] in result.stdout
    for key in ("metrics", "reference_probabilities", "history", "split_members", "threshold"):
        assert_close(ray[key], local[key], key)
    scored = call_cli("score", str(demo_clips(home, 1)[0]), "--run", runs[0]["id"], "--json", home=home.home)
    assert scored.returncode == 0, scored.stderr  # the driver saved weights that score


def without_embeddings(source: Settings, target: Path, count: int) -> tuple[Settings, list[str]]:
    """A copy of ``source`` whose first ``count`` clips (by hash) lost their embeddings."""
    home = copy_home(source, target)
    removed = embedding_shas(home)[:count]
    cache = EmbeddingCache(home)
    for sha in removed:
        cache.path(sha, DEFAULT_MODEL).unlink()
    return home, removed


def start_on_ray(*args: str, home: Settings, cluster: Cluster) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "core", *args, "--engine", "ray"],
        cwd=REPO,
        env={**cluster.env, "HITLENS_HOME": str(home.home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_written(home: Settings, shas: list[str], count: int, run: subprocess.Popen) -> None:
    """Until ``count`` of ``shas`` have their embedding again: the run is under way."""
    cache = EmbeddingCache(home)
    deadline = time.monotonic() + RUN_S
    while sum(cache.path(sha, DEFAULT_MODEL).exists() for sha in shas) < count:
        assert run.poll() is None, f"the run ended first: {run.communicate()}"
        assert time.monotonic() < deadline, "no embedding was written"
        time.sleep(0.1)


def raylets(cluster: Cluster) -> set[int]:
    return {p.pid for p in cluster_processes(cluster.temp_dir) if p.name() == "raylet"}


@pytest.fixture
def third_node(cluster) -> Iterator[psutil.Process]:
    """One more node for a test to kill (its raylet), so the module's two nodes stay whole;
    after the test, the cluster is back to two live nodes."""
    before = raylets(cluster)
    ray_command("start", f"--address={cluster.env['RAY_ADDRESS']}", *node_options(cluster.temp_dir), env=cluster.env)
    wait_for_nodes(3, cluster.env)
    (raylet,) = raylets(cluster) - before
    node = psutil.Process(raylet)
    try:
        yield node
    finally:
        kill_node(node)
        wait_for_nodes(2, cluster.env, exactly=True)


def kill_node(raylet: psutil.Process) -> None:
    """What losing a machine does to Ray: its raylet and everything it runs die at once."""
    processes = [raylet, *_children(raylet)]
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(processes, timeout=STOP_GRACE_S)


def test_a_node_lost_mid_run_loses_nothing(cluster, third_node, demo_home, tmp_path):
    home, missing = without_embeddings(demo_home, tmp_path / "home", 16)
    run = start_on_ray("embeddings", home=home, cluster=cluster)  # three actors, one on each node
    wait_until_written(home, missing, 2, run)
    assert any("EmbeddingWorker" in " ".join(_cmdline(p)) for p in _children(third_node)), "no actor on the node"

    kill_node(third_node)  # Ray retries its clip on the nodes left
    stdout, stderr = run.communicate(timeout=RUN_S)

    assert run.returncode == 0, stderr
    assert f"{len(missing)} computed" in stdout and "0 failed" in stdout, stdout
    assert_same_embeddings(demo_home, home, embedding_shas(demo_home))


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def test_a_driver_killed_mid_run_keeps_whole_files_and_the_rerun_finishes_the_rest(cluster, demo_home, tmp_path):
    home, missing = without_embeddings(demo_home, tmp_path / "home", 16)
    run = start_on_ray("embeddings", home=home, cluster=cluster)
    wait_until_written(home, missing, 2, run)

    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=RUN_S)
    done = [sha for sha in missing if EmbeddingCache(home).path(sha, DEFAULT_MODEL).exists()]
    assert 2 <= len(done) < len(missing), "the run ended before it could be killed"
    assert_same_embeddings(demo_home, home, done)  # every file present is whole and right

    rerun = on_ray("embeddings", home=home, cluster=cluster)

    assert rerun.returncode == 0, rerun.stderr
    total = len(embedding_shas(demo_home))
    assert f"{len(missing) - len(done)} computed, {total - len(missing) + len(done)} already cached, 0 failed" in (
        rerun.stdout
    )
    assert_same_embeddings(demo_home, home, embedding_shas(demo_home))
    assert not list(home.data_dir.rglob("*.partial-*")), "the killed driver's partial files were left"


def test_the_ray_engine_without_ray_says_how_to_install_it(tiny_demo_home, tmp_path):
    home = copy_home(tiny_demo_home, tmp_path / "home")
    shadow = tmp_path / "no-ray" / "ray"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named ray')\n")  # as if not installed

    result = run_cli(
        "features", "--engine", "ray", home=home.home, env={"PYTHONPATH": str(shadow.parent), "RAY_ADDRESS": ""}
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --engine ray needs Ray, which is not installed. Install it with 'pip install hitlens[ray]' "
        "('make setup' installs every extra)."
    ]
    assert not home.features_dir.exists() or not list(home.features_dir.rglob("*.npy"))


def test_an_unreachable_cluster_fails_at_once_with_advice(tiny_demo_home, tmp_path):
    home = copy_home(tiny_demo_home, tmp_path / "home")

    address = f"127.0.0.1:{free_port()}"

    # Within a minute, where Ray alone retries for minutes (a hung run fails here by the timeout).
    result = run_cli("features", "--engine", "ray", home=home.home, env={"RAY_ADDRESS": address}, timeout=60)

    assert result.returncode == 2
    assert f"could not connect to the Ray cluster at {address}" in result.stderr and "RAY_ADDRESS" in result.stderr
