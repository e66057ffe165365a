import shutil
import time

import pytest

from core.catalog.database import utc_now
from core.catalog.store import Catalog
from core.config import Settings
from core.jobs import active_jobs, cancel_job, get_job, job_events, latest_job, start_job
from core.learning.registry import list_runs


def _wait(settings, job_id, statuses=("succeeded", "failed", "cancelled"), timeout=300, until=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = get_job(settings, job_id)
        if job.status in statuses or (until and until(job)):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job.status} after {timeout} s")


@pytest.fixture
def demo_copy(demo_home, tmp_path):
    shutil.copytree(demo_home.data_dir, tmp_path / "data")
    return Settings(home=tmp_path)


def test_a_demo_job_runs_in_the_background_and_reports_progress(tmp_path):
    settings = Settings(home=tmp_path)
    job, started = start_job(settings, "demo", ["demo", "--tracks", "12", "--seed", "3"])
    assert started and job.active
    done = _wait(settings, job.id)
    assert done.status == "succeeded", (tmp_path / "data" / "jobs" / f"{job.id}.log").read_text()
    assert done.progress == 1.0 and "rendering demo audio" in done.message
    with Catalog.open(settings) as catalog:
        assert catalog.summary().tracks > 0


def test_a_second_start_while_one_runs_returns_the_running_job(demo_copy):
    first, started_first = start_job(demo_copy, "train", ["train", "--models", "mlp", "--epochs", "1"])
    second, started_second = start_job(demo_copy, "train", ["train", "--models", "mlp", "--epochs", "1"])
    assert (started_first, started_second) == (True, False)
    assert second.id == first.id
    assert [j.id for j in active_jobs(demo_copy)] == [first.id]
    assert _wait(demo_copy, first.id).status == "succeeded"


def test_cancelling_training_stops_it_and_saves_no_run(demo_copy):
    job, _ = start_job(demo_copy, "train", ["train", "--models", "mlp", "--epochs", "200"])
    _wait(demo_copy, job.id, until=lambda j: j.status == "running" and not job_events(demo_copy, job.id).empty)
    events = job_events(demo_copy, job.id)
    assert {"model", "epoch", "val_auc", "loss"} <= set(events.columns)
    cancel_job(demo_copy, job.id)
    assert _wait(demo_copy, job.id, timeout=60).status == "cancelled"
    with Catalog.open(demo_copy) as catalog:
        assert list_runs(demo_copy, catalog).empty


def test_a_job_whose_process_died_is_reported_failed_saying_what_survives(home):
    with Catalog.open(home, create=True) as catalog, catalog.transaction() as conn:
        for kind in ("train", "features"):
            conn.execute(
                "INSERT INTO jobs (kind, args, status, pid, created_at) VALUES (?, '[]', 'running', ?, ?)",
                (kind, 2**22 + 4321, utc_now()),
            )
    train, features = latest_job(home, "train"), latest_job(home, "features")
    assert train.status == features.status == "failed"
    assert "stopped unexpectedly" in train.error and "Nothing of this training run was saved" in train.error
    assert "kept" not in train.error  # a killed training saved nothing: it must not promise otherwise
    assert "resumes and keeps the work it finished" in features.error


def test_counted_progress_shows_rate_and_time_left(home, monkeypatch):
    import os

    from core.jobs import JobReporter

    with Catalog.open(home, create=True) as catalog, catalog.transaction() as conn:
        job_id = conn.execute(
            "INSERT INTO jobs (kind, args, status, pid, created_at) VALUES ('collect', '[]', 'queued', ?, ?)",
            (os.getpid(), utc_now()),
        ).lastrowid
    now = [1000.0]
    monkeypatch.setattr("core.jobs.time.monotonic", lambda: now[0])
    reporter = JobReporter(home, job_id)
    with reporter.counter("collecting deezer", unit="track") as update:
        update(100, 1000)  # resumed at 100: the rate counts only this run's tracks
        now[0] += 60
        update(400, 1000)
    job = get_job(home, job_id)
    assert job.message == "collecting deezer: 400 of 1000 tracks, 300/min, about 2 min left"
    assert job.progress == pytest.approx(0.4)
    reporter.finish("succeeded")
