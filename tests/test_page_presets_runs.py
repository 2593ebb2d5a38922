"""Paper presets page (AppTest): what a run leaves behind when it ends.

A run ended by a changed setting or by the session's end (a reload, a closed tab) is kept
as "stopped" (shown with a note in the same session, stored in the history either way);
a stopped run of several batches gets one summary line; each picture's caption gives the
model's class probability and the independent judge's verdict; the paper version's "Open"
buttons are disabled with Run's reason when its weights are missing.

AppTest cannot click while a script runs, so the engine is replaced by a fake
(:class:`FakeEngine`) that draws two frames and then asks Streamlit for what a browser
would send meanwhile: a rerun with the widgets' new values, or the session's stop. The
page then meets Streamlit's own control exception at its next yield point, as it does on
the server.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.runtime.scriptrunner import RerunData, get_script_run_ctx

from dashboard import run_panel
from dashboard.navigation import page_path
from dashboard.runs import RunRecord
from viz_core.store import RunStore

PP = page_path("presets")
SIDE = 64  # the Fashion-MNIST models' input size


def _frame(step: int, images: np.ndarray, elapsed: float, done: bool = False):
    n = images.shape[0]
    return SimpleNamespace(step=step, objective=np.zeros(n), activation=np.full(n, 1.5),
                           grad_norm=None, images=images, diverged=[None] * n,
                           elapsed=elapsed, done=done, stopped=False)


class FakeEngine:
    """Stands in for :func:`dashboard.streaming.stream`: each batch draws frames at steps 0
    and 8, then either ends ("done") or calls its interruption (which asks Streamlit for a
    rerun or a stop) and yields to Streamlit until the script is ended there."""

    def __init__(self, plan: list[str | Callable[[RunRecord], None]],
                 images: Callable[[int], np.ndarray] | None = None) -> None:
        self.plan = list(plan)
        self.images = images or (lambda n: np.random.default_rng(0).random(
            (n, 1, SIDE, SIDE), dtype=np.float32))
        self.batches = 0

    def __call__(self, configs, model, record, draw, *, tick=None, final_full=True, **_):
        what = self.plan[self.batches] if self.batches < len(self.plan) else "done"
        self.batches += 1
        imgs = self.images(len(configs))
        for k, step in enumerate((0, 8)):
            record.add(_frame(step, imgs, 0.05 * k))
            draw(record, None, False)
        if what == "done":
            record.add(_frame(record.total, imgs, 0.2, done=True))
            draw(record, None, final_full)
            return record
        what(record)
        for _ in range(500):  # Streamlit ends the script at one of these yield points
            tick()
            time.sleep(0.01)
        raise AssertionError("the script was not interrupted")


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(path))
    return RunStore(path)


def _engine(monkeypatch, *plan, images=None) -> FakeEngine:
    fake = FakeEngine(list(plan), images)
    monkeypatch.setattr(run_panel, "stream", fake)  # RunPanel() takes it as its streamer
    return fake


def _rerun(at, change: Callable[[], None]) -> Callable[[RunRecord], None]:
    """What the browser sends during the run: the widgets as ``change`` leaves them
    (AppTest reruns the script in its thread; a server stops it and starts a new one, see
    :func:`test_a_run_that_a_new_script_run_takes_over_is_left_to_it`)."""
    def go(_: RunRecord) -> None:
        change()
        ctx = get_script_run_ctx()
        states = at.button[0].root.get_widget_states()
        assert ctx.script_requests.request_rerun(RerunData(
            widget_states=states, page_script_hash=ctx.page_script_hash))
    return go


def _session_ends(_: RunRecord | None = None) -> None:
    """A reload or a closed tab: Streamlit asks the session's script to stop."""
    get_script_run_ctx().script_requests.request_stop()


def _captions(at) -> list[str]:
    return [i.proto.imgs[0].caption for i in at.image if i.proto.imgs]


def _bar_texts(at) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


# --------------------------------------------------------------------------- defect 1

