#!/usr/bin/env python
"""Run history at scale: a store with 10,000 runs; how long the History page takes to draw
its first table (in Chromium against a running server, a fresh session each time: from the
navigation to the table on screen) and `demons-viz history list` takes (a whole process, as
a user types it). Targets: page <= 1 s, list <= 0.5 s.

Example: python bench/history.py --runs 10000 --repeats 5
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, base_parser, md_table, report, setup

MODELS = ("fmnist_vgg", "fmnist_vgg_robust", "fmnist_resnet", "vgg19")
SCHEMES = ("plain GD", "fluid demons", "elastic demons", "fluid-elastic demons")
STATUSES = ("done",) * 7 + ("stopped", "diverged", "error")


def fill(path: Path, n: int) -> float:
    """Add runs until the store holds ``n`` (a realistic record each); seconds spent."""
    import numpy as np

    from viz_core.config import RunConfig
    from viz_core.images import png_bytes
    from viz_core.store import RunRecord, RunStore
    from viz_core.store.images import thumbnail

    store = RunStore(path)
    have = store.count()
    rng = np.random.default_rng(have)
    pics = [png_bytes(rng.random((1, 28, 28), dtype=np.float32)) for _ in range(16)]
    thumbs = [thumbnail(p) for p in pics]
    base = RunConfig().to_dict()
    t0 = time.perf_counter()
    for i in range(have, n):
        steps = [0, *range(10, 201, 10)]
        obj = (-np.log1p(np.arange(len(steps))) * rng.uniform(1, 5)).tolist()
        k = i % len(pics)
        store.add(RunRecord(
            config={**base, "step_size": float(rng.uniform(1, 20)), "steps": 200,
                    "target": int(rng.integers(10)), "model": MODELS[i % 4]},
            model=MODELS[i % 4], task="am" if i % 5 else "inversion",
            scheme=SCHEMES[i % 4], status=STATUSES[i % len(STATUSES)],
            started=1.7e9 + 60 * i, ended=1.7e9 + 60 * i + 12, model_label=MODELS[i % 4],
            weights_hash="0123456789abcdef",
            metrics={"objective": obj[-1], "activation": -obj[-1],
                     "grad_norm": float(rng.uniform()), "hf_fraction": float(rng.uniform()),
                     "coarse_fraction": float(rng.uniform()),
                     "total_variation": float(rng.uniform()),
                     "psnr": float(rng.uniform(10, 30)), "ssim": float(rng.uniform())},
            curves={"step": steps, "objective": obj, "activation": [-v for v in obj]},
            tags=["keep"] if i % 50 == 0 else [], image=pics[k], thumb=thumbs[k]))
    return time.perf_counter() - t0


def time_cli(path: Path, extra: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "viz_core", "history", "--store", str(path),
                    "list", *extra], check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def time_page_script(path: Path) -> float:
    """The page script's own time from the query to the table handed to Streamlit (AppTest;
    AppTest's wall time is not used: each fresh AppTest scans every installed package's
    metadata for components, about 1-2 s here, which a running server does not do)."""
    from streamlit.testing.v1 import AppTest

    os.environ["DEMONS_VIZ_STORE"] = str(path)
    at = AppTest.from_file(str(ROOT / "pages" / "7_History.py"), default_timeout=120)
    at.run()
    assert not at.exception and len(at.dataframe[0].value) > 0
    return float(at.session_state["hi_table_s"])


class Browser:
    """A Streamlit server on the store and headless Chromium (None without chromium)."""

    def __init__(self, path: Path) -> None:
        os.environ["DEMONS_VIZ_STORE"] = str(path)
        sys.path.insert(0, str(ROOT / "scripts"))
        from playwright.sync_api import sync_playwright
        from screenshots import CHROMIUM, CHROMIUM_ARGS, serve

        self._serve = serve()
        self.url = self._serve.__enter__()
        self._cm = sync_playwright()
        self._pw = self._cm.__enter__()
        self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                args=CHROMIUM_ARGS)

    TABLE = "[data-testid='stDataFrame'] canvas"
    IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

    def time_first_table(self) -> tuple[float, float]:
        """(a click on History in the sidebar of a connected session to its table on
        screen, a fresh tab loading /History to its table on screen)."""
        page = self.browser.new_page(viewport={"width": 1600, "height": 900})
        try:
            page.goto(f"{self.url}/Sweeps")  # a light page: controls only
            page.wait_for_selector(self.IDLE, timeout=120_000)
            link = page.get_by_test_id("stSidebarNavLink").filter(has_text="History")
            t0 = time.perf_counter()
            link.click()
            page.wait_for_selector(self.TABLE, timeout=120_000)
            switch = time.perf_counter() - t0
        finally:
            page.close()
        page = self.browser.new_page(viewport={"width": 1600, "height": 900})
        try:
            t0 = time.perf_counter()
            page.goto(f"{self.url}/History")
            page.wait_for_selector(self.TABLE, timeout=120_000)
            return switch, time.perf_counter() - t0
        finally:
            page.close()

    def close(self) -> None:
        self.browser.close()
        self._cm.__exit__(None, None, None)
        self._serve.__exit__(None, None, None)


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--store", default="/tmp/demons-viz-bench-history.sqlite",
                   help="store file (kept and topped up between invocations)")
    args = p.parse_args(argv)
    device = setup(args)
    path = Path(args.store)
    spent = fill(path, args.runs)
    browser = Browser(path) if Path("/usr/bin/chromium").exists() else None
    samples = {"page": [], "cold": [], "page_table": [], "list": [], "list_all": []}
    try:
        if browser:
            browser.time_first_table()  # warm: the server's imports and its store object
        time_page_script(path)
        for _ in range(args.repeats):  # interleaved
            if browser:
                switch, cold = browser.time_first_table()
                samples["page"].append(switch)
                samples["cold"].append(cold)
            samples["page_table"].append(time_page_script(path))
            samples["list"].append(time_cli(path, []))
            samples["list_all"].append(time_cli(path, ["--limit", "0", "--json"]))
    finally:
        if browser:
            browser.close()
    med = {k: statistics.median(v) if v else float("nan") for k, v in samples.items()}
    rows = [["History page, first table in Chromium (sidebar click to the table on screen)",
             f"{med['page']:.3f}", "1.0", f"{med['page'] / 1.0:.2f}"],
            ["  the same from a fresh tab (loads Streamlit's front end, new session)",
             f"{med['cold']:.3f}", "", ""],
            ["  page script: query + rows + st.dataframe (AppTest)",
             f"{med['page_table']:.3f}", "", ""],
            ["`demons-viz history list` (process, 50 newest)", f"{med['list']:.3f}", "0.5",
             f"{med['list'] / 0.5:.2f}"],
            ["`demons-viz history list --limit 0 --json` (all runs)",
             f"{med['list_all']:.3f}", "", ""]]
    from viz_core.store import RunStore

    n = RunStore(path).count()
    size = path.stat().st_size / 2**20
    report("history", f"Run history with {n} runs",
           [("Median seconds (ratio to the target; <= 1 meets it)",
             md_table(["what", "s", "target s", "ratio"], rows))], args, device,
           notes=[f"store {size:.0f} MiB, filled in {spent:.0f} s this invocation; "
                  f"{args.repeats} interleaved repeats after one warm-up",
                  "the page shows the newest 200 runs of those that match the filters; "
                  "the browser time includes the websocket session start and the script "
                  "run on the server"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
