"""The command line: ``python -m core <command>``. Every page of the dashboard calls the same
core functions these commands do.

Expected failures (a ``HitlensError``, and a full disk wherever it is met) print one line and
exit with status 2; an interrupt exits with 130 and whatever finished is kept, so rerunning
resumes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.config import (
    DEFAULT_PRESET,
    DEFAULT_TRAINING_PRESET,
    FEATURE_PRESETS,
    TRAINING_PRESETS,
    feature_preset,
    settings,
    training_preset,
)
from core.errors import Cancelled, DiskFull, HitlensError, UsageError, disk_failure
from core.pretrained.musicnn import DEFAULT_MODEL as DEFAULT_MUSICNN
from core.pretrained.musicnn import MODELS as MUSICNN_MODELS
from core.progress import Progress, TerminalProgress
from core.wording import (
    DEFAULT_THRESHOLD_RULE,
    SYNTHETIC_VERDICTS,
    catalog_label,
    default_threshold_rule,
    with_interval,
)

if TYPE_CHECKING:
    from core.registry import RunMeta


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    job = None
    try:
        job = _job_reporter(args)
        status = args.handler(args, job or TerminalProgress()) or 0
    except HitlensError as error:
        print(f"error: {error}", file=sys.stderr)
        _finish(job, "failed", error=str(error))
        return 2
    except Cancelled as cancelled:
        _finish(job, "cancelled", error=None)
        print(f"cancelled: {cancelled.kept}", file=sys.stderr)
        return 1
    except BaseException as error:
        # A full disk met anywhere (a cache file, the catalog) is an expected failure too.
        failure = disk_failure(error, settings().home)
        if failure is not None:
            print(f"error: {failure}", file=sys.stderr)
            _finish(job, "failed", error=str(failure))
            return 2
        _finish(job, "failed", error=f"Unexpected error: {error!r}")
        return _expected_failure(error)
    _finish(
        job, "succeeded" if status == 0 else "failed", error=None if status == 0 else "Some items failed; see the log."
    )
    return status


def _job_reporter(args: argparse.Namespace):
    if getattr(args, "job_id", None) is None:
        return None
    from core.jobs import JobReporter

    return JobReporter(settings(), args.job_id)


def _finish(job, status: str, error: str | None = None) -> None:
    if job is not None:
        # On a full disk the job's row cannot be written; it is marked failed once its process is gone.
        with contextlib.suppress(DiskFull):
            job.finish(status, error=error)


def _expected_failure(error: BaseException) -> int:
    """Ctrl-C becomes one line and an exit code; anything else is a bug: re-raise."""
    if isinstance(error, KeyboardInterrupt):
        print("interrupted: finished work is kept; run the same command again to resume.", file=sys.stderr)
        return 130
    raise error


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
    demo.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing when a catalog with tracks exists (a quick-start demo is completed)",
    )
    demo.add_argument(
        "--quick-start",
        action="store_true",
        help="only every fourth song, for a first model within minutes; 'demo --if-missing' completes it",
    )
    _add_job_option(demo)
    demo.set_defaults(handler=_demo)

    features = commands.add_parser("features", help="compute missing spectrograms for the catalog")
    features.add_argument(
        "--preset",
        choices=[*FEATURE_PRESETS, "all"],
        default=DEFAULT_PRESET,
        help=f"feature preset (default {DEFAULT_PRESET})",
    )
    features.add_argument("--workers", type=_positive_int, default=None, help="processes (default: one per core)")
    _add_job_option(features)
    features.set_defaults(handler=_features)

    embeddings = commands.add_parser("embeddings", help="compute missing musicnn tags and embeddings for the catalog")
    embeddings.add_argument(
        "--model",
        choices=[*MUSICNN_MODELS, "all"],
        default=DEFAULT_MUSICNN,
        help=f"pretrained model (default {DEFAULT_MUSICNN})",
    )
    _add_job_option(embeddings)
    embeddings.set_defaults(handler=_embeddings)

    setup = commands.add_parser(
        "setup", help="what a fresh install needs: demo catalog if none, spectrograms, embeddings, default run if none"
    )
    setup.add_argument("--detach", action="store_true", help="run as a background job the dashboard shows, and return")
    _add_job_option(setup)
    setup.set_defaults(handler=_setup)

    info = commands.add_parser("info", help="describe the catalog and the feature cache")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(handler=_info)

    train = commands.add_parser("train", help="train and compare the models; saves a run")
    train.add_argument("--models", default="all", help="all, or some of dummy,mlp,cnn1,cnn2,cnn_gru,musicnn")
    train.add_argument("--preset", choices=list(TRAINING_PRESETS), default=DEFAULT_TRAINING_PRESET)
    train.add_argument("--split", choices=["random", "song", "artist"], default="random")
    train.add_argument(
        "--threshold",
        choices=["study", "median"],
        default=None,
        help=f"popularity threshold rule (default: {DEFAULT_THRESHOLD_RULE})",
    )
    train.add_argument("--epochs", type=_positive_int, default=None, help="override the preset's epochs")
    activation = train.add_mutually_exclusive_group()
    activation.add_argument(
        "--activate",
        dest="activate",
        action="store_const",
        const="yes",
        default="if-none",
        help="score with the new run from now on (default: only when no run is active)",
    )
    activation.add_argument(
        "--no-activate", dest="activate", action="store_const", const="no", help="never make the new run the active one"
    )
    # Set-up's own steps: a provisional first run, then the default run that replaces it as the
    # active one unless the user has chosen another run meanwhile.
    train.add_argument("--quick-start", action="store_true", help=argparse.SUPPRESS)
    train.add_argument("--replace-quick-start", action="store_true", help=argparse.SUPPRESS)
    train.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing when a trained run exists (set-up's quick-start run does not count)",
    )
    _add_job_option(train)
    train.set_defaults(handler=_train)

    runs = commands.add_parser("runs", help="list the saved runs; choose the one songs are scored with")
    runs.add_argument("--json", action="store_true", help="print a JSON list, one object per run, newest first")
    runs.add_argument("--activate", metavar="ID", default=None, help="score songs with run ID from now on")
    runs.set_defaults(handler=_runs)

    evaluate = commands.add_parser("evaluate", help="print a run's holdout results with 95%% intervals")
    evaluate.add_argument("--run", default=None, help="run id (default: the active run)")
    evaluate.add_argument("--json", action="store_true", help="print a JSON list, one object per model")
    evaluate.add_argument("--list", action="store_true", help="list the saved runs instead")
    evaluate.set_defaults(handler=_evaluate)

    collect = commands.add_parser("collect", help="collect real recent hip-hop tracks and previews (resumable)")
    collect.add_argument(
        "--source",
        choices=["deezer", "spotify"],
        default="deezer",
        help="deezer (public, no key; rank as popularity) or spotify (needs an app with popularity access)",
    )
    collect.add_argument(
        "--tracks", type=_positive_int, default=1000, help="stop when the catalog holds this many from the source"
    )
    collect.add_argument("--years", default=None, help="release years, e.g. 2019-2021 (default: the last three years)")
    collect.add_argument("--market", default="US", help="Spotify market (default US)")
    collect.add_argument("--seed", type=int, default=42, help="sampling seed (default 42); resuming needs the same one")
    collect.add_argument(
        "--replace-demo", action="store_true", help="replace the synthetic demo catalog (runs are kept)"
    )
    _add_job_option(collect)
    collect.set_defaults(handler=_collect)

    importer = commands.add_parser("import", help="import a CSV or Parquet table of tracks into the catalog")
    importer.add_argument("file", help="the table (.csv or .parquet)")
    importer.add_argument("--map", nargs="*", default=[], metavar="COLUMN=FIELD", help="name a column's catalog field")
    importer.add_argument("--where", nargs="*", default=[], metavar="COLUMN=VALUE", help="keep only matching rows")
    importer.add_argument(
        "--scale",
        choices=["spotify", "deezer_rank"],
        default=None,
        help="popularity scale (default: spotify when every value is 0-100, deezer_rank when every "
        "one is above 100; a table mixing both must say which)",
    )
    importer.add_argument(
        "--allow-outside", action="store_true", help="accept audio_path values outside the table's folder"
    )
    importer.add_argument(
        "--no-resolve",
        action="store_true",
        help="do not look for previews on Deezer (rows without a local file stay without audio)",
    )
    importer.add_argument(
        "--replace-demo", action="store_true", help="replace the synthetic demo catalog (runs are kept)"
    )
    _add_job_option(importer)
    importer.set_defaults(handler=_import)

    score = commands.add_parser("score", help="score songs with the active run: verdict, probability, best 30 s")
    score.add_argument("files", nargs="+", metavar="FILE", help="mp3, wav, flac, ogg or m4a files")
    score.add_argument("--run", default=None, help="run id (default: the active run)")
    score.add_argument(
        "--model", default=None, help="the run's model to score with (default: its best by holdout ROC-AUC)"
    )
    score.add_argument("--explain", action="store_true", help="add LIME regions for the best window")
    score.add_argument(
        "--samples",
        type=_positive_int,
        default=1000,
        help="LIME samples (default 1000; the musicnn model is explained by occlusion)",
    )
    score.add_argument("--json", action="store_true", help="print a JSON list, one object per file")
    score.set_defaults(handler=_score)

    bench = commands.add_parser("bench", help="measure the pipeline's speed")
    bench.add_argument(
        "target",
        choices=["features", "train", "score", "embeddings", "pages", "uploads", "setup"],
        help="what to measure",
    )
    bench.add_argument(
        "--clips", type=_positive_int, default=None, help="demo clips to use (default 50 for features, 200 for train)"
    )
    bench.add_argument(
        "--first-verdict",
        action="store_true",
        help="setup: stop once a first song is scored instead of timing the whole set-up",
    )
    bench.set_defaults(handler=_bench)
    return parser


def _add_job_option(command: argparse.ArgumentParser) -> None:
    # Set by core.jobs when the dashboard runs this command in the background.
    command.add_argument("--job-id", type=int, default=None, help=argparse.SUPPRESS)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value


def _demo(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog import Catalog
    from core.demo import build_demo, is_quick_start

    config = settings()
    if args.if_missing and Catalog.exists(config):
        with Catalog.open(config) as catalog:
            if catalog.track_count() and (args.quick_start or not is_quick_start(catalog)):
                print(f"catalog exists at {config.catalog_path}; nothing to do")
                return 0
    part = " (the quick-start quarter)" if args.quick_start else ""
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


def _features(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog import Catalog
    from core.features import FeatureJob, compute_missing

    config = settings()
    presets = list(FEATURE_PRESETS.values()) if args.preset == "all" else [feature_preset(args.preset)]
    with Catalog.open(config) as catalog:
        jobs = [FeatureJob(sha, path) for sha, path in catalog.audio_hashes()]
    names = ", ".join(p.name for p in presets)
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


def _embeddings(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog import Catalog
    from core.features import FeatureJob
    from core.pretrained.cache import compute_missing_embeddings

    config = settings()
    models = list(MUSICNN_MODELS) if args.model == "all" else [args.model]
    with Catalog.open(config) as catalog:
        jobs = [FeatureJob(sha, path) for sha, path in catalog.audio_hashes()]
    with progress.counter(f"musicnn embeddings ({', '.join(models)})") as on_progress:
        report = compute_missing_embeddings(jobs, models, config, on_progress=on_progress)
    return _cache_report(report)


def _setup(args: argparse.Namespace, progress: Progress) -> int:
    """Each step does nothing when its result exists, so this is cheap once set up."""
    from core.catalog import Catalog
    from core.demo import render_counts
    from core.jobs import JobReporter
    from core.registry import active_run_id
    from core.setup import SetupProgress, setup_steps

    if args.detach:
        from core.jobs import start_job

        job, started = start_job(settings(), "setup", ["setup"])
        print(f"set-up job {job.id} {'started' if started else 'already running'}; the dashboard shows its progress")
        return 0
    run_active = False
    if Catalog.exists(settings()):
        with Catalog.open(settings()) as catalog:
            run_active = active_run_id(catalog) is not None
    steps = setup_steps(*render_counts(), run_active=run_active)
    if isinstance(progress, JobReporter):  # a background job: one overall bar, epochs for the Train page's curves
        overall = SetupProgress(steps, progress.progress, progress.event, progress.should_cancel)
    else:
        overall = SetupProgress(steps, _print_setup_line)
    for index, step in enumerate(steps):
        overall.start(index)
        step_args = build_parser().parse_args(step.argv)
        status = step_args.handler(step_args, overall)
        if status:
            return status
        overall.finish()
    return 0


def _print_setup_line(fraction: float, message: str, _last: list[float] = [0.0]) -> None:  # noqa: B006 (a throttle)
    """Set-up's overall progress in a terminal: a line every 10 s beside the steps' own bars."""
    import time

    if time.monotonic() - _last[0] >= 10:
        _last[0] = time.monotonic()
        print(f"[set-up {fraction:.0%}] {message}", file=sys.stderr)


def _info(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog import Catalog
    from core.features import FeatureCache
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


def _bench(args: argparse.Namespace, progress: Progress) -> int:
    from core.bench import bench_embeddings, bench_features, bench_pages, bench_score, bench_train, bench_uploads

    if args.target == "features":
        print(bench_features(settings(), clips=args.clips or 50))
    elif args.target == "train":
        print(bench_train(settings(), clips=args.clips or 200))
    elif args.target == "embeddings":
        print(bench_embeddings(settings(), clips=args.clips or 20))
    elif args.target == "pages":
        print(bench_pages(settings()))
    elif args.target == "uploads":
        print(bench_uploads(settings()))
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
            "complete": "set-up complete",
        }
        for key, seconds in times.items():
            print(f"| {labels[key]} | {seconds:.0f} |")
    else:
        print(bench_score(settings()))
    return 0


def _train(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog import Catalog
    from core.dataset import left_out_note
    from core.registry import list_runs, load_run
    from core.training import parse_models

    config = settings()
    models = parse_models(args.models)
    preset = training_preset(args.preset)
    with Catalog.open(config) as catalog:
        runs = list_runs(config, catalog)
        if args.if_missing and not (runs if args.quick_start else runs[~runs["quick_start"]]).empty:
            print("a trained run exists; nothing to do")
            return 0
        active = runs[runs["active"] & runs["quick_start"]]
        replacing = active.iloc[0]["id"] if args.replace_quick_start and not active.empty else None
        scale = catalog.summary().popularity_scale
    from core.evaluate import holdout_table
    from core.experiment import run_experiment  # loads TensorFlow: only now

    threshold = args.threshold or default_threshold_rule(scale)
    with (
        progress.counter(f"spectrograms ({preset.features})") as on_features,
        progress.counter("musicnn embeddings") as on_embeddings,
        progress.training(models) as on_progress,
    ):
        run = run_experiment(
            config,
            models=models,
            preset=preset,
            split=args.split,
            threshold_rule=threshold,
            epochs=args.epochs,
            activate=args.activate,
            replacing=replacing,
            quick_start=args.quick_start,
            on_features=on_features,
            on_embeddings=on_embeddings,
            on_progress=on_progress,
            should_cancel=progress.should_cancel,
        )
    with Catalog.open(config) as catalog:
        active = load_run(config, catalog).id
    if active == run.id:
        print(f"run {run.id} saved to {run.path}; it is the active run: songs are scored with it")
    else:
        print(
            f"run {run.id} saved to {run.path}; songs are still scored with run {active} "
            f"(switch with 'python -m core runs --activate {run.id}')"
        )
    left_out = left_out_note(run.meta.left_out)
    if left_out:
        print(left_out)
    _print_table(holdout_table(run.meta), run.meta)
    return 0


def _runs(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog import Catalog
    from core.registry import run_summaries, set_active

    config = settings()
    with Catalog.open(config) as catalog:
        if args.activate:
            set_active(catalog, args.activate)
            print(f"run {args.activate} is now active: songs are scored with it")
            return 0
        summaries = run_summaries(config, catalog)
    if args.json:
        print(json.dumps([s.as_dict() for s in summaries], indent=2))
        return 0
    if not summaries:
        print("no saved runs yet: train one with 'python -m core train' or on the Train page")
        return 0
    print(f"{'':2}{'id':<22} {'created (UTC)':<20} {'split':<7} {'preset':<6} {'best model':<10} best holdout ROC-AUC")
    for s in summaries:
        created = s.created[:19].replace("T", " ")
        auc = with_interval(s.best_auc, s.best_auc_ci, digits=2)
        print(
            f"{'*' if s.active else ' ':2}{s.id:<22} {created:<20} {s.split:<7} {s.preset:<6} {s.best_model:<10} {auc}"
        )
    print("* active: songs are scored with it. Switch with 'python -m core runs --activate ID'.")
    return 0


def _evaluate(args: argparse.Namespace, progress: Progress) -> int:
    from core.catalog import Catalog
    from core.evaluate import holdout_table
    from core.registry import list_runs, load_run

    config = settings()
    with Catalog.open(config) as catalog:
        if args.list:
            runs = list_runs(config, catalog)
            print(runs.to_json(orient="records") if args.json else runs.to_string(index=False))
            return 0
        run = load_run(config, catalog, args.run)
    table = holdout_table(run.meta)
    if args.json:
        print(json.dumps(table, indent=2))
    else:
        _print_table(table, run.meta)
    return 0


def _print_table(table: list[dict], meta: RunMeta) -> None:
    from core.architectures import DISPLAY_NAMES

    data = catalog_label(meta.synthetic, meta.catalog.source)
    print(
        f"Holdout results, run {meta.id}: {meta.split} split, {table[0]['n']} holdout tracks, "
        f"threshold {meta.threshold.value:g}, {data}. Brackets: 95% bootstrap intervals."
    )
    print(f"{'model':<9} {'accuracy':<22} {'ROC-AUC':<22} {'Brier (calibrated)':>18}")
    for row in table:
        accuracy = with_interval(row["accuracy"], row["accuracy_ci"])
        auc = with_interval(row["roc_auc"], row["roc_auc_ci"])
        print(f"{DISPLAY_NAMES[row['model']]:<9} {accuracy:<22} {auc:<22} {row['brier_calibrated']:>18.3f}")


def _pairs(items: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, separator, value = item.partition("=")
        if not separator or not key or not value:
            raise UsageError(f"'{item}' is not of the form A=B.", f"Write {option} like column=value.")
        pairs[key] = value
    return pairs


def _import(args: argparse.Namespace, progress: Progress) -> int:
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


def _score(args: argparse.Namespace, progress: Progress) -> int:
    """Exit 0 when every file was scored, 1 when some could not be (each is reported)."""
    from core.catalog import Catalog
    from core.registry import load_run

    config = settings()
    with Catalog.open(config) as catalog:
        run = load_run(config, catalog, args.run)
    from core.explain import describe
    from core.pretrained.similarity import CatalogEmbeddings
    from core.scoring import describe_song, score_many, scorer_for  # loads TensorFlow: only now

    scorer = scorer_for(run, args.model)
    neighbours = CatalogEmbeddings.load(config)
    items = score_many(scorer, [(path, path) for path in args.files])
    results = []
    for item in items:
        if item.score is None:
            results.append({"file": item.file, "error": item.error})
            continue
        result = item.score.as_dict()
        result.update(describe_song(item.score, neighbours, run.meta.threshold.value))
        if args.explain:
            explanation = scorer.explain_best_window(item.score, num_samples=args.samples)
            result["explanation_method"] = explanation.method
            result["regions"] = explanation.regions
            result["stability"] = explanation.stability
            result["summary"] = [describe(c, w) for c, w in explanation.top(+1, 3) + explanation.top(-1, 3)]
        results.append(result)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print_scores(results, run, scorer)
    return 1 if any("error" in r for r in results) else 0


def _print_scores(results: list[dict], run, scorer) -> None:
    auc = scorer.auc
    data = catalog_label(run.meta.synthetic, run.meta.catalog.source)
    print(
        f"Scored with {scorer.model_name} of run {run.id} "
        f"(holdout ROC-AUC {with_interval(auc.value, [auc.low, auc.high], 2)}, "
        f"{run.meta.split} split), trained on {data}."
    )
    if run.meta.synthetic:
        print(SYNTHETIC_VERDICTS)
    for rank, result in enumerate(results, 1):
        if "error" in result:
            print(f"  -  {result['file']}: {result['error']}")
            continue
        percentile = "" if result["percentile"] is None else f", {_ordinal(round(result['percentile']))} percentile"
        start, end = result["best_window"]
        print(
            f"{rank:>3}. {result['file']}: {result['verdict']} ({result['probability']:.0%}{percentile}); "
            f"best 30 s: {start:.0f}-{end:.0f} s"
        )
        if result["note"]:
            print(f"       {result['note']}")
        if result["unlike_catalog"]:
            print(
                f"       unlike anything in the catalog (nearest similarity {result['nearest_similarity']:.2f}): "
                "this verdict extrapolates; treat it as a guess"
            )
        print("       sounds like: " + ", ".join(f"{t['tag']} {t['probability']:.0%}" for t in result["tags"][:5]))
        if result["unlike_catalog"] is None:
            print("       no catalog embeddings yet ('python -m core embeddings'): no similar catalog tracks to show")
        if result["sounds_like"]:
            share = result["sounds_like_popular_share"]
            nearest = result["sounds_like"][0]
            synthetic = " (synthetic demo)" if nearest["synthetic"] else ""
            print(
                f"       nearest catalog track{synthetic}: {nearest['track']} by {nearest['artist']} "
                f"(similarity {nearest['similarity']:.2f}); "
                f"{share:.0%} of the {len(result['sounds_like'])} nearest are popular"
            )
        for line in result.get("summary", []):
            print(f"       {line}")


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _collect(args: argparse.Namespace, progress: Progress) -> int:
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
