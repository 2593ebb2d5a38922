"""A sweep's batches streamed to the Sweeps page: each batch of cells runs through
:func:`viz_core.engine.run` (the demons update of eq. 18 for all its cells at once) in a
worker thread, while the page's script thread draws its frames (the batch's step and its
cells' current pre-images) and yields to Streamlit, so that Stop is seen between two frames,
not after the batch. A stopped batch keeps what the engine has: its cells' current
pre-images, measured as a finished cell is and marked ``stopped``.

:class:`PageExecutor` is the executor :func:`viz_core.sweeps.run_sweep` drives (a local one:
the same checks and store as the command line's ``demons-viz sweep``); :func:`stream_batch`
is :func:`viz_core.sweeps.cells.run_batch` with frames, a stop signal and the cells' start
values. The page keeps one result dict (:func:`new_result`) that the batches fill
(:func:`add_batch`, :func:`live_frame`, :func:`keep_stopped`, :func:`end_status`), and says
its state in words (:func:`progress`, :func:`stop_note`, :func:`error_note`). No
Streamlit: the page supplies ``tick``.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from dashboard.messages import ui_message
from viz_core.sweeps import Sweep
from viz_core.sweeps.cells import BatchResult, BatchTask, run_batch
from viz_core.sweeps.executors import LocalExecutor

__all__ = ["DRAW_S", "PageExecutor", "add_batch", "end_status", "error_note", "keep_stopped",
           "live_frame", "new_result", "not_run_text", "progress", "result_notes",
           "STOP_HELP", "stop_note", "stream_batch", "wait_while_running"]

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


def new_result(sweep: Sweep, settings: Mapping[str, Any]) -> dict:
    """The page's result of ``sweep`` before its first batch: no rows yet, its axes, cell
    count and grid (every cell's (row value, column value) by its index), a new folder
    for its cells, status "running" and the ``settings`` it runs with (the heatmap metric
    left out: a view of the same cells)."""
    from viz_core.sweeps.report import grid_of

    axes = [a.name for a in sweep.axes]
    cells = sweep.cells()
    full = [dict(c.values) for c in cells]
    keys = {c.index: [c.values.get(a) for a in (axes + [None])[:2]] for c in cells}
    return {"rows": [], "axes": axes, "total": len(sweep), "grid": grid_of(full, axes)[:2],
            "keys": [keys.get(i, [None, None]) for i in range(len(cells))], "start": {},
            "dir": tempfile.mkdtemp(prefix="demons-viz-sweep-"), "status": "running",
            "settings": {k: v for k, v in settings.items() if k != "metric"}}


def add_batch(res: dict, result: BatchResult) -> None:
    """Put a finished batch's rows (in sweep order) and start values into ``res``."""
    res["rows"] = sorted(res["rows"] + result.rows, key=lambda r: r["index"])
    res["start"].update(result.extra.get("start") or {})
    res["live"] = None


def live_frame(res: dict, i: int, n: int, task: BatchTask, frame: Any) -> None:
    """The running batch ``i`` of ``n`` at ``frame``: its step and each cell's current
    picture by its grid position, in ``res["live"]``."""
    res["live"] = {"batch": i, "batches": n, "step": int(frame.step),
                   "total": int(frame.total), "cells": {
                       tuple(res["keys"][c["index"]]): frame.images[j]
                       for j, c in enumerate(task.cells)}}


def end_status(res: dict) -> None:
    """After Stop, a changed setting or an error: a sweep still "running" is "done" when
    every cell finished whole, else "stopped" (what is done so far stays)."""
    if res["status"] == "running":
        whole = [r for r in res["rows"] if not r.get("stopped")]
        res["status"] = "done" if len(whole) >= res["total"] else "stopped"


def wait_while_running(res: Mapping[str, Any], timeout: float, poll: float = 0.2) -> bool:
    """Wait up to ``timeout`` seconds for an earlier script run to end the sweep ``res``
    (it stores the batch it computes, then sets the status); whether it ended."""
    deadline = time.monotonic() + timeout
    while res.get("status") == "running" and time.monotonic() < deadline:
        time.sleep(poll)
    return res.get("status") != "running"


_NOT_RUN = {"stopped": "not run (the sweep was stopped)",
            "error": "not run (the sweep failed)"}


def not_run_text(status: str | None) -> str:
    """The montage's words for a cell with no picture yet.

    >>> not_run_text("stopped"), not_run_text("running")
    ('not run (the sweep was stopped)', 'waiting ...')
    """
    return _NOT_RUN.get(str(status), "waiting ...")


def progress(res: Mapping[str, Any]) -> tuple[float, str]:
    """The progress bar's fraction and text: whole cells of all, the running batch's step.

    >>> progress({"rows": [{}], "total": 4, "status": "stopped"})
    (0.25, '1 / 4 cells · stopped')
    """
    done, total = sum(not r.get("stopped") for r in res["rows"]), res["total"]
    ended = {"stopped": " · stopped", "error": " · failed"}.get(str(res.get("status")), "")
    live = res.get("live")
    text = f"{done} / {total} cells{ended}"
    if live and res.get("status") == "running":
        text = (f"batch {live['batch'] + 1} of {live['batches']}: step {live['step']} / "
                f"{live['total']} · {text}")
    part = live["step"] / max(live["total"], 1) * len(live["cells"]) if live else 0
    return min(1.0, (done + part) / max(total, 1)), text


def error_note(res: Mapping[str, Any]) -> str:
    """What a failed sweep says above its cells (plain words, not Markdown)."""
    return (f"The sweep failed after {len(res['rows'])} of {res['total']} cells: "
            f"{ui_message(res['message'])}")


#: The Stop button's help.
STOP_HELP = ("stop between two steps: the cells done so far stay here and in the History, the "
             "batch being computed shows its pictures as they are, marked stopped")


def result_notes(res: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the page says above a failed or stopped sweep: (``error`` or ``warning``,
    plain words) (:func:`error_note`, :func:`stop_note`); [] otherwise."""
    if res.get("status") == "error":
        return [("error", error_note(res))]
    return [("warning", stop_note(res))] if res.get("status") == "stopped" else []


def stop_note(res: Mapping[str, Any]) -> str:
    """What a stopped sweep says above its cells: how many finished (kept in the History)
    and the batch a Stop ended, at its step, marked stopped."""
    cut = [r for r in res["rows"] if r.get("stopped")]
    done = len(res["rows"]) - len(cut)
    kept = [f"the {done} cells done are shown below and kept in the History"] if done else []
    if cut:
        kept.append(f"the batch it stopped shows its {len(cut)} cells at step "
                    f"{cut[0].get('steps_done')}, marked stopped (not in the History)")
    return (f"The sweep stopped after {done} of {res['total']} cells (Stop was pressed, a "
            "setting changed or the page was left)" + (": " + "; ".join(kept) if kept else "")
            + ". Press Run sweep to run it again.")
