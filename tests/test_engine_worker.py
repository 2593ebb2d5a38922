"""The engine process (dashboard.engine_worker): the same frames as the engine in this
process, runs in turns, Stop, errors as messages, a dead worker reported and replaced."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
import torch

from dashboard import engine_worker as ew
from dashboard.runs import RunRecord
from dashboard.streaming import stream
from viz_core import engine, models
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.kernels import KernelSpec

MODEL = "fmnist_vgg"
RECIPE = (MODEL, None, "cpu")


class Feed:
    """What a stream's feed does: frames in, one end."""

    def __init__(self) -> None:
        self.frames: list = []
        self.ended = threading.Event()
        self.error: BaseException | None = None
        self.first = threading.Event()

    def put(self, frame) -> None:
        self.frames.append(frame)
        self.first.set()

    def end(self, error) -> None:
        self.error = error
        self.ended.set()


def cfg(**kw) -> RunConfig:
    base = dict(model=MODEL, target=0, steps=30, every=10, device="cpu",
                fluid=KernelSpec("sobolev", 3.0), elastic=KernelSpec("gaussian", 0.6))
    return RunConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def worker():
    proc = ew.EngineProcess(threads=1)
    assert proc.ready.wait(120), "the engine process did not start"
    yield proc
    proc.close()


def test_frames_equal_the_engine_in_this_process(worker):
    c = cfg()
    feed = Feed()
    worker.submit(feed, RECIPE, [c], None, c.every)
    assert feed.ended.wait(120) and feed.error is None
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as the worker
    try:
        here = list(engine.run([c], models.open_model(MODEL, device="cpu"), every=c.every))
    finally:
        torch.set_num_threads(before)
    assert [f.step for f in feed.frames] == [f.step for f in here] == [0, 10, 20, 30]
    for a, b in zip(feed.frames, here):
        np.testing.assert_array_equal(a.images, b.images)
        np.testing.assert_array_equal(a.objective, b.objective)
    assert feed.frames[-1].done


def test_runs_take_turns_frame_by_frame(worker):
    order: list[str] = []

    class Named(Feed):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def put(self, frame) -> None:
            order.append(self.name)
            super().put(frame)

    a, b = Named("a"), Named("b")
    c = cfg(steps=40, every=5)
    worker.submit(a, RECIPE, [c], None, c.every)
    worker.submit(b, RECIPE, [cfg(steps=40, every=5, target=1)], None, c.every)  # not shared
    assert a.ended.wait(120) and b.ended.wait(120)
    assert len(a.frames) == len(b.frames) == 9
    # b's first frame comes before a's last: the second run does not wait for the first
    assert order.index("b") < len(order) - 1 - order[::-1].index("a")
    # and while both run, they alternate
    both = order[order.index("b") - 1:len(order) - order[::-1].index("a")]
    assert len(both) >= 4 and all(x != y for x, y in zip(both, both[1:])), order


def test_stop_ends_a_run_between_steps(worker):
    c = cfg(steps=100_000, every=5)
    feed = Feed()
    rid = worker.submit(feed, RECIPE, [c], None, c.every)
    assert feed.first.wait(120)
    worker.stop(rid)
    assert feed.ended.wait(60) and feed.error is None
    assert feed.frames[-1].step < 100_000
    assert worker.runs() == 0


def test_an_error_in_the_worker_is_the_run_message(worker):
    feed = Feed()
    c = cfg(target=None, layer="no_such_layer", channel=0)
    worker.submit(feed, RECIPE, [c], None, c.every)
    assert feed.ended.wait(120)
    assert isinstance(feed.error, VizError)
    here = None
    try:
        list(engine.run([c], models.open_model(MODEL, device="cpu")))
    except VizError as exc:
        here = exc
    assert here is not None and str(feed.error) == str(here)
    assert feed.error.field == here.field
    assert worker.alive  # one failed run does not end the worker


def test_a_model_the_worker_cannot_open_is_an_error(worker):
    feed = Feed()
    worker.submit(feed, ("no_such_model_anywhere", None, "cpu"), [cfg()], None, 10)
    assert feed.ended.wait(120)
    assert isinstance(feed.error, VizError) and "no_such_model_anywhere" in str(feed.error)


