#!/usr/bin/env python
"""What Streamlit's post-script garbage collection would cost the dashboard's server: the
time of ``gc.collect(2)`` (which holds the interpreter lock throughout, so every other
session's engine waits) with what the server has loaded after a Playground run (Streamlit,
torch, plotly, the dashboard, the default model and the independent judge), and how much
longer an engine run takes in a worker thread while the main thread collects after each
of a few simulated script runs. Streamlit runs it after every script run unless
``runner.postScriptGC`` is false (the dashboard's ``.streamlit/config.toml``).

Example: python bench/script_gc.py --repeats 7
"""

from __future__ import annotations

import gc
import statistics
import threading
import time

from common import base_parser, md_table, report, setup


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.set_defaults(repeats=7)
    args = p.parse_args(argv)
    device = setup(args)
    import plotly.graph_objects  # noqa: F401 - loaded by the server's pages
    import streamlit  # noqa: F401

    from dashboard import run_panel  # noqa: F401
    from dashboard.resources import verdict_models
    from dashboard.settings.playground import playground_defaults, settings_to_config
    from viz_core import engine, models

    cfg = settings_to_config({**playground_defaults(), "device": device.type})
    model = models.load_model(cfg.model, device=cfg.device)
    verdict_models(model, cfg.model)

    from dashboard.streaming import run_threads

    def run() -> None:
        import torch

        torch.set_num_threads(run_threads())  # as the dashboard's worker (per thread)
        for _ in engine.run([cfg], model, every=cfg.every):
            pass

    run()  # warm-up
    objects = len(gc.get_objects())
    full, young = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        gc.collect(2)
        full.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        gc.collect(0)
        young.append(time.perf_counter() - t0)

    def engine_with(collections: int) -> float:
        """Wall seconds of one engine run in a worker thread while this thread runs
        ``collections`` full collections, one every 0.1 s (other sessions' script ends)."""
        t = threading.Thread(target=run)
        t0 = time.perf_counter()
        t.start()
        for _ in range(collections):
            time.sleep(0.1)
            gc.collect(2)
        t.join()
        return time.perf_counter() - t0

    alone, with_gc = [], []
    for _ in range(args.repeats):  # interleaved
        alone.append(engine_with(0))
        with_gc.append(engine_with(3))
    med = statistics.median
    rows = [[objects, med(full), med(young), med(alone), med(with_gc),
             med(with_gc) / med(alone)]]
    table = md_table(["objects tracked", "gc.collect(2) s", "gc.collect(0) s",
                      "engine run in a thread s", "the same, 3 full collections meanwhile s",
                      "ratio"], rows)
    notes = [f"Medians of {args.repeats}; the engine run is the Playground's default "
             f"({cfg.model}, {cfg.total_steps} steps) with the dashboard worker's torch "
             "threads (dashboard.streaming.run_threads); the collections run in the main "
             "thread one every 0.1 s, as 3 other sessions' script runs ending would.",
             "Floor: a collection that costs nothing gives ratio 1.0."]
    report("script_gc", "Streamlit's post-script gc.collect(2) in the dashboard's server",
           [("Collection", table)], args, device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
