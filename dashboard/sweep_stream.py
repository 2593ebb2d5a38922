"""A sweep's batches streamed to the Sweeps page: each batch of cells runs through
:func:`viz_core.engine.run` (the demons update of eq. 18 for all its cells at once) in a
worker thread, while the page's script thread draws its frames (the batch's step and its
cells' current pre-images) and yields to Streamlit, so that Stop is seen between two frames,
not after the batch. A stopped batch keeps what the engine has: its cells' current
pre-images, measured as a finished cell is and marked ``stopped``.

:class:`PageExecutor` is the executor :func:`viz_core.sweeps.run_sweep` drives (a local one:
the same checks and store as the command line's ``demons-viz sweep``); :func:`stream_batch`
is the batch work of :func:`viz_core.sweeps.cells.run_batch` with frames and a stop signal
(the tests hold the two to the same rows). No Streamlit: the page supplies ``tick``.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch

from viz_core import engine
from viz_core.config import RunConfig
from viz_core.images import load_image, png_bytes
from viz_core.metrics import METRICS, image_metrics, run_rows
from viz_core.store.capture import batch_verdicts, floors_for
from viz_core.store.records import CurveRecorder, weights_hash
from viz_core.sweeps.cells import (
    BatchResult,
    BatchTask,
    cached_model,
    class_name,
    curve_every,
    judge_columns,
)
from viz_core.sweeps.executors import LocalExecutor
from viz_core.sweeps.spec import RANDOM, TRAINED
from viz_core.sweeps.store import png_name

__all__ = ["DRAW_S", "PageExecutor", "keep_stopped", "start_values", "stream_batch"]

DRAW_S = 0.5      # the running batch's pictures are redrawn at most twice a second
TICK_S = 0.1      # the script thread yields to Streamlit at least this often
STOP_WAIT_S = 30.0  # how long a stop waits for the engine to end between two steps


def _num(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def start_values(configs: list[RunConfig], model: Any, ref: Any) -> list[dict]:
    """Each cell's metrics at its start image (the initial noise of Sec. 3, before any
    step): the image metrics of step 0's pictures, the objective and target activation
    that step 1's forward pass measures on them (one step of the engine, then closed)."""
    gen = engine.run(configs, model, reference=ref, every=1)
    try:
        f0 = next(gen)
        f1 = next(gen, None)
    finally:
        gen.close()
    met = image_metrics(f0.images)
    out = []
    for i in range(len(configs)):
        row = {k: _num(v[i]) for k, v in met.items() if METRICS[k].source == "image"}
        if f1 is not None:
            row["objective"] = _num(f1.objective[i])
            row["activation"] = _num(f1.activation[i])
        out.append(row)
    return out


def stream_batch(task: BatchTask, on_frame: Callable[[Any], None] | None = None,
                 stop: threading.Event | None = None) -> BatchResult:
    """Run the batch's cells as one engine batch, as
    :func:`~viz_core.sweeps.cells.run_batch` does (the same rows, PNGs, curves and
    verdicts), handing every frame to ``on_frame``; ``stop`` ends it between two steps, and
    its cells are then measured as they are and marked ``stopped`` (with ``steps_done``).
    ``extra["start"]``: each cell's :func:`start_values`."""
    if task.threads:
        torch.set_num_threads(task.threads)
    t0 = time.perf_counter()
    configs = [RunConfig.from_dict(c["config"]) for c in task.cells]
    c0 = configs[0]
    model = cached_model(c0)
    ref = None
    if c0.task == "inversion":
        source = task.image if task.image is not None else c0.image
        ref, _ = load_image(source, model.spec.input_size, model.spec.channels)
    start = start_values(configs, model, ref)
    recorders = [CurveRecorder(i) for i in range(len(configs))]
    final = None
    for frame in engine.run(configs, model, reference=ref, every=curve_every(c0.total_steps),
                            stop=stop):
        for r in recorders:
            r(frame)
        final = frame
        if on_frame is not None:
            on_frame(frame)
    measured = run_rows(final, configs, ref)
    jm = cached_model(RunConfig(model=task.judge, device=c0.device)) if task.judge else None
    found = batch_verdicts(configs, model, final.images, jm, ref)
    judged = [judge_columns(next((v for v in vs if v["role"] == "judge"), None),
                            jm.classes if jm is not None else []) for vs in found]
    seconds = time.perf_counter() - t0
    weights = weights_hash(model.net) if hasattr(model, "net") else ""
    flat = {f"{k}_floor": v for k, v in floors_for(c0, ref, [], model).items()} \
        if ref is not None else {}
    rows, pngs = [], {}
    for i, (cell, cfg) in enumerate(zip(task.cells, configs)):
        random_w = cfg.weights == RANDOM
        m = measured[i]
        row = {"index": cell["index"], "cell_id": cell["id"], **cell["values"],
               "model": cfg.model, "weights": RANDOM if random_w else TRAINED,
               "random_weights": random_w, "model_label": model.label,
               "scheme": m["scheme"], "kernels": m["kernels"], "task": cfg.task,
               "layer": cfg.layer or ("logits" if cfg.task == "am" else
                                      model.spec.default_layer),
               "target": cfg.target if cfg.channel is None else cfg.channel,
               "target_class": class_name(model, cfg), "weights_hash": weights,
               "seed": cfg.seed, "step_size": cfg.step_size, "steps": cfg.total_steps,
               "tv": cfg.tv,
               **{k: _num(m[k]) if isinstance(m.get(k), float) else m.get(k)
                  for k in METRICS},
               "judge": task.judge or None,
               "judge_top1": None, "judge_top1_class": None, "judge_target_class": None,
               "judge_chance": None, **flat,
               "diverged": final.diverged[i], "seconds": seconds / len(configs),
               "batch_id": task.batch_id, "png": png_name(cell["id"]),
               "config": cfg.to_json()}
        row.update(judged[i])
        if final.stopped:
            row.update(stopped=True, steps_done=int(final.step))
        rows.append(row)
        label = (f"RANDOM weights (seed {cfg.seed})" if random_w else "trained weights")
        pngs[cell["id"]] = png_bytes(final.images[i], {
            "Software": "demons-viz sweep", "cell": cell["id"], "model": model.label,
            "weights": label, "scheme": cfg.scheme_label, "config": cfg.to_json()})
    return BatchResult(task.batch_id, rows, pngs, seconds,
                       f"{socket.gethostname()}:{os.getpid()}",
                       {"curves": {cell["id"]: r.curves
                                   for cell, r in zip(task.cells, recorders)},
                        "verdicts": {cell["id"]: vs for cell, vs in zip(task.cells, found)},
                        "start": {cell["id"]: s for cell, s in zip(task.cells, start)},
                        "stopped": bool(final.stopped)})


