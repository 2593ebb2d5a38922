"""Screenshots of the dashboard for the README, taken in headless Chromium at 1600x900.

    python scripts/screenshots.py [--out assets/screenshots]

Starts ``streamlit run app.py`` headless on a free local port, drives Debian's chromium
(``/usr/bin/chromium``) with Playwright, and writes ``home.png`` (the gallery and the
guided demo), ``compare.png`` (demo step 1 after its run: the ankle boot inverted from the
middle block by every scheme) and ``playground.png`` (demo step 2 after its run: a class
pre-image with its probability and the independent network's verdict) and ``history.png``
(the History page after three Playground runs with different step sizes, two of them side by
side; ``--only history`` takes just that one). The runs go to a temporary store, never to
the user's history. Waits for what each picture must show, never for a fixed time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = "/usr/bin/chromium"


def demo_button(index: int) -> re.Pattern:
    """The name of guided-demo step ``index``'s button on Home ("1. ...", "2. ...")."""
    return re.compile(rf"^{index + 1}\. ")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1600, "height": 900}
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
MAIN_IMAGES = "[data-testid='stMain'] [data-testid='stImage'] img"


@contextlib.contextmanager
def serve(timeout: float = 120.0) -> Iterator[str]:
    """``streamlit run app.py`` on 127.0.0.1 and a free port; yields the base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit did not start")
            time.sleep(0.3)  # polling the health endpoint, not waiting for the page
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def settle(page, timeout: float = 180_000) -> None:
    """Connected and the script idle."""
    page.wait_for_selector(CONNECTED, timeout=timeout)
    page.wait_for_selector(IDLE, timeout=timeout)


def start_step(page, url: str, index: int) -> None:
    """Open Home and click guided-demo step ``index`` (its button reads "1. ...", "2. ...";
    the script drives the page as a visitor does, without importing the dashboard)."""
    page.goto(url)
    settle(page)
    page.get_by_role("button", name=demo_button(index)).click()


HISTORY_TAUS = (2, 5, 12)


def history_shot(page, url: str, path: Path) -> None:
    """Three Playground runs (tau 2, 5, 12), then the History page comparing two."""
    ids = []
    for tau in HISTORY_TAUS:
        page.goto(f"{url}/Playground?steps=80&every=10&step_size={tau}")
        settle(page)
        page.get_by_role("button", name="Run", exact=True).click()
        link = page.get_by_text(re.compile(r"In the history: [0-9a-f]{12}")).first
        link.wait_for(timeout=600_000)
        ids.append(link.inner_text().rsplit(" ", 1)[-1])
        settle(page, timeout=300_000)
    page.goto(f"{url}/History?runs={ids[0]},{ids[-1]}")
    settle(page)
    page.get_by_text("Side by side").wait_for(timeout=120_000)
    page.wait_for_function(f"() => document.querySelectorAll(\"{MAIN_IMAGES}\")"
                           ".length >= 2", timeout=120_000)
    page.get_by_text("sort by").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(path))


def shots(out: Path, only_history: bool = False) -> list[Path]:
    import tempfile

    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    tmp = tempfile.TemporaryDirectory(prefix="demons-viz-shots-")
    os.environ["DEMONS_VIZ_STORE"] = str(Path(tmp.name) / "runs.sqlite")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    with tmp, serve() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_navigation_timeout(300_000)  # a busy machine loads slowly
            page.goto(url)
            settle(page)
            page.get_by_role("button", name=demo_button(0)).wait_for()
            paths.append(out / "history.png")
            history_shot(page, url, paths[-1])
            if only_history:
                return paths
            page.goto(url)
            settle(page)
            paths.append(out / "home.png")
            page.wait_for_function(  # the gallery: two models' ten classes, decoded
                f"() => {{ const i = [...document.querySelectorAll(\"{MAIN_IMAGES}\")]; "
                "return i.length >= 20 && i.every(e => e.complete && e.naturalWidth > 0); }",
                timeout=300_000)
            page.screenshot(path=str(paths[-1]))

            start_step(page, url, 0)  # Compare: the boot from block2, every scheme
            page.get_by_text("Download a cell of the run shown").wait_for(timeout=900_000)
            settle(page, timeout=300_000)  # the run is over: every cell has its caption
            page.wait_for_function(f"() => document.querySelectorAll(\"{MAIN_IMAGES}\")"
                                   ".length >= 9", timeout=120_000)  # reference + 8 cells
            page.get_by_text("Gaussian G_sigma", exact=True).scroll_into_view_if_needed()
            page.get_by_text("Gaussian G_sigma", exact=True).evaluate(
                "e => e.scrollIntoView({block: 'start'})")
            paths.append(out / "compare.png")
            page.screenshot(path=str(paths[-1]))

            start_step(page, url, 1)  # Playground: a class pre-image with its probability
            page.get_by_text("Downloads of the run shown").wait_for(timeout=600_000)
            page.get_by_text("class probability").first.wait_for(timeout=120_000)
            settle(page, timeout=300_000)
            paths.append(out / "playground.png")
            page.screenshot(path=str(paths[-1]))
        finally:
            browser.close()
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "assets" / "screenshots"))
    ap.add_argument("--only-history", action="store_true", help="only history.png")
    args = ap.parse_args(argv)
    for path in shots(Path(args.out), args.only_history):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
