"""Two findings of the multi-session QA pass.

1. A session that joins the same run of another session, already under way
   (dashboard.shared_runs), reports the run's own time (the engine's seconds from the run's
   start), never the seconds since it arrived: "done in", time per step, the JSON's seconds
   and the stored duration; its status says once that it joined, and at which step.
2. A dead engine process is reported in a user's words (what happened, what to do), with no
   class name; the server log keeps the exception.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time

import numpy as np
import pytest

from dashboard import engine_worker as ew
from dashboard import shared_runs as sr
from dashboard.messages import ui_message
from dashboard.runs import RunRecord
from dashboard.streaming import _failure, stream
from tests.test_shared_runs import MODEL, RECIPE, cfg
from viz_core import engine, models

NOTE = "joined a run another session started, at step"
DEAD = "the engine stopped unexpectedly (exit code -9); press Run to start it again"


@pytest.fixture(scope="module")
def model():
    return models.open_model(MODEL, device="cpu")


class Feed:
    """A stream's feed: frames in, where it joined, one end."""

    def __init__(self) -> None:
        self.frames: list = []
        self.joined_at: int | None = None
        self.ended = threading.Event()
        self.error: BaseException | None = None

    def put(self, frame) -> None:
        self.frames.append(frame)

    def joined(self, step: int) -> None:
        self.joined_at = step

    def end(self, error) -> None:
        self.error = error
        self.ended.set()


