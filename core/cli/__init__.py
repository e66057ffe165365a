"""The command line: ``python -m core <command>``. Every page of the dashboard calls the same
core functions these commands do. This module parses the command line and runs the command;
the commands live in this package's modules, by what they work on. A command is a function
``(args, progress) -> exit status``; ``progress`` is a ``core.progress.Progress``: terminal
bars, or the job's row when the dashboard runs the command as a background job.

Expected failures (a ``HitlensError``, and a full disk wherever it is met) print one line and
exit with status 2; an interrupt exits with 130 and whatever finished is kept, so rerunning
resumes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli import bench as bench_command
from core.cli import compare, data, models, scoring
from core.cli import setup as setup_command
from core.config import DEFAULT_PRESET, DEFAULT_TRAINING_PRESET, ENGINES, FEATURE_PRESETS, TRAINING_PRESETS, settings
from core.errors import Cancelled, DiskFull, HitlensError, damaged_catalog, disk_failure
from core.pretrained.musicnn import DEFAULT_MODEL as DEFAULT_MUSICNN
from core.pretrained.musicnn import MODELS as MUSICNN_MODELS
from core.progress import TerminalProgress
from core.wording import DEFAULT_THRESHOLD_RULE

if TYPE_CHECKING:
    from core.jobs import JobReporter, JobStatus


def _whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``, refused at parse time (exit 2)
    so that no command starts work, or takes memory, for a number it cannot use."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low:,} to {high:,}, not {value:,}")
        return value

    return parse


# The bounds of every numeric option (docs/reliability.md). LIME's samples: its data matrix
# and distances grow with them (10^8 took 5 GB); 20,000 is 20 times the default.
SEED = _whole(0, 2**32 - 1)
DEMO_TRACKS = _whole(1, 50_000)
COLLECT_TRACKS = _whole(1, 1_000_000)
WORKERS = _whole(1, 64)
EPOCHS = _whole(1, 1_000)
LIME_SAMPLES = _whole(30, 20_000)
BENCH_CLIPS = _whole(1, 10_000)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    job = None
    try:
        job = _job_reporter(args)
        status = args.handler(args, job or TerminalProgress()) or 0
        sys.stdout.flush()  # a reader that went away (info --json | head) is met here, not at exit
    except BrokenPipeError:
        _stop_writing_stdout()
        _finish(job, "failed", error="Its output's reader went away.")
        return 1
    except HitlensError as error:
        print(f"error: {error}", file=sys.stderr)
        _finish(job, "failed", error=str(error))
        return 2
    except Cancelled as cancelled:
        _finish(job, "cancelled", error=None)
        print(f"cancelled: {cancelled.kept}", file=sys.stderr)
        return 1
    except BaseException as error:
        # A full disk met anywhere (a cache file, the catalog), or a damaged catalog met after
        # it opened (a page read late), is an expected failure too.
        failure = disk_failure(error, settings().home) or damaged_catalog(error, settings().catalog_path)
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


def _job_reporter(args: argparse.Namespace) -> JobReporter | None:
    if getattr(args, "job_id", None) is None:
        return None
    from core.jobs import JobReporter

    return JobReporter(settings(), args.job_id)


def _finish(job: JobReporter | None, status: JobStatus, error: str | None = None) -> None:
    if job is not None:
        # On a full disk the job's row cannot be written; it is marked failed once its process is gone.
        with contextlib.suppress(DiskFull):
            job.finish(status, error=error)


def _stop_writing_stdout() -> None:
    """Point standard output at the null device: the reader of a pipe stopped reading, so the
    interpreter's last flush at exit must not fail again (Python's documented way out)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _expected_failure(error: BaseException) -> int:
    """Ctrl-C becomes one line and an exit code; anything else is a bug: re-raise."""
    if isinstance(error, KeyboardInterrupt):
        print("interrupted: finished work is kept; run the same command again to resume.", file=sys.stderr)
        return 130
    raise error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hitlens" if Path(sys.argv[0]).name == "hitlens" else "python -m core",  # the console script or -m
        description="Hitlens: does an unreleased hip-hop song sound like what is popular now?",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="build the synthetic demo catalog (offline)")
    demo.add_argument("--tracks", type=DEMO_TRACKS, default=1200, help="catalog rows (default 1200)")
    demo.add_argument("--seed", type=SEED, default=42, help="random seed (default 42)")
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
    demo.set_defaults(handler=data.demo)

    features = commands.add_parser("features", help="compute missing spectrograms for the catalog")
    features.add_argument(
        "--preset",
        choices=[*FEATURE_PRESETS, "all"],
        default=DEFAULT_PRESET,
        help=f"feature preset (default {DEFAULT_PRESET})",
    )
    features.add_argument(
        "--workers", type=WORKERS, default=None, help="processes, or Ray actors (default: one per core or Ray CPU)"
    )
    _add_engine_option(features)
    _add_job_option(features)
    features.set_defaults(handler=data.features)

    embeddings = commands.add_parser("embeddings", help="compute missing musicnn tags and embeddings for the catalog")
    embeddings.add_argument(
        "--model",
        choices=[*MUSICNN_MODELS, "all"],
        default=DEFAULT_MUSICNN,
        help=f"pretrained model (default {DEFAULT_MUSICNN})",
    )
    _add_engine_option(embeddings)
    _add_job_option(embeddings)
    embeddings.set_defaults(handler=data.embeddings)

    setup = commands.add_parser(
        "setup", help="what a fresh install needs: demo catalog if none, spectrograms, embeddings, default run if none"
    )
    setup.add_argument("--detach", action="store_true", help="run as a background job the dashboard shows, and return")
    _add_engine_option(setup)
    _add_job_option(setup)
    setup.set_defaults(handler=setup_command.setup)

    info = commands.add_parser("info", help="describe the catalog and the feature cache")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(handler=data.info)

    train = commands.add_parser("train", help="train and compare the models; saves a run")
    train.add_argument(
        "--models",
        default="all",
        help="all, or some of dummy,mlp,cnn1,cnn2,cnn_gru,musicnn and context,regression "
        "(fitted on the best of those audio models and the artist's context)",
    )
    train.add_argument("--preset", choices=list(TRAINING_PRESETS), default=DEFAULT_TRAINING_PRESET)
    train.add_argument("--split", choices=["random", "song", "artist"], default="random")
    train.add_argument(
        "--threshold",
        choices=["study", "median"],
        default=None,
        help=f"popularity threshold rule (default: {DEFAULT_THRESHOLD_RULE})",
    )
    train.add_argument("--epochs", type=EPOCHS, default=None, help="override the preset's epochs")
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
    # Set-up's own runs: a provisional first run, the default run, then the study's comparison;
    # each replaces the one before as the active run unless the user has chosen another meanwhile.
    train.add_argument("--quick-start", action="store_true", help=argparse.SUPPRESS)
    train.add_argument("--setup-run", action="store_true", help=argparse.SUPPRESS)
    train.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing when a trained run has every audio model asked for (set-up's quick-start run does not count)",
    )
    _add_engine_option(train)
    _add_job_option(train)
    train.set_defaults(handler=models.train)

    runs = commands.add_parser("runs", help="list the saved runs; choose the one songs are scored with")
    runs.add_argument("--json", action="store_true", help="print a JSON list, one object per run, newest first")
    runs.add_argument("--activate", metavar="ID", default=None, help="score songs with run ID from now on")
    runs.set_defaults(handler=models.runs)

    evaluate = commands.add_parser("evaluate", help="print a run's holdout results with 95%% intervals")
    evaluate.add_argument("--run", default=None, help="run id (default: the active run)")
    evaluate.add_argument("--json", action="store_true", help="print a JSON list, one object per model")
    evaluate.add_argument("--list", action="store_true", help="list the saved runs instead")
    evaluate.set_defaults(handler=models.evaluate)

    collect = commands.add_parser("collect", help="collect real recent hip-hop tracks and previews (resumable)")
    collect.add_argument(
        "--source",
        choices=["deezer", "spotify"],
        default="deezer",
        help="deezer (public, no key; rank as popularity) or spotify (needs an app with popularity access)",
    )
    collect.add_argument(
        "--tracks", type=COLLECT_TRACKS, default=1000, help="stop when the catalog holds this many from the source"
    )
    collect.add_argument("--years", default=None, help="release years, e.g. 2019-2021 (default: the last three years)")
    collect.add_argument("--market", default="US", help="Spotify market (default US)")
    collect.add_argument(
        "--seed", type=SEED, default=42, help="sampling seed (default 42); resuming needs the same one"
    )
    collect.add_argument(
        "--replace-demo", action="store_true", help="replace the synthetic demo catalog (runs are kept)"
    )
    _add_job_option(collect)
    collect.set_defaults(handler=data.collect)

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
    importer.set_defaults(handler=data.import_file)

    score = commands.add_parser("score", help="score songs with the active run: verdict, probability, best 30 s")
    score.add_argument("files", nargs="+", metavar="FILE", help="mp3, wav, flac, ogg or m4a files")
    score.add_argument("--run", default=None, help="run id (default: the active run)")
    score.add_argument(
        "--model", default=None, help="the run's model to score with (default: its best by holdout ROC-AUC)"
    )
    score.add_argument("--explain", action="store_true", help="add LIME regions for the best window")
    score.add_argument(
        "--samples",
        type=LIME_SAMPLES,
        default=1000,
        help="LIME samples (default 1000; the musicnn model is explained by occlusion)",
    )
    score.add_argument(
        "--artist",
        default=None,
        metavar="NAME",
        help="the releasing artist, from the catalog: adds the verdict with their fans and history",
    )
    score.add_argument(
        "--fans",
        type=float,
        default=None,
        metavar="N",
        help="the releasing artist's fan count, for an artist not in the catalog (no history)",
    )
    score.add_argument("--json", action="store_true", help="print a JSON list, one object per file")
    _add_engine_option(score)
    score.set_defaults(handler=scoring.score)

    versions = commands.add_parser(
        "compare", help="compare two versions of one song (mixes, edits) on the same aligned windows"
    )
    versions.add_argument("a", metavar="A", help="the first version (mp3, wav, flac, ogg or m4a)")
    versions.add_argument("b", metavar="B", help="the second version; differences are B minus A")
    versions.add_argument("--run", default=None, help="run id (default: the active run)")
    versions.add_argument(
        "--model", default=None, help="the run's model to score with (default: its best by holdout ROC-AUC)"
    )
    versions.add_argument(
        "--samples",
        type=LIME_SAMPLES,
        default=None,
        help="LIME samples per version (default: core.songs.compare's fast setting; musicnn is explained by occlusion)",
    )
    versions.add_argument("--json", action="store_true", help="print one JSON object")
    versions.set_defaults(handler=compare.compare)

    bench = commands.add_parser("bench", help="measure the pipeline's speed")
    bench.add_argument(
        "target",
        choices=["features", "train", "score", "embeddings", "pages", "uploads", "setup", "scale"],
        help="what to measure",
    )
    bench.add_argument(
        "--clips",
        type=BENCH_CLIPS,
        default=None,
        help="demo clips to use (default 50 for features, 200 for train, 40 for scale)",
    )
    bench.add_argument(
        "--workers", type=WORKERS, default=None, help="scale: local processes and Ray actors (default: one per core)"
    )
    bench.add_argument("--json", action="store_true", help="scale: print the figures as JSON")
    bench.add_argument(
        "--first-verdict",
        action="store_true",
        help="setup: stop once a first song is scored instead of timing the whole set-up",
    )
    bench.add_argument(
        "--songs",
        type=Path,
        nargs="+",
        default=None,
        help="pages: songs to upload to the Score page (default: three of the catalog's clips)",
    )
    bench.set_defaults(handler=bench_command.bench)
    return parser


def _add_engine_option(command: argparse.ArgumentParser) -> None:
    # The names only: core.engine.ray_engine, which imports Ray, loads when "ray" is chosen.
    command.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="where the work runs: this machine's processes ('local'), or Ray: the cluster at RAY_ADDRESS, else a "
        "local Ray ('pip install hitlens[ray]'); default: HITLENS_ENGINE, else local",
    )


def _add_job_option(command: argparse.ArgumentParser) -> None:
    # Set by core.jobs when the dashboard runs this command in the background.
    command.add_argument("--job-id", type=int, default=None, help=argparse.SUPPRESS)
