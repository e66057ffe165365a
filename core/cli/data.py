"""The catalog's commands: ``demo``, ``features``, ``embeddings``, ``info``, ``collect`` and ``import``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.config import FEATURE_PRESETS, engine, feature_preset, settings
from core.errors import UsageError
from core.pretrained.musicnn import MODELS as MUSICNN_MODELS
from core.progress import Progress


def demo(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog.store import Catalog
    from core.demo import build_demo, is_quick_start

    config = settings()
    if args.if_missing and Catalog.exists(config):
        with Catalog.open(config) as catalog:
            if catalog.track_count() and (args.quick_start or not is_quick_start(catalog)):
                print(f"catalog exists at {config.catalog_path}; nothing to do")
                return 0
    part = " (the quick-start part)" if args.quick_start else ""
    with progress.counter(f"rendering demo audio{part}", unit="song") as on_progress:
        catalog = build_demo(
            config,
            tracks=args.tracks,
            seed=args.seed,
            replace=args.replace,
            quick_start=args.quick_start,
            on_progress=on_progress,
        )
    with catalog:
        summary = catalog.summary()
    print(
        f"demo catalog (synthetic): {summary.tracks} tracks, {summary.artists} artists, "
        f"{summary.with_audio} with audio -> {config.catalog_path}"
    )
    return 0


def features(args: argparse.Namespace, progress: Progress) -> int:
    from core.audio.features import FeatureJob, compute_missing
    from core.catalog.store import Catalog

    config = settings()
    presets = list(FEATURE_PRESETS.values()) if args.preset == "all" else [feature_preset(args.preset)]
    with Catalog.open(config) as catalog:
        jobs = [FeatureJob(sha, path) for sha, path in catalog.audio_hashes()]
    names = ", ".join(p.name for p in presets)
    if engine(args.engine) == "ray":
        from core.engine.ray_engine import compute_missing_on_ray as compute_missing  # imports Ray only now
    with progress.counter(f"spectrograms ({names})") as on_progress:
        report = compute_missing(jobs, presets, config, workers=args.workers, on_progress=on_progress)
    return _cache_report(report)


def _cache_report(report) -> int:
    """Print what a cache-filling command did (the first ten failures on stderr); exit 1 if
    any clip failed."""
    print(f"{report.computed} computed, {report.already_cached} already cached, {len(report.failed)} failed")
    for sha, error in list(report.failed.items())[:10]:
        print(f"  {sha[:12]}: {error}", file=sys.stderr)
    return 1 if report.failed else 0


def embeddings(args: argparse.Namespace, progress: Progress) -> int:
    from core.audio.features import FeatureJob
    from core.catalog.store import Catalog
    from core.pretrained.cache import compute_missing_embeddings

    config = settings()
    models = list(MUSICNN_MODELS) if args.model == "all" else [args.model]
    with Catalog.open(config) as catalog:
        jobs = [FeatureJob(sha, path) for sha, path in catalog.audio_hashes()]
    if engine(args.engine) == "ray":
        from core.engine.ray_engine import compute_missing_embeddings_on_ray as compute_missing_embeddings
    with progress.counter(f"musicnn embeddings ({', '.join(models)})") as on_progress:
        report = compute_missing_embeddings(jobs, models, config, on_progress=on_progress)
    return _cache_report(report)


def info(args: argparse.Namespace, progress: Progress) -> int:
    from core.audio.features import FeatureCache
    from core.catalog.store import Catalog
    from core.pretrained.cache import EmbeddingCache

    config = settings()
    with Catalog.open(config) as catalog:
        summary = catalog.summary()
        hashes = [sha for sha, _ in catalog.audio_hashes()]
        schema = catalog.schema_version
    cache = FeatureCache(config)
    report: dict[str, Any] = {
        "catalog": str(config.catalog_path),
        "schema_version": schema,
        "source": summary.source,
        "synthetic": summary.synthetic,
        "tracks": summary.tracks,
        "artists": summary.artists,
        "with_audio": summary.with_audio,
        "distinct_audio": len(hashes),
        "features": {name: cache.count(hashes, preset) for name, preset in FEATURE_PRESETS.items()},
        "embeddings": {model: EmbeddingCache(config).count(hashes, model) for model in MUSICNN_MODELS},
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
    print(
        f"popularity   {popularity['scale']}: min {popularity['min']}, "
        f"median {popularity['median']}, max {popularity['max']}"
    )
    for name, count in report["features"].items():
        print(f"features     {name}: {count} of {len(hashes)} clips cached")
    for name, count in report["embeddings"].items():
        print(f"embeddings   {name}: {count} of {len(hashes)} clips cached")
    return 0


def collect(args: argparse.Namespace, progress: Progress) -> int:
    from core.collect.collection import YearRange, collect
    from core.collect.sources import build_source

    config = settings()
    years = YearRange.parse(args.years)
    source, downloader = build_source(config, args.source, years, market=args.market, seed=args.seed)
    with progress.counter(f"collecting {args.source} {years}", unit="track") as on_progress:
        report = collect(
            config,
            source,
            downloader,
            args.tracks,
            replace_demo=args.replace_demo,
            on_progress=on_progress,
            should_cancel=progress.should_cancel,
        )
    print(
        f"{args.source}: {report.tracks} tracks in the catalog ({report.with_audio} with a verified preview); "
        f"this run: {report.pages} pages, {report.insert.inserted} new, "
        f"skipped as duplicates: {report.insert.skipped_text()}"
        + (", resumed where the last run stopped" if report.resumed else "")
        + "."
    )
    if report.download_errors:
        print(f"{len(report.download_errors)} previews could not be downloaded; those tracks are kept without audio.")
    if report.exhausted and report.tracks < args.tracks:
        print(f"The source ran out of new tracks for {years} before {args.tracks}; widen --years to find more.")
    return 0


def import_file(args: argparse.Namespace, progress: Progress) -> int:
    from pathlib import Path

    from core.collect.importer import describe_rejections, import_table
    from core.collect.sources import preview_resolver

    config = settings()
    resolver, downloader = (None, None) if args.no_resolve else preview_resolver(config)
    with progress.counter("finding previews", unit="track") as on_progress:
        report = import_table(
            config,
            Path(args.file),
            overrides=_pairs(args.map, "--map"),
            where=_pairs(args.where, "--where"),
            scale=args.scale,
            allow_outside=args.allow_outside,
            replace_demo=args.replace_demo,
            resolver=resolver,
            downloader=downloader,
            on_progress=on_progress,
        )
    print(
        f"{report.rows_kept} of {report.rows_read} rows kept; {report.insert.inserted} inserted, "
        f"{report.insert.updated} already present (updated), skipped: {report.insert.skipped_text()}. "
        f"Popularity scale: {report.popularity_scale}. With audio: {report.with_audio} "
        f"({report.resolved} previews found through Deezer); without audio: {report.without_audio}."
    )
    if report.encoding != "UTF-8":
        print(f"Read as {report.encoding}: the file is not UTF-8.")
    if report.rejected:
        print(f"{describe_rejections(report.rejected)}.")
    if report.resolve_stopped:
        print(f"Finding previews stopped early: {report.resolve_stopped}")
    for source_id, error in list(report.audio_errors.items())[:10]:
        print(f"  {source_id}: {error}", file=sys.stderr)
    return 0


def _pairs(items: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, separator, value = item.partition("=")
        if not separator or not key or not value:
            raise UsageError(f"'{item}' is not of the form A=B.", f"Write {option} like column=value.")
        pairs[key] = value
    return pairs
