"""A full disk: reading commands still read the catalog, writing ones say so in one line and
exit 2, and the catalog is intact afterwards.

Two ways to make a disk full: a small tmpfs in a private mount namespace (a real full disk;
skipped where the system allows no such namespace), and a file-size limit (``RLIMIT_FSIZE``,
any system): SQLite then fails exactly as on a full disk when it sizes the catalog's shared-
memory index ("disk I/O error", SQLITE_IOERR_SHMSIZE) and when it writes a commit.
"""

import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import REPO, call_cli, run_cli

CATALOG_TRACKS = 300


def _table(path: Path, rows: int, prefix: str) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "artists", "popularity"])
        writer.writerows([f"{prefix} {i}", f"Artist {i % 37}", i % 100] for i in range(rows))
    return path


@pytest.fixture(scope="module")
def catalog_home(tmp_path_factory) -> Path:
    """A home whose catalog holds 300 imported tracks (no audio: quick to build, in this process)."""
    root = tmp_path_factory.mktemp("full-disk-home")
    table = _table(root / "tracks.csv", CATALOG_TRACKS, "Song")
    call_cli("import", str(table), "--no-resolve", home=root, check=True)
    return root


@pytest.fixture(scope="module")
def big_table(tmp_path_factory) -> Path:
    """3,000 new tracks: a commit of several hundred KB."""
    return _table(tmp_path_factory.mktemp("big-table") / "more.csv", 3000, "More")


def _one_line_disk_error(result) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the disk"), result.stderr


# --- a file-size limit (any system) ------------------------------------------------------


def _limited(*args: str, home: Path) -> subprocess.CompletedProcess:
    def limit_file_size():  # 16 KiB: less than the 32 KiB shared-memory index SQLite sizes on open
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, resource.RLIM_INFINITY))

    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=REPO,
        env={**os.environ, "HITLENS_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=limit_file_size,
    )


def test_info_reads_and_import_fails_in_one_line_when_files_cannot_grow(catalog_home, big_table, tmp_path):
    shutil.copytree(catalog_home / "data", tmp_path / "data")
    info = _limited("info", "--json", home=tmp_path)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["tracks"] == CATALOG_TRACKS

    _one_line_disk_error(_limited("import", str(big_table), "--no-resolve", home=tmp_path))

    after = run_cli("info", "--json", home=tmp_path, check=True)
    assert json.loads(after.stdout)["tracks"] == CATALOG_TRACKS


# --- a real full disk: a small tmpfs in a private mount namespace -----------------------

# Runs inside the namespace: mounts the tmpfs, copies the catalog onto it, fills it up to
# ``free`` bytes, runs each command, then frees the disk and reads the catalog again.
DRIVER = textwrap.dedent("""
    import json, os, shutil, subprocess, sys
    disk, catalog, out = sys.argv[1], sys.argv[2], sys.argv[5]
    free, commands = int(sys.argv[3]), json.loads(sys.argv[4])
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", disk]).returncode:
        sys.exit(97)
    os.makedirs(os.path.join(disk, "data"))
    shutil.copy(catalog, os.path.join(disk, "data"))
    room = os.open(os.path.join(disk, "room"), os.O_WRONLY | os.O_CREAT)
    os.write(room, bytes(free))
    os.close(room)
    fill = os.open(os.path.join(disk, "fill"), os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fill, bytes(65536))
    except OSError:
        pass
    try:
        while True:
            os.write(fill, bytes(512))
    except OSError:
        pass
    os.close(fill)
    os.remove(os.path.join(disk, "room"))
    env = {**os.environ, "HITLENS_HOME": disk}
    def run(args):
        done = subprocess.run([sys.executable, "-m", "core", *args], env=env, capture_output=True, text=True)
        return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
    results = [run(args) for args in commands]
    os.remove(os.path.join(disk, "fill"))
    results.append(run(["info", "--json"]))
    with open(out, "w") as handle:
        json.dump(results, handle)
""")


def _on_a_full_disk(catalog: Path, commands: list[list[str]], work: Path, free: int = 0) -> list:
    """Each command's result with the catalog on a full tmpfs (``free`` bytes left), then
    'info --json' once the disk is freed."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to mount a small tmpfs")
    disk, out = work / "disk", work / "results.json"
    disk.mkdir()
    probe = subprocess.run(
        ["unshare", "--map-root-user", "--mount", "mount", "-t", "tmpfs", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode:
        pytest.skip(f"cannot mount a tmpfs in a private namespace here: {probe.stderr.strip()}")
    subprocess.run(
        [
            "unshare",
            "--map-root-user",
            "--mount",
            sys.executable,
            "-c",
            DRIVER,
            str(disk),
            str(catalog),
            str(free),
            json.dumps(commands),
            str(out),
        ],
        cwd=REPO,
        check=True,
        timeout=600,
    )
    return [subprocess.CompletedProcess([], **result) for result in json.loads(out.read_text())]


def test_on_a_full_disk_info_reads_the_catalog_and_import_is_one_line(catalog_home, big_table, tmp_path):
    info, imported, after = _on_a_full_disk(
        catalog_home / "data" / "catalog.sqlite",
        [["info", "--json"], ["import", str(big_table), "--no-resolve"]],
        tmp_path,
    )
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["tracks"] == CATALOG_TRACKS
    _one_line_disk_error(imported)
    assert imported.stderr.startswith("error: the disk is full")
    assert json.loads(after.stdout)["tracks"] == CATALOG_TRACKS


def test_an_import_that_fills_the_disk_mid_commit_is_one_line_and_stores_nothing(catalog_home, big_table, tmp_path):
    imported, after = _on_a_full_disk(
        catalog_home / "data" / "catalog.sqlite", [["import", str(big_table), "--no-resolve"]], tmp_path, free=150_000
    )
    _one_line_disk_error(imported)
    assert imported.stderr.startswith("error: the disk is full")
    assert json.loads(after.stdout)["tracks"] == CATALOG_TRACKS
