"""Every page in the three states a user meets: no catalog, a catalog without a run, a
catalog with a run."""

import json
import re
import shutil
import time

import pytest
from streamlit.testing.v1 import AppTest

from core.catalog.store import Catalog
from core.config import Settings
from core.jobs import active_jobs, cancel_job, get_job
from tests.helpers import APP_TIMEOUT, REPO, demo_song, open_page, page_figures, page_text, shared_file
from ui import navigation

PAGES = [page.file for page in navigation.PAGES]


def _every_tab(app: AppTest, key: str):
    """Open each tab of a page whose tabs run lazily (only the open one runs), yielding the app
    after each: read what it shows before the next."""
    for label in [t.label for t in app.tabs]:
        app.session_state[key] = label
        app.run()
        assert not app.exception, app.exception
        yield app


@pytest.mark.parametrize("page", PAGES)
def test_without_a_catalog_every_page_offers_to_build_the_demo(home, page):
    app = open_page(page)
    assert "There is no catalog yet" in page_text(app)
    assert any(b.label == "Build the demo catalog" for b in app.button)


def test_the_build_button_starts_one_set_up_job(home, monkeypatch):
    started = []
    monkeypatch.setattr(
        "core.jobs.subprocess.Popen", lambda *a, **k: started.append(a) or type("P", (), {"pid": 999999})()
    )
    app = open_page(PAGES[0])
    next(b for b in app.button if b.label == "Build the demo catalog").click().run()
    assert len(started) == 1 and started[0][0][3:5] == ["setup", "--job-id"]


def test_a_visitor_lands_on_score_once_a_run_can_score_and_on_dataset_before(use_demo_home, trained_home, monkeypatch):
    first = AppTest.from_file(str(REPO / "app.py"), default_timeout=APP_TIMEOUT).run()
    assert first.title[0].value == "📊 Dataset"  # a catalog, no run yet
    monkeypatch.setenv("HITLENS_HOME", str(trained_home.home))
    later = AppTest.from_file(str(REPO / "app.py"), default_timeout=APP_TIMEOUT).run()
    assert not later.exception, later.exception
    assert later.title[0].value == "🎤 Score a song"


def test_before_the_first_run_score_says_how_long_until_a_first_verdict(use_demo_home, tmp_path, monkeypatch):
    import os

    from core.catalog.database import utc_now

    shutil.copytree(use_demo_home.data_dir, tmp_path / "data")
    monkeypatch.setenv("HITLENS_HOME", str(tmp_path))
    message = "step 4 of 8: training cnn1: epoch 3 of 20 · first verdict in about 2 min · everything in about 9 min"
    with Catalog.open(Settings(home=tmp_path)) as catalog, catalog.transaction() as conn:
        conn.execute(  # set-up running (this process stands in for it, so it is not reaped)
            "INSERT INTO jobs (kind, args, status, pid, progress, message, created_at) "
            "VALUES ('setup', '[]', 'running', ?, 0.3, ?, ?)",
            (os.getpid(), message, utc_now()),
        )
    app = open_page(PAGES[3])
    assert "**First verdict in about 2 min.** No trained run yet" in page_text(app)


def _collect_button(app: AppTest):
    return next(b for b in app.button if b.label == "Start collecting")


def test_collect_panel_starts_a_background_job_and_shows_why_it_stopped(home, monkeypatch):
    started = []
    monkeypatch.setattr(
        "core.jobs.subprocess.Popen", lambda *a, **k: started.append(a) or type("P", (), {"pid": 999999})()
    )
    app = open_page(PAGES[0])
    app.number_input[0].set_value(300)
    app.slider[0].set_value((2019, 2021))
    _collect_button(app).click().run()
    assert not app.exception, app.exception
    assert len(started) == 1
    assert started[0][0][3:] == [
        "collect",
        "--source",
        "deezer",
        "--tracks",
        "300",
        "--years",
        "2019-2021",  # no --market: only Spotify searches within a market
        "--job-id",
        "1",
    ]
    # The fake process never ran: the job is reaped as failed, and the panel says so.
    assert "The last collection (job 1) stopped: The job stopped unexpectedly" in page_text(app)


