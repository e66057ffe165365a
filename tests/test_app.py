from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "app.py")


def test_app_without_catalog_says_how_to_build_one(home):
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception
    assert "python -m core demo" in app.warning[0].value


def test_app_shows_the_demo_catalog_as_synthetic(use_demo_home):
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception
    assert "Synthetic demo catalog" in app.info[0].value
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["Tracks"].replace(",", "")) > 0
    assert "Spotify popularity, 0-100" in app.caption[-1].value
