#!/usr/bin/env python
"""Run history at scale: a store with 10,000 runs; how long the History page takes to draw
its first table (AppTest, a fresh session each time) and `demons-viz history list` takes
(a whole process, as a user types it). Targets: page <= 1 s, list <= 0.5 s.

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

sys.path.insert(0, str(ROOT))  # the dashboard package, not bench/dashboard.py

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
                     "coarse_fraction": float(rng.uniform()), "tv": float(rng.uniform()),
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


def time_page(path: Path) -> tuple[float, float]:
    """(AppTest run of the History page in a fresh session, the page's own measure from
    the query to the table handed to Streamlit)."""
    from streamlit.testing.v1 import AppTest

    os.environ["DEMONS_VIZ_STORE"] = str(path)
    at = AppTest.from_file(str(ROOT / "views" / "7_History.py"), default_timeout=120)
    t0 = time.perf_counter()
    at.run()
    wall = time.perf_counter() - t0
    assert not at.exception and len(at.dataframe[0].value) > 0
    return wall, float(at.session_state["hi_table_s"])


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--store", default="/tmp/demons-viz-bench-history.sqlite",
                   help="store file (kept and topped up between invocations)")
    args = p.parse_args(argv)
    device = setup(args)
    path = Path(args.store)
    spent = fill(path, args.runs)
    time_page(path)  # warm: imports and the server-wide store object, as a running server
    samples = {"page": [], "page_table": [], "list": [], "list_all": []}
    for _ in range(args.repeats):  # interleaved
        wall, table = time_page(path)
        samples["page"].append(wall)
        samples["page_table"].append(table)
        samples["list"].append(time_cli(path, []))
        samples["list_all"].append(time_cli(path, ["--limit", "0", "--json"]))
    med = {k: statistics.median(v) for k, v in samples.items()}
    rows = [["History page, first table (AppTest run, fresh session)", f"{med['page']:.3f}",
             "1.0", f"{med['page'] / 1.0:.2f}"],
            ["  of which query + rows + st.dataframe", f"{med['page_table']:.3f}", "", ""],
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
                  "the page is timed in AppTest (script run to the final element tree), "
                  "not in a browser: the browser adds its own rendering of 200 rows"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
