"""Readable data views (issue 23): tables with people's headers and room for their rows, charts
that write their numbers, split comparisons of runs trained alike, the collect panel's fields
for the chosen source, and Dataset tabs that need no slow read when opened."""

import json
import math
import shutil
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.catalog.explore import class_balance, duplicate_groups, releases_of_one_song
from core.catalog.store import Catalog
from core.config import FEATURE_PRESETS, Settings
from core.learning.registry import CatalogInfo, Estimate, ModelMetrics, RunMeta, save_run
from tests.helpers import open_page, page_figures, page_text
from ui import charts


def _tab(app: AppTest, key: str, label: str) -> AppTest:
    app.session_state[key] = label
    app.run()
    assert not app.exception, app.exception
    return app


def _values(array) -> list[float]:
    """A trace's numbers as sent to the browser: a NumPy array goes as base64 (``dtype``, ``bdata``)."""
    import base64

    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


# --- Tables ---


@pytest.fixture
def tables(monkeypatch) -> list[tuple[pd.DataFrame, int | None]]:
    """Each table a page shows through ``st.dataframe``, with the height it was given (AppTest
    does not report a table's height)."""
    import streamlit

    shown = []
    original = streamlit.dataframe

    def recorded(data, *args, **kwargs):
        shown.append((data, kwargs.get("height")))
        return original(data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "dataframe", recorded)
    return shown


def _headers(table) -> list[str]:
    """The headers a table shows, from its column configuration (the hidden index has none)."""
    return [column["label"] for column in json.loads(table.proto.columns).values() if "label" in column]


