"""Joining, starting and leaving a Ray cluster without hanging, spamming or leaking.

* Joining an address has a deadline: the address must accept a TCP connection, and
  ``ray.init`` must return, within ``timeout`` seconds (Ray itself retries for ever when
  nothing listens); the message then names the address (and the ``ray start`` command
  that would serve it: :mod:`viz_core.sweeps.ray_hints`).
* A task that fails for good (retries exhausted, a dead node, an error raised in the
  worker) becomes one line (:func:`~viz_core.sweeps.ray_hints.failure_reason`), the
  worker's own message when it raised a :class:`VizError`, never a remote traceback.
* The processes a local Ray started (GCS server, raylet, agents, workers) are recorded
  and ended after ``ray.shutdown()``, so none outlives the run.
* Ray's own start-up warnings and the raylet log tails it prints when a node dies are
  kept off the terminal (:func:`driver_logs`), and so are its C++ log lines written while
  connecting (its retries, :func:`quiet_stderr`); when the deadline abandons a
  connecting thread, descriptor 2 stays silent for the rest of the process and
  ``sys.stderr`` keeps the terminal.

Ray is imported only when a Ray executor is used.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from viz_core.errors import VizError
from viz_core.sweeps.ray_hints import (  # the two noqa names: imported from here elsewhere
    failure_reason,  # noqa: F401
    first_line,
    host_port,  # noqa: F401
    wait_for_port,
)

RAY_MISSING = ('the Ray executor needs Ray: pip install -e ".[distributed]" '
               '(or pip install "ray[default]>=2.9")')
#: Seconds to join a Ray cluster at an address (``--ray-timeout``).
CONNECT_TIMEOUT = 30.0
#: Ray start-up waits raised for a busy machine (defaults 30-60 s); set only when unset.
RAY_STARTUP_ENV = {"RAY_gcs_server_port_wait_time_s": "120",
                   "RAY_gcs_server_request_timeout_seconds": "120",
                   "RAY_worker_register_timeout_seconds": "180"}
_INIT_OPTIONS = {"include_dashboard": False, "log_to_driver": False,
                 "configure_logging": False}


class ItemFailed(VizError):
    """Work item ``index`` of a map failed for good; ``reason`` is one line."""

    def __init__(self, index: int | None, reason: str) -> None:
        super().__init__(reason, field="executor")
        self.index = index
        self.reason = reason


def import_ray():
    """The ``ray`` module, or a VizError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise VizError(RAY_MISSING, field="executor") from None
    return ray


def check_ray_options(num_workers: int | None = None, max_retries: int = 3,
                      timeout: float = CONNECT_TIMEOUT) -> None:
    """``--workers`` >= 1, ``--max-retries`` >= 0 and a positive ``--ray-timeout``."""
    if num_workers is not None and num_workers < 1:
        raise VizError(f"num_workers= must be >= 1, got {num_workers}", field="workers")
    if max_retries < 0:
        raise VizError(f"max_retries= must be >= 0, got {max_retries}", field="max_retries")
    check_ray_timeout(timeout)


def check_ray_timeout(timeout: float) -> None:
    """``--ray-timeout``: more than 0 s and at most a day."""
    if not 0 < timeout <= 86400:  # NaN fails too
        raise VizError(f"connect_timeout= must be in (0, 86400] seconds, got {timeout}",
                       field="ray_timeout")


def _silence_stderr() -> int | None:
    """Send file descriptor 2 to /dev/null (Ray's C++ logs write there directly); returns
    a duplicate of the old one, or None when there is no real stderr."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # e.g. captured by a test runner
        return None
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    return saved


def _restore_stderr(saved: int | None, keep_silent: bool = False) -> None:
    """Undo :func:`_silence_stderr`; ``keep_silent``: leave descriptor 2 silent (a thread
    stuck in Ray's C++ keeps logging there) and point ``sys.stderr`` at the old one."""
    if saved is None:
        return
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    if keep_silent:
        sys.stderr = open(saved, "w", buffering=1, encoding="utf-8", errors="replace")
        return
    os.dup2(saved, 2)
    os.close(saved)


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Ray's C++ log lines (written to descriptor 2) kept off the terminal while it lasts."""
    saved = _silence_stderr()
    try:
        yield
    finally:
        _restore_stderr(saved)


@contextmanager
def _quiet_ray_logger() -> Iterator[None]:
    """Ray's Python warnings while it starts (e.g. its token-authentication notice) kept
    off the terminal: a failure becomes this module's own one-line message."""
    log = logging.getLogger("ray")
    old = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(old)


def driver_logs(ray, enabled: bool) -> None:
    """Whether this driver prints what Ray publishes to it (a dead raylet's last 20 log
    lines, twice, on stdout); off while a run's own messages say what failed."""
    worker = getattr(getattr(ray, "_private", None), "worker", None)
    if worker is not None and hasattr(worker, "_worker_logs_enabled"):
        worker._worker_logs_enabled = enabled


@contextmanager
def keep_sigterm() -> Iterator[None]:
    """The SIGTERM handler of this process as it was before the block: ``ray.init``
    replaces it (with a C++ handler that aborts with a stack dump), which would skip the
    ``finally`` blocks that shut Ray down."""
    main = threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGTERM) if main else None
    try:
        yield
    finally:
        if before is not None:
            signal.signal(signal.SIGTERM, before)


#: Seconds a refused connection is retried (a head node that is starting) before the
#: address is reported; other failures (no answer at all) wait for the whole timeout.
REFUSED_GRACE = 3.0


def _wait_for_port(address: str, deadline: float, timeout: float) -> None:
    """Until ``address`` accepts a TCP connection (:func:`~.ray_hints.wait_for_port`, a
    refused one retried for :data:`REFUSED_GRACE` s)."""
    wait_for_port(address, deadline, timeout, grace=REFUSED_GRACE)