def test_a_run_that_cannot_be_sent_is_refused_and_the_worker_goes_on(worker):
    unpicklable = cfg(extra={"hook": lambda: 0})
    with pytest.raises(ew.EngineFailure, match="cannot take this run"):
        worker.submit(Feed(), RECIPE, [unpicklable], None, 10)
    assert worker.runs() == 0 and worker.alive
    feed = Feed()
    worker.submit(feed, RECIPE, [cfg()], None, 10)
    assert feed.ended.wait(120) and feed.error is None and feed.frames[-1].done


def test_a_dead_worker_ends_its_runs_with_a_message_and_is_replaced(monkeypatch):
    monkeypatch.setattr(ew, "_SHARED", {})
    assert ew.shared(1) is None  # started in the background: not ready at once
    proc = ew._SHARED["engine"]
    assert proc.ready.wait(120)
    assert ew.shared(1) is proc
    feed = Feed()
    c = cfg(steps=100_000, every=5)
    proc.submit(feed, RECIPE, [c], None, c.every)
    assert feed.first.wait(120)
    os.kill(proc.pid, signal.SIGKILL)
    assert feed.ended.wait(60)
    assert "the engine stopped unexpectedly" in str(feed.error)
    deadline = time.time() + 10
    while proc.alive and time.time() < deadline:
        time.sleep(0.05)
    assert not proc.alive
    with pytest.raises(ew.EngineFailure):
        proc.submit(Feed(), RECIPE, [c], None, c.every)
    assert ew.shared(1) is None and ew._SHARED["engine"] is not proc  # a new one starts
    ew._SHARED["engine"].close()


def test_recipes_only_for_models_the_worker_can_open(tiny_model):
    m = models.open_model(MODEL, device="cpu")
    assert ew.recipe_of(m) is None
    ew.remember(m, MODEL, None, "cpu")
    assert ew.recipe_of(m) == RECIPE
    assert ew.recipe_of(tiny_model) is None
    other = models.open_model(MODEL, device="cpu")
    ew.remember(other, MODEL, None, "meta")  # not on the CPU: stays in the server
    assert ew.recipe_of(other) is None


def test_stream_uses_the_worker_and_draws_the_same_run(worker, monkeypatch):
    monkeypatch.setenv(ew.ENV, "process")
    monkeypatch.setattr(ew, "_SHARED", {"engine": worker})
    m = models.open_model(MODEL, device="cpu")
    ew.remember(m, MODEL, None, "cpu")
    c = cfg()
    recs = []
    for mode in ("process", "thread"):
        monkeypatch.setenv(ew.ENV, mode)
        rec = RunRecord(["x"], [c.to_json()], m.label, c.total_steps)
        stream([c], m, rec, lambda r, f, full: r.mark_shown(), every=c.every, threads=1)
        recs.append(rec)
    assert [r.status for r in recs] == ["done", "done"]
    assert recs[0].steps == recs[1].steps == [0, 10, 20, 30]
    np.testing.assert_array_equal(recs[0].images, recs[1].images)
    assert worker.runs() == 0


def test_stream_reports_a_dead_worker_as_a_message(monkeypatch):
    proc = ew.EngineProcess(threads=1)
    assert proc.ready.wait(120)
    monkeypatch.setenv(ew.ENV, "process")
    monkeypatch.setattr(ew, "_SHARED", {"engine": proc})
    m = models.open_model(MODEL, device="cpu")
    ew.remember(m, MODEL, None, "cpu")
    c = cfg(steps=100_000, every=5)
    rec = RunRecord(["x"], [c.to_json()], m.label, c.total_steps)

    def draw(r, frame, full):
        r.mark_shown()
        if proc.alive:
            os.kill(proc.pid, signal.SIGKILL)

    stream([c], m, rec, draw, every=c.every, threads=1)
    assert rec.status == "error"
    assert rec.message.startswith("the engine stopped unexpectedly")
    assert rec.images is not None  # what was shown is kept


