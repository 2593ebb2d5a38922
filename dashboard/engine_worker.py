"""The engine in a process of its own: the demons iterations (eq. 18, Sec. 3) of every
session's runs computed away from the server's interpreter lock.

In the server process, the engine would share one interpreter lock with the script threads
that draw the frames (PNG encoding, plotly figures, Streamlit's messages): while they held
it, the optimisation waited. Here one worker process (:class:`EngineProcess`, started once
per server, :func:`shared`) computes the runs of all sessions in turns, one frame's worth of
steps each, first come first served (the turns of :class:`dashboard.streaming.Turns`), and
sends each frame back through a pipe; a thread of the server hands it to its run's feed.
The same run asked for by several sessions at once is computed once
(:mod:`dashboard.shared_runs`). The worker's side is :mod:`dashboard.engine_serve`.
Drawing in the server can then slow the frame rate, never the optimisation.

What crosses the pipe: the run's configurations, its reference image (a numpy array), how
to open its model (:func:`recipe_of`: a model the server opened by name, weights and device;
the worker opens it once, alongside the server's own opening of it (:func:`preload`), and
keeps it), and back the engine's frames (numpy arrays) and how
the run ended. A model the worker cannot open by name (one registered in the server's
memory, a CUDA model) runs in a thread of the server as before
(:func:`dashboard.streaming.stream` decides), as does every run while the worker starts.

The worker is ``python -m dashboard.engine_worker`` on one end of a socket pair (the
standard library's ``multiprocessing`` connections), not Ray: the worker must exist on a
bare ``.[dashboard]`` install, and Ray's own processes would take a core of a small machine.
``DEMONS_VIZ_ENGINE=thread`` keeps every run in the server process (the tests' default).

No Streamlit here.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
import threading
import weakref
from multiprocessing.connection import Connection
from typing import Any

ENV = "DEMONS_VIZ_ENGINE"  # "process" (default) or "thread"
PRELOAD_ENV = "DEMONS_VIZ_PRELOAD"  # "0": the worker opens a model at its first run only
MAX_MODELS = 4             # models the worker keeps open (as the server's model cache)

_RECIPES: dict[int, tuple[weakref.ref, tuple[str, str | None, str]]] = {}
_SHARED: dict[str, EngineProcess] = {}
_SHARED_LOCK = threading.Lock()


def wanted() -> bool:
    """Whether runs go to the engine process (``DEMONS_VIZ_ENGINE`` is not "thread")."""
    return os.environ.get(ENV, "process").strip().lower() != "thread"


def _recipe(name: str, weights: str | None, device: str) -> tuple[str, str | None, str] | None:
    """How the worker opens ``open_model(name, weights=..., device=...)``; None for a model
    registered in this process only, or not on the CPU (those run in a thread here)."""
    from viz_core.models import registered

    if registered(name) is not None or str(device) != "cpu":
        return None
    return str(name), weights, str(device)


def preload(name: str, weights: str | None, device: str) -> None:
    """Have a running worker open this model now, in the background, while the server
    opens its own copy (call it just before): opening VGG19 takes seconds, which the first
    run's first frame, and the turns of other sessions' runs, would otherwise wait for.
    ``DEMONS_VIZ_PRELOAD=0`` turns this off (the worker then holds only models that ran)."""
    if os.environ.get(PRELOAD_ENV, "1").strip() == "0":
        return  # a server short of memory: no copy of a model before it runs
    recipe = _recipe(name, weights, device)
    proc = _SHARED.get("engine")
    if recipe is not None and proc is not None and proc.alive:
        proc.preload(recipe)


def remember(model: Any, name: str, weights: str | None, device: str) -> None:
    """Note how the server opened ``model`` (``viz_core.models.open_model(name,
    weights=..., device=...)``), so that the worker can open the same one (see
    :func:`_recipe`)."""
    for key in [k for k, (ref, _) in _RECIPES.items() if ref() is None]:
        del _RECIPES[key]  # models the server's cache let go
    recipe = _recipe(name, weights, device)
    if recipe is not None:
        _RECIPES[id(model)] = (weakref.ref(model), recipe)


def recipe_of(model: Any) -> tuple[str, str | None, str] | None:
    """How the worker opens ``model`` (see :func:`remember`), or None."""
    entry = _RECIPES.get(id(model))
    if entry is None or entry[0]() is not model:
        return None
    return entry[1]


class EngineFailure(Exception):
    """A run that failed in the worker: its exception's type name (``kind``), message and,
    for a :class:`~viz_core.errors.VizError`, the setting it names (``field``)."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind, self.field = kind, field


def _describe(exc: BaseException) -> tuple[str, str, str | None]:
    return type(exc).__name__, str(exc), getattr(exc, "field", None)


def _rebuild(info: tuple[str, str, str | None]) -> BaseException:
    from viz_core.errors import VizError

    kind, message, field = info
    if kind == "VizError":
        return VizError(message, field=field)
    return EngineFailure(kind, message, field)