def test_collect_panel_will_not_mix_real_tracks_into_the_demo(use_demo_home, monkeypatch):
    monkeypatch.setattr("core.jobs.subprocess.Popen", lambda *a, **k: pytest.fail("no job may start"))
    app = open_page(PAGES[0])
    _collect_button(app).click().run()
    assert "Tick 'Replace the synthetic demo catalog' first" in page_text(app)


def test_collect_panel_explains_missing_spotify_credentials(home, monkeypatch):
    monkeypatch.delenv("SPOTIPY_CLIENT_ID", raising=False)
    monkeypatch.delenv("SPOTIPY_CLIENT_SECRET", raising=False)
    monkeypatch.setattr("core.collect.spotify.SECRETS_FILE", home.home / "no-secrets.toml")
    monkeypatch.setattr("core.jobs.subprocess.Popen", lambda *a, **k: pytest.fail("no job may start"))
    app = open_page(PAGES[0])
    app.radio[0].set_value("spotify")
    _collect_button(app).click().run()
    assert "No Spotify credentials" in page_text(app) and "Deezer, which needs no key" in page_text(app)


DATASET_SECTIONS = [
    "Popularity",
    "Previews and release dates",
    "Artists",
    "Same song, several releases",
    "Map",
    "Tracks",
]


def _dataset_section(app: AppTest, section: str) -> AppTest:
    """Open one tab of the Dataset page: only the open tab's section runs."""
    app.session_state["dataset_section"] = section
    app.run()
    assert not app.exception, app.exception
    return app


def test_dataset_page_on_the_demo_catalog(use_demo_home):
    app = open_page(PAGES[0])
    assert [t.label for t in app.tabs] == DATASET_SECTIONS
    text = page_text(app)
    assert "Synthetic demo catalog" in text
    charts, tables = [], []
    for section in DATASET_SECTIONS:
        _dataset_section(app, section)
        charts += app.get("plotly_chart")
        tables += app.dataframe
        if section == "Artists":
            assert any(s.label == "Minimum tracks per artist" for s in app.slider)
            next(t for t in app.text_input if t.label == "Artist name").input("zzz-nobody").run()
            assert "No artist matching 'zzz-nobody'" in page_text(app)
    assert len(charts) >= 5  # histogram, class balance, previews, dates, artists
    assert len(tables) >= 3  # previews, duplicate groups, tracks


def test_train_holdout_and_score_pages_before_any_run(use_demo_home):
    train = open_page(PAGES[1])
    assert any(b.label == "Retrain" for b in train.get("button") + train.get("form_submit_button"))
    assert "No saved run yet" in page_text(train)
    holdout = open_page(PAGES[2])
    assert "No trained run yet" in page_text(holdout)
    score = open_page(PAGES[3])
    assert "No trained run yet" in page_text(score)


