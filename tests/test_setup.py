"""Set-up's one progress figure and its honest time left."""

import pandas as pd

from core.learning.training import TrainingEvent
from core.progress import training_fraction
from core.setup import SetupProgress, SetupStep


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


STEPS = [
    SetupStep("render", ("demo",), 60.0),
    SetupStep("train", ("train",), 60.0, first_verdict=True),
    SetupStep("embed", ("embeddings",), 600.0),
]


def _progress():
    clock, reports = Clock(), []
    return (
        SetupProgress(STEPS, lambda fraction, message: reports.append((fraction, message)), clock=clock),
        clock,
        reports,
    )


def test_time_left_follows_the_plan_until_work_of_a_kind_is_measured_then_this_machines_speed():
    progress, clock, reports = _progress()
    progress.start(0)
    assert "first verdict in about 2 min" in reports[-1][1] and "everything in about 12 min" in reports[-1][1]
    with progress.counter("rendering", unit="song") as update:
        clock.now = 60.0
        update(1, 2)  # half the planned minute took a whole minute: this machine is twice as slow
    assert progress.speed() == 2.0
    # the rest of step 1 at half speed, then step 2 (training: not measured yet) as planned
    assert progress.seconds_left(1) == 60.0 + 60.0
    assert abs(reports[-1][0] - 60 / (60 + progress.seconds_left())) < 1e-9  # time done over time in all


def test_a_step_with_nothing_to_do_costs_nothing_and_keeps_the_first_verdict_out_of_late_messages():
    progress, clock, reports = _progress()
    progress.start(0)
    with progress.counter("rendering") as update:
        update(0, 0)  # everything exists already
    clock.now = 5.0
    progress.finish()
    assert progress.actual[0] == 0.0 and progress.speed() == 1.0
    progress.start(2)
    assert "first verdict" not in reports[-1][1] and reports[-1][1].startswith("step 3 of 3")
    assert reports[-1][0] == 0.0


def test_the_time_shown_moves_toward_a_new_estimate_over_a_minute_not_at_once():
    progress, clock, _ = _progress()
    assert progress.shown_left("all", 600.0) == 600.0
    clock.now = 60.0
    assert progress.shown_left("all", 540.0) == 540.0  # on plan: nothing to smooth
    clock.now = 61.0
    jumped = progress.shown_left("all", 1500.0)  # one surprising measurement nearly tripled the estimate
    assert 539.0 < jumped < 560.0
    clock.now = 121.0
    assert progress.shown_left("all", 1440.0) < 0.64 * 1440.0 + 0.36 * 600.0  # at most 1 - 1/e of the way


def test_each_kind_of_step_is_estimated_at_its_own_measured_speed():
    clock = Clock()
    steps = [
        SetupStep("embed the quick-start part", ("embeddings",), 60.0),
        SetupStep("train quick", ("train",), 60.0, first_verdict=True),
        SetupStep("embed the rest", ("embeddings",), 180.0),
        SetupStep("train all", ("train",), 600.0),
    ]
    progress = SetupProgress(steps, lambda fraction, message: None, clock=clock)
    progress.start(0)
    with progress.counter("embedding") as update:
        clock.now = 240.0
        update(1, 1)  # embeddings take four times the plan here
    progress.finish()
    assert progress.speed("train") == 1.0  # not measured yet: the plan, not the embeddings' speed
    progress.start(1)
    with progress.training(["cnn1"]) as update:
        clock.now = 300.0
        update(TrainingEvent("cnn1", 1, 1, None, 10, {}))  # training runs on plan
    progress.finish()
    progress.start(2)
    assert progress.speed("train") == 1.0 and progress.speed("embeddings") == 4.0
    assert progress.seconds_left() == 180.0 * 4 + 600.0


def test_training_progress_weighs_each_model_by_what_it_costs():
    models = ["mlp", "cnn1", "cnn2", "cnn_gru", "musicnn"]
    starting_the_cnn_gru = training_fraction(models, TrainingEvent("cnn_gru", 1, 15, 0, 100, {}))
    assert 0.15 < starting_the_cnn_gru < 0.25  # three models done, but four fifths of the work to come
    done = training_fraction(models, TrainingEvent("cnn_gru", 15, 15, None, 100, {}))
    assert 0.99 < done < 1.0  # musicnn's head takes seconds


def test_set_up_completes_with_the_pages_models_and_leaves_the_cnn_gru_to_a_background_job():
    from core.cli import build_parser
    from core.cli.models import nothing_to_train
    from core.learning.architectures import AUDIO_MODELS
    from core.learning.training import parse_models
    from core.setup import setup_steps

    *_, default, study = setup_steps()
    default_models = parse_models(build_parser().parse_args(list(default.argv)).models)
    assert not default.background and study.background
    assert "cnn_gru" not in default_models
    assert {"dummy", "cnn2", "musicnn", "context", "regression"} <= set(default_models)  # what the pages show
    study_args = build_parser().parse_args(list(study.argv))
    assert set(parse_models(study_args.models)) == set(default_models) | {"cnn_gru"}
    default_run = [m for m in default_models if m in AUDIO_MODELS]
    runs = pd.DataFrame({"quick_start": [False], "models": [default_run]})
    assert not nothing_to_train(study_args, runs)  # the default run lacks the CNN-GRU: the comparison starts
    runs.loc[1] = [False, list(AUDIO_MODELS)]
    assert nothing_to_train(study_args, runs)  # set-up run again later: nothing left to start