def test_a_tuned_run_ended_by_a_changed_class_is_kept_stopped_and_stored(dash, store,
                                                                       monkeypatch):
    at = dash.open(PP)
    at.selectbox(key="pp_t_class").set_value(1).run()  # trouser

    def change() -> None:  # the user picks another class while the nine schemes run
        at.selectbox(key="pp_t_class").set_value(3)
        at.button(key="pp_t_run").set_value(False)

    _engine(monkeypatch, _rerun(at, change))
    at.button(key="pp_t_run").click().run(timeout=300)
    dash.no_exception(at)
    assert at.selectbox(key="pp_t_class").value == 3  # the rerun carried the change
    rec = at.session_state["pp_t_records"][0]
    assert rec.status == "stopped" and rec.step == 8
    # the pictures stay, marked as from the previous settings and stopped
    caps = [c for c in _captions(at) if "step 8/200" in c]
    assert len(caps) == 9, _captions(at)
    said = [dash.shown(i.value) for i in at.info] + [dash.shown(w.value) for w in at.warning]
    assert any("from previous settings" in s and "class 1" in s for s in said), said
    assert any("stopped at step 8 of 200" in s for s in said), said
    assert any(t.startswith("stopped") for t in _bar_texts(at)), _bar_texts(at)
    # in the history, as stopped, one group
    runs = store.list()
    assert len(runs) == 9 and {r.status for r in runs} == {"stopped"}
    assert len({r.group_id for r in runs}) == 1
    at.run()  # a later rerun neither stores it again nor loses it
    assert store.count() == 9
    assert len([c for c in _captions(at) if "step 8/200" in c]) == 9


def test_a_run_whose_session_ends_is_stored_as_stopped(dash, store, monkeypatch):
    """A reload mid-run is a new session: only the history can keep the run."""
    at = dash.open(PP)
    _engine(monkeypatch, _session_ends)
    at.button(key="pp_t_run").click().run(timeout=300)
    runs = store.list()
    assert len(runs) == 9 and {r.status for r in runs} == {"stopped"}
    assert len({r.group_id for r in runs}) == 1
    r = store.get(runs[0].id)
    assert r.curves["step"] == [0, 8]
    assert r.verdicts and r.verdicts[0]["target_prob"] is not None  # judged like any run


def test_a_preset_run_whose_session_ends_keeps_its_finished_batches(dash, store,
                                                                    monkeypatch):
    at = dash.open(PP)
    _engine(monkeypatch, "done", _session_ends)
    at.button(key="pp_fig2_off").click().run(timeout=300)
    runs = store.list()
    assert sorted(r.status for r in runs) == ["done"] * 4 + ["stopped"] * 4
    assert len({r.group_id for r in runs}) == 1  # one Run click, one group


def test_a_run_that_a_new_script_run_takes_over_is_left_to_it(dash, store, monkeypatch):
    """On a server a widget change stops the running script and starts a new script run at
    once (fast reruns), which restores the records (stopped, reported once): the stopped
    script leaves them to it instead of storing them a second time."""
    def widget_change(record: RunRecord) -> None:
        _session_ends()
        threading.Timer(0.3, record.mark_interrupted).start()  # the new run's restore()

    at = dash.open(PP)
    _engine(monkeypatch, widget_change)
    at.button(key="pp_t_run").click().run(timeout=300)
    assert at.session_state["pp_t_records"][0].status == "stopped"
    assert store.count() == 0  # left to the new script run (here a stand-in that stores none)


def test_a_playground_run_whose_session_ends_is_stored_as_stopped(dash, store, monkeypatch):
    """The same for every page's run (RunPanel.run): a reload during a Playground run."""
    at = dash.open(page_path("playground"), steps=20, every=4)
    _engine(monkeypatch, _session_ends)
    at.button(key="pg_run").click().run(timeout=300)
    (run,) = store.list()
    assert run.status == "stopped" and store.get(run.id).curves["step"] == [0, 8]


# --------------------------------------------------------------------------- defect 2