class _Worker:
    """One batch in a worker thread: its frames for the script thread, its result."""

    def __init__(self, task: BatchTask) -> None:
        self.stop = threading.Event()
        self.cond = threading.Condition()
        self.latest: Any = None
        self.fresh = False
        self.result: BatchResult | None = None
        self.error: BaseException | None = None
        self.finished = False
        self.thread = threading.Thread(target=self._work, args=(task,), daemon=True,
                                       name=f"demons-sweep-{task.batch_id}")

    def _put(self, frame: Any) -> None:
        with self.cond:
            self.latest, self.fresh = frame, True
            self.cond.notify()

    def _work(self, task: BatchTask) -> None:
        try:
            self.result = stream_batch(task, self._put, self.stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the script thread
            self.error = exc
        finally:
            with self.cond:
                self.finished = True
                self.cond.notify()

    def take(self, timeout: float) -> tuple[Any, bool]:
        """The newest frame not taken yet (None if none came within ``timeout``) and
        whether the batch has ended."""
        with self.cond:
            if not self.fresh and not self.finished:
                self.cond.wait(timeout)
            frame, self.fresh = (self.latest, False) if self.fresh else (None, False)
            return frame, self.finished


class PageExecutor(LocalExecutor):
    """The batches one after the other, each streamed (:func:`stream_batch` in a worker
    thread). ``on_frame(batch, batches, task, frame)``: the running batch's frame (at most
    every :data:`DRAW_S` seconds, and its last); ``tick()``: called at least every
    :data:`TICK_S` seconds (the page's yield to Streamlit, where Stop ends the script);
    ``on_stopped(result)``: the batch a stop (an exception out of ``tick`` or
    ``on_frame``) ended, measured as it was, before the exception goes on."""

    name = "page"

    def __init__(self, on_frame: Callable[[int, int, BatchTask, Any], None] | None = None,
                 tick: Callable[[], None] | None = None,
                 on_stopped: Callable[[BatchResult], None] | None = None) -> None:
        self.on_frame, self.tick, self.on_stopped = on_frame, tick, on_stopped

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        tasks = list(items)
        for i, task in enumerate(tasks):
            yield self._one(task, i, len(tasks))

    def _one(self, task: BatchTask, i: int, n: int) -> BatchResult:
        w = _Worker(task)
        w.thread.start()
        last, finished = float("-inf"), False
        try:
            while not finished:
                frame, finished = w.take(TICK_S)
                if self.tick is not None:
                    self.tick()
                now = time.perf_counter()
                if frame is not None and self.on_frame is not None and (
                        finished or getattr(frame, "done", False) or now - last >= DRAW_S):
                    self.on_frame(i, n, task, frame)
                    last = now
        finally:
            if not finished:  # Stop or a rerun: the engine ends between two steps
                w.stop.set()
                w.thread.join(STOP_WAIT_S)
                if w.result is not None and self.on_stopped is not None:
                    self.on_stopped(w.result)
        if w.error is not None:
            raise w.error
        assert w.result is not None
        return w.result


def keep_stopped(res: dict, result: BatchResult) -> None:
    """Put the batch a Stop ended into the page's result ``res`` (its ``dir``, ``rows``,
    ``start``): the cells' pictures as the engine had them under ``stopped/``, their rows
    marked ``stopped`` (not stored in the History nor in the sweep's table: they did not
    run all their steps, and a resumed sweep computes them again)."""
    from pathlib import Path

    folder = Path(res["dir"]) / "stopped"
    rows = []
    for r in result.rows:
        path = folder / r["png"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(result.pngs[r["cell_id"]])
        rows.append({**r, "png": f"stopped/{r['png']}", "stopped": True})
    res["rows"] = sorted(res["rows"] + rows, key=lambda r: r["index"])
    res.setdefault("start", {}).update(result.extra.get("start") or {})
    res["live"] = None