class Screen:
    """Stands in for ``streamlit`` in :func:`dashboard.page.status_message`."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __getattr__(self, kind: str):
        return lambda text, **kw: self.lines.append((kind, str(text)))


def frame(step: int, elapsed: float, total: int = 2000, done: bool = False) -> engine.Frame:
    one = np.zeros(1)
    return engine.Frame(step=step, total=total, octave=0,
                        images=np.full((1, 1, 4, 4), 0.5, np.float32), objective=one,
                        activation=one, grad_norm=one + 1, elapsed=elapsed, labels=["x"],
                        diverged=[None], done=done)


def status_lines(rec: RunRecord, monkeypatch, **kw) -> list[tuple[str, str]]:
    from dashboard import page

    screen = Screen()
    monkeypatch.setattr(page, "st", screen)
    page.status_message(rec, **kw)
    return screen.lines


# 1. a late joiner's times are the run's ----------------------------------------------


def test_a_late_session_gets_the_runs_own_times_and_the_step_it_came_at(model):
    run = sr.SharedRun(RECIPE, [cfg()], None, 10,
                       lambda cfgs, stop: engine.run(cfgs, model, every=10, stop=stop),
                       sr.Member(1, threading.Event()))
    assert run.step == 0  # nothing computed yet: a session joining now misses nothing
    early = [f for _, f in run.advance() + run.advance()]
    assert run.step == 10
    replay = [f for _, f in run.join(sr.Member(2, threading.Event()))]
    assert [f.elapsed for f in replay] == [f.elapsed for f in early]
    rest: dict[int, list] = {}
    while run.gen is not None:
        for rid, f in run.advance():
            rest.setdefault(rid, []).append(f)
    assert [f.elapsed for f in rest[2]] == [f.elapsed for f in rest[1]]
    assert rest[2][-1].done and rest[2][-1].elapsed >= early[-1].elapsed


def test_a_joined_record_carries_the_runs_time(monkeypatch):
    rec = RunRecord(["x"], [cfg(steps=2000).to_json()], MODEL, 2000)
    rec.joined(1240)
    for step, elapsed in ((0, 0.01), (1240, 7.5), (2000, 12.2)):
        assert rec.add(frame(step, elapsed, done=step == 2000))
    assert rec.status == "done" and rec.elapsed == 12.2
    # the stored duration (History: now - started) covers the whole computation
    assert time.perf_counter() - rec.started >= 12.2
    result = json.loads(rec.json())["result"]
    assert result["seconds"] == 12.2 and result["joined_at_step"] == 1240
    lines = status_lines(rec, monkeypatch)
    assert lines == [("success", f"done: 2000 steps in 12.2 s ({NOTE} 1240)")]
    assert status_lines(rec, monkeypatch, said_above=True) == [
        ("caption", f"finished 2000 steps in 12.2 s ({NOTE} 1240), with the warning above")]
    # a run of its own: the same words as before, its start where it was
    own = RunRecord(["x"], [cfg(steps=2000).to_json()], MODEL, 2000)
    started = own.started
    assert own.add(frame(2000, 12.2, done=True)) and own.started == started
    assert status_lines(own, monkeypatch) == [("success", "done: 2000 steps in 12.2 s")]
    assert "joined_at_step" not in json.loads(own.json())["result"]


def test_a_joined_run_that_stops_says_so_once(monkeypatch):
    rec = RunRecord(["x"], [cfg(steps=2000).to_json()], MODEL, 2000)
    rec.joined(1240)
    rec.add(frame(1240, 7.5))
    rec.mark_shown()
    rec.add(frame(1280, 7.7))
    rec.mark_interrupted()
    assert rec.message.startswith(f"stopped at step 1240 of 2000 after 7.5 s ({NOTE} 1240);")
    lines = [(k, t.replace("\\", "")) for k, t in status_lines(rec, monkeypatch)]
    # (a flat test image gets warnings too; the words are escaped for Markdown)
    assert [k for k, t in lines if t.startswith("stopped")] == ["warning"]
    assert sum(t.count(NOTE) for _, t in lines) == 1


def test_a_session_that_joins_in_the_engine_process_reports_the_runs_time(model,
                                                                          monkeypatch):
    proc = ew.EngineProcess(threads=1)
    try:
        assert proc.ready.wait(120), "the engine process did not start"
        monkeypatch.setenv(ew.ENV, "process")
        monkeypatch.setattr(ew, "_SHARED", {"engine": proc})
        ew.remember(model, MODEL, None, "cpu")
        c = cfg(steps=800, every=20)  # 41 frames: open to newcomers to its end
        first = Feed()
        proc.submit(first, RECIPE, [c], None, c.every)
        deadline = time.time() + 120
        while (not first.frames or first.frames[-1].step < 100) and time.time() < deadline:
            time.sleep(0.01)
        assert first.frames and not first.ended.is_set()
        rec = RunRecord(["x"], [c.to_json()], model.label, c.total_steps)
        stream([c], model, rec, lambda r, f, full: r.mark_shown(), every=c.every, threads=1)
        assert first.ended.wait(120) and first.error is None
        assert rec.status == "done" and rec.step == 800
        assert rec.joined_at is not None and 100 <= rec.joined_at < 800  # it came late
        run = first.frames[-1].elapsed  # the engine's seconds for the whole run
        assert rec.elapsed == run and json.loads(rec.json())["result"]["seconds"] == round(
            run, 3)
        np.testing.assert_array_equal(rec.images, first.frames[-1].images)
        from dashboard.playground_view import metrics_table

        assert f"| time per step | {1000 * run / 800:.0f} ms |" in metrics_table(
            rec, "activation", [])
        from dashboard.run_history import stored_runs

        [stored] = stored_runs(rec, "Playground")
        assert stored.seconds >= run  # History: the run's time, not the arrival's
        [(kind, text)] = status_lines(rec, monkeypatch)
        assert kind == "success" and text.endswith(f"({NOTE} {rec.joined_at})")
        assert proc.runs() == 0
    finally:
        proc.close()


# 2. a dead engine process in a user's words ------------------------------------------


def test_a_dead_engine_process_is_reported_in_a_users_words(caplog):
    proc = ew.EngineProcess(threads=1)
    try:
        assert proc.ready.wait(120), "the engine process did not start"
        feed = Feed()
        c = cfg(steps=100_000, every=5)
        proc.submit(feed, RECIPE, [c], None, c.every)
        deadline = time.time() + 120
        while not feed.frames and time.time() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        assert feed.ended.wait(60)
    finally:
        proc.close()
    assert str(feed.error) == DEAD
    with caplog.at_level(logging.ERROR, logger="demons_viz.dashboard"):
        shown = _failure(feed.error)
    assert shown == DEAD and ui_message(shown) == DEAD  # no class name, no rewrite
    assert "EngineProcess" not in shown
    # the server log keeps the record, exception included
    [log] = [r for r in caplog.records if r.getMessage() == "run failed"]
    assert log.exc_info and log.exc_info[1] is feed.error


def test_other_failures_keep_their_kind():
    assert _failure(ew.EngineFailure("RuntimeError", "boom")) == \
        "the run failed: RuntimeError: boom"
