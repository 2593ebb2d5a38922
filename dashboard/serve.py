"""Starting the dashboard's own server for browser tests and benchmarks: ``python -m
streamlit run app.py`` on 127.0.0.1 and a free port, ready once ``/_stcore/health`` answers
``ok`` (no Streamlit import: it runs in a child process)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(log: Path, env: dict | None = None, timeout: float = 60.0
          ) -> tuple[subprocess.Popen, str]:
    """Start the server (output to ``log``, ``env`` added to the environment) and wait until
    it answers; returns the process and its base URL. A server that exits or does not
    answer within ``timeout`` seconds is stopped and raises RuntimeError with its log."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop(proc)
            raise RuntimeError(f"streamlit did not start:\n{Path(log).read_text()[-3000:]}")
        time.sleep(0.3)


def stop(proc: subprocess.Popen) -> None:
    """Terminate the server (kill it after 10 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def processes() -> dict[int, tuple[int, float, bytes]]:
    """Every process this user can read in ``/proc``: pid -> (parent pid, CPU seconds used
    so far, command line with NUL separators)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(pid)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, cmd)
    return out


def engine_workers(server_pid: int) -> dict[int, float]:
    """The engine processes the server ``server_pid`` started (dashboard.engine_worker):
    pid -> CPU seconds used so far."""
    return {pid: cpu for pid, (ppid, cpu, cmd) in processes().items()
            if ppid == server_pid and b"dashboard.engine_worker" in cmd}