def test_a_worker_that_ended_before_the_run_leaves_it_to_a_thread(monkeypatch):
    proc = ew.EngineProcess(threads=1)
    assert proc.ready.wait(120)
    os.kill(proc.pid, signal.SIGKILL)
    deadline = time.time() + 30
    while proc.alive and time.time() < deadline:
        time.sleep(0.05)
    assert not proc.alive
    monkeypatch.setenv(ew.ENV, "process")
    monkeypatch.setattr(ew, "shared", lambda threads, wait=0.0: proc)  # handed out, then died
    m = models.open_model(MODEL, device="cpu")
    ew.remember(m, MODEL, None, "cpu")
    c = cfg()
    rec = RunRecord(["x"], [c.to_json()], m.label, c.total_steps)
    stream([c], m, rec, lambda r, f, full: r.mark_shown(), every=c.every, threads=1)
    assert rec.status == "done" and rec.steps == [0, 10, 20, 30]


def _until(cond, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.05)
    return cond()


def test_preload_opens_the_model_before_its_first_run():
    """A model the server opens is opened by the worker too, at once and in the
    background (the worker says so), and a run of it then gives the engine's frames; a
    preload that fails (an unknown model) harms nothing, and a run of it reports the error."""
    proc = ew.EngineProcess(threads=1)
    try:
        assert proc.ready.wait(120)
        other = ("fmnist_resnet", None, "cpu")
        assert RECIPE not in proc.opened and other not in proc.opened
        proc.preload(("no_such_model", None, "cpu"))
        proc.preload(RECIPE)
        assert _until(lambda: RECIPE in proc.opened), "the worker did not open the model"
        assert other not in proc.opened  # nothing it was not asked for
        c = cfg()
        feed = Feed()
        proc.submit(feed, RECIPE, [c], None, c.every)
        assert feed.ended.wait(120) and feed.error is None
        assert [f.step for f in feed.frames] == [0, 10, 20, 30]
        bad = Feed()
        proc.submit(bad, ("no_such_model", None, "cpu"), [cfg(model="no_such_model")], None,
                    10)
        assert bad.ended.wait(120) and isinstance(bad.error, VizError)
        assert proc.alive
    finally:
        proc.close()


def _fake_worker(monkeypatch) -> list:
    """A running worker stand-in that lists the recipes it is asked to preload."""
    asked: list = []

    class Fake:
        alive = True

        def preload(self, recipe) -> None:
            asked.append(recipe)

    monkeypatch.setattr(ew, "_SHARED", {"engine": Fake()})
    return asked


def test_the_server_asks_the_worker_to_open_what_it_opens(monkeypatch):
    """Opening a model in the server (its cache, :func:`dashboard.resources.get_model`)
    first asks a running worker to open it too (not a model only this process has, nor
    without a worker), and leaves the recipe the runs send."""
    from dashboard import resources

    asked = _fake_worker(monkeypatch)
    model = resources._cached_model.__wrapped__(MODEL, None, "cpu")
    assert asked == [RECIPE] and ew.recipe_of(model) == RECIPE
    shared = ew._SHARED
    monkeypatch.setattr(ew, "_SHARED", {})
    ew.preload(MODEL, None, "cpu")  # no worker: nothing to ask
    assert asked == [RECIPE]
    monkeypatch.setattr(ew, "_SHARED", shared)
    ew.preload(MODEL, None, "cuda")  # a CUDA model runs in a thread of the server
    assert asked == [RECIPE]
    monkeypatch.setenv(ew.PRELOAD_ENV, "0")  # turned off
    ew.preload(MODEL, None, "cpu")
    assert asked == [RECIPE]


def test_a_judge_is_not_preloaded(monkeypatch):
    """The engine process never runs a judge: opening one does not ask the worker for a
    copy, while the model it judges is asked for as before."""
    from dashboard import resources, results

    asked = _fake_worker(monkeypatch)
    monkeypatch.setattr(results, "judge_for", lambda name: "fmnist_resnet")
    opened = []
    body = resources._cached_model.__wrapped__

    def cached(name, weights, device):  # the cache's body, without the cache
        opened.append(name)
        return body(name, weights, device)

    monkeypatch.setattr(resources, "_cached_model", cached)
    model = resources.get_model(MODEL, "pretrained", "cpu")
    out = resources.verdict_models(model, MODEL)
    assert opened == [MODEL, "fmnist_resnet"] and len(out) == 2
    assert asked == [RECIPE]  # the judge was opened, not preloaded
    resources.get_model("fmnist_resnet", "pretrained", "cpu")  # run as a model: preloaded
    assert asked == [RECIPE, ("fmnist_resnet", None, "cpu")]
