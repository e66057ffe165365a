"""The scored-songs history: every song scored on the Score page, kept in the catalog so a
demo scored last week is still there, and two versions of a song can be found side by side.

One row per (audio content, run, model): scoring the same file again with the same model
keeps the first row (its date says when it was first scored); a new run or model adds a row.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from core.catalog.database import utc_now
from core.catalog.store import Catalog

COLUMNS = [
    "file",
    "scored",
    "run",
    "model",
    "verdict",
    "probability",
    "percentile",
    "best_window",
    "in_domain",
    "sha256",
]


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_score(catalog: Catalog, *, run_id: str, model: str, sha256: str, result: dict) -> None:
    """Remember one song's score as the page showed it (``ScoreResult.as_dict()``: its verdict,
    withheld included, and why) unless this content was already scored by this run's ``model``."""
    with catalog.transaction() as conn:
        seen = conn.execute(
            "SELECT 1 FROM scores WHERE audio_sha256 = ? AND run_id = ? AND json_extract(result, '$.model') = ?",
            (sha256, run_id, model),
        ).fetchone()
        if seen:
            return
        conn.execute(
            "INSERT INTO scores (run_id, file_name, audio_sha256, probability, verdict, result, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                result["file"],
                sha256,
                result["probability"],
                result["verdict"],
                json.dumps(
                    {
                        "model": model,
                        "in_domain": result["in_domain"],
                        "domain_reason": result["domain_reason"],
                        "percentile": result["percentile"],
                        "best_window": result["best_window"],
                        "duration_s": result["duration_s"],
                    }
                ),
                utc_now(),
            ),
        )


def scored_songs(catalog: Catalog, query: str = "") -> pd.DataFrame:
    """The history, newest first, optionally only files whose name contains ``query``."""
    rows = catalog.conn.execute(
        "SELECT file_name, created_at, run_id, result, verdict, probability, audio_sha256 FROM scores "
        "WHERE instr(lower(file_name), lower(?)) > 0 ORDER BY created_at DESC, id DESC",
        (query,),
    ).fetchall()
    records = []
    for name, created, run_id, result, verdict, probability, sha256 in rows:
        extra = json.loads(result)
        start, end = extra["best_window"]
        records.append(
            {
                "file": name,
                "scored": created[:16].replace("T", " "),
                "run": run_id,
                "model": extra["model"],
                "verdict": verdict,
                "probability": probability,
                "percentile": extra["percentile"],
                "best_window": f"{start:.0f}-{end:.0f} s",
                "in_domain": extra.get("in_domain"),  # None: scored before songs were judged
                "sha256": sha256,
            }
        )
    return pd.DataFrame(records, columns=COLUMNS)
