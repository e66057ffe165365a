"""The Ray engine (``--engine ray``): spectrograms, musicnn embeddings, batch scoring and
training on a Ray cluster, or on a local Ray when ``RAY_ADDRESS`` is not set.

Work goes through Ray Data (``map_batches`` over an actor pool): each actor loads what is
heavy (musicnn, a run's scorer) once in its constructor and then takes clips one at a time.
Actors only compute; the driver, this process, writes every result into the same caches the
local engine fills, under the same keys and through the same atomic writes
(``FeatureCache.save``, ``EmbeddingCache.save``). So a run resumes whichever engine computed
what, and a killed worker or driver loses at most the clips in flight: a cache file is
either whole or absent, and the next run computes exactly the missing ones.

Training (``train --engine ray``) goes through plain Ray tasks instead: one per Keras model,
each training that model as the local engine would and returning its weights; the driver
trains the seconds-long models (the baseline, musicnn's head, those on top) itself and saves
the one run.

Workers read the audio and the run's files by the paths the driver gives them, so every
node must see ``HITLENS_HOME`` (and the catalog's audio) at the same path: one machine, or a
shared file system.

Ray is an optional extra and is imported here only, inside functions, so nothing else in
Hitlens pays for it or needs it installed.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from core.config import FeaturePreset, Settings, TrainingPreset
from core.errors import AudioError, Cancelled, RayUnavailable

if TYPE_CHECKING:
    from core.audio.features import FeatureJob, FeatureReport
    from core.cli.scoring import ScoringRequest
    from core.learning.training import ModelResult, TrainingData, TrainingEvent

INSTALL_ADVICE = "Install it with 'pip install hitlens[ray]' ('make setup' installs every extra)."


def ray_module() -> ModuleType:
    """Ray with Ray Data, or one line saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise RayUnavailable("--engine ray needs Ray, which is not installed.", INSTALL_ADVICE) from error
    return ray


@contextlib.contextmanager
def connected(workers: int | None = None) -> Iterator[int]:
    """Connect to the cluster at ``RAY_ADDRESS``, or start a local Ray on 127.0.0.1 with at
    most ``workers`` CPUs; yields how many actors to use at most, and disconnects (stopping a
    local Ray) on the way out, whatever happens inside."""
    ray = ray_module()
    address = os.environ.get("RAY_ADDRESS")
    try:
        _start(ray, address, workers)
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as error:
        raise _unreachable(address, error) from error
    _quiet_progress(ray)
    try:
        yield actor_count(ray, workers)
    finally:
        ray.shutdown()


def _start(ray: ModuleType, address: str | None, workers: int | None) -> None:
    # Workers' own logs stay in Ray's session folder: forwarded, they would mix with what a
    # command prints (`score --json` must print JSON only).
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address:
        _check_reachable(address)
        ray.init(address=address, **quiet)
        return
    # "local": a new Ray of this process's own, never one that a `ray start` left running here.
    ray.init(
        address="local", num_cpus=local_cpus(workers), include_dashboard=False, _node_ip_address="127.0.0.1", **quiet
    )


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail at once when nothing listens at a ``host:port`` address: ``ray.init`` would retry
    for minutes, printing a warning every few seconds (measured: over 2 minutes)."""
    host, separator, port = address.rpartition(":")
    if not separator or not port.isdigit() or "://" in host:
        return  # "auto", a ray:// client address: Ray's own lookup decides
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise _unreachable(address, error) from error


def _unreachable(address: str | None, error: Exception) -> RayUnavailable:
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if address:
        return RayUnavailable(
            f"Hitlens could not connect to the Ray cluster at {address} ({first_line}).",
            "Check RAY_ADDRESS (the head's host:port), and that RAY_AUTH_TOKEN holds the cluster's token "
            "('ray get-auth-token' on the head); unset RAY_ADDRESS to run on a local Ray instead.",
        )
    return RayUnavailable(
        f"Hitlens could not start a local Ray ({first_line}).",
        "Run without '--engine ray' (the local engine), or set RAY_ADDRESS to a running cluster.",
    )


def local_cpus(workers: int | None) -> int:
    """A local Ray gets the cores asked for, never more than the machine has."""
    cores = os.cpu_count() or 1
    return max(1, min(workers or cores, cores))


def actor_count(ray: ModuleType, workers: int | None) -> int:
    """One actor per CPU of the cluster (each asks for one), or ``workers`` when fewer."""
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    return min(workers, cpus) if workers else cpus


def _quiet_progress(ray: ModuleType) -> None:
    """Hitlens draws its own progress; Ray Data's bars and its notes on each run ("execution
    finished", "progress bars disabled") would be written over it."""
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False


