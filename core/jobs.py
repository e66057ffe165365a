"""Long work (building the demo, computing features, training) as background jobs.

A job is a row in the catalog's ``jobs`` table and a detached subprocess running the CLI
(``python -m core <command> ... --job-id N``). The process writes its progress into the row
and its per-epoch figures into ``job_events``, so a page reload, a second browser tab or a
closed browser loses nothing: any page reads the same rows. ``start_job`` checks for a
running job of the same kind inside a write transaction, so two clicks on Retrain start one
job, not two. A job whose process died without saying so is marked failed when read.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from core.catalog.database import utc_now
from core.catalog.store import Catalog
from core.config import REPO_ROOT, Settings
from core.files import ensure_folder, process_alive
from core.progress import describe_duration, epoch_payload, training_fraction

JobKind = Literal["setup", "train", "demo", "features", "embeddings", "collect"]
"""What a job does: the CLI command it runs."""
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
"""Where a job stands, as the ``jobs`` table stores it. Kinds and statuses are ``Literal``
types, not enums: mypy checks every word written, and the CLI, which finishes its job with
one, needs no import of this module (and pandas) to name it."""

ACTIVE_STATUSES: tuple[JobStatus, ...] = ("queued", "running")
COOPERATIVE_CANCEL: set[JobKind] = {"train", "collect"}  # stop between batches or pages; others are terminated


@dataclass(frozen=True)
class Job:
    id: int
    kind: JobKind
    args: list[str]
    status: JobStatus
    progress: float
    message: str | None
    error: str | None
    cancel_requested: bool
    created_at: str
    started_at: str | None
    finished_at: str | None
    pid: int | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


def start_job(settings: Settings, kind: JobKind, args: list[str]) -> tuple[Job, bool]:
    """Start ``python -m core <args>`` as job ``kind`` unless one of that kind is running.
    Returns (the job, whether it was started now)."""
    with Catalog.open(settings, create=True) as catalog:
        _reap_dead(catalog)
        with catalog.transaction() as conn:
            running = conn.execute(
                f"SELECT id FROM jobs WHERE kind = ? AND status IN {ACTIVE_STATUSES} ORDER BY id DESC LIMIT 1", (kind,)
            ).fetchone()
            if running:
                return _get(catalog, running[0]), False
            job_id = conn.execute(
                "INSERT INTO jobs (kind, args, status, created_at) VALUES (?, ?, 'queued', ?)",
                (kind, json.dumps(args), utc_now()),
            ).lastrowid
        assert job_id is not None, "an INSERT sets lastrowid"
        log = settings.data_dir / "jobs" / f"{job_id}.log"
        ensure_folder(log.parent)
        try:
            with open(log, "ab") as output:
                process = subprocess.Popen(
                    [sys.executable, "-m", "core", *args, "--job-id", str(job_id)],
                    cwd=REPO_ROOT,
                    env={**os.environ, "HITLENS_HOME": str(settings.home)},
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except OSError as error:
            with catalog.transaction() as conn:
                conn.execute(
                    "UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
                    (f"Could not start the job: {error}.", utc_now(), job_id),
                )
            return _get(catalog, job_id), False
        with catalog.transaction() as conn:
            conn.execute("UPDATE jobs SET pid = ? WHERE id = ? AND pid IS NULL", (process.pid, job_id))
        return _get(catalog, job_id), True


def get_job(settings: Settings, job_id: int) -> Job:
    with Catalog.open(settings) as catalog:
        _reap_dead(catalog)
        return _get(catalog, job_id)


def latest_job(settings: Settings, kind: JobKind | None = None) -> Job | None:
    """The newest job (of ``kind``), running or not; None when there has been none."""
    if not Catalog.exists(settings):
        return None
    with Catalog.open(settings) as catalog:
        _reap_dead(catalog)
        where, params = ("WHERE kind = ?", (kind,)) if kind else ("", ())
        row = catalog.conn.execute(f"SELECT id FROM jobs {where} ORDER BY id DESC LIMIT 1", params).fetchone()
        return _get(catalog, row[0]) if row else None


def active_jobs(settings: Settings) -> list[Job]:
    if not Catalog.exists(settings):
        return []
    with Catalog.open(settings) as catalog:
        _reap_dead(catalog)
        ids = catalog.conn.execute(f"SELECT id FROM jobs WHERE status IN {ACTIVE_STATUSES} ORDER BY id").fetchall()
        return [_get(catalog, row[0]) for row in ids]


def job_events(settings: Settings, job_id: int) -> pd.DataFrame:
    """The job's events (for training: one row per model and epoch with its metrics)."""
    with Catalog.open(settings) as catalog:
        rows = catalog.conn.execute("SELECT at, payload FROM job_events WHERE job_id = ? ORDER BY id", (job_id,))
        return pd.DataFrame([{"at": at, **json.loads(payload)} for at, payload in rows])