def use_token_if_here() -> bool:
    """Send this machine's Ray authentication token when joining an address. Recent Ray
    (token authentication, https://docs.ray.io/en/latest/ray-security/token-auth.html)
    writes a token to ``~/.ray/auth_token`` when it starts a local cluster, and ``ray start
    --head`` then asks every driver for it; a driver joining an address sends it only in
    token mode, so without this a cluster started on this machine refused the tool's
    driver ("Failed to connect" after 20 s). With ``RAY_AUTH_MODE`` unset and a token here
    (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``), token mode is
    turned on; a cluster without authentication accepts such a driver too. Returns whether
    token mode is on (False with a Ray that has no token authentication)."""
    if os.environ.get("RAY_AUTH_MODE") is not None:
        return os.environ["RAY_AUTH_MODE"].lower() == "token"
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
        with _quiet_ray_logger():
            return bool(maybe_enable_token_auth_if_token_available(warn_if_disabled=False))
    except Exception:  # a Ray before token authentication, or its private API moved
        return False


#: ``ray.init`` calls abandoned by :func:`connect_ray`'s deadline, still blocked in Ray's C++.
_ABANDONED: list[threading.Thread] = []


def abandoned_connect() -> bool:
    """Whether a ``ray.init`` that :func:`connect_ray` gave up on still runs in this process:
    Ray's C++ may then abort the interpreter at its exit (a process that ends after such a
    message should leave with ``os._exit``, as the CLI does)."""
    return any(t.is_alive() for t in _ABANDONED)


def connect_ray(address: str, timeout: float = CONNECT_TIMEOUT, **kw: Any):
    """Join the Ray cluster at ``address`` within ``timeout`` seconds, or raise a VizError
    naming it (with this machine's Ray token, :func:`use_token_if_here`). Returns
    ``ray``."""
    ray = import_ray()
    deadline = time.monotonic() + timeout
    _wait_for_port(address, deadline, timeout)
    token = use_token_if_here()
    box: dict[str, BaseException] = {}

    def init() -> None:
        try:
            with _quiet_ray_logger():
                ray.init(address=address, **{**_INIT_OPTIONS, **kw})
        except BaseException as exc:  # reported below, in the caller's thread
            box["error"] = exc

    # ray.init blocks in C++ for as long as the address does not act like a Ray cluster,
    # so it runs in a daemon thread that the deadline abandons
    worker = threading.Thread(target=init, name="ray-connect", daemon=True)
    saved = _silence_stderr()
    try:
        worker.start()
        worker.join(max(0.1, deadline - time.monotonic()))
    finally:
        # an abandoned ray.init logs a retry every few seconds for the rest of the process
        _restore_stderr(saved, keep_silent=worker.is_alive())
    hint = "" if token else (
        "; if that cluster uses Ray's token authentication, give this driver its token: "
        "copy the head node's ~/.ray/auth_token here or set RAY_AUTH_TOKEN")
    if worker.is_alive():
        _ABANDONED.append(worker)
        raise VizError(f"the Ray cluster at {address} did not accept this driver within "
                       f"{timeout:g} s (is it a Ray head node? is its version "
                       f"{ray.__version__}?); raise connect_timeout= to wait longer{hint}",
                       field="ray_address")
    if "error" in box:
        raise VizError(f"cannot join the Ray cluster at {address}: "
                       f"{first_line(box['error'])}{hint}", field="ray_address")
    return ray


def start_local_ray(num_cpus: int | None = None, attempts: int = 3, **kw: Any):
    """Start a local Ray with ``num_cpus`` CPUs (default: all), robustly on a loaded machine.

    No dashboard, no log forwarding, no runtime environment (Ray itself gives a task of one
    CPU one OpenMP thread), generous start-up waits (:data:`RAY_STARTUP_ENV`) and a retry
    when the node times out during start-up (Ray waits a fixed 30 s for its raylet).
    Returns ``ray``."""
    ray = import_ray()
    for k, v in RAY_STARTUP_ENV.items():
        os.environ.setdefault(k, v)
    opts: dict[str, Any] = {**_INIT_OPTIONS, **kw}
    before = {p.pid for p in own_processes()}
    for attempt in range(1, attempts + 1):
        try:
            with _quiet_ray_logger():
                ray.init(num_cpus=num_cpus or os.cpu_count(), **opts)
            return ray
        except Exception as exc:  # e.g. "The current node timed out during startup"
            ray.shutdown()
            end_processes(own_processes(before))
            if attempt == attempts:
                raise VizError(f"a local Ray did not start: {first_line(exc)}",
                               field="executor") from None
            time.sleep(5.0 * attempt)
    return ray


def own_processes(exclude: set[int] | frozenset[int] = frozenset()) -> list:
    """The Ray processes this process started (children, recursively, whose command line
    names Ray), less the ids in ``exclude``, as psutil handles (a handle refuses to act on
    a reused process id)."""
    try:
        import psutil
    except ImportError:  # Ray depends on psutil; without it nothing can be recorded
        return []
    out = []
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return []
    for p in children:
        try:
            if p.pid not in exclude and "ray" in " ".join(p.cmdline()).lower():
                out.append(p)
        except psutil.Error:
            pass
    return out


def end_processes(procs: list, grace: float = 3.0) -> list:
    """Terminate the recorded processes that still run (``SIGTERM``, then ``SIGKILL``
    after ``grace`` seconds); returns those that were still running."""
    if not procs:
        return []
    import psutil

    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                p.terminate()
                alive.append(p)
        except psutil.Error:
            pass
    _, left = psutil.wait_procs(alive, timeout=grace)
    for p in left:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(left, timeout=grace)
    return alive