def stream(items: list[dict[str, Any]], worker: type, options: Mapping[str, Any], actors: int) -> Iterator[dict]:
    """Every row ``worker`` returns for ``items``, in the order they finish.

    ``worker`` is a Ray Data callable class built with ``options`` on ``actors`` actors of one
    CPU each, all started at once so that every node takes work from the first clip; the pool
    may shrink to one, so losing a node slows a run instead of stopping it.
    Batches of one item keep the work in flight, and what a lost actor takes with it, to one clip.
    """
    ray = ray_module()
    size = max(1, min(actors, len(items)))
    dataset = ray.data.from_items(items).map_batches(
        worker,
        fn_constructor_kwargs=dict(options),
        batch_size=1,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(min_size=1, initial_size=size, max_size=size),
        num_cpus=1,
    )
    yield from dataset.iter_rows()


def pack(arrays: dict[str, np.ndarray]) -> bytes:
    """Named arrays as the bytes of one ``.npz``: one binary value per row, whatever the arrays'
    shapes (a clip's patch count varies), exactly as computed."""
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def unpack(payload: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(payload), allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files}


def clip_rows(batch: Mapping[str, np.ndarray], compute: Callable[[Path], dict[str, np.ndarray]]) -> dict:
    """A worker's answer for a batch of clips: each clip's arrays packed, or why its audio could
    not be read (that clip fails, the others go on, as in the local engine)."""
    shas, errors, payloads = [], [], []
    for sha256, path in zip(batch["sha256"], batch["path"], strict=True):
        try:
            payload, error = pack(compute(Path(str(path)))), ""
        except AudioError as problem:
            payload, error = b"", str(problem)
        shas.append(str(sha256))
        errors.append(error)
        payloads.append(payload)
    return {"sha256": np.array(shas), "error": np.array(errors), "payload": np.array(payloads, dtype=object)}


def clip_outcomes(
    todo: Iterable[FeatureJob],
    worker: type,
    options: Mapping[str, Any],
    save: Callable[[str, dict[str, np.ndarray]], None],
    workers: int | None,
) -> Iterator[tuple[str, str | None]]:
    """(SHA-256, error or None) per clip of ``todo``, computed on Ray and
    ``save``d here, in the driver, as each arrives: ``core.audio.features.collect_outcomes`` counts them."""
    items = [{"sha256": job.sha256, "path": str(job.audio_path)} for job in todo]
    with connected(workers) as actors:
        for row in stream(items, worker, options, actors):
            sha256, error = str(row["sha256"]), str(row["error"])
            if error:
                yield sha256, error
                continue
            save(sha256, unpack(row["payload"]))
            yield sha256, None


class SpectrogramWorker:
    """A Ray actor that decodes each clip once and returns its spectrogram for every preset."""

    def __init__(self, presets: list[FeaturePreset]) -> None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)  # one CPU per actor: BLAS threads would fight (core.engine.parallel says why)
        self.presets = presets

    def __call__(self, batch: dict[str, np.ndarray]) -> dict:
        return clip_rows(batch, self.spectrograms)

    def spectrograms(self, path: Path) -> dict[str, np.ndarray]:
        from core.audio.decode import load_audio
        from core.audio.features import log_mel

        samples = load_audio(path)
        return {preset.name: log_mel(samples, preset) for preset in self.presets}


