"""Set-up's one progress figure and its honest time left."""

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


def test_time_left_follows_the_plan_until_work_is_measured_then_this_machines_speed():
    progress, clock, reports = _progress()
    progress.start(0)
    assert "first verdict in about 2 min" in reports[-1][1] and "everything in about 12 min" in reports[-1][1]
    with progress.counter("rendering", unit="song") as update:
        clock.now = 60.0
        update(1, 2)  # half the planned minute took a whole minute: this machine is twice as slow
    assert progress.speed() == 2.0
    assert progress.seconds_left(1) == 60.0 + 120.0  # the rest of step 1, then step 2, both at half speed
    assert "first verdict in about 3 min" in reports[-1][1]
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
