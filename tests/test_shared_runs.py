"""The same run asked for by several sessions at once is computed once
(dashboard.shared_runs): every session gets every frame, bit for bit the lone run's, a late
one gets the frames it missed, Stop of one leaves the others' run going."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dashboard import engine_worker as ew
from dashboard import shared_runs as sr
from viz_core import engine, models
from viz_core.config import RunConfig
from viz_core.kernels import KernelSpec

MODEL = "fmnist_vgg"
RECIPE = (MODEL, None, "cpu")


def cfg(**kw) -> RunConfig:
    base = dict(model=MODEL, target=0, steps=40, every=10, device="cpu",
                fluid=KernelSpec("sobolev", 3.0), elastic=KernelSpec("gaussian", 0.6))
    return RunConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def model():
    return models.open_model(MODEL, device="cpu")


class Starts:
    """A SharedRun's start: the real engine, counting how often it was started."""

    def __init__(self, model) -> None:
        self.model, self.count = model, 0

    def __call__(self, configs, stop):
        self.count += 1
        return engine.run(configs, self.model, every=10, stop=stop)


def member(rid: int) -> sr.Member:
    return sr.Member(rid, threading.Event())


def drain(run: sr.SharedRun) -> dict[int, list]:
    out: dict[int, list] = {}
    while run.gen is not None:
        for rid, frame in run.advance():
            out.setdefault(rid, []).append(frame)
    return out


def test_a_late_session_gets_the_frames_it_missed_then_follows(model):
    starts = Starts(model)
    c = cfg()
    run = sr.SharedRun(RECIPE, [c], None, 10, starts, member(1))
    early = run.advance() + run.advance()
    assert [(rid, f.step) for rid, f in early] == [(1, 0), (1, 10)]
    assert run.same(RECIPE, [cfg()], None, 10)  # an equal configuration, another object
    replay = run.join(member(2))
    assert [(rid, f.step) for rid, f in replay] == [(2, 0), (2, 10)]
    rest = drain(run)
    assert starts.count == 1  # computed once
    assert [f.step for f in rest[1]] == [f.step for f in rest[2]] == [20, 30, 40]
    alone = list(engine.run([c], model, every=10))
    got = [f for _, f in replay] + rest[2]
    assert [f.step for f in got] == [f.step for f in alone]
    for a, b in zip(got, alone):  # the lone run's frames, bit for bit
        np.testing.assert_array_equal(a.images, b.images)
        np.testing.assert_array_equal(a.objective, b.objective)
    assert rest[2][-1].done
    # every session gets the run's own times (from the run's start), the late one too
    assert [f.elapsed for f in rest[1]] == [f.elapsed for f in rest[2]]
    assert replay[1][1].elapsed == early[1][1].elapsed


def test_only_the_same_run_is_shared(model):
    c = cfg()
    run = sr.SharedRun(RECIPE, [c], None, 10, Starts(model), member(1))
    assert not run.same(RECIPE, [cfg(target=1)], None, 10)          # another class
    assert not run.same(RECIPE, [cfg(step_size=0.2)], None, 10)     # another step size
    assert not run.same(("fmnist_resnet", None, "cpu"), [c], None, 10)
    assert not run.same(RECIPE, [c], None, 5)                      # another frame rate
    assert not run.same(RECIPE, [c, c], None, 10)                  # another batch
    ref = np.zeros((1, 1, 64, 64), np.float32)
    assert not run.same(RECIPE, [c], ref, 10)                      # an image to invert
    assert run.same(RECIPE, [c], None, 10)
    drain(run)
    assert not run.same(RECIPE, [c], None, 10)  # ended: a new run starts


def test_a_session_that_stops_leaves_the_run_to_the_others(model):
    starts = Starts(model)
    a, b = member(1), member(2)
    run = sr.SharedRun(RECIPE, [cfg(steps=100_000)], None, 10, starts, a)
    run.join(b)
    run.advance()
    a.stop.set()
    assert run.end_stopped() == [1] and [m.rid for m in run.live] == [2]
    frames = run.advance()
    assert [rid for rid, _ in frames] == [2] and not frames[0][1].stopped
    b.stop.set()  # the last one: the engine ends the run between two steps
    last = run.advance()
    assert last and last[0][1].stopped and last[0][1].step < 100_000
    assert not run.same(RECIPE, [cfg(steps=100_000)], None, 10)  # a stopped run is not joined
    run.close()


class Feed:
    def __init__(self) -> None:
        self.frames: list = []
        self.ended = threading.Event()
        self.error = None

    def put(self, frame) -> None:
        self.frames.append(frame)

    def end(self, error) -> None:
        self.error = error
        self.ended.set()


def test_the_engine_process_computes_the_same_run_once_for_every_session(model):
    proc = ew.EngineProcess(threads=1)
    try:
        assert proc.ready.wait(120), "the engine process did not start"
        c, other = cfg(steps=30), cfg(steps=30, target=3)
        feeds = [Feed() for _ in range(4)]
        for feed, conf in zip(feeds, [c, c, other, c]):
            proc.submit(feed, RECIPE, [conf], None, 10)
        for feed in feeds:
            assert feed.ended.wait(120) and feed.error is None
        alone = list(engine.run([c], model, every=10))
        for feed in (feeds[0], feeds[1], feeds[3]):
            assert [f.step for f in feed.frames] == [0, 10, 20, 30]
            for a, b in zip(feed.frames, alone):
                np.testing.assert_array_equal(a.images, b.images)
        assert [f.step for f in feeds[2].frames] == [0, 10, 20, 30]
        assert not np.array_equal(feeds[2].frames[-1].images, alone[-1].images)
        assert proc.runs() == 0
    finally:
        proc.close()


def test_a_run_is_open_to_newcomers_for_its_first_frames_only(model, monkeypatch):
    monkeypatch.setattr(sr, "REPLAY_FRAMES", 2)
    c = cfg()
    run = sr.SharedRun(RECIPE, [c], None, 10, Starts(model), member(1))
    run.advance()
    run.advance()
    assert run.same(RECIPE, [c], None, 10) and len(run.frames) == 2
    run.advance()  # a third frame: the run keeps no frames for newcomers any more
    assert not run.same(RECIPE, [c], None, 10) and run.frames == []
    rest = drain(run)
    assert [f.step for f in rest[1]] == [30, 40]  # its own session is not affected