def test_dataset_tables_have_peoples_headers_and_show_up_to_fifteen_rows(use_demo_home, tables):
    app = open_page("pages/dataset.py")
    headers = []
    for section in ("Previews and release dates", "Same song, several releases", "Tracks"):
        _tab(app, "dataset_section", section)
        headers += [header for table in app.dataframe for header in _headers(table)]
    assert {"Album type", "Released", "Mean popularity", "Tracks", "Track", "Artist"} <= set(headers)
    assert not {"album_type", "release_date", "mean_popularity", "primary_artist"} & set(headers)
    rows_shown = [(len(frame), height // 35 - 1) for frame, height in tables]  # 35 px a row, and the header row
    assert all(shown == min(rows, 15) for rows, shown in rows_shown), rows_shown
    assert any(shown > 7 for _, shown in rows_shown)  # the demo's 40 tracks: more than seven rows in view


def test_the_search_result_table_has_peoples_headers(use_demo_home):
    app = _tab(open_page("pages/dataset.py"), "dataset_section", "Artists")
    next(t for t in app.text_input if t.label == "Artist name").input("a").run()
    assert _headers(app.dataframe[0]) == [
        "Artist",
        "Tracks",
        "With audio",
        "Mean popularity",
        "First year",
        "Last year",
    ]


# --- Charts that write their numbers ---


def test_artist_bars_write_each_mean_and_its_track_count_with_room_to_read_them():
    stats = pd.DataFrame(
        {
            "artist": ["Ann", "Bo", "Cy"],
            "tracks": [12, 1, 4],
            "mean_popularity": [61.25, 40.0, 20.5],
            "median_popularity": [60.0, 40.0, 21.0],
        }
    )
    top, bottom = charts.top_and_bottom_artists(stats, scale_label="Spotify popularity, 0-100")
    bars = top.data[0]
    assert list(bars.text) == ["4 tracks", "1 track", "12 tracks"]  # Ann's 12 on top, as the charts draw bottom up
    assert "%{x:,.1f}" in bars.texttemplate and "%{text}" in bars.texttemplate  # the mean and the count
    assert bars.textposition == "outside" and bars.textfont.size >= 12
    assert top.layout.xaxis.range[1] >= 1.4 * 61.25  # room after the longest bar for its label
    assert top.layout.xaxis.title.text == "mean Spotify popularity, 0-100"
    assert "by mean popularity" in bottom.layout.title.text


def _estimate(value: float) -> Estimate:
    return Estimate(value, round(value - 0.06, 2), round(value + 0.06, 2))


def _meta(run_id: str = "r1", split: str = "random", models=("dummy", "cnn2"), **settings) -> RunMeta:
    metrics = {
        model: ModelMetrics(n=40, roc_auc=_estimate(0.5 + 0.2 * i), accuracy=_estimate(0.55 + 0.1 * i))
        for i, model in enumerate(models)
    }
    return RunMeta(
        id=run_id,
        created_at="2026-12-01T10:00:00+00:00",
        models=tuple(models),
        training_preset="fast",
        split=split,
        synthetic=True,
        dummy_positive_rate=0.5,
        metrics=metrics,
        catalog=CatalogInfo("demo", 40, "f1"),
        **settings,
    )


def _written(figure) -> list:
    return [trace for trace in figure.data if trace.type == "scatter" and trace.mode == "text"]


def test_holdout_bars_write_each_figure_and_its_interval_over_the_error_bar():
    figure = charts.holdout_metrics(_meta(), "this run")
    accuracy, auc = _written(figure)
    assert list(auc.text) == ["<b>0.50</b><br>0.44–0.56", "<b>0.70</b><br>0.64–0.76"]
    assert list(auc.y) == [0.56, 0.76] and auc.textposition == "top center"  # just over each error bar
    assert list(accuracy.x) == ["Dummy", "CNN 2"] and accuracy.textfont.size >= 12
    ours = [trace for trace in figure.data if trace.type == "bar" and trace.name == "this run"]
    assert {trace.offsetgroup for trace in ours} == {auc.offsetgroup} and figure.layout.scattermode == "group"
    assert figure.layout.yaxis.range[1] > 1  # room over an interval that reaches 1


def test_split_comparison_writes_each_interval_beside_its_horizontal_bar():
    figure = charts.split_comparison({"random": _meta(), "artist": _meta("r2", "artist")})
    bars = [trace for trace in figure.data if trace.type == "bar"]
    assert [(b.name, b.orientation) for b in bars] == [("random split", "h"), ("artist split", "h")]
    random_labels = _written(figure)[0]
    assert [text.strip() for text in random_labels.text] == ["<b>0.50</b> (0.44–0.56)", "<b>0.70</b> (0.64–0.76)"]
    assert list(random_labels.x) == [0.56, 0.76] and random_labels.textposition == "middle right"


def test_popularity_histograms_are_counted_before_they_are_sent():
    rng = np.random.default_rng(0)
    tracks = pd.DataFrame(
        {
            "popularity": rng.integers(0, 90, 5000).astype(float),
            "preview_url": np.where(rng.random(5000) < 0.8, "https://p", None),
        }
    )
    histogram = charts.popularity_histogram(tracks, 39.0, "Spotify popularity, 0-100")
    (bars,) = histogram.data
    assert len(bars.y) <= 51 and sum(bars.y) == 5000  # bins, not 5,000 values
    previews = charts.preview_comparison(tracks)
    assert [round(sum(trace.y)) for trace in previews.data] == [100, 100]  # percent of each group
    assert len(previews.data[0].x) <= 41
    unknown = charts.popularity_histogram(tracks, math.nan, "Spotify popularity, 0-100")
    assert not unknown.layout.shapes  # no threshold yet: no line drawn at NaN


# --- Random vs grouped splits: only runs trained alike ---


def _saved_run(settings: Settings, run_id: str, minute: int, split: str, models: list[str], **extra) -> None:
    meta = {
        "id": run_id,
        "created_at": f"2026-12-01T10:{minute:02d}:00+00:00",
        "split": split,
        "training_preset": "fast",
        "feature_preset": asdict(FEATURE_PRESETS["fast"]),
        "models": models,
        "synthetic": True,
        "dummy_positive_rate": 0.5,
        "threshold": {"rule": "study", "value": 39.0, "scale": "spotify"},
        "catalog": {"source": "demo", "tracks": 10, "fingerprint": "same"},
        "metrics": {model: {"n": 20, "roc_auc": {"value": 0.6, "low": 0.5, "high": 0.7}} for model in models},
        **extra,
    }
    with Catalog.open(settings) as catalog:
        save_run(settings, catalog, meta, {})


@pytest.fixture
def runs_home(tiny_demo_home, tmp_path, monkeypatch) -> Settings:
    """A copy of the tiny demo catalog with four runs of the dummy (no weights to train): random
    and artist splits trained alike, a newer artist run and a song run trained otherwise."""
    shutil.copytree(tiny_demo_home.data_dir, tmp_path / "data")
    settings = Settings(home=tmp_path)
    monkeypatch.setenv("HITLENS_HOME", str(tmp_path))
    _saved_run(settings, "run-random", 1, "random", ["dummy"])
    _saved_run(settings, "run-artist-alike", 2, "artist", ["dummy"])
    _saved_run(settings, "run-artist-3-epochs", 3, "artist", ["dummy"], epochs_requested=3)
    _saved_run(settings, "run-song-study", 4, "song", ["dummy"], training_preset="study")
    return settings


def test_split_comparison_sets_only_runs_trained_alike_side_by_side_and_says_what_differs(runs_home):
    app = open_page("pages/holdout.py")
    app.selectbox[0].set_value("run-random").run()
    _tab(app, "holdout_section", "Random vs grouped splits")
    (figure,) = page_figures(app)
    assert [t.name for t in figure.data if t.type == "bar"] == ["random split", "artist split"]  # no song run
    text = page_text(app)
    assert "only the split differs" in text
    # the newer artist run trained for 3 epochs is passed over for the older one trained alike
    assert "run-artist-3-epochs" not in text
    assert (
        "Not compared: the song split's latest run (run-song-study) was trained with the study preset; this run "
        "with the fast preset." in text
    )


def test_a_run_without_a_run_trained_alike_gets_no_chart_but_what_differs(runs_home):
    app = open_page("pages/holdout.py")
    app.selectbox[0].set_value("run-artist-3-epochs").run()
    _tab(app, "holdout_section", "Random vs grouped splits")
    assert not app.get("plotly_chart")
    text = page_text(app)
    assert (
        "the random split's latest run (run-random) was trained with the preset's epochs; this run with 3 epochs"
        in (text)
    )
    assert "the song split's latest run (run-song-study) was trained with the study preset, the preset's epochs" in text


# --- The collect panel ---


def test_the_spotify_market_field_shows_only_when_spotify_is_the_source(home):
    app = open_page("pages/dataset.py")
    assert app.radio[0].value == "deezer"
    assert "Spotify market" not in [t.label for t in app.text_input]
    app.radio[0].set_value("spotify").run()
    assert not app.exception, app.exception
    assert "Spotify market" in [t.label for t in app.text_input]


# --- Catalogs too small to split, and reads the Dataset tabs need ---


def test_a_catalog_too_small_to_split_still_shows_its_popularity(tiny_demo_home, tmp_path, monkeypatch):
    shutil.copytree(tiny_demo_home.data_dir, tmp_path / "data")
    settings = Settings(home=tmp_path)
    with Catalog.open(settings) as catalog:
        threshold, balance = class_balance(catalog)
    assert (
        math.isnan(threshold)
        and balance.empty
        and list(balance.columns) == ["split", "part", "tracks", "popular_share"]
    )
    monkeypatch.setenv("HITLENS_HOME", str(tmp_path))
    app = open_page("pages/dataset.py")
    assert "enough tracks with audio to split" in page_text(app)
    (histogram,) = page_figures(app)
    assert sum(_values(histogram.data[0].y)) == 10  # every track counted


def test_releases_of_one_song_reuses_tracks_already_read_without_changing_them(use_demo_home):
    with Catalog.open(use_demo_home) as catalog:
        tracks = catalog.tracks()
        expected = duplicate_groups(catalog)
    columns = list(tracks.columns)
    pd.testing.assert_frame_equal(releases_of_one_song(tracks), expected)
    assert list(tracks.columns) == columns
