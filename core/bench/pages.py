"""Dashboard pages: seconds until each has run its script and drawn its charts."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from core.bench.dashboard import CHROMIUM, free_port, require_chromium, settle, start_dashboard
from core.catalog import Catalog
from core.config import Settings
from core.errors import UsageError

DASHBOARD_PAGES = (("Dataset", ""), ("Train", "train"), ("Holdout results", "holdout"), ("Score a song", "score"))


def bench_pages(settings: Settings, reloads: int = 3, songs: list[Path] | None = None) -> str:
    """Seconds until each dashboard page has run its script and drawn its charts in Chromium:
    its first load in a freshly started server (imports, cold caches), then the median of
    ``reloads`` browser reloads (a new session: the whole front end starts again), the median of
    as many visits from the sidebar (how an artist moves between pages), and the Dataset page's
    minimum-track slider moved one step (a new artist query and redraw). The Dataset and Holdout
    pages show one tab at a time: opening each other tab is timed too (median over the tabs).
    Last, each of ``songs`` (default: three of the catalog's own clips) is uploaded to the Score
    page in a new session until its verdict and explanation are drawn: the first in the server
    process, and the median of the others; then two are uploaded together and the second is
    chosen: a new explanation alone (both are scored already)."""
    require_chromium("page")
    from playwright.sync_api import sync_playwright

    with Catalog.open(settings) as catalog:
        summary = catalog.summary()
        songs = songs or _catalog_songs(catalog, 3)
    port = free_port()
    server = start_dashboard(settings, port)
    rows: list[tuple[str, *tuple[float | None, ...]]] = []
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

            first = {title: load(path) for title, path in DASHBOARD_PAGES}  # "/" first: it registers the navigation
            for title, path in DASHBOARD_PAGES:
                reloaded = _medians([load(path) for _ in range(reloads)])
                rows.append((title, *first[title], *reloaded, *_medians([navigate(title) for _ in range(reloads)])))
            for title, path in (("Dataset", ""), ("Holdout results", "holdout")):
                rows.append(
                    (f"{title}: another tab opened", None, None, *_medians(_tab_openings(page, port, path)), None, None)
                )
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
            explained = [_explain_upload(page, port, song) for song in songs]
            rows.append(("Score: upload until the explanation is drawn, first", None, None, *explained[0], None, None))
            if len(songs) > 1:
                later = _medians(explained[1:])
                rows.append(("Score: upload until the explanation is drawn, later", None, None, *later, None, None))
                chosen = _explain_another(page, port, songs[:2])
                rows.append(("Score: another uploaded song chosen (its explanation)", None, None, *chosen, None, None))
            version = browser.version
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
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
    page.goto(f"http://127.0.0.1:{port}/")
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


def _explain_upload(page, port: int, song: Path) -> tuple[float, float]:
    """Seconds from uploading ``song`` to a fresh Score page until its verdict and explanation
    are on the page, and until every chart is drawn."""
    page.goto(f"http://127.0.0.1:{port}/score")
    settle(page, time.perf_counter())
    start = time.perf_counter()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(song))
    return settle(page, start, extra=_EXPLAINED)


_EXPLAINED = "document.body.textContent.includes('Download the explanation (PNG)')"


def _explain_another(page, port: int, pair: list[Path]) -> tuple[float, float]:
    """Seconds from choosing the second of two uploaded songs in the Score page's song box
    until its explanation is on the page and drawn."""
    page.goto(f"http://127.0.0.1:{port}/score")
    settle(page, time.perf_counter())
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(song) for song in pair])
    settle(page, time.perf_counter(), extra=_EXPLAINED)
    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text("Song", exact=True))
    box.click()
    start = time.perf_counter()
    page.get_by_role("option", name=pair[1].name, exact=True).click()
    heading = f"[...document.querySelectorAll('h3')].some(h => h.textContent.startsWith({pair[1].name + ':'!r}))"
    return settle(page, start, extra=f"{heading} && {_EXPLAINED}")