def test_score_page_uploads_songs_and_shows_a_verdict(trained_home, monkeypatch, tmp_path):
    from core.catalog.history import scored_songs

    shutil.copytree(trained_home.data_dir, tmp_path / "home" / "data")
    shutil.copytree(trained_home.models_dir, tmp_path / "home" / "models")
    settings = Settings(home=tmp_path / "home")
    monkeypatch.setenv("HITLENS_HOME", str(settings.home))
    song = demo_song(settings, 40)  # the catalog's own kind of music: Hitlens can judge it
    app = open_page(PAGES[3])
    assert "Trained on the synthetic demo catalog" in page_text(app)
    assert "Scoring with run" in page_text(app) and any(link.label == "Choose the run" for link in app.get("page_link"))
    app.file_uploader[0].set_value(
        [("demo take 3.wav", song, "audio/wav"), ("notes.mp3", b"not audio at all" * 100, "audio/mpeg")]
    ).run()
    assert not app.exception, app.exception
    text = page_text(app)
    assert "demo take 3\\.wav: " in text and ("popular (" in text) and "Why Hitlens judges this song: Like" in text
    assert any("could not be decoded" in e.value for e in app.error)
    assert "What it sounds like" in text and "Sounds like" in text and "synthetic demo catalog" in text
    assert len(app.get("plotly_chart")) == 6  # windows, top tags, tags over time, map, explanation grid, spectrogram
    stable = "Pushes toward popular" in text and "only the " in text  # each region plays, and its band alone
    assert stable or "No stable explanation for this song" in text
    assert [s.label for s in app.selectbox][:1] == ["Model"]
    app.selectbox[0].set_value("cnn2").run()  # the same song, scored by a spectrogram model
    assert not app.exception, app.exception
    assert "CNN 2: holdout ROC-AUC" in page_text(app) and "independent LIME runs" in page_text(app)

    app.switch_page(PAGES[0]).run()  # the artist looks at the catalog and comes back
    app.switch_page(PAGES[3]).run()
    assert not app.exception, app.exception
    assert "demo take 3\\.wav: " in page_text(app) and "2 songs on your list" in page_text(app)
    with Catalog.open(settings) as catalog:
        history = scored_songs(catalog, "demo take")  # the shared home may hold other tests' songs
    assert sorted(history["model"]) == ["cnn2", "musicnn"] and set(history["file"]) == {"demo take 3.wav"}
    assert history["probability"].between(0, 1).all() and history["best_window"].str.endswith(" s").all()
    assert "Scored songs" in page_text(app) and len(app.dataframe) >= 3  # ranking, neighbours, history


def test_two_uploads_with_one_name_both_appear_and_names_are_shown_as_typed(scoring_home):
    from ui.songs import plain

    name = "mix **v2** [final].wav"  # Markdown would make it bold and a link
    # two different mixes, exported under the same name
    takes = [(name, demo_song(scoring_home, 35, index), "audio/wav") for index in (0, 1)]
    app = open_page(PAGES[3])
    app.file_uploader[0].set_value([*takes, ("**bold** notes.mp3", b"not audio at all" * 100, "audio/mpeg")]).run()
    assert not app.exception, app.exception
    ranking = app.dataframe[0].value
    assert sorted(ranking["file"]) == [name, f"{name} (2)"]
    assert ranking["probability"].nunique() == 2  # two scores, not one shown twice
    song_heading = next(h.value for h in app.subheader if "popular (" in h.value)
    assert song_heading.startswith(plain(ranking["file"].iloc[0]) + ": ")  # escaped: Markdown shows it as typed
    assert any(e.value.startswith(plain("'**bold** notes.mp3' could not be decoded")) for e in app.error)
    assert "3 songs on your list: " + plain(f"{name}, {name} (2), **bold** notes.mp3") in page_text(app)


def test_a_short_clips_explanation_stops_where_the_clip_ends(scoring_home):
    import re

    app = open_page(PAGES[3])
    app.file_uploader[0].set_value([("short.wav", demo_song(scoring_home, 17), "audio/wav")]).run()
    assert not app.exception, app.exception
    text = page_text(app)
    assert "one 30 s window" in text and "short\\.wav: verdict withheld" not in text  # judged, on one window
    ends = [float(end) for end in re.findall(r"\d+\.\d-(\d+\.\d) s\)?, ", text)]
    assert not ends or max(ends) <= 17.0  # listed regions (when any holds) end with the clip
    grid = next(c for c in app.get("plotly_chart") if "best 30 s" in c.proto.spec and '"customdata"' in c.proto.spec)
    assert "29" not in grid.proto.spec.split('"customdata"')[1].split("]]")[0]  # no cell drawn past 17 s


