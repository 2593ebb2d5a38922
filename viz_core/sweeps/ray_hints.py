"""What the Ray executor says when a cluster is not there or a task fails: the forms of
an address, the ``ray start`` command for a head node that an address would reach,
whether anything answers at the address (before Ray is asked, which retries for ever),
and one line for a task that failed for good. Nothing here imports Ray; joining and
starting a cluster is :mod:`viz_core.sweeps.raycluster`'s job.
"""

from __future__ import annotations

import re
import socket
import time

from viz_core.errors import VizError

__all__ = ["CLIENT_PORT", "GCS_PORT", "failure_reason", "first_line", "host_port",
           "start_hint", "wait_for_port"]

#: Ray's default ports: the head's GCS (``--port``) and Ray Client server (``ray://``).
GCS_PORT, CLIENT_PORT = 6379, 10001


def host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``ray://host:port`` or ``host:port``; None for other forms
    (``auto``) and a VizError for a malformed one."""
    text = address.strip()
    text = re.sub(r"^ray://", "", text)
    if text in ("auto", "local"):
        return None
    m = re.fullmatch(r"\[?([^\[\]]+?)\]?:(\d+)", text)
    if not m or not 0 < int(m.group(2)) < 65536:
        raise VizError(f"address= must be HOST:PORT or ray://HOST:PORT, got {address!r}",
                       field="ray_address")
    return m.group(1), int(m.group(2))


def start_hint(address: str) -> str:
    """The ``ray start`` command for a head node that ``address`` reaches: ``ray://`` names
    the Ray Client server's port, a bare ``HOST:PORT`` the GCS port; a default port is left
    out.

    >>> start_hint("ray://h:10001"), start_hint("ray://h:2"), start_hint("h:2")
    ('ray start --head', 'ray start --head --ray-client-server-port 2', 'ray start --head --port 2')
    """
    hp = host_port(address)
    if hp is None:
        return "ray start --head"
    client = address.strip().startswith("ray://")
    flag, default = ("--ray-client-server-port", CLIENT_PORT) if client else ("--port", GCS_PORT)
    return "ray start --head" + ("" if hp[1] == default else f" {flag} {hp[1]}")


def wait_for_port(address: str, deadline: float, timeout: float, *, grace: float) -> None:
    """Until ``address`` accepts a TCP connection: an unknown host fails at once, a
    refused connection (a head node that is starting) after ``grace`` s, silence at
    ``deadline`` (``timeout`` s after the start, named in the message)."""
    hp = host_port(address)
    if hp is None:
        return
    last, refused_since = "", None
    while True:
        try:
            with socket.create_connection(hp, timeout=max(0.1, min(2.0, deadline -
                                                                    time.monotonic()))):
                return
        except socket.gaierror as exc:
            raise VizError(f"no Ray cluster at {address}: unknown host {hp[0]!r} "
                           f"({exc.strerror or type(exc).__name__})",
                           field="ray_address") from None
        except OSError as exc:
            last = exc.strerror or type(exc).__name__
            refused = isinstance(exc, ConnectionRefusedError)
            refused_since = (refused_since or time.monotonic()) if refused else None
        now = time.monotonic()
        if refused_since is not None and now - refused_since >= grace and now < deadline:
            raise VizError(f"no Ray cluster answers at {address} ({last}: nothing listens "
                           f"on that port); start one there ({start_hint(address)}) or "
                           "check the address", field="ray_address")
        if now >= deadline:
            raise VizError(f"no Ray cluster answers at {address} ({last}) within "
                           f"{timeout:g} s; start one there (ray start --head) or raise "
                           "connect_timeout=", field="ray_address")
        time.sleep(min(0.5, max(0.0, deadline - now)))


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (the type alone for an empty message)."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def failure_reason(exc: BaseException, max_retries: int) -> str:
    """One line for a task that failed for good: the worker's VizError as it is, the kind
    of infrastructure failure otherwise."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, VizError):
        return str(cause).strip().splitlines()[0]
    name = type(exc).__name__
    if name == "WorkerCrashedError":
        return (f"its worker died {max_retries + 1} time(s) (max_retries={max_retries} "
                "exhausted)")
    if name in ("LocalRayletDiedError", "NodeDiedError", "RaySystemError",
                "ActorUnschedulableError", "TaskUnschedulableError"):
        return f"the Ray node running it died ({name})"
    if name == "TaskCancelledError":
        return "its task was cancelled"
    if name == "RayTaskError" or cause is not None:
        inner = cause if isinstance(cause, BaseException) else exc
        return f"the worker raised {first_line(inner)}"
    return first_line(exc)
