"""Scale: the local engine and the Ray engine on the same clips, in one run, with their ratio."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from core.audio.features import FeatureJob
from core.bench.clips import demo_clips
from core.config import FEATURE_PRESETS, Settings

ENGINES = ("local", "ray")


def bench_scale(settings: Settings, clips: int = 40, workers: int | None = None) -> dict:
    """Seconds for each engine to compute ``clips`` demo clips' spectrograms (every preset) and
    musicnn embeddings into an empty cache, and to score them as files with the active run,
    with the Ray engine's time over the local one's. Ray runs at ``RAY_ADDRESS`` when it is
    set, else on a local Ray started for each stage (its start, timed once on its own, is in
    each Ray figure: it is what a user waits for). Both engines' scores are compared: the
    largest probability difference is reported (they run the same code)."""
    from core.engine.ray_engine import (
        compute_missing_embeddings_on_ray,
        compute_missing_on_ray,
        connected,
        local_cpus,
    )
    from core.pretrained.cache import compute_missing_embeddings
    from core.pretrained.musicnn import DEFAULT_MODEL

    chosen = demo_clips(settings, clips)
    jobs = [FeatureJob(sha, path) for sha, path in chosen]
    presets = list(FEATURE_PRESETS.values())
    started = time.perf_counter()
    with connected(workers) as actors:
        ray_start = time.perf_counter() - started
    stages: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="hitlens-scale-") as scratch:
        homes = {engine: Settings(home=Path(scratch) / engine) for engine in ENGINES}
        from core.audio.features import compute_missing

        spectrograms = {
            "local": lambda: compute_missing(jobs, presets, homes["local"], workers=workers),
            "ray": lambda: compute_missing_on_ray(jobs, presets, homes["ray"], workers=workers),
        }
        stages.append(_stage(f"spectrograms ({', '.join(p.name for p in presets)})", clips, spectrograms))
        embeddings = {
            "local": lambda: compute_missing_embeddings(jobs, [DEFAULT_MODEL], homes["local"]),
            "ray": lambda: compute_missing_embeddings_on_ray(jobs, [DEFAULT_MODEL], homes["ray"], workers=workers),
        }
        stages.append(_stage(f"musicnn embeddings ({DEFAULT_MODEL})", clips, embeddings))
    scores: dict[str, list[dict]] = {}
    stages.append(_stage("scoring, one file a clip", clips, _scoring(settings, [str(p) for _, p in chosen], scores)))
    pairs = zip(scores["local"], scores["ray"], strict=True)
    difference = max((abs(a.get("probability", 0.0) - b.get("probability", 0.0)) for a, b in pairs), default=0.0)
    return {
        "clips": clips,
        "cpu_cores": os.cpu_count(),
        "ray_address": os.environ.get("RAY_ADDRESS") or "local Ray on 127.0.0.1",
        "ray_actors": actors,
        "local_processes": workers or local_cpus(workers),
        "ray_start_s": round(ray_start, 2),
        "stages": stages,
        "largest_score_difference": difference,
    }


def _stage(name: str, clips: int, runs: Mapping[str, Callable[[], object]]) -> dict:
    seconds = {}
    for engine in ENGINES:
        start = time.perf_counter()
        runs[engine]()
        seconds[engine] = time.perf_counter() - start
    return {
        "stage": name,
        "clips": clips,
        "local_s": round(seconds["local"], 2),
        "ray_s": round(seconds["ray"], 2),
        "ray_over_local": round(seconds["ray"] / seconds["local"], 2),
        "local_s_per_clip": round(seconds["local"] / clips, 3),
        "ray_s_per_clip": round(seconds["ray"] / clips, 3),
    }


def _scoring(settings: Settings, files: list[str], scores: dict[str, list[dict]]) -> dict[str, Callable[[], object]]:
    """Both engines scoring ``files`` with the active run's best model, as ``score`` does; each
    engine's results land in ``scores``."""
    from core.catalog.store import Catalog
    from core.cli.scoring import FileScorer, ScoringRequest, chosen_model
    from core.engine.ray_engine import score_on_ray
    from core.learning.context import UNKNOWN_ARTIST
    from core.learning.registry import load_run
    from core.pretrained.similarity import CatalogEmbeddings

    with Catalog.open(settings) as catalog:
        run = load_run(settings, catalog)
    request = ScoringRequest(run, chosen_model(run, None), CatalogEmbeddings.load(settings), UNKNOWN_ARTIST, False, 0)

    def local() -> None:
        scorer = FileScorer(request)
        scores["local"] = [scorer.result(item) for item in scorer.score([(path, path) for path in files])]

    def ray() -> None:
        scores["ray"] = score_on_ray(files, request)

    return {"local": local, "ray": ray}


def scale_table(report: dict) -> str:
    """``bench_scale``'s report as the Markdown table docs/scaling.md quotes."""
    lines = [
        f"{report['clips']} demo clips, {report['cpu_cores']} CPU cores; local engine: {report['local_processes']} "
        f"processes; Ray: {report['ray_address']}, {report['ray_actors']} actors (starting it: "
        f"{report['ray_start_s']:.1f} s, inside each Ray figure). Largest difference between the engines' scores: "
        f"{report['largest_score_difference']:.1e}.",
        "",
        "| stage | local (s) | Ray (s) | Ray / local | local s a clip | Ray s a clip |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for stage in report["stages"]:
        lines.append(
            f"| {stage['stage']} | {stage['local_s']:.1f} | {stage['ray_s']:.1f} | {stage['ray_over_local']:.2f} "
            f"| {stage['local_s_per_clip']:.3f} | {stage['ray_s_per_clip']:.3f} |"
        )
    return "\n".join(lines)