def compute_missing_on_ray(
    jobs: Iterable[FeatureJob],
    presets: list[FeaturePreset],
    settings: Settings,
    *,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> FeatureReport:
    """``core.audio.features.compute_missing`` on Ray: the same plan, the same cache files, the same
    report; only where each spectrogram is computed differs."""
    from core.audio.features import FeatureCache

    def spectrogram(arrays: dict[str, np.ndarray], preset: FeaturePreset) -> np.ndarray:
        return arrays[preset.name]

    cache, options = FeatureCache(settings), {"presets": presets}
    return _fill_on_ray(cache, jobs, presets, SpectrogramWorker, options, spectrogram, workers, on_progress)


def _fill_on_ray(
    cache,
    jobs: Iterable[FeatureJob],
    keys: list,
    worker: type,
    options: Mapping[str, Any],
    value_of: Callable[[dict[str, np.ndarray], Any], Any],
    workers: int | None,
    on_progress: Callable[[int, int], None] | None,
) -> FeatureReport:
    """Fill ``cache`` (a ``FeatureCache`` or an ``EmbeddingCache``) with what it lacks under
    ``keys`` for ``jobs``: ``worker`` actors compute each clip's arrays, and the driver saves
    ``value_of(arrays, key)`` for each key still missing."""
    from core.audio.features import collect_outcomes, plan_missing

    todo, report = plan_missing(jobs, cache, keys, on_progress)
    if not todo:
        return report

    def save(sha256: str, arrays: dict[str, np.ndarray]) -> None:
        for key in keys:
            if not cache.has(sha256, key):
                cache.save(sha256, key, value_of(arrays, key))

    collect_outcomes(clip_outcomes(todo, worker, options, save, workers), report, len(todo), on_progress)
    return report


class EmbeddingWorker:
    """A Ray actor holding the musicnn models, loaded once in its constructor (about 3 s each),
    that returns each clip's patch tags and embeddings."""

    def __init__(self, models: list[str]) -> None:
        from core.pretrained.musicnn import load_model

        self.loaded = [load_model(model) for model in models]

    def __call__(self, batch: dict[str, np.ndarray]) -> dict:
        return clip_rows(batch, self.outputs)

    def outputs(self, path: Path) -> dict[str, np.ndarray]:
        from core.audio.decode import load_audio
        from core.config import CLIP_SECONDS, SAMPLE_RATE

        samples = load_audio(path)[: int(CLIP_SECONDS * SAMPLE_RATE)]  # a catalog clip is its first 30 s
        arrays = {}
        for musicnn in self.loaded:
            outputs = musicnn.analyse(samples, label=path.name)
            arrays[f"{musicnn.name}.tags"] = outputs.tags
            arrays[f"{musicnn.name}.embeddings"] = outputs.embeddings
        return arrays


def compute_missing_embeddings_on_ray(
    jobs: Iterable[FeatureJob],
    models: list[str],
    settings: Settings,
    *,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> FeatureReport:
    """``core.pretrained.cache.compute_missing_embeddings`` on Ray, into the same cache."""
    from core.pretrained.cache import EmbeddingCache
    from core.pretrained.musicnn import PatchOutputs

    def outputs(arrays: dict[str, np.ndarray], model: str) -> PatchOutputs:
        return PatchOutputs(arrays[f"{model}.tags"], arrays[f"{model}.embeddings"])

    return _fill_on_ray(
        EmbeddingCache(settings), jobs, models, EmbeddingWorker, {"models": models}, outputs, workers, on_progress
    )


class ScoringWorker:
    """A Ray actor holding one run's scorer (``core.cli.scoring.FileScorer``: the model, the
    feeding model, the catalog's domain), built once in its constructor, that returns each
    file's result as ``score --json`` prints it, with its place in the ranking."""

    def __init__(self, request: ScoringRequest) -> None:
        from core.cli.scoring import FileScorer

        self.scorer = FileScorer(request)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict:
        import json

        from core.songs.scoring import ranking_key

        indices, keys, results = [], [], []
        for index, name, path in zip(batch["index"], batch["name"], batch["path"], strict=True):
            item = self.scorer.score([(str(name), str(path))])[0]
            key = list(ranking_key(item)) if item.score is not None else []
            indices.append(int(index))
            keys.append(json.dumps(key))
            results.append(json.dumps(self.scorer.result(item, source=str(path))))
        return {"index": np.array(indices), "key": np.array(keys), "result": np.array(results)}


def score_on_ray(files: list[str], request: ScoringRequest, *, workers: int | None = None) -> list[dict]:
    """Every file's result, scored on Ray actors, in the order ``core.songs.scoring.score_many``
    gives: songs with a verdict first, most promising first, then withheld songs, then
    files that could not be scored, each group in input order where it ties."""
    import json

    # Each file under the name the user gave, read from its absolute path: a worker's working
    # folder is not this command's.
    items = [{"index": index, "name": name, "path": os.path.abspath(name)} for index, name in enumerate(files)]
    with connected(workers) as actors:
        rows = list(stream(items, ScoringWorker, {"request": request}, actors))
    ranked = []
    for row in rows:
        key = json.loads(str(row["key"]))
        errored = not key
        ranked.append(((errored, key, int(row["index"])), json.loads(str(row["result"]))))
    return [result for _, result in sorted(ranked, key=lambda entry: entry[0])]


def train_on_ray(
    models: list[str],
    data: TrainingData,
    preset: TrainingPreset,
    *,
    epochs: int | None = None,
    on_progress: Callable[[TrainingEvent], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> dict[str, ModelResult]:
    """Each Keras model of ``models`` trained as a Ray task of its own, with the local
    engine's seed, data and code (``core.learning.training.train_models`` on that one model), asking
    for one GPU when the cluster has any and one CPU otherwise. Returns the results in the
    order of ``models``, each model rebuilt here from its saved weights, so the driver saves
    the run exactly as the local engine would.

    A task cannot call back into this process: each model's epochs are reported, with their
    figures, when its task ends; cancellation is checked every second and cancels the tasks."""
    ray = ray_module()
    with connected():
        gpus = ray.cluster_resources().get("GPU", 0) >= 1
        task = ray.remote(_train_one).options(num_cpus=0 if gpus else 1, num_gpus=1 if gpus else 0)
        pending = {task.remote(name, data, preset, epochs): name for name in models}
        results: dict[str, ModelResult] = {}
        while pending:
            if should_cancel is not None and should_cancel():
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise Cancelled(f"training of {', '.join(pending.values())} was cancelled")
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in done:
                name = pending.pop(ref)
                result, weights = ray.get(ref)
                result.model = _model_from(weights)
                results[name] = result
                if on_progress is not None:
                    for event in epoch_events(result, preset, epochs):
                        on_progress(event)
    return {name: results[name] for name in models}


def _train_one(name: str, data: TrainingData, preset: TrainingPreset, epochs: int | None) -> tuple[ModelResult, bytes]:
    """In a Ray worker: one model trained as the local engine trains it, and its weights as a
    ``.keras`` file's bytes (a Keras model does not travel between processes as it is)."""
    import tempfile

    from core.learning.training import train_models, training_device

    result = train_models([name], data, preset, epochs=epochs)[name]
    result.device = training_device()
    model: Any = result.model  # a keras.Model
    with tempfile.TemporaryDirectory(prefix="hitlens-ray-") as folder:
        path = Path(folder) / f"{name}.keras"
        model.save(path)
        weights = path.read_bytes()
    result.model = None
    return result, weights


def _model_from(weights: bytes):
    import tempfile

    import keras

    with tempfile.TemporaryDirectory(prefix="hitlens-ray-") as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(weights)
        return keras.saving.load_model(path)


def epoch_events(result: ModelResult, preset: TrainingPreset, epochs: int | None) -> Iterator[TrainingEvent]:
    """A finished model's epochs as the end-of-epoch events its training would have reported."""
    from core.learning.training import TrainingEvent

    planned = epochs or preset.epochs[result.name]
    for index in range(result.epochs_run):
        figures = {key: values[index] for key, values in result.history.items() if index < len(values)}
        yield TrainingEvent(result.name, index + 1, planned, None, 0, figures)
