"""A run that ended because its page was left (another page, a reload, a closed tab) says
so, in the page's status and in its History row, instead of reading as a Stop click."""

from __future__ import annotations

import numpy as np

from dashboard import run_panel
from dashboard.runs import LEFT_PAGE, RunRecord


class _Frame:
    def __init__(self, step: int) -> None:
        self.step, self.total, self.octave = step, 100, 0
        self.images = np.full((1, 1, 8, 8), 0.5, dtype=np.float32)
        self.objective = self.activation = self.grad_norm = np.zeros(1, dtype=np.float32)
        self.elapsed, self.labels, self.diverged = step / 100, ["x"], [None]
        self.done = self.stopped = False
        self.no_gradient = [None]


def _record() -> RunRecord:
    rec = RunRecord(["x"], ['{"task": "am", "target": 0}'], "m", 100)
    for step in (0, 5):
        assert rec.add(_Frame(step))
    rec.mark_shown()
    return rec


def test_the_message_says_the_page_was_left():
    rec = _record()
    rec.mark_interrupted(LEFT_PAGE)
    assert rec.status == "stopped"
    assert rec.message.startswith("stopped at step 5 of 100 after 0.1 s when its page was "
                                  "left;"), rec.message
    stop, change = _record(), _record()
    stop.mark_interrupted("")
    change.mark_interrupted("tau")
    assert "left" not in stop.message and "by the change of tau" in change.message


def test_a_run_no_script_run_took_over_was_left(monkeypatch):
    """Streamlit stopped the script mid-run and no run of this page restored the record in
    time (the user went to another page): the panel stops it as left, and its finish hooks
    (the History row) get that message."""
    monkeypatch.setattr(run_panel, "HANDOVER_S", 0.05)
    panel = run_panel.RunPanel("t_")
    seen = []
    panel.finish_hooks = [lambda rec, p: seen.append(rec.message)]
    rec = _record()
    panel._keep_stopped([rec])
    assert rec.status == "stopped" and "when its page was left" in rec.message
    assert seen == [rec.message]


def test_a_record_restored_by_a_run_of_the_page_is_not_said_left(monkeypatch):
    """Stop and a changed setting start a run of the same page at once, whose restore()
    takes the record over: it is then not marked here."""
    import threading

    monkeypatch.setattr(run_panel, "HANDOVER_S", 5.0)
    panel = run_panel.RunPanel("t_")
    panel.finish_hooks = []
    rec = _record()
    threading.Timer(0.1, rec.mark_interrupted).start()  # the new script run's restore()
    panel._keep_stopped([rec])
    assert rec.status == "stopped" and "left" not in rec.message


def test_the_playground_says_a_run_ended_by_leaving_it(dash):
    """Back on the Playground after another page: the run that was still running when the
    user left says so (a run of the page itself, e.g. after Stop, would not)."""
    from dashboard.navigation import page_path

    at = dash.open(page_path("playground"))
    rec = _record()
    rec.settings = {}
    at.session_state["pg_records"] = [rec]
    at.switch_page(page_path("home")).run()
    at.switch_page(page_path("playground")).run()
    dash.no_exception(at)
    shown = " ".join(dash.shown(e.value) for e in at.warning)
    assert "stopped at step 5 of 100 after 0.1 s when its page was left" in shown, shown
    assert rec.status == "stopped"
