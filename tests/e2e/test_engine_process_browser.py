"""In a real server, a Playground run computes in the engine process (dashboard.engine_worker),
not in the server: the worker's CPU time grows by the run, and the page shows it done."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dashboard import serve

from .conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _workers(server_pid: int) -> list[int]:
    """Pids of the engine processes started by ``server_pid``."""
    return sorted(serve.engine_workers(server_pid))


def _cpu_s(pid: int) -> float:
    return serve.processes()[pid][1]


def _settled_cpu(pid: int, quiet_s: float = 1.5, limit_s: float = 120.0) -> float:
    """The worker's CPU seconds once they stop growing (its imports are over)."""
    last, since, t0 = _cpu_s(pid), time.time(), time.time()
    while time.time() - since < quiet_s and time.time() - t0 < limit_s:
        time.sleep(0.25)
        now = _cpu_s(pid)
        if now - last > 0.02:
            last, since = now, time.time()
    return last


def test_a_playground_run_computes_in_the_engine_process(browser_ready, tmp_path):
    from playwright.sync_api import sync_playwright

    proc, url = serve.start(tmp_path / "server.log", {"DEMONS_VIZ_ENGINE": "process"},
                            timeout=120)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{url}/Playground?steps=400&every=50")
            page.wait_for_selector(CONNECTED, timeout=120_000)
            page.wait_for_selector(IDLE, timeout=120_000)
            deadline = time.time() + 60
            while not _workers(proc.pid) and time.time() < deadline:
                time.sleep(0.2)
            workers = _workers(proc.pid)
            assert len(workers) == 1, "the server started no engine process"
            before = _settled_cpu(workers[0])
            server_before = _cpu_s(proc.pid)
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("done: 400 steps").wait_for(timeout=300_000)
            used = _cpu_s(workers[0]) - before
            server_used = _cpu_s(proc.pid) - server_before
            browser.close()
        # 400 steps of the default model: the worker computed them, not the server
        assert used > 0.3, (used, server_used)
        assert _workers(proc.pid) == workers  # the same worker, still there
    finally:
        serve.stop(proc)
    deadline = time.time() + 10
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.time() < deadline:
        time.sleep(0.1)
    alive = [w for w in workers if Path(f"/proc/{w}").exists()
             and "Z" not in Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[:1]]
    assert not alive, "the engine process outlived its server"
