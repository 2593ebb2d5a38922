"""Driving the dashboard in Debian's headless chromium for the browser benchmarks
(``bench/dashboard_browser.py``, ``bench/first_run.py``, ``bench/slow_browser.py``,
``bench/dashboard_messages.py``): the server, a fresh page with a watcher of the click, the
first decoded frame, the "done" message and the idle script, and the CPU seconds of the
browser, the server and its engine process (``/proc``). Never a downloaded browser.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from common import ROOT, setup


def _load_serve():
    """dashboard/serve.py, loaded by path: in bench/, ``import dashboard`` finds
    bench/dashboard.py (the AppTest benchmark) before the package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("dashboard_serve",
                                                  ROOT / "dashboard" / "serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


serve = _load_serve()

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

# Installed before the click: records (page clock, ms) the click, the first new pre-image
# decoded in the main area, the first "done" alert and the script going idle after running.
WATCH = """() => {
  const imgs = () => document.querySelectorAll(
    "[data-testid='stMain'] [data-testid='stImage'] img");
  const before = new Set([...imgs()].map(i => i.src));
  const app = document.querySelector("[data-testid='stApp']");
  const t = window.__t = {click: null, frame: null, done: null, idle: null, running: false,
                          wall: null};
  // awaited by finish(): no polling in the page (Playwright's wait_for_function would run a
  // requestAnimationFrame loop, a frame rendered 60 times a second, that a user's page has not)
  window.__idle = new Promise(resolve => { t.resolveIdle = resolve; });
  const look = () => {
    if (t.click === null) return;
    const now = performance.now();
    if (t.frame === null) {
      for (const img of imgs()) {
        if (img.src && !before.has(img.src)) {
          before.add(img.src);
          img.decode().then(() => { if (t.frame === null) t.frame = performance.now(); })
             .catch(() => {});
        }
      }
    }
    if (t.done === null) {
      for (const a of document.querySelectorAll("[data-testid='stMain'] [data-testid='stAlert']")) {
        if (/done: \\d+ steps/.test(a.textContent)) {
          t.done = now; t.doneWall = Date.now(); t.doneText = a.textContent; break;
        }
      }
    }
    const s = app.getAttribute("data-test-script-state");
    if (s === "running") t.running = true;
    else if (t.running && s === "notRunning" && t.idle === null) {
      t.idle = now; t.wall = Date.now(); t.resolveIdle();
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true,
    attributes: true, characterData: true});
}"""
CLICK = ("el => { window.__t.click = performance.now(); window.__t.clickWall = Date.now(); "
         "el.click(); }")


class Server:
    """``python -m streamlit run app.py`` on a free localhost port (dashboard.serve)."""

    def __init__(self, env: dict | None = None) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
        self.log.close()
        try:
            self.proc, self.url = serve.start(Path(self.log.name), env, timeout=120)
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from None

    def close(self) -> None:
        serve.stop(self.proc)


def open_page(browser, url: str, button: str, init_script: str | None = None):
    """A fresh 1280x720 page of ``browser`` (or of a browser context) at ``url``, connected
    and idle, with the click watcher installed; returns it and its ``button``.
    ``init_script`` runs before the app's."""
    page = browser.new_page()
    page.set_viewport_size({"width": 1280, "height": 720})
    page.set_default_timeout(600_000)
    if init_script:
        page.add_init_script(init_script)
    page.goto(url)
    page.wait_for_selector(CONNECTED)
    btn = page.get_by_role("button", name=button, exact=True)
    btn.wait_for()
    page.wait_for_selector(IDLE)
    page.evaluate(WATCH)
    return page, btn


def finish(page, done_text: bool) -> dict:
    """Waits until the run is done; returns the page's times (s after the click)."""
    page.evaluate("() => window.__idle")
    t = page.evaluate("() => { const {resolveIdle, ...t} = window.__t; return t; }")
    c = t["click"]
    done = t["done"] if done_text and t["done"] is not None else t["idle"]
    took = re.search(r"done: \d+ steps in ([0-9.]+) s", t.get("doneText") or "")
    return {"first": None if t["frame"] is None else (t["frame"] - c) / 1e3,
            "done_in": float(took.group(1)) if took else float("nan"),
            "done": (done - c) / 1e3, "idle": (t["idle"] - c) / 1e3,
            "text": done_text and t["done"] is not None,
            "click_wall": t["clickWall"] / 1e3, "idle_wall": t["wall"] / 1e3,
            "done_wall": (t["doneWall"] if done_text and t.get("doneWall") else t["wall"]) / 1e3}


def process_cpu(server_pid: int | None = None) -> dict[str, float]:
    """CPU seconds used so far by the Chromium processes, by the Streamlit server and by
    the engine process of the server ``server_pid`` (``/proc``)."""
    out = {"chromium": 0.0, "server": 0.0, "engine": 0.0}
    for ppid, used, cmd in serve.processes().values():
        if b"chromium" in cmd.split(b"\0")[0]:
            out["chromium"] += used
        elif b"dashboard.engine_worker" in cmd:
            if server_pid is not None and ppid == server_pid:
                out["engine"] += used
        elif b"streamlit" in cmd and b"app.py" in cmd:
            out["server"] += used
    return out


def launch_niced(pw, nice: int):
    """Debian's chromium started through ``nice -n`` (its renderers inherit the priority)."""
    import stat

    wrapper = Path(tempfile.mkdtemp(prefix="chromium-nice-")) / "chromium"
    wrapper.write_text(f"#!/bin/sh\nexec nice -n {nice} {CHROMIUM} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return pw.chromium.launch(executable_path=str(wrapper), headless=True, args=CHROMIUM_ARGS)


def browser_setup(args):
    """:func:`common.setup` for a browser benchmark: wall time only, Debian's chromium
    present; returns the device."""
    if args.clock == "cpu":
        raise SystemExit("error: the browser is timed in wall time; use --clock wall")
    device = setup(args)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"error: {CHROMIUM} is not installed (apt-get install chromium)")
    return device
