"""The command line: ``python -m core <command>``. Every page of the dashboard calls the same
core functions these commands do.

Expected failures (a ``HitlensError``) print one line and exit with status 2; an interrupt
exits with 130 and whatever finished is kept, so rerunning resumes.
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
from collections.abc import Sequence

from core.config import DEFAULT_PRESET, FEATURE_PRESETS, feature_preset, settings
from core.errors import HitlensError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except HitlensError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        print(
            f"error: the disk is full ({settings().home}). Free some space and run the same "
            "command again: everything already stored is intact and finished work is kept.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished work is kept; run the same command again to resume.", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Hitlens: does an unreleased hip-hop song sound like what is popular now?",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="build the synthetic demo catalog (offline)")
    demo.add_argument("--tracks", type=_positive_int, default=1200, help="catalog rows (default 1200)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--replace", action="store_true", help="replace the tracks of an existing catalog")
    demo.add_argument("--if-missing", action="store_true", help="do nothing when a catalog with tracks exists")
    demo.set_defaults(handler=_demo)

    features = commands.add_parser("features", help="compute missing spectrograms for the catalog")
    features.add_argument(
        "--preset", choices=[*FEATURE_PRESETS, "all"], default=DEFAULT_PRESET,
        help=f"feature preset (default {DEFAULT_PRESET})",
    )  # fmt: skip
    features.add_argument("--workers", type=_positive_int, default=None, help="processes (default: one per core)")
    features.set_defaults(handler=_features)

    info = commands.add_parser("info", help="describe the catalog and the feature cache")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(handler=_info)

    bench = commands.add_parser("bench", help="measure the pipeline's speed")
    bench.add_argument("target", choices=["features"], help="what to measure")
    bench.add_argument("--clips", type=_positive_int, default=50, help="demo clips to use (default 50)")
    bench.set_defaults(handler=_bench)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value


def _demo(args: argparse.Namespace) -> int:
    from core.catalog import Catalog
    from core.demo import build_demo
    from core.progress import progress_bar

    config = settings()
    if args.if_missing and Catalog.exists(config):
        with Catalog.open(config) as catalog:
            if catalog.summary().tracks:
                print(f"catalog exists at {config.catalog_path}; nothing to do")
                return 0
    with progress_bar("rendering demo audio") as on_progress:
        catalog = build_demo(config, tracks=args.tracks, seed=args.seed, replace=args.replace, on_progress=on_progress)
    with catalog:
        summary = catalog.summary()
    print(
        f"demo catalog (synthetic): {summary.tracks} tracks, {summary.artists} artists, "
        f"{summary.with_audio} with audio -> {config.catalog_path}"
    )
    return 0


def _features(args: argparse.Namespace) -> int:
    from core.catalog import Catalog
    from core.features import FeatureJob, compute_missing
    from core.progress import progress_bar

    config = settings()
    presets = list(FEATURE_PRESETS.values()) if args.preset == "all" else [feature_preset(args.preset)]
    with Catalog.open(config) as catalog:
        jobs = [FeatureJob(sha, path) for sha, path in catalog.audio_hashes()]
    names = ", ".join(p.name for p in presets)
    with progress_bar(f"spectrograms ({names})") as on_progress:
        report = compute_missing(jobs, presets, config, workers=args.workers, on_progress=on_progress)
    print(f"{report.computed} computed, {report.already_cached} already cached, {len(report.failed)} failed")
    for sha, error in list(report.failed.items())[:10]:
        print(f"  {sha[:12]}: {error}", file=sys.stderr)
    return 1 if report.failed else 0


def _info(args: argparse.Namespace) -> int:
    from core.catalog import Catalog
    from core.features import FeatureCache

    config = settings()
    with Catalog.open(config) as catalog:
        summary = catalog.summary()
        hashes = [sha for sha, _ in catalog.audio_hashes()]
        schema = catalog.schema_version
    cache = FeatureCache(config)
    report = {
        "catalog": str(config.catalog_path),
        "schema_version": schema,
        "source": summary.source,
        "synthetic": summary.synthetic,
        "tracks": summary.tracks,
        "artists": summary.artists,
        "with_audio": summary.with_audio,
        "distinct_audio": len(hashes),
        "features": {name: cache.count(hashes, preset) for name, preset in FEATURE_PRESETS.items()},
        "popularity": {
            "scale": summary.popularity_scale,
            "min": summary.popularity_min,
            "median": summary.popularity_median,
            "max": summary.popularity_max,
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    label = " (SYNTHETIC demo catalog)" if summary.synthetic else ""
    print(f"catalog      {report['catalog']}{label}")
    print(f"source       {summary.source}")
    print(f"tracks       {summary.tracks} ({summary.with_audio} with audio, {len(hashes)} distinct clips)")
    print(f"artists      {summary.artists}")
    popularity = report["popularity"]
    print(f"popularity   {popularity['scale']}: min {popularity['min']}, median {popularity['median']}, max {popularity['max']}")
    for name, count in report["features"].items():
        print(f"features     {name}: {count} of {len(hashes)} clips cached")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from core.bench import bench_features

    print(bench_features(settings(), clips=args.clips))
    return 0
