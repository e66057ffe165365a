"""``bench``: how fast the pipeline runs, as docs/performance.md reports it."""

from __future__ import annotations

import argparse
import json

from core.config import settings
from core.progress import Progress


def bench(args: argparse.Namespace, progress: Progress) -> int:
    from core.bench import bench_embeddings, bench_features, bench_pages, bench_score, bench_train, bench_uploads

    if args.target == "features":
        print(bench_features(settings(), clips=args.clips or 50))
    elif args.target == "train":
        print(bench_train(settings(), clips=args.clips or 200))
    elif args.target == "embeddings":
        print(bench_embeddings(settings(), clips=args.clips or 20))
    elif args.target == "pages":
        print(bench_pages(settings(), songs=args.songs))
    elif args.target == "uploads":
        print(bench_uploads(settings()))
    elif args.target == "scale":
        from core.bench.scale import bench_scale, scale_table  # imports Ray only now

        report = bench_scale(settings(), clips=args.clips or 40, workers=args.workers)
        print(json.dumps(report, indent=2) if args.json else scale_table(report))
    elif args.target == "setup":
        import tempfile
        from pathlib import Path

        from core.setup import time_setup

        with tempfile.TemporaryDirectory(prefix="hitlens-setup-", ignore_cleanup_errors=True) as home:
            times = time_setup(Path(home), until_first_verdict=args.first_verdict)
        print("| from `python -m core setup` on an empty home | seconds |\n|---|---:|")
        labels = {
            "first_run": "quick-start run active",
            "first_verdict": "first song scored (`score`, a new process)",
            "complete": "set-up complete: the default run active",
            "study_run": "the study's comparison (background job) done",
        }
        for key, seconds in times.items():
            print(f"| {labels[key]} | {seconds:.0f} |")
    else:
        print(bench_score(settings()))
    return 0