def test_a_stopped_run_of_several_batches_is_summarised(dash, store, monkeypatch):
    at = dash.open(PP)

    def stop() -> None:
        at.button(key="pp_fig2_off").set_value(False)
        at.button(key="pp_fig2_stop").click()

    _engine(monkeypatch, "done", _rerun(at, stop))
    at.button(key="pp_fig2_off").click().run(timeout=300)
    dash.no_exception(at)
    bars = _bar_texts(at)
    assert len(bars) == 1, bars  # the bar stays, with the summary
    assert re.fullmatch(r"stopped during batch 2 of 4, \d+\.\d s after Run: 1 batch finished, "
                        r"1 stopped, 2 not run", bars[0]), bars
    captions = [c.value for c in at.caption]
    assert not any(c.endswith("not run yet") for c in captions), captions
    assert sum(c.endswith("not run: the run was stopped before this batch")
               for c in captions) == 8
    assert sorted(r.status for r in store.list()) == ["done"] * 4 + ["stopped"] * 4
    at.run()  # the summary stays on later reruns
    assert _bar_texts(at) == bars


def test_a_finished_single_batch_says_so_in_the_singular(dash, store, monkeypatch):
    at = dash.open(PP)
    _engine(monkeypatch, "done")
    at.button(key="pp_t_run").click().run(timeout=300)
    dash.no_exception(at)
    bars = _bar_texts(at)
    assert bars and bars[-1] == "the batch finished", bars  # its status gives the time


# --------------------------------------------------------------------------- defect 3

def test_captions_give_the_judges_verdict_and_the_table_the_models_own_probability(
        dash, store, monkeypatch):
    def images(n: int) -> np.ndarray:
        out = np.random.default_rng(0).random((n, 1, SIDE, SIDE), dtype=np.float32)
        out[0] = 0.0  # flat black: a degenerate result
        return out

    at = dash.open(PP)
    _engine(monkeypatch, "done", images=images)
    at.button(key="pp_t_run").click().run(timeout=300)
    dash.no_exception(at)
    caps = [c for c in _captions(at) if "judge: " in c]
    assert len(caps) == 9, _captions(at)
    for c in caps:
        # the judge's verdict in short form, nothing else (QA: "class probability 100%"
        # read as a verdict; then "model's own" beside it made 4 lines in a 128 px column);
        # no step once the run is done
        assert re.fullmatch(r"[^·]+ · judge: [^·]+ \d+%( · ⚠ flat black)?", c), c
        assert "own" not in c and "step" not in c and len(c) < 61, c
    assert "flat black" in caps[0] and not any("flat black" in c for c in caps[1:])
    assert not any(s.value.startswith("done") for s in at.success)  # no plain green "done"
    assert any("flat black" in dash.shown(w.value) for w in at.warning)
    # under the grid: how many the judge recognises, with chance
    rec = at.session_state["pp_t_records"][0]
    k = sum(v[1].top[0][0] == "Ankle boot" for v in rec.verdicts)
    line = f"{k} of 9 recognised by the independent judge (fmnist_lenet_judge; chance: 1 of 10)"
    assert line in [m.value for m in at.markdown]
    # and every verdict in the table below it: the judge's first, the model's own beside
    (table,) = [d.value for d in at.dataframe if "picture" in d.value.columns]
    assert list(table.columns)[:3] == ["picture", "judge sees", "model's own"]
    assert len(table) == 9 and table["model's own"].str.fullmatch(r"\d+%").all()
    assert table["warning"].iloc[0].startswith("flat black")


# --------------------------------------------------------------------------- defect 4

def test_open_paper_version_is_disabled_without_the_weights(dash, monkeypatch):
    import dashboard.resources as resources

    monkeypatch.setattr(resources, "available",
                        lambda names: all(n.startswith("fmnist") for n in names))
    at = dash.open(PP)
    dash.no_exception(at)
    for key in ("fig1", "fig2", "simonyan"):
        run, open_ = at.button(key=f"pp_{key}_pap"), at.button(key=f"pp_{key}_open_pap")
        assert run.disabled and open_.disabled
        assert open_.proto.help == run.proto.help == "needs the ImageNet weights"
        assert not at.button(key=f"pp_{key}_open_off").disabled
