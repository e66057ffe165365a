"""The dashboard in a real browser: Debian's Chromium driven by Playwright. Each page must
finish running, show its title and no error; a screenshot of each is saved for a person to
look at (the path is printed)."""

import shutil
import time

import pytest

from core.bench.dashboard import CHROMIUM, free_port, settle, start_dashboard
from core.config import Settings
from tests.helpers import REPO
from ui import navigation
from ui.navigation import DATASET, HOLDOUT, SCORE, TRAIN

SHOTS = REPO / "artifacts" / "screenshots"
SETTLED = {  # what each page shows only once its script has run to the end
    DATASET: "Splits: random (as in the study)",
    TRAIN: "Latest run",
    HOLDOUT: "95% bootstrap intervals",
    SCORE: "Upload songs",
}
# path -> (title, settled text); with a run that can score, a visitor to "/" lands on Score
PAGES = {"": (SCORE.title, SETTLED[SCORE]), **{page.url_path: (page.title, SETTLED[page]) for page in navigation.PAGES}}
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(trained_home, tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (make test installs it)")
    home = tmp_path_factory.mktemp("browser-home")
    shutil.copytree(trained_home.data_dir, home / "data")
    shutil.copytree(trained_home.models_dir, home / "models")
    port = free_port()
    log = home / "server.log"
    process = start_dashboard(Settings(home=home), port, log=log)  # the command make run uses
    try:
        assert "Compiled librosa's kernels" in log.read_text(), "the first explanation would compile them"
        yield f"http://127.0.0.1:{port}"
    finally:  # a server left running would go on beside the rest of the suite
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.parametrize("path, title, ready", [(path, *texts) for path, texts in PAGES.items()])
def test_each_page_renders_in_chromium(server, path, title, ready):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{path or 'landing'}.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(f"{server}/{path}")
        page.wait_for_selector("h1", timeout=60_000)
        page.get_by_text(ready).first.wait_for(timeout=90_000)
        # Streamlit shows its status widget while the script runs; wait until it is done.
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
        settle(page, time.perf_counter())  # and every chart drawn, as bench pages measures it
        page.screenshot(path=str(shot), full_page=True)
        body = page.inner_text("body")
        heading = page.locator("h1").first.inner_text()
        errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count()
        browser.close()
    print(f"screenshot: {shot}")
    assert title in heading
    assert "Traceback" not in body and errors == 0
    assert "Deploy" not in body  # a viewer's toolbar: Hitlens is not deployed anywhere


def test_score_page_withholds_a_real_recording_and_explains_a_demo_song_in_chromium(server, trained_home):
    """Uploaded as an artist would: a real (orchestral) recording gets no verdict against the
    synthetic demo, and says why; then a song of the demo's own kind gets its verdict, and
    its explanation grid and spectrogram are drawn. Each is saved as its own screenshot."""
    import re

    from playwright.sync_api import sync_playwright

    from tests.helpers import demo_clips, shared_file

    recording = shared_file("data/real-audio/elf-land.ogg")
    (clip,) = demo_clips(trained_home)
    SHOTS.mkdir(parents=True, exist_ok=True)
    idle = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 5200})
        page.goto(f"{server}/score")
        page.get_by_text("Upload songs").first.wait_for(timeout=90_000)
        uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
        uploader.set_input_files(str(recording))
        page.get_by_text("No explanation: the verdict is withheld").first.wait_for(timeout=240_000)
        page.wait_for_function(idle, timeout=120_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(SHOTS / "score-withheld.png"))
        withheld = page.inner_text("body")

        uploader.set_input_files(str(clip))  # a song of the catalog's own kind, chosen as an artist would
        page.get_by_text("Scored 2 file(s)").first.wait_for(timeout=240_000)
        song_box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text("Song", exact=True))
        song_box.click()  # by its exact label: "Reopen a scored song" is a select box too
        page.get_by_role("option", name=clip.name, exact=True).click()
        page.get_by_text("Download the explanation (PNG)").first.wait_for(timeout=240_000)
        page.wait_for_function(idle, timeout=120_000)
        page.wait_for_timeout(1500)
        charts = page.locator('[data-testid="stPlotlyChart"]')
        grid = charts.filter(has_text="of the best 30 s (which starts").first
        spectrogram = charts.filter(has_text="Spectrogram of the best 30 s").first
        grid.screenshot(path=str(SHOTS / "score-explanation-grid.png"))
        spectrogram.screenshot(path=str(SHOTS / "score-spectrogram.png"))
        page.screenshot(path=str(SHOTS / "score-uploaded.png"))
        grid_text, spectrogram_text = grid.inner_text(), spectrogram.inner_text()
        errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count()
        page.reload()  # a new session: the songs are kept in the home, not in the browser
        page.get_by_text("2 songs on your list").first.wait_for(timeout=120_000)
        page.get_by_text("Scored 2 file(s)").first.wait_for(timeout=120_000)
        browser.close()
    print(f"screenshots: {SHOTS}/score-withheld.png, score-explanation-grid.png, score-spectrogram.png, ...")
    assert errors == 0
    assert "elf-land.ogg: verdict withheld" in withheld and "unlike the synthetic demo catalog" in withheld
    assert not re.search(r"elf-land\.ogg: (not )?popular", withheld)
    assert "sub-bass" in grid_text and "highs/air" in grid_text  # the bands are named on the grid
    assert "bass" in spectrogram_text and "dB" in spectrogram_text  # and on the spectrogram, with its colour bar
