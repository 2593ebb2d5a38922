"""The run's progress bar is redrawn with the plots, at the first frame and at the end, not
at every frame: each redraw is one more message for the browser to render."""

from __future__ import annotations

from dashboard.page import show_progress
from dashboard.runs import RunRecord


class Slot:
    """A placeholder that records what was drawn into it."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def progress(self, value: float, text: str = "") -> None:
        self.calls.append(("progress", value, text))

    def empty(self) -> None:
        self.calls.append(("empty",))


def _record(step: int, total: int = 200, status: str = "running") -> RunRecord:
    rec = RunRecord(["x"], ['{"task": "am", "target": 0}'], "m", total)
    rec.steps, rec.status = [step], status
    return rec


def test_the_bar_is_drawn_at_the_first_frame_with_the_plots_and_at_the_end():
    slot = Slot()
    for step, full in [(0, False), (10, False), (20, False), (100, True), (150, False),
                       (200, False)]:
        show_progress(slot, _record(step), full)
    assert [c[1] for c in slot.calls] == [0.0, 0.5, 1.0]
    assert slot.calls[-1][2].startswith("step 200 / 200")


def test_a_stopped_run_draws_its_bar_where_it_stopped():
    slot = Slot()
    show_progress(slot, _record(70, status="stopped"), False)
    assert slot.calls == [("progress", 0.35, slot.calls[0][2])]
    assert slot.calls[0][2].startswith("step 70 / 200")


def test_each_frame_draws_every_frame_and_a_failed_run_shows_no_bar():
    slot = Slot()
    for step in (0, 10, 20):
        show_progress(slot, _record(step), False, " · net", each_frame=True)
    assert [c[1] for c in slot.calls] == [0.0, 0.05, 0.1]
    assert slot.calls[1][2].endswith(" · net")
    show_progress(slot, _record(20, status="diverged"), True)
    assert slot.calls[-1] == ("empty",)
