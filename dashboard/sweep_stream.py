"""A sweep's batches streamed to the Sweeps page: each batch of cells runs through
:func:`viz_core.engine.run` (the demons update of eq. 18 for all its cells at once) in a
worker thread, while the page's script thread draws its frames (the batch's step and its
cells' current pre-images) and yields to Streamlit, so that Stop is seen between two frames,
not after the batch. A stopped batch keeps what the engine has: its cells' current
pre-images, measured as a finished cell is and marked ``stopped``.

:class:`PageExecutor` is the executor :func:`viz_core.sweeps.run_sweep` drives (a local one:
the same checks and store as the command line's ``demons-viz sweep``); :func:`stream_batch`
is :func:`viz_core.sweeps.cells.run_batch` with frames, a stop signal and the cells' start
values. No Streamlit: the page supplies ``tick``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from viz_core.sweeps.cells import BatchResult, BatchTask, run_batch
from viz_core.sweeps.executors import LocalExecutor

__all__ = ["DRAW_S", "PageExecutor", "keep_stopped", "stream_batch"]

DRAW_S = 0.5      # the running batch's pictures are redrawn at most twice a second
TICK_S = 0.1      # the script thread yields to Streamlit at least this often
STOP_WAIT_S = 30.0  # how long a stop waits for the engine to end between two steps


def stream_batch(task: BatchTask, on_frame: Callable[[Any], None] | None = None,
                 stop: threading.Event | None = None) -> BatchResult:
    """Run the batch's cells as one engine batch through
    :func:`~viz_core.sweeps.cells.run_batch` (the command line's rows, PNGs, curves and
    verdicts), handing every frame to ``on_frame``; ``stop`` ends it between two steps, and
    its cells are then measured as they are and marked ``stopped`` (with ``steps_done``).
    ``extra["start"]``: each cell's :func:`~viz_core.sweeps.cells.start_values`."""
    return run_batch(task, on_frame, stop, start=True)


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