def test_a_finished_worse_run_waits_until_the_user_chooses_it(trained_home, tmp_path, monkeypatch):
    from core.learning.registry import load_run, save_run

    shutil.copytree(trained_home.data_dir, tmp_path / "data")
    shutil.copytree(trained_home.models_dir, tmp_path / "models")
    settings = Settings(home=tmp_path)
    monkeypatch.setenv("HITLENS_HOME", str(tmp_path))
    with Catalog.open(settings) as catalog:
        active = load_run(settings, catalog)
        for run_id in ("29991231-000000-0001", "29991231-000000-0002"):
            saved = json.loads((active.path / "run.json").read_text())
            save_run(settings, catalog, {**saved, "id": run_id, "models": ["dummy"]}, {})
        assert load_run(settings, catalog).id == active.id  # finishing did not take over
    train = open_page(PAGES[1])
    text = page_text(train)
    assert "A new run finished" in text and "29991231-000000-0002" in text and active.id in text
    next(b for b in train.button if b.label == "Keep the current one").click().run()
    assert not train.exception, train.exception
    assert "29991231-000000-0001" in page_text(train)  # the older undecided run is offered next
    next(b for b in train.button if b.label == "Use the new run for scoring").click().run()
    with Catalog.open(settings) as catalog:
        assert load_run(settings, catalog).id == "29991231-000000-0001"

    holdout = open_page(PAGES[2])  # any saved run can be chosen on the Holdout page
    holdout.selectbox[0].set_value(active.id).run()
    next(b for b in holdout.button if b.label == "Use this run for scoring").click().run()
    assert not holdout.exception, holdout.exception
    with Catalog.open(settings) as catalog:
        assert load_run(settings, catalog).id == active.id
    assert active.id in page_text(open_page(PAGES[3]))  # the Score page names it


def test_holdout_page_with_a_run(trained_home, monkeypatch):
    monkeypatch.setenv("HITLENS_HOME", str(trained_home.home))
    app = open_page(PAGES[2])
    text = page_text(app)
    assert "synthetic demo catalog" in text and "95% bootstrap intervals" in text
    assert "95% bootstrap intervals over holdout tracks" in text  # a random split resamples tracks
    charts = [chart for tab in _every_tab(app, "holdout_section") for chart in tab.get("plotly_chart")]
    assert len(charts) == 3  # accuracy and ROC-AUC, ROC and reliability, confusion matrices
    train = open_page(PAGES[1])
    assert "This run is active" in page_text(train) and "No training yet" not in page_text(train)
    assert len(train.dataframe) == 1


def test_retrain_clicked_twice_starts_one_job_called_yours_and_the_form_keeps_its_choices(
    trained_home, tmp_path, monkeypatch
):
    shutil.copytree(trained_home.data_dir, tmp_path / "data")
    monkeypatch.setenv("HITLENS_HOME", str(tmp_path))
    settings = Settings(home=tmp_path)
    app = open_page(PAGES[1])
    app.multiselect[0].set_value(["dummy", "cnn1"])
    try:
        for _ in range(2):
            submit = next(b for b in app.get("form_submit_button") if b.label == "Retrain")
            submit.click().run()
            assert not app.exception
        assert "already running" not in page_text(app)  # this tab's own job is not "another" one
        assert any(h.value.startswith("Your training job ") for h in app.subheader)
        with Catalog.open(settings) as catalog:
            assert catalog.conn.execute("SELECT count(*) FROM jobs WHERE kind = 'train'").fetchone()[0] == 1
        other_tab = open_page(PAGES[1])
        next(b for b in other_tab.get("form_submit_button") if b.label == "Retrain").click().run()
        assert "Another training job is already running" in page_text(other_tab)
        assert not any(h.value.startswith("Your training job ") for h in other_tab.subheader)
    finally:
        for job in active_jobs(settings):
            cancel_job(settings, job.id)
            deadline = time.monotonic() + 120
            while get_job(settings, job.id).active and time.monotonic() < deadline:
                time.sleep(0.5)
    after = open_page(PAGES[1])  # the job has ended: the form still holds the artist's choices
    assert after.multiselect[0].value == ["dummy", "cnn1"]