class EngineProcess:
    """One worker process and the server thread that hands its frames to the runs' feeds.

    A feed is any object with ``put(frame)`` and ``end(error)`` (the stream's queue of
    frames), and may have ``joined(step)``: called before its first frame when its run
    joined the same run of another session, already at ``step``
    (:mod:`dashboard.shared_runs`; the frames, their times included, are that run's).
    :meth:`submit` starts a run, :meth:`stop` ends it between two steps. If the
    worker dies, every run it had ends with an error and :attr:`alive` turns False (the
    next :func:`shared` starts another).
    """

    def __init__(self, threads: int) -> None:
        here, child = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard.engine_worker", str(child.fileno()),
             str(threads)], pass_fds=[child.fileno()], env=env, stdin=subprocess.DEVNULL)
        child.close()
        self._conn = Connection(here.detach())
        self._feeds: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self.ready = threading.Event()
        self.alive = True
        self.opened: set[tuple] = set()  # recipes the worker has opened (it says so)
        threading.Thread(target=self._dispatch, name="demons-engine-frames",
                         daemon=True).start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def submit(self, feed: Any, recipe: tuple, configs: list, reference: Any,
               every: int | None) -> int:
        """Start a run in the worker; its frames and its end go to ``feed``. Returns the
        run's id (for :meth:`stop`); :class:`EngineFailure` if the worker cannot take it
        (it has ended, or the run cannot be sent), and then nothing was started."""
        import numpy as np

        ref = None if reference is None else np.asarray(
            reference.detach().cpu().numpy() if hasattr(reference, "detach") else reference)
        rid = next(self._ids)
        with self._lock:
            if not self.alive:
                raise EngineFailure("EngineProcess", "the engine process has ended")
            self._feeds[rid] = feed
            try:
                self._conn.send(("start", rid, recipe, list(configs), ref, every))
            except Exception as exc:  # noqa: BLE001 - a closed pipe, an unpicklable setting
                self._feeds.pop(rid, None)
                raise EngineFailure("EngineProcess",
                                    f"the engine process cannot take this run: {exc}") from None
        return rid

    def _tell(self, msg: tuple) -> None:
        """Send a command; a worker that has gone just does not get it. Call with
        ``_lock`` held."""
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(msg)

    def preload(self, recipe: tuple) -> None:
        """Have the worker open the model of ``recipe`` in the background (nothing if it has
        ended); :attr:`opened` holds the recipes it has opened so far."""
        with self._lock:
            if self.alive:
                self._tell(("open", recipe))

    def stop(self, rid: int) -> None:
        """End run ``rid`` between two steps (nothing if it has ended)."""
        with self._lock:
            if rid in self._feeds and self.alive:
                self._tell(("stop", rid))

    def runs(self) -> int:
        """Runs submitted and not yet ended."""
        with self._lock:
            return len(self._feeds)

    def close(self, timeout: float = 5.0) -> None:
        """End the worker (its runs end with an error)."""
        with self._lock:
            self._tell(("quit",))
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout)

    def _dispatch(self) -> None:
        while True:
            try:
                msg = self._conn.recv()
            except (EOFError, OSError):
                break
            if msg[0] == "ready":
                self.ready.set()
                continue
            if msg[0] == "opened":
                self.opened.add(msg[1])
                continue
            if msg[0] == "joined":
                with self._lock:
                    joined = getattr(self._feeds.get(msg[1]), "joined", None)
                if joined is not None:
                    joined(msg[2])
                continue
            with self._lock:
                feed = self._feeds.get(msg[1]) if msg[0] == "frame" else \
                    self._feeds.pop(msg[1], None)
            if feed is None:
                continue
            if msg[0] == "frame":
                feed.put(msg[2])
            else:
                feed.end(None if msg[2] is None else _rebuild(msg[2]))
        try:
            code = self._proc.wait(1.0)
        except subprocess.TimeoutExpired:
            code = None
        with self._lock:
            self.alive = False
            feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:  # the words a user reads (dashboard.streaming._failure)
            feed.end(EngineFailure("EngineProcess", "the engine stopped unexpectedly"
                                   + ("" if code is None else f" (exit code {code})")
                                   + "; press Run to start it again"))


def shared(threads: int, wait: float = 0.0) -> EngineProcess | None:
    """This server's worker, if it is ready to take runs (waiting up to ``wait`` seconds);
    started (in the background) on the first call, and again after it died. None while it
    starts."""
    with _SHARED_LOCK:
        proc = _SHARED.get("engine")
        if proc is None or not proc.alive:
            proc = _SHARED["engine"] = EngineProcess(threads)
    proc.ready.wait(wait)
    return proc if proc.ready.is_set() and proc.alive else None


def warm(threads: int) -> None:
    """Start the worker now (the server's first page), so that it is ready by the first
    Run; nothing when runs stay in the server (:func:`wanted`)."""
    if wanted():
        shared(threads)


def main(argv: list[str] | None = None) -> int:
    """``python -m dashboard.engine_worker FD THREADS``: the worker on socket ``FD``."""
    from dashboard.engine_serve import serve

    fd, threads = (argv if argv is not None else sys.argv[1:])[:2]
    serve(Connection(int(fd)), int(threads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
