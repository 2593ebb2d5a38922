"""The engine process's side of :mod:`dashboard.engine_worker`: the demons iterations
(eq. 18, Sec. 3) of every session's runs, computed in turns, one frame's worth of steps
each, first come first served; the same run asked for by several sessions at once computed
once (:mod:`dashboard.shared_runs`). Started as ``python -m dashboard.engine_worker FD
THREADS``; frames and ends go back on the socket.

No Streamlit here.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import threading
from typing import Any

from dashboard import shared_runs
from dashboard.engine_worker import MAX_MODELS, _describe


def serve(conn: Any, threads: int) -> None:
    """The worker process: runs from ``conn`` computed in turns, one frame's worth of steps
    each, in the order they came (a run that is one under way joins it); frames and ends
    sent back on ``conn``. Ends when the server says so, closes ``conn`` or dies."""
    import torch

    torch.set_num_threads(max(1, threads))
    from viz_core import engine, models

    cond = threading.Condition()
    pending: collections.deque = collections.deque()
    stops: dict[int, threading.Event] = {}
    quit_ = threading.Event()

    def read() -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            with cond:
                if msg[0] == "start":
                    stops[msg[1]] = threading.Event()
                    pending.append(msg)
                elif msg[0] == "stop" and msg[1] in stops:
                    stops[msg[1]].set()
                elif msg[0] == "open":
                    to_open.put(msg[1])
                elif msg[0] == "quit":
                    break
                cond.notify()
        with cond:
            quit_.set()
            for ev in stops.values():
                ev.set()
            cond.notify()

    opened: collections.OrderedDict = collections.OrderedDict()
    opening: dict[tuple, threading.Event] = {}
    models_lock = threading.Lock()
    send_lock = threading.Lock()  # the main loop and the openers both send

    def send(msg: tuple) -> None:
        with send_lock:
            conn.send(msg)

    def model_of(recipe: tuple) -> Any:
        """The model of ``recipe``, opened once (by a run, or by a preload the run then
        waits for), the last :data:`MAX_MODELS` kept."""
        while True:
            with models_lock:
                if recipe in opened:
                    opened.move_to_end(recipe)
                    return opened[recipe]
                busy = opening.get(recipe)
                if busy is None:
                    busy = opening[recipe] = threading.Event()
                    break
            busy.wait()  # opened by another thread meanwhile (or it failed: try again)
        try:
            name, weights, device = recipe
            model = models.open_model(name, weights=weights, device=device)
            with models_lock:
                opened[recipe] = model
                while len(opened) > MAX_MODELS:
                    opened.popitem(last=False)
        finally:
            with models_lock:
                opening.pop(recipe, None)
            busy.set()
        with contextlib.suppress(OSError, ValueError):
            send(("opened", recipe))
        return model

    to_open: queue.SimpleQueue = queue.SimpleQueue()

    def opener() -> None:
        """Preloads, one at a time (a user browsing models does not make the worker open
        them all at once)."""
        while True:
            recipe = to_open.get()
            with contextlib.suppress(Exception):  # a run of this model reports the error
                model_of(recipe)

    threading.Thread(target=opener, name="open", daemon=True).start()
    threading.Thread(target=read, name="commands", daemon=True).start()

    def end(rid: int, exc: BaseException | None) -> None:
        with cond:
            stops.pop(rid, None)
        send(("end", rid, None if exc is None else _describe(exc)))

    send(("ready",))
    active: collections.deque = collections.deque()  # shared_runs.SharedRun, in turns

    def admit(rid: int, recipe: tuple, configs: list, ref: Any, every: int | None) -> None:
        """Run ``rid`` shares a run under way that is the same (dashboard.shared_runs), or
        starts its own. A run that joins one already past its start is told the step it
        came at first ("joined"), then gets the frames it missed."""
        member = shared_runs.Member(rid, stops[rid])
        for run in active:
            if run.same(recipe, configs, ref, every):
                if run.step > 0:
                    send(("joined", rid, run.step))
                for fid, frame in run.join(member):
                    send(("frame", fid, frame))
                return
        model = model_of(recipe)
        reference = None if ref is None else torch.from_numpy(ref)
        active.append(shared_runs.SharedRun(
            recipe, configs, ref, every,
            lambda cfgs, stop: engine.run(cfgs, model, reference=reference, every=every,
                                          stop=stop), member))

    try:
        while True:
            with cond:
                while not pending and not active and not quit_.is_set():
                    cond.wait()
                if quit_.is_set():
                    return
                new = list(pending)
                pending.clear()
            for _, rid, recipe, configs, ref, every in new:
                try:
                    admit(rid, recipe, configs, ref, every)
                except Exception as exc:  # noqa: BLE001 - the run's error, sent back
                    end(rid, exc)
            if not active:
                continue
            run = active.popleft()
            for rid in run.end_stopped():
                end(rid, None)
            if not run.live:
                run.close()
                continue
            try:
                sent = run.advance()
            except Exception as exc:  # noqa: BLE001 - the run's error, sent back
                run.close()
                for m in run.live:
                    end(m.rid, exc)
                continue
            for rid, frame in sent:
                send(("frame", rid, frame))
            if run.gen is None:
                for m in run.live:
                    end(m.rid, None)
                continue
            active.append(run)
    except (BrokenPipeError, EOFError, OSError):
        return  # the server has gone
