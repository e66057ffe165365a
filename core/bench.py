"""Benchmarks (``python -m core bench ...``): speed targets live here, not in tests."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from core.audio import load_audio
from core.catalog import Catalog
from core.config import FEATURE_PRESETS, Settings
from core.dataset import MinMaxScaling
from core.errors import UsageError
from core.features import FeatureJob, compute_missing, log_mel


def _demo_clips(settings: Settings, count: int) -> list[tuple[str, Path]]:
    with Catalog.open(settings) as catalog:
        if not catalog.summary().synthetic:
            raise UsageError("The benchmark runs on demo clips.", "Build them with 'python -m core demo'.")
        clips = sorted(catalog.audio_hashes())[:count]
    if len(clips) < count:
        raise UsageError(f"Only {len(clips)} demo clips have audio.", "Build a larger demo catalog.")
    return clips


def study_route(path: Path) -> np.ndarray:
    """The study's pipeline: pydub turns the mp3 into a wav (through ffmpeg), librosa.load
    reads it with its defaults, then melspectrogram and power_to_db with their defaults."""
    import imageio_ffmpeg
    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydub warns that no system ffmpeg is on PATH
        from pydub import AudioSegment
    AudioSegment.converter = imageio_ffmpeg.get_ffmpeg_exe()
    # codec= skips pydub's ffprobe call (imageio-ffmpeg ships ffmpeg only).
    segment = AudioSegment.from_file(str(path), format="mp3", codec="mp3")
    with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
        segment.export(wav.name, format="wav")
        samples, rate = librosa.load(wav.name, duration=30)
    return librosa.power_to_db(librosa.feature.melspectrogram(y=samples, sr=rate), ref=np.max)


def _clips_per_second(run: Callable[[], None], clips: int) -> float:
    start = time.perf_counter()
    run()
    return clips / (time.perf_counter() - start)


def bench_features(settings: Settings, clips: int = 50) -> str:
    """Clips per second of the study's route and of Hitlens' pipeline on the same clips."""
    chosen = _demo_clips(settings, clips)
    paths = [path for _, path in chosen]
    study, fast = FEATURE_PRESETS["study"], FEATURE_PRESETS["fast"]
    log_mel(load_audio(paths[0]), study)  # warm-up: librosa's first call compiles (numba)
    study_route(paths[0])

    rows: list[tuple[str, float]] = [
        (
            "study route: pydub mp3->wav, librosa.load, melspectrogram, power_to_db (1 process)",
            _clips_per_second(lambda: [study_route(p) for p in paths], clips),
        ),
        (
            f"Hitlens, study preset {study.n_mels}x{study.frames} (1 process)",
            _clips_per_second(lambda: [log_mel(load_audio(p), study) for p in paths], clips),
        ),
        (
            f"Hitlens, fast preset {fast.n_mels}x{fast.frames} (1 process)",
            _clips_per_second(lambda: [log_mel(load_audio(p), fast) for p in paths], clips),
        ),
    ]
    for presets, label in (
        ([study], "study preset"),
        ([fast], "fast preset"),
        ([study, fast], "both presets, one decode"),
    ):
        with tempfile.TemporaryDirectory() as scratch:
            jobs = [FeatureJob(sha, path) for sha, path in chosen]
            run = partial(compute_missing, jobs, presets, Settings(home=Path(scratch)))
            rows.append(
                (f"`python -m core features`, {label}, cached to disk (2 processes)", _clips_per_second(run, clips))
            )

    baseline = rows[0][1]
    lines = [
        f"Feature extraction on {clips} demo clips (30 s mp3, 22,050 Hz), one run:",
        "",
        "| pipeline | clips/s | vs study route |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {rate:.1f} | {rate / baseline:.1f}x |" for label, rate in rows]
    return "\n".join(lines)


def _epoch_cost(task: tuple[str, str, list[str], list[float], str]) -> tuple[float, int]:
    """Runs in a fresh process: one model, one preset, two epochs on the given clips.
    Returns (seconds of the second epoch, peak resident memory in MiB)."""
    import resource

    from core.config import TRAINING_PRESETS
    from core.dataset import MinMaxScaling
    from core.features import FeatureCache
    from core.training import TrainingData, train_models

    model, preset_name, shas, labels, home = task
    preset = TRAINING_PRESETS[preset_name]
    features = preset.feature_preset()
    part = (shas, np.array(labels, dtype=np.float32))
    data = TrainingData(FeatureCache(Settings(home=Path(home))), features, MinMaxScaling(-80.0, 0.0), part, part, part)
    marks: list[float] = []
    train_models(
        [model], data, preset, epochs=2, on_progress=lambda e: e.batch is None and marks.append(time.perf_counter())
    )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return marks[1] - marks[0], int(peak_mib)


def bench_train(settings: Settings, clips: int = 200) -> str:
    """Seconds per training epoch of each Keras model at both presets, on the same clips.

    Each measurement runs in a fresh process (so peak memory is that model's own) and times
    the second epoch (the first includes graph tracing). Validation runs on the same clips.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from core.architectures import DISPLAY_NAMES, KERAS_MODELS

    chosen = _demo_clips(settings, clips)
    compute_missing([FeatureJob(sha, path) for sha, path in chosen], list(FEATURE_PRESETS.values()), settings)
    shas = [sha for sha, _ in chosen]
    labels = [float(i % 2) for i in range(len(shas))]  # cost does not depend on the labels
    context = multiprocessing.get_context("spawn")
    rows = []
    for model in KERAS_MODELS:
        costs = {}
        for preset in ("study", "fast"):
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                costs[preset] = pool.submit(_epoch_cost, (model, preset, shas, labels, str(settings.home))).result()
        ratio = costs["study"][0] / costs["fast"][0]
        rows.append(
            f"| {DISPLAY_NAMES[model]} | {costs['study'][0]:.1f} | {costs['study'][1]:,} | "
            f"{costs['fast'][0]:.1f} | {costs['fast'][1]:,} | {ratio:.1f}x |"
        )
    return "\n".join(
        [
            f"Training cost on {clips} demo clips (train and validation on the same clips), one run:",
            "",
            "| model | study s/epoch | study peak MiB | fast s/epoch | fast peak MiB | study/fast |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            _default_run_line(settings),
        ]
    )


def _default_run_line(settings: Settings) -> str:
    """How long the active run's training took, as the run itself recorded it."""
    from core.registry import RunMissing, load_run

    with Catalog.open(settings) as catalog:
        try:
            run = load_run(settings, catalog)
        except RunMissing:
            return "No active run: train one to see the time of a whole run."
    seconds = run.meta.seconds
    epochs = ", ".join(f"{name} {count}" for name, count in run.meta.epochs_run.items() if count)
    return (
        f"Active run {run.id} ({run.meta.training_preset} preset, {run.meta.split} split, "
        f"{run.meta.split_sizes['train']} training tracks): {sum(seconds.values()) / 60:.1f} min of "
        f"training for {len(seconds)} models (epochs run: {epochs})."
    )


def bench_score(settings: Settings) -> str:
    """Time to a verdict (decode, windows, spectrograms, model) for a 30 s clip and a 3.5 min
    song, and of one LIME explanation at 1,000 samples, at both presets.

    The model is the active run's best architecture with fresh weights at each preset (the
    cost does not depend on the weights; a study-preset run takes hours to train here)."""
    import soundfile as sf

    from core.architectures import build_model
    from core.evaluate import PlattCalibration
    from core.explain import explain
    from core.registry import load_run
    from core.scoring import Scorer

    with Catalog.open(settings) as catalog:
        run = load_run(settings, catalog)
    name = run.meta.best_model
    clip_path = _demo_clips(settings, 1)[0][1]
    clip = load_audio(clip_path)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        song_path = Path(scratch) / "song.mp3"
        sf.write(song_path, np.tile(clip, 7), 22_050, format="MP3")  # 3.5 min
        for preset in (FEATURE_PRESETS["fast"], FEATURE_PRESETS["study"]):
            scorer = Scorer.__new__(Scorer)
            scorer.run, scorer.model_name, scorer.preset = run, name, preset
            scorer.model = build_model(name, (*preset.shape, 1))
            scorer.scaling = MinMaxScaling(-80.0, 0.0)
            scorer.calibration = PlattCalibration(1.0, 0.0)
            scorer.reference = np.array([])
            scorer.score(clip_path)  # warm-up: graph tracing
            timings = {}
            for label, path in (("30 s clip", clip_path), ("3.5 min song", song_path)):
                start = time.perf_counter()
                song = scorer.score(path)
                timings[label] = time.perf_counter() - start
            spectrogram = log_mel(clip, preset)
            explain(spectrogram, clip, preset, scorer.predict, num_samples=20, seeds=(0,))  # warm-up
            for seeds, label in (((0,), "explanation"), ((0, 1, 2), "explanation + stability")):
                start = time.perf_counter()
                explain(spectrogram, clip, preset, scorer.predict, num_samples=1000, seeds=seeds)
                timings[label] = time.perf_counter() - start
            rows.append((preset, timings, len(song.windows)))
    header = list(rows[0][1])
    lines = [
        f"Scoring with the {name} architecture (fresh weights); the 3.5 min song has {rows[0][2]} windows of 30 s:",
        "",
        "| preset | " + " | ".join(f"{h} (s)" for h in header) + " |",
        "|---|" + "---:|" * len(header),
    ]
    lines += [
        f"| {p.name} {p.n_mels}x{p.frames} | " + " | ".join(f"{t[h]:.2f}" for h in header) + " |" for p, t, _ in rows
    ]
    return "\n".join(lines)


def bench_embeddings(settings: Settings, clips: int = 20) -> str:
    """musicnn's cost: model load, 30 s clips per second into a fresh cache, a 3.5 min song
    (one pass over its 3 s patches), the process's peak memory, and the ``musicnn`` head's
    training time beside the CNN-GRU's as the active run recorded them."""
    import resource

    from core.pretrained.cache import compute_missing_embeddings
    from core.pretrained.musicnn import DEFAULT_MODEL, load_model

    chosen = _demo_clips(settings, clips)
    start = time.perf_counter()
    musicnn = load_model(DEFAULT_MODEL)
    load_seconds = time.perf_counter() - start
    clip = load_audio(chosen[0][1])
    musicnn.analyse(clip)  # warm-up: the first call traces the graph
    with tempfile.TemporaryDirectory() as scratch:
        jobs = [FeatureJob(sha, path) for sha, path in chosen]
        run = partial(compute_missing_embeddings, jobs, [DEFAULT_MODEL], Settings(home=Path(scratch)))
        rate = _clips_per_second(run, clips)
    song = np.tile(clip, 7)  # 3.5 min
    start = time.perf_counter()
    patches = len(musicnn.analyse(song))
    song_seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    lines = [
        f"musicnn ({DEFAULT_MODEL}) on {clips} demo clips, one run:",
        "",
        "| what | figure |",
        "|---|---:|",
        f"| model load (once per process) | {load_seconds:.1f} s |",
        f"| 30 s clips (decode, 10 patches, cached to disk) | {rate:.2f} clips/s ({1 / rate:.2f} s a clip) |",
        f"| 3.5 min song ({patches} patches) | {song_seconds:.1f} s |",
        f"| peak memory of this process | {peak_mib:,} MiB |",
    ]
    return "\n".join([*lines, *_head_training_lines(settings)])


def _head_training_lines(settings: Settings) -> list[str]:
    """Time to fit the musicnn head on the catalog's random split (embeddings cached), and
    the CNN-GRU's training time as the active run recorded it."""
    from core.dataset import choose_threshold, labels, modelling_tracks, split_tracks
    from core.explore import default_threshold_rule
    from core.pretrained.cache import EmbeddingCache
    from core.pretrained.head import fit_head
    from core.pretrained.musicnn import DEFAULT_MODEL
    from core.registry import RunMissing, load_run

    cache = EmbeddingCache(settings)
    with Catalog.open(settings) as catalog:
        parts = split_tracks(modelling_tracks(catalog), "random")
        threshold = choose_threshold(parts.train, default_threshold_rule(catalog))
        try:
            gru = load_run(settings, catalog).meta.seconds.get("cnn_gru")
        except RunMissing:
            gru = None
    if not all(cache.has(sha, DEFAULT_MODEL) for sha in parts.train["audio_sha256"]):
        return ["", "The catalog's embeddings are not all computed: run 'python -m core embeddings' to time the head."]
    pooled = {
        name: np.stack([cache.pooled(sha, DEFAULT_MODEL) for sha in part["audio_sha256"]])
        for name, part in (("train", parts.train), ("test", parts.test))
    }
    start = time.perf_counter()
    fit_head(pooled["train"], labels(parts.train, threshold), pooled["test"], labels(parts.test, threshold))
    seconds = time.perf_counter() - start
    recorded = f"{gru:.0f} s as the active run recorded it" if gru is not None else "not in the active run"
    return [
        f"| training the musicnn head ({len(parts.train)} training clips, embeddings cached; CNN-GRU: {recorded}) "
        f"| {seconds:.2f} s |"
    ]


CHROMIUM = Path("/usr/bin/chromium")
DASHBOARD_PAGES = (("Dataset", ""), ("Train", "train"), ("Holdout results", "holdout"), ("Score a song", "score"))
# [script finished, page settled]. Script finished: Streamlit's own run state (its status widget
# shows the same, but only after a delay) with the main block rendered; settled: besides, no
# element still a loading skeleton and every Plotly chart drawn (Plotly's 4.7 MB bundle is
# evaluated on each page load, after the script's messages arrive).
_STATE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const done = !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementContainer"]').length > 0 && (EXTRA);
  const drawn = !document.querySelector('[data-testid="stSkeleton"]')
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(chart => chart.querySelector('.main-svg'));
  return [done, done && drawn];
}"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_dashboard(settings: Settings, port: int):
    """``streamlit run app.py`` headless against ``settings.home``, once it answers its health check."""
    import subprocess
    import sys
    import urllib.request

    repo = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=repo,
        env={**os.environ, "HITLENS_HOME": str(settings.home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            return process
        except OSError:
            time.sleep(0.25)
    process.kill()
    raise UsageError("The dashboard did not start within 60 s.", "Run 'streamlit run app.py' to see why.")


def _settle(page, since: float, extra: str = "true", hold: float = 0.5, timeout: float = 180.0) -> tuple[float, float]:
    """Seconds from ``since`` until the script finished, and until the page settled; each is
    the moment it became true and then stayed true for ``hold`` seconds (a rerun or a chart
    drawn later starts the wait again). ``extra``: a JavaScript condition the script's end must
    also meet (its new output is on the page)."""
    state = _STATE_JS.replace("EXTRA", extra)
    done_at = drawn_at = None
    while (now := time.perf_counter()) - since < timeout:
        done, drawn = page.evaluate(state)
        done_at = (done_at or now) if done else None
        drawn_at = (drawn_at or now) if drawn else None
        if drawn_at is not None and now - drawn_at >= hold:
            return done_at - since, drawn_at - since
        page.wait_for_timeout(25)
    raise UsageError(f"The page {page.url} did not settle within {timeout:.0f} s.", "Open it in a browser to see why.")


def bench_pages(settings: Settings, reloads: int = 3) -> str:
    """Seconds until each dashboard page has run its script and drawn its charts in Chromium:
    its first load in a freshly started server (imports, cold caches), then the median of
    ``reloads`` browser reloads (a new session: the whole front end starts again), the median of
    as many visits from the sidebar (how an artist moves between pages), and the Dataset page's
    minimum-track slider moved one step (a new artist query and redraw)."""
    if not CHROMIUM.exists():
        raise UsageError(
            f"The page benchmark drives Debian's Chromium at {CHROMIUM}.", "Install it: apt-get install chromium."
        )
    from playwright.sync_api import sync_playwright

    with Catalog.open(settings) as catalog:
        summary = catalog.summary()
    port = _free_port()
    server = _start_dashboard(settings, port)
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
            page = browser.new_page(viewport={"width": 1400, "height": 1000})

            def load(path: str) -> tuple[float, float]:
                start = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/{path}")
                return _settle(page, start)

            def navigate(title: str) -> tuple[float, float]:
                """Open another page, then ``title`` from the sidebar, as an artist moves around."""
                other = next(t for t, _ in DASHBOARD_PAGES if t != title)
                for target in (other, title):
                    start = time.perf_counter()
                    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=target).first.click()
                    timing = _settle(
                        page, start, extra=f"document.querySelector('h1')?.textContent.includes({target!r})"
                    )
                return timing

            first = {title: load(path) for title, path in DASHBOARD_PAGES}  # "/" first: it registers the navigation
            for title, path in DASHBOARD_PAGES:
                reloaded = _medians([load(path) for _ in range(reloads)])
                rows.append((title, *first[title], *reloaded, *_medians([navigate(title) for _ in range(reloads)])))
            rows.append(
                (
                    "Dataset: minimum-track slider one step",
                    None,
                    None,
                    *_medians(_slider_steps(page, port, reloads)),
                    None,
                    None,
                )
            )
            version = browser.version
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines = [
        f"Seconds from opening a page until its script finished / until every chart was drawn, headless Chromium "
        f"{version}, {os.cpu_count()} CPU cores; catalog: {summary.tracks:,} tracks ({summary.source}); reloads, "
        f"sidebar visits and slider steps: median of {reloads}.",
        "",
        "| page | first load: script | first load: charts | reload: script | reload: charts | from the sidebar: script "
        "| from the sidebar: charts |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for title, *seconds in rows:
        lines.append(f"| {title} | " + " | ".join("" if s is None else f"{s:.1f}" for s in seconds) + " |")
    return "\n".join(lines)


def _medians(timings: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(t[0] for t in timings), statistics.median(t[1] for t in timings)


def _slider_steps(page, port: int, steps: int) -> list[tuple[float, float]]:
    """Seconds to redraw the Dataset page's artist charts after moving the minimum-track
    slider one step with the keyboard, ``steps`` times (each step a value not yet cached)."""
    page.goto(f"http://127.0.0.1:{port}/")
    _settle(page, time.perf_counter())
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text="Minimum tracks per artist").locator("input")
    timings = []
    for _ in range(steps):
        value = int(thumb.input_value()) + 1
        start = time.perf_counter()
        thumb.press("ArrowRight")
        # The caption under the charts names the new minimum (textContent: innerText would lay the page out).
        shown = (
            "[...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
            f".some(caption => caption.textContent.includes('at least {value} tracks'))"
        )
        timings.append(_settle(page, start, extra=shown))
    return timings


def bench_uploads(settings: Settings, uploads: int = 10, minutes: float = 19.0, settle_s: float = 150.0) -> str:
    """The dashboard server's resident memory while ``uploads`` browser sessions each upload a
    different ``minutes``-long song to the Score page, wait for its verdict and explanation,
    and close; then again ``settle_s`` seconds later, once Streamlit has let go of the closed
    sessions (it keeps a disconnected session two minutes for a reconnect)."""
    if not CHROMIUM.exists():
        raise UsageError(
            f"The upload benchmark drives Debian's Chromium at {CHROMIUM}.", "Install it: apt-get install chromium."
        )
    import soundfile as sf
    from playwright.sync_api import sync_playwright

    from core.config import SAMPLE_RATE

    port = _free_port()
    server = _start_dashboard(settings, port)
    readings = []
    try:
        with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))

            def session(song: Path | None) -> None:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{port}/score")
                page.get_by_text("Upload songs").first.wait_for(timeout=180_000)
                if song:
                    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(song))
                    page.get_by_text("Download the explanation (PNG)").wait_for(timeout=600_000)
                context.close()

            session(None)
            readings.append(("Score page opened once, no upload", _resident_mb(server.pid)))
            rng = np.random.default_rng(0)
            for number in range(1, uploads + 1):
                song = Path(scratch) / f"long song {number}.wav"
                # Different content each time, so no upload is served from another's cache.
                noise = rng.standard_normal(int(minutes * 60 * SAMPLE_RATE)).astype(np.float32)
                sf.write(song, 0.1 * noise, SAMPLE_RATE, subtype="PCM_16")
                session(song)
                song.unlink()
                if number in (1, uploads):
                    readings.append(
                        (f"after {number} upload session{'s' if number > 1 else ''} closed", _resident_mb(server.pid))
                    )
            time.sleep(settle_s)
            readings.append((f"{settle_s:.0f} s later", _resident_mb(server.pid)))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    decoded_mb = minutes * 60 * SAMPLE_RATE * 4 / 2**20
    lines = [
        f"Dashboard server resident memory (MB); each upload a different {minutes:g}-minute song "
        f"({decoded_mb:.0f} MB decoded), one browser session per upload, closed after its explanation.",
        "",
        "| moment | server RSS (MB) |",
        "|---|---:|",
    ]
    lines += [f"| {moment} | {mb:.0f} |" for moment, mb in readings]
    return "\n".join(lines)


def _resident_mb(pid: int) -> float:
    """Resident memory of a process, from Linux's /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise UsageError(f"No memory figure for process {pid}.", "This benchmark reads Linux's /proc.")