def cancel_job(settings: Settings, job_id: int) -> None:
    """Ask the job to stop: training stops after its current batch; other kinds are
    terminated (their writes are atomic, so nothing half-written is left)."""
    with Catalog.open(settings) as catalog:
        with catalog.transaction() as conn:
            conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
        job = _get(catalog, job_id)
    if job.active and job.kind not in COOPERATIVE_CANCEL and job.pid:
        with suppress(ProcessLookupError):
            os.killpg(job.pid, signal.SIGTERM)


class JobReporter:
    """Used by the CLI process when it runs as job ``job_id``: writes progress and events
    to the catalog (progress at most twice a second) and answers ``should_cancel``."""

    def __init__(self, settings: Settings, job_id: int):
        self.catalog = Catalog.open(settings)
        self.job_id = job_id
        self._last_write = 0.0
        with self.catalog.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'running', pid = ?, started_at = ? WHERE id = ?",
                (os.getpid(), utc_now(), job_id),
            )

    def progress(self, fraction: float, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < 0.5:
            return
        self._last_write = now
        with self.catalog.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET progress = ?, message = ? WHERE id = ?",
                (min(max(fraction, 0.0), 1.0), message, self.job_id),
            )

    def event(self, payload: dict) -> None:
        with self.catalog.transaction() as conn:
            conn.execute(
                "INSERT INTO job_events (job_id, at, payload) VALUES (?, ?, ?)",
                (self.job_id, utc_now(), json.dumps(payload)),
            )

    @contextmanager
    def counter(self, description: str, unit: str = "clip"):
        """Like ``core.progress.TerminalProgress.counter``: ``(done, total)`` -> progress,
        with the rate and time left once there is something to measure."""
        started = time.monotonic()
        first: int | None = None

        def update(done: int, total: int) -> None:
            nonlocal first
            if total == 0:  # nothing to do (all cached): not a full bar saying "0 of 0"
                return
            first = done if first is None else first
            message = f"{description}: {done} of {total} {unit}s"
            elapsed = time.monotonic() - started
            if done > first and elapsed > 0:
                rate = (done - first) / elapsed
                message += f", {rate * 60:.0f}/min, about {describe_duration((total - done) / rate)} left"
            self.progress(done / total if total else 1.0, message, force=done >= total)

        yield update

    @contextmanager
    def training(self, models: list[str]):
        """Training events -> overall progress, and one job event per model and epoch."""

        def update(event) -> None:
            if event.batch is None:
                self.event(epoch_payload(event))
            self.progress(
                training_fraction(models, event),
                f"training {event.model}: epoch {event.epoch} of {event.epochs}",
                force=event.batch is None,
            )

        yield update

    def should_cancel(self) -> bool:
        row = self.catalog.conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (self.job_id,)).fetchone()
        return bool(row and row[0])

    def finish(self, status: JobStatus, message: str | None = None, error: str | None = None) -> None:
        with self.catalog.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, message = COALESCE(?, message), error = ?, finished_at = ?, "
                "progress = CASE WHEN ? = 'succeeded' THEN 1 ELSE progress END WHERE id = ?",
                (status, message, error, utc_now(), status, self.job_id),
            )
        self.catalog.close()


def _get(catalog: Catalog, job_id: int) -> Job:
    row = catalog.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise KeyError(f"no job {job_id}")
    return Job(
        id=row["id"],
        kind=row["kind"],
        args=json.loads(row["args"]),
        status=row["status"],
        progress=row["progress"],
        message=row["message"],
        error=row["error"],
        cancel_requested=bool(row["cancel_requested"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        pid=row["pid"],
    )


KEPT_AFTER_DEATH: dict[JobKind, str] = {
    "train": "Nothing of this training run was saved (a run is saved when it finishes); start it again.",
    "setup": "Start it again: it resumes after the steps it finished (a model it was training is not saved).",
}
"""What survives a job killed mid-way, by kind; every other kind resumes where it stopped."""


def _reap_dead(catalog: Catalog) -> None:
    """Mark failed any active job whose process is gone (killed, machine restarted), saying
    what of its work survives."""
    rows = catalog.conn.execute(
        f"SELECT id, pid, kind FROM jobs WHERE status IN {ACTIVE_STATUSES} AND pid IS NOT NULL"
    ).fetchall()
    dead = [(job_id, kind) for job_id, pid, kind in rows if not process_alive(pid)]
    if dead:
        with catalog.transaction() as conn:
            conn.executemany(
                "UPDATE jobs SET status = 'failed', error = ?, finished_at = ? "
                "WHERE id = ? AND status IN ('queued', 'running')",
                [(_died_message(kind), utc_now(), job_id) for job_id, kind in dead],
            )


def _died_message(kind: JobKind) -> str:
    kept = KEPT_AFTER_DEATH.get(kind, "Start it again; it resumes and keeps the work it finished.")
    return f"The job stopped unexpectedly (its process ended). {kept}"