def test_score_and_holdout_pages_with_a_run_that_has_no_holdout_auc(trained_home, tmp_path, monkeypatch):
    import numpy as np
    import soundfile as sf

    from tests.helpers import copy_without_auc

    home = copy_without_auc(trained_home, tmp_path / "home")
    monkeypatch.setenv("HITLENS_HOME", str(home.home))
    holdout = open_page(PAGES[2])
    assert not holdout.exception
    assert len(list(_every_tab(holdout, "holdout_section"))) == 4  # each tab runs without an exception
    song = tmp_path / "take.wav"
    sf.write(song, 0.1 * np.random.default_rng(0).standard_normal(35 * 22_050).astype(np.float32), 22_050)
    app = open_page(PAGES[3])
    assert "holdout ROC-AUC not available" in page_text(app)
    app.file_uploader[0].set_value([("take.wav", song.read_bytes(), "audio/wav")]).run()
    assert not app.exception, app.exception
    assert "take\\.wav: " in page_text(app)  # the name, Markdown-escaped so it shows as typed


# --- Charts that read at a glance (issue 11): display names, shared scales, named bands ---


def test_holdout_page_names_models_for_people_with_legends_below(trained_home, monkeypatch):
    monkeypatch.setenv("HITLENS_HOME", str(trained_home.home))
    figures = [figure for tab in _every_tab(open_page(PAGES[2]), "holdout_section") for figure in page_figures(tab)]
    assert (
        len(figures) == 3
    )  # accuracy and ROC-AUC, ROC and reliability, confusion matrices (a single run: no split chart)
    metrics, curves, confusion = figures
    assert {x for trace in metrics.data for x in trace.x if x} == {"Dummy", "CNN 2", "musicnn"}
    assert [t.name for t in curves.data if t.showlegend is not False] == [
        f"{name} (AUC {auc})" for name, auc in zip(("Dummy", "CNN 2", "musicnn"), _aucs(trained_home), strict=True)
    ]
    for figure in (metrics, curves):
        assert figure.layout.legend.orientation == "h" and figure.layout.legend.y < 0
    assert [a.text for a in confusion.layout.annotations] == ["<b>Dummy</b>", "<b>CNN 2</b>", "<b>musicnn</b>"]
    assert confusion.layout.yaxis.title.text == "actual"


def _aucs(trained) -> list[str]:
    from core.learning.registry import load_run

    with Catalog.open(trained) as catalog:
        metrics = load_run(trained, catalog).meta.metrics
    return [f"{metrics[m].roc_auc.value:.2f}" for m in ("dummy", "cnn2", "musicnn")]


def test_dataset_artist_charts_share_one_x_scale_and_count_in_words(use_demo_home):
    app = _dataset_section(open_page(PAGES[0]), "Artists")
    next(s for s in app.slider if s.label == "Minimum tracks per artist").set_value(1).run()
    assert not app.exception, app.exception
    top, bottom = (f for f in page_figures(app) if "artists" in (f.layout.title.text or ""))
    assert top.layout.xaxis.range == bottom.layout.xaxis.range
    assert top.layout.xaxis.range[1] >= max(max(_numbers(f.data[0].x)) for f in (top, bottom))
    labels = [text for f in (top, bottom) for text in f.data[0].text]
    assert all(text == "1 track" or (text.endswith(" tracks") and text != "1 tracks") for text in labels)
    assert "with at least 1 track;" in page_text(app)
    _dataset_section(app, "Tracks")
    low, high = next(s for s in app.slider if s.label == "Popularity").value
    assert isinstance(low, int) and isinstance(high, int)  # the demo's Spotify scale is whole numbers


