"""Streaming a run to a page without ever slowing the optimisation down.

:func:`stream` runs a batch through :func:`viz_core.engine.run` (the demons iterations of
eq. 18, Sec. 3) in the server's engine process (:mod:`dashboard.engine_worker`: its own
interpreter lock, so drawing never holds the optimisation up), or in a worker thread where
that process cannot take the run, and draws its frames from the page's script thread. The
two meet only in a queue of frames: the engine appends a frame every ``every`` steps and
goes on at once; the script thread takes all frames that arrived, records them
(:meth:`~dashboard.runs.RunRecord.add`) and draws the latest one at a bounded rate. A slow
browser, a busy server or a loaded machine lowers the frame rate, never the number of steps
per second: the engine never waits on drawing.

Sessions: the runs of all sessions take turns (in the engine process; in threads,
:data:`TURNS`), one frame's worth of steps each, in the order they asked, and share one
frame budget: with ``n`` runs streaming, each draws at most every ``n`` x
:data:`DRAW_INTERVAL_S` (plots every ``n`` x :data:`PLOT_INTERVAL_S`), so the server encodes
and the browsers draw as many frames a second in all as for one run, and the cores go to
the runs. Runs computing side by side would contend for the cores (in one process, also for
the interpreter lock) and all end later than the same runs one after the other; in turns,
each run streams from its first frame on and the last one ends when the same runs in a row
would have. The engine sets its own torch intra-op thread count (:func:`run_threads`): the
machine's cores less one, which is left to the server and the browser.

Stopping: a Stop click or a widget change raises Streamlit's control exception in the
script thread at its next yield point (a draw, or ``tick`` while it waits for frames); the
worker is then told to stop between two steps and the record keeps the state last shown
(:meth:`~dashboard.runs.RunRecord.mark_interrupted`, on the next script run).

No Streamlit here: the page supplies ``draw`` and ``tick``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from dashboard import engine_worker
from dashboard.runs import LOG, RunRecord
from viz_core.errors import VizError

DRAW_INTERVAL_S = 0.2      # the pre-image is redrawn at most 5 times a second (and at the end)
PLOT_INTERVAL_S = 2.0      # curves / spectra / metrics are redrawn at most this often
# (both per run streaming: n runs at once each draw n times less often, see Turns.runs)
TICK_S = 0.1               # the script thread yields to Streamlit at least this often
AFTER_RUNS_LIMIT_S = 3.0   # final plots wait at most this long for other sessions' runs



def run_threads(cores: int | None = None) -> int:
    """Torch intra-op threads of a run on ``cores`` cores (default: this machine's): one
    core is left to the server and the browser, at least one thread.

    >>> [run_threads(1), run_threads(2), run_threads(8)]
    [1, 1, 7]
    """
    cores = cores or os.cpu_count() or 1
    return max(1, cores - 1)


class Turns:
    """A first-come, first-served turn: ``with turns:`` waits until every thread that asked
    earlier has had its turn. Runs hold it for one frame's worth of steps, so concurrent
    runs interleave frame by frame.

    ``with turns.member():`` counts a run as streaming for as long as it lasts
    (:attr:`runs`), whether it computes (in this process or the engine process) or draws.

    >>> t = Turns()
    >>> with t:
    ...     t.waiting
    0
    >>> with t.member(), t.member():
    ...     t.runs
    2
    >>> t.runs
    0
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0      # the next ticket to hand out
        self._serving = 0   # the ticket whose turn it is
        self._runs = 0      # runs streaming now

    @property
    def runs(self) -> int:
        """Runs streaming now (inside :meth:`member`)."""
        return self._runs

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for no run to stream (to compute, here or in the
        engine process, or to draw); whether none does."""
        with self._cond:
            return self._cond.wait_for(lambda: self._runs == 0, timeout)

    @contextlib.contextmanager
    def member(self) -> Iterator[None]:
        """Counts the calling run in :attr:`runs` while the block lasts."""
        with self._cond:
            self._runs += 1
        try:
            yield
        finally:
            with self._cond:
                self._runs -= 1
                self._cond.notify_all()

    @property
    def waiting(self) -> int:
        """Threads waiting for their turn (not counting the one holding it)."""
        return max(0, self._next - self._serving - 1)

    def __enter__(self) -> Turns:
        with self._cond:
            ticket = self._next
            self._next += 1
            while ticket != self._serving:
                self._cond.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


TURNS = Turns()  # the engine runs of every session in this process


class _Feed:
    """The frames a worker produced and the script thread has not taken yet."""

    def __init__(self) -> None:
        self.frames: deque = deque()
        self.cond = threading.Condition()
        self.finished = False
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.joined_at: int | None = None  # the step of another session's run it joined

    def joined(self, step: int) -> None:
        """The run joined the same run of another session, already at ``step``
        (:mod:`dashboard.shared_runs`): said before its first frame."""
        with self.cond:
            self.joined_at = int(step)

    def put(self, frame: Any) -> None:
        with self.cond:
            self.frames.append(frame)
            self.cond.notify()

    def end(self, error: BaseException | None = None) -> None:
        with self.cond:
            self.error, self.finished = error, True
            self.cond.notify()

    def take(self, timeout: float) -> tuple[list, bool]:
        """The frames that arrived (waiting up to ``timeout`` s for one) and whether the
        worker has ended."""
        with self.cond:
            if not self.frames and not self.finished:
                self.cond.wait(timeout)
            frames = list(self.frames)
            self.frames.clear()
            return frames, self.finished


def _work(feed: _Feed, configs: list, model: Any, reference: Any, every: int | None,
          threads: int, turns: Turns) -> None:
    """The worker: the engine's frames into ``feed`` until the run ends or ``feed.stop``,
    computing each frame's steps in its turn."""
    import torch

    from viz_core import engine

    if threads:
        torch.set_num_threads(threads)  # this thread's own intra-op pool
    error = None
    try:
        gen = iter(engine.run(configs, model, reference=reference, every=every,
                              stop=feed.stop))
        with contextlib.closing(gen) if hasattr(gen, "close") else contextlib.nullcontext():
            while True:
                with turns:
                    frame = None if feed.stop.is_set() else next(gen, None)
                if frame is None:
                    break
                feed.put(frame)
    except BaseException as exc:  # noqa: BLE001 - handed to the script thread
        error = exc
    finally:
        feed.end(error)


def stream(configs: list, model: Any, record: RunRecord,
           draw: Callable[[RunRecord, Any, bool], None], *, reference: Any = None,
           every: int | None = None, tick: Callable[[], None] | None = None,
           threads: int | None = None, turns: Turns | None = None,
           final_full: bool = True) -> RunRecord:
    """Run ``configs`` as one batch in a worker thread, drawing its frames here.

    ``draw(record, frame, full)`` updates the page's placeholders and calls
    ``record.mark_shown()`` once the pre-image is on screen. Every frame is recorded; the
    page is redrawn with the latest at most every :data:`DRAW_INTERVAL_S` seconds (always
    the first and the last frame); ``full`` is True at most every :data:`PLOT_INTERVAL_S`
    seconds, never at the first frame (the pre-image alone shows first) and at the last
    one unless ``final_full`` is False (a page that draws its plots after the run's
    status, so that "done" shows before the plots render); both intervals are multiplied
    by the number of runs streaming at once (the frame budget is shared). ``tick`` is
    called at least every :data:`TICK_S` seconds while waiting (a page yields to Streamlit
    there, so that Stop is seen between frames). ``threads``: the worker's torch threads
    (default :func:`run_threads`); ``turns``: whom it takes turns with (default
    :data:`TURNS`, every run of this process). Errors end the run with a
    message; an exception raised by ``draw`` or ``tick`` (Streamlit's Stop / rerun) stops
    the worker between two steps and propagates.
    """
    if record.interrupted:
        return record
    feed = _Feed()
    turns = turns or TURNS
    threads = run_threads() if threads is None else threads
    recipe = engine_worker.recipe_of(model) if engine_worker.wanted() else None
    remote = engine_worker.shared(threads) if recipe is not None else None
    rid = None
    if remote is not None:  # the engine process: its own interpreter lock
        with contextlib.suppress(engine_worker.EngineFailure):  # else a thread, as before
            rid = remote.submit(feed, recipe, configs, reference, every)
    worker = None if rid is not None else threading.Thread(
        target=_work, name=f"demons-run-{record.run_id}", daemon=True,
        args=(feed, configs, model, reference, every, threads, turns))
    with turns.member():  # in the frame budget from start to end
        try:
            if worker is not None:
                worker.start()
            _draw_loop(feed, record, draw, tick, final_full, turns)
        except VizError as exc:
            record.status, record.message = "error", str(exc)
        except Exception as exc:  # noqa: BLE001 - a failed run is a message, never a traceback
            record.status, record.message = "error", _failure(exc)
        finally:
            feed.stop.set()  # ends the engine between two steps if it still runs
            if worker is None:
                remote.stop(rid)
            elif worker.is_alive() and (feed.finished or record.status != "running"):
                worker.join(timeout=5)
    with record._lock:
        if record.status == "running" and not record.interrupted:
            record.status = "done"
    return record


def after_other_runs(tick: Callable[[], None] | None = None, turns: Turns | None = None,
                     limit_s: float = AFTER_RUNS_LIMIT_S) -> float:
    """Wait while runs of other sessions stream (at most ``limit_s`` seconds, calling
    ``tick`` every :data:`TICK_S`), then return the seconds waited: a page draws its final
    plots and downloads after them, so that drawing never slows their optimisation. The
    run's "done" and its last pre-image are already shown. Drawing costs the server (plotly
    figures built on the script thread, holding the interpreter lock a run in a thread
    needs) and the browser (a fresh page's first plotly charts take more CPU than the
    engine's 200 steps): on a server whose cores the engine process shares with the server
    and a browser, four sessions' plots drawn while the last runs compute delay it by a
    fifth (``bench/dashboard_browser.py``). No wait when no other run streams.

    >>> after_other_runs(turns=Turns())
    0.0
    """
    turns = turns or TURNS
    t0 = time.perf_counter()
    waited = 0.0
    while turns.runs > 0 and waited < limit_s:
        if tick is not None:
            tick()
        turns.wait_idle(min(TICK_S, limit_s - waited))
        waited = time.perf_counter() - t0
    return waited


def _draw_loop(feed: _Feed, record: RunRecord, draw: Callable[[RunRecord, Any, bool], None],
               tick: Callable[[], None] | None, final_full: bool, turns: Turns) -> None:
    last_draw = float("-inf")
    last_plot = time.perf_counter()  # frame 0 shows the pre-image alone: no curve yet
    latest = drawn = None
    asked = record.started  # (a run that joins another's moves ``started`` to that run's)
    while True:
        frames, finished = feed.take(TICK_S)
        if tick is not None:
            tick()
        if feed.joined_at is not None and record.joined_at is None:
            record.joined(feed.joined_at)
        for f in frames:
            if not record.add(f):  # interrupted: a newer script run owns the page
                return
            latest = f
        if finished and feed.error is not None:
            raise feed.error
        if latest is not None and latest is not drawn:
            now = time.perf_counter()
            first = record.first_frame_s is None
            last = latest.done or finished
            share = max(1, turns.runs)  # the frame budget of all runs streaming now
            if first or last or now - last_draw >= DRAW_INTERVAL_S * share:
                full = final_full if last else now - last_plot >= PLOT_INTERVAL_S * share
                draw(record, latest, full)
                drawn, last_draw = latest, time.perf_counter()
                if first:
                    record.first_frame_s = last_draw - asked
                if full:
                    last_plot = last_draw
        if finished:
            return


def _failure(exc: BaseException) -> str:
    """A failed run in a user's words (the server log keeps the exception): the engine
    process that ended (:class:`~dashboard.engine_worker.EngineFailure` of kind
    ``EngineProcess``, whose message says what happened and what to do) without a class
    name."""
    msg = (str(exc).splitlines() or [""])[0][:300]
    if "out of memory" in msg.lower():
        return ("the run failed: the GPU ran out of memory: try a smaller model or image, "
                "fewer schemes in the batch, or the CPU device")
    LOG.error("run failed", exc_info=exc)
    if isinstance(exc, engine_worker.EngineFailure) and exc.kind == "EngineProcess":
        return msg
    return f"the run failed: {getattr(exc, 'kind', type(exc).__name__)}: {msg}"
