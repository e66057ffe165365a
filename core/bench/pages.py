"""Dashboard pages: seconds until each has run its script and drawn its charts."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from core.bench.dashboard import CHROMIUM, free_port, require_chromium, settle, start_dashboard
from core.catalog.store import Catalog
from core.config import Settings
from core.errors import UsageError
from core.learning.architectures import DISPLAY_NAMES, PRETRAINED_MODEL

DASHBOARD_PAGES = (
    ("Dataset", "dataset"),
    ("Train", "train"),
    ("Holdout results", "holdout"),
    ("Score a song", "score"),
)


def bench_pages(settings: Settings, reloads: int = 3, songs: list[Path] | None = None) -> str:
    """Seconds until each dashboard page has run its script and drawn its charts in Chromium:
    its first load in a freshly started server (imports, cold caches), then the median of
    ``reloads`` browser reloads (a new session: the whole front end starts again), the median of
    as many visits from the sidebar (how an artist moves between pages), and the Dataset page's
    minimum-track slider moved one step (a new artist query and redraw). The Dataset and Holdout
    pages show one tab at a time: opening each other tab is timed too (median over the tabs).
    Last, each of ``songs`` but the last three (default: five of the catalog's own clips) is
    uploaded to an empty Score page until its verdict and explanation are drawn: the first in
    the server process, and the median of the others; then two more are uploaded together and
    the one not shown is chosen (only the shown one was explained); then the last is uploaded
    and the model switched to musicnn. A table gives issue 23's targets with the figures, and the command line's cold
    ``score`` of one clip."""
    require_chromium("page")
    from playwright.sync_api import sync_playwright

    with Catalog.open(settings) as catalog:
        summary = catalog.summary()
        songs = songs or _catalog_songs(catalog, 5)
    port = free_port()
    server = start_dashboard(settings, port)
    rows: list[tuple[str, *tuple[float | None, ...]]] = []
    targets: list[tuple[tuple[str, float], float]] = []  # ((what, target seconds), measured seconds)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
            page = browser.new_page(viewport={"width": 1400, "height": 1000})

            def load(path: str) -> tuple[float, float]:
                start = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/{path}")
                return settle(page, start)

            def navigate(title: str) -> tuple[float, float]:
                """Open another page, then ``title`` from the sidebar, as an artist moves around."""
                other = next(t for t, _ in DASHBOARD_PAGES if t != title)
                for target in (other, title):
                    start = time.perf_counter()
                    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=target).first.click()
                    timing = settle(
                        page, start, extra=f"document.querySelector('h1')?.textContent.includes({target!r})"
                    )
                return timing

            # The first, a deep link, also registers the navigation.
            first = {title: load(path) for title, path in DASHBOARD_PAGES}
            for title, path in DASHBOARD_PAGES:
                reloaded = _medians([load(path) for _ in range(reloads)])
                rows.append((title, *first[title], *reloaded, *_medians([navigate(title) for _ in range(reloads)])))
            for title, path in (("Dataset", "dataset"), ("Holdout results", "holdout")):
                tabs = _tab_openings(page, port, path)
                rows.append((f"{title}: another tab opened", None, None, *_medians(tabs), None, None))
                if title == "Dataset":
                    targets.append((TAB_TARGET, max(charts for _, charts in tabs)))
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
            # Two songs are kept for choosing another song and one for the model switch: each is
            # new to the server there, as an artist's next song is.
            uploads, pair, fresh = (songs[:-3], songs[-3:-1], songs[-1]) if len(songs) > 3 else (songs, [], songs[0])
            explained = [_explain_upload(page, port, song) for song in uploads]
            rows.append(
                ("Score: upload until the explanation is drawn, first", None, None, *explained[0][:2], None, None)
            )
            targets.append((EXPLANATION_TARGET, explained[0][2]))
            if len(uploads) > 1:
                later = _medians([timing[:2] for timing in explained[1:]])
                rows.append(("Score: upload until the explanation is drawn, later", None, None, *later, None, None))
                what, most = EXPLANATION_TARGET
                targets.append(((f"{what}, later uploads", most), statistics.median(t[2] for t in explained[1:])))
            if pair:
                verdict, chosen = _choose_another(page, port, pair)
                rows.append(("Score: another uploaded song chosen (its explanation)", None, None, *chosen, None, None))
                targets.append((SONG_TARGET, verdict))
            switched = _switch_model(page, port, fresh, PRETRAINED_MODEL)
            if switched is not None:
                targets.append((MODEL_TARGET, switched))
            _clear_list(page, port)  # leave the artist's list as the benchmark found it: empty of its songs
            version = browser.version
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    targets.append((CLI_TARGET, _cold_cli_score(settings, songs[0])))
    lines = [
        f"Seconds from opening a page until its script finished / until every chart was drawn, headless Chromium "
        f"{version}, {os.cpu_count()} CPU cores; catalog: {summary.tracks:,} tracks ({summary.source}); reloads, "
        f"sidebar visits and slider steps: median of {reloads}; uploads: {', '.join(song.name for song in songs)}.",
        "",
        "| page | first load: script | first load: charts | reload: script | reload: charts | from the sidebar: script "
        "| from the sidebar: charts |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for title, *seconds in rows:
        lines.append(f"| {title} | " + " | ".join("" if s is None else f"{s:.1f}" for s in seconds) + " |")
    lines += ["", "| target (issue 23) | at most | measured | met |", "|---|---:|---:|---|"]
    for (what, most), measured in targets:
        lines.append(f"| {what} | {most:.1f} s | {measured:.1f} s | {'yes' if measured <= most else 'no'} |")
    return "\n".join(lines)


def _medians(timings: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(t[0] for t in timings), statistics.median(t[1] for t in timings)


def _open_tab(page, label: str) -> tuple[float, float]:
    """Click a tab of a page whose tabs run lazily: its section runs and draws only now."""
    start = time.perf_counter()
    page.get_by_role("tab", name=label, exact=True).click()
    selected = f'document.querySelector(\'[role="tab"][aria-selected="true"]\')?.textContent.includes({label!r})'
    return settle(page, start, extra=selected)


def _tab_openings(page, port: int, path: str) -> list[tuple[float, float]]:
    """Seconds until each tab but the first has run its section and drawn its charts, clicked in turn."""
    page.goto(f"http://127.0.0.1:{port}/{path}")
    settle(page, time.perf_counter())
    labels = page.get_by_role("tab").all_inner_texts()
    return [_open_tab(page, label) for label in labels[1:]]


def _slider_steps(page, port: int, steps: int) -> list[tuple[float, float]]:
    """Seconds to redraw the Dataset page's artist charts after moving the minimum-track
    slider one step with the keyboard, ``steps`` times (each step a value not yet cached)."""
    page.goto(f"http://127.0.0.1:{port}/dataset")
    settle(page, time.perf_counter())
    _open_tab(page, "Artists")
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
        timings.append(settle(page, start, extra=shown))
    return timings


def _catalog_songs(catalog: Catalog, count: int) -> list[Path]:
    """``count`` of the catalog's audio files, spread over it."""
    paths = catalog.tracks()["audio_path"].dropna().tolist()
    if not paths:
        raise UsageError("The catalog has no audio to upload.", "Pass songs: bench pages --songs FILE ...")
    return [catalog.audio_file(path) for path in paths[:: max(1, len(paths) // count)][:count]]


EXPLANATION_TARGET = ("Score: a new explanation drawn, after its verdict", 2.0)
SONG_TARGET = ("Score: another uploaded song chosen, until its verdict", 1.5)
MODEL_TARGET = ("Score: the model switched to musicnn, until its explanation is drawn", 3.0)
TAB_TARGET = ("Dataset: each tab opened, until its charts are drawn (the slowest tab)", 1.5)
CLI_TARGET = ("python -m core score, one clip from a cold start", 5.0)

_EXPLAINED = "document.body.textContent.includes('Download the explanation (PNG)')"


def _heading(song: Path) -> str:
    """JavaScript: the Score page shows ``song``'s verdict heading."""
    return f"[...document.querySelectorAll('h3')].some(h => h.textContent.startsWith({song.name + ':'!r}))"


def _clear_list(page, port: int) -> None:
    """A Score page with no song on the list (uploads are kept in the home between sessions)."""
    page.goto(f"http://127.0.0.1:{port}/score")
    settle(page, time.perf_counter())
    clear = page.get_by_role("button", name="Clear the list")
    if clear.count():
        clear.click()
        settle(page, time.perf_counter(), extra="!document.body.textContent.includes('on your list')")


def _verdict_then_settle(page, start: float, song: Path, extra: str = "true") -> tuple[float, float, float]:
    """Seconds from ``start`` until ``song``'s verdict is on the page, then until the script
    finished with ``extra`` true, and until every chart was drawn."""
    page.wait_for_function(f"() => {_heading(song)}", timeout=180_000, polling=25)
    verdict = time.perf_counter() - start
    return verdict, *settle(page, start, extra=f"{_heading(song)} && {extra}")


def _explain_upload(page, port: int, song: Path) -> tuple[float, float, float]:
    """Seconds from uploading ``song`` to an empty Score page until its verdict and explanation
    are on the page, until every chart is drawn, and from its verdict until its explanation
    was drawn."""
    _clear_list(page, port)
    start = time.perf_counter()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(song))
    verdict, script, charts = _verdict_then_settle(page, start, song, _EXPLAINED)
    return script, charts, charts - verdict


def _choose(page, label: str, option: str) -> float:
    """Open the select box ``label`` and choose ``option``; the moment it was chosen."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text(label, exact=True))
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(5):  # a rerun still arriving (the uploader's, say) closes an open list: open it again
        box.click()
        try:
            choice.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    start = time.perf_counter()
    choice.click()
    return start


def _choose_another(page, port: int, pair: list[Path]) -> tuple[float, tuple[float, float]]:
    """Two songs new to the server uploaded together: seconds from choosing the one not shown
    first in the Score page's song box until its verdict is shown, and (script, charts) until
    its explanation is on the page (explained now: only the first one shown was)."""
    _clear_list(page, port)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(song) for song in pair])
    both = f"document.body.textContent.includes('Scored {len(pair)} file(s)')"  # not only the first one's rerun
    settle(page, time.perf_counter(), extra=f"{_EXPLAINED} && {both}")
    other = next(song for song in pair if not page.evaluate(f"() => {_heading(song)}"))
    start = _choose(page, "Song", other.name)
    verdict, script, charts = _verdict_then_settle(page, start, other, _EXPLAINED)
    return verdict, (script, charts)


def _switch_model(page, port: int, song: Path, model: str) -> float | None:
    """Seconds from choosing ``model`` in the Score page's model box, with ``song`` uploaded
    and explained by the default model, until its explanation by ``model`` is drawn (None when
    ``model`` is the default: there is nothing to switch)."""
    _clear_list(page, port)
    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text("Model", exact=True))
    if box.inner_text().splitlines()[-1].startswith(DISPLAY_NAMES[model]):
        return None
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(song))
    settle(page, time.perf_counter(), extra=_EXPLAINED)
    start = _choose(page, "Model", DISPLAY_NAMES[model])
    caption = f"document.body.textContent.includes({DISPLAY_NAMES[model] + ': holdout'!r})"
    return settle(page, start, extra=f"{caption} && {_EXPLAINED}")[1]


def _cold_cli_score(settings: Settings, song: Path) -> float:
    """Seconds for ``python -m core score`` on ``song`` in a new process (imports, model and
    catalog loaded from cold, as an artist's first command)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "core", "score", str(song)],
        env={**os.environ, "HITLENS_HOME": str(settings.home)},
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - started