def _numbers(values) -> list[float]:
    """A trace's numbers: Plotly sends a NumPy array as base64 (``{"dtype", "bdata"}``)."""
    import base64

    import numpy as np

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_spectrogram_names_bands_and_keeps_silence_dark():
    import numpy as np

    from core.config import FEATURE_PRESETS
    from ui import charts

    for preset in FEATURE_PRESETS.values():
        silence = np.full((preset.n_mels, preset.frames), -80.0, dtype=np.float32)
        figure = charts.spectrogram(silence, preset, "quiet", start_s=30.0)
        axis = figure.layout.yaxis
        assert list(axis.ticktext) == [
            "sub-bass <60 Hz",
            "bass 60-250 Hz",
            "low mids 250 Hz-2 kHz",
            "high mids 2-6 kHz",
            "highs/air >6 kHz",
        ]
        assert list(axis.tickvals) == sorted(axis.tickvals) and np.all(np.diff(axis.tickvals) > 1)
        heatmap = figure.data[0]
        assert (heatmap.zmin, heatmap.zmax) == (-80.0, 0.0) and heatmap.colorbar.title.text == "dB"
        # The floor is Magma's black, written as rgb(): Streamlit's theme recolours #000001-#000040.
        assert heatmap.colorscale[0][1] == "rgb(0, 0, 4)"
        assert heatmap.x[0] == 30.0  # song time: the window's start


def test_training_curves_draw_each_model_in_its_colour_with_one_legend_entry_below():
    import pandas as pd

    from ui import charts

    events = pd.DataFrame(
        [
            {"model": model, "epoch": epoch, "loss": 1 / epoch, "val_loss": 1.1 / epoch, "auc": 0.6, "val_auc": 0.55}
            for model in ("cnn1", "cnn_gru")
            for epoch in (1, 2, 3)
        ]
    )
    figure = charts.training_curves(events, "AUC")
    assert [(t.name, t.line.dash, t.showlegend) for t in figure.data] == [
        ("CNN 1", "solid", True),
        ("CNN 1", "dot", False),  # validation: one legend entry per model toggles both lines
        ("CNN-GRU", "solid", True),
        ("CNN-GRU", "dot", False),
    ]
    assert [t.line.color for t in figure.data[::2]] == [charts.MODEL_COLOURS["cnn1"], charts.MODEL_COLOURS["cnn_gru"]]
    assert figure.layout.legend.orientation == "h" and figure.layout.legend.y < 0
    assert figure.layout.xaxis.dtick == 1 and figure.layout.title.text.startswith("AUC per epoch")


def test_set_ups_two_runs_of_one_model_are_two_traces_never_one_line_back_to_epoch_1():
    import pandas as pd

    from ui import charts

    events = pd.DataFrame(
        [
            {"run": run, "model": "cnn1", "epoch": epoch, "auc": 0.6, "val_auc": 0.5}
            for run, epochs in (("quick-start run", 20), ("default run", 3))
            for epoch in range(1, epochs + 1)
        ]
    )
    figure = charts.training_curves(events, "AUC")
    solid = [t for t in figure.data if t.line.dash == "solid"]
    assert [t.name for t in solid] == ["CNN 1 (quick-start run)", "CNN 1 (default run)"]
    assert [list(t.x) for t in solid] == [list(range(1, 21)), [1, 2, 3]]  # each trace's epochs only go up
    assert solid[0].opacity < solid[1].opacity == 1.0  # the earlier run is fainter


# --- The models on top of the audio verdict (issue 14) ---


def test_holdout_page_shows_audio_alone_vs_with_context_and_the_regression(context_home, monkeypatch):
    monkeypatch.setenv("HITLENS_HOME", str(context_home.home))
    app = open_page(PAGES[2])
    text, figures = "", {}
    for tab in _every_tab(app, "holdout_section"):
        text += page_text(tab)
        figures |= {f.layout.title.text: f for f in page_figures(tab)}
    assert "Audio alone vs audio + the artist's context" in text and "fed by musicnn's calibrated probability" in text
    assert "random split" in text and "fan counts are synthetic" in text  # what the split and the demo's fans mean
    assert "Predicted popularity" in text and "MAE" in text and "nominal 80%" in text
    comparison = figures["Holdout ROC-AUC: the audio model alone and with the artist's context"]
    assert [t.name for t in comparison.data if t.type == "bar"] == ["audio only", "audio + artist context"]
    assert "fed by musicnn" in comparison.data[0].x[0]
    scatter = figures["Predicted vs actual popularity on the holdout"]
    assert [t.name for t in scatter.data][1:] == ["perfect prediction", "holdout track"]
    assert scatter.data[0].name.startswith("80% prediction interval") and scatter.data[0].fill == "toself"


def _verdicts(app: AppTest) -> list[str]:
    """Every verdict the page shows: headings and metrics that read "popular (" or "not popular"."""
    shown = [h.value for h in app.subheader] + [f"{m.label} {m.value}" for m in app.metric]
    return [text for text in shown if re.search(r"\bpopular \(|\bnot popular\b|popular ·", text)]


def test_score_page_shows_one_verdict_and_the_other_questions_by_name(context_home, monkeypatch, tmp_path):
    from core.catalog.history import scored_songs

    shutil.copytree(context_home.data_dir, tmp_path / "data")
    shutil.copytree(context_home.models_dir, tmp_path / "models")
    monkeypatch.setenv("HITLENS_HOME", str(tmp_path))
    app = open_page(PAGES[3])
    app.file_uploader[0].set_value([("take.wav", demo_song(Settings(home=tmp_path), 35), "audio/wav")]).run()
    assert not app.exception, app.exception
    assert len(_verdicts(app)) == 1, _verdicts(app)
    assert not any(m.label.startswith("Audio only") for m in app.metric)  # no second probability for the song
    assert re.search(r"Predicted popularity \d+, 80% interval \d+-\d+\*\* \(Spotify's 0-100 scale", page_text(app))
    assert "artist unknown: no fans, no history" in page_text(app) and "Two other questions" in page_text(app)

    app.radio[0].set_value("an artist in the catalog").run()
    assert not app.exception, app.exception
    chance = next(m for m in app.metric if m.label == "Chance for this artist's release (audio + context model)")
    assert chance.value.endswith("%") and "popular" not in chance.value and len(_verdicts(app)) == 1
    assert "Knowing the artist (" in page_text(app) and "with the artist's context)" in page_text(app)
    app.radio[0].set_value("another artist: type a fan count").run()
    app.number_input[0].set_value(20_000_000).run()
    assert not app.exception, app.exception
    assert "an artist not in the catalog with 20,000,000 fans" in page_text(app)
    assert any("beyond the fan counts this run learned from" in w.value for w in app.warning)
    with Catalog.open(Settings(home=tmp_path)) as catalog:
        assert list(scored_songs(catalog)["model"]) == ["musicnn"]  # one row: what the page showed


def test_a_real_recording_gets_no_verdict_anywhere_on_the_score_page(scoring_home):
    from ui.songs import plain

    real = shared_file("data/real-audio/elf-land.ogg")
    app = open_page(PAGES[3])
    app.file_uploader[0].set_value([("elf-land.ogg", real.read_bytes(), "audio/ogg")]).run()
    assert not app.exception, app.exception
    text = page_text(app)
    assert plain("elf-land.ogg") + ": verdict withheld" in text and not _verdicts(app)
    assert "unlike the synthetic demo catalog" in text and "Real recordings are expected to get no verdict here" in text
    ranking = app.dataframe[0].value
    assert list(ranking["verdict"]) == ["withheld"] and list(ranking["percentile"]) == ["—"]
    assert ranking["probability"].isna().all()  # no bar that would read as a score beside a withheld verdict
    assert "are far" in text and "No explanation: the verdict is withheld" in text
    assert not any(b.label == "Download the explanation (PNG)" for b in app.get("download_button"))
    spec = next(c.proto.spec for c in app.get("plotly_chart") if "your song" in c.proto.spec)
    assert "nearest catalog track: similarity 0.8" in spec and "far: the run's clips sit at" in spec
