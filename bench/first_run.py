#!/usr/bin/env python
"""The first run of a model just chosen in the dashboard: click -> first frame, with the
engine process opening the model alongside the server (``engine_worker.preload``) and
without (it opens the model when the first run asks for it).

Per repeat and variant: a fresh engine process (``dashboard.engine_worker``, as a server
starts it), then what the server does when a page picks the model (``preload`` or not,
then ``viz_core.models.open_model``), a pause for the user to press Run (``--think``
seconds), and one short run through the engine process, timed from the submit to its first
frame (step 0) and to its end. Variants interleaved; medians.

``--browser`` measures the same as a user meets it: per repeat and variant a fresh server
(``DEMONS_VIZ_PRELOAD=1`` or ``0``), headless Chromium at 1280x720 opens the Playground
with the model chosen in the URL, waits until the page is idle (the server has the model),
waits ``--think`` seconds and clicks Run; click -> first new pre-image visible and click ->
"done" (a 10-step run).

Example: python bench/first_run.py --repeats 5 [--browser]
"""

from __future__ import annotations

import statistics
import threading
import time

from browser_driver import CHROMIUM, CHROMIUM_ARGS, CLICK, Server, finish, open_page
from common import base_parser, md_table, report, setup

from dashboard import engine_worker
from dashboard.streaming import run_threads

DEFAULT_MODELS = ["vgg19", "resnet50"]


class Feed:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.first: float | None = None
        self.ended = threading.Event()
        self.error: BaseException | None = None

    def put(self, frame) -> None:
        if self.first is None:
            self.first = time.perf_counter() - self.t0

    def end(self, error) -> None:
        self.error = error
        self.ended.set()


def one(name: str, weights: str | None, preload: bool, think: float, threads: int) -> dict:
    """One first run of ``name`` in a fresh engine process (see the module text)."""
    from viz_core import models
    from viz_core.config import RunConfig
    from viz_core.kernels import KernelSpec

    proc = engine_worker.EngineProcess(threads)
    try:
        if not proc.ready.wait(120):
            raise SystemExit("error: the engine process did not start")
        recipe = (name, weights, "cpu")
        t0 = time.perf_counter()
        if preload:
            proc.preload(recipe)
        model = models.open_model(name, weights=weights, device="cpu")
        opened = time.perf_counter() - t0
        time.sleep(think)
        kern = KernelSpec("sobolev", None, 21)
        cfg = RunConfig(model=name, weights=weights or "pretrained", target=1, fluid=kern,
                        elastic=kern, steps=2, every=1, device="cpu")
        feed = Feed()
        proc.submit(feed, recipe, [cfg], None, cfg.every)
        if not feed.ended.wait(600) or feed.error is not None:
            raise SystemExit(f"error: the run did not end cleanly: {feed.error}")
        del model
        return {"open": opened, "first": feed.first, "end": time.perf_counter() - feed.t0}
    finally:
        proc.close()


def in_browser(pw, name: str, weights: str, preload: bool, think: float) -> dict:
    """One first run of ``name`` in a fresh server's Playground (see the module text)."""
    server = Server({"DEMONS_VIZ_PRELOAD": "1" if preload else "0"})
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            t0 = time.perf_counter()
            page, btn = open_page(browser, f"{server.url}/Playground?model={name}&weights="
                                  f"{weights}&steps=10&every=1&device=cpu", "Run")
            opened = time.perf_counter() - t0
            time.sleep(think)
            btn.evaluate(CLICK)
            r = finish(page, True)
        finally:
            browser.close()
    finally:
        server.close()
    if r["first"] is None or not r["text"]:
        raise SystemExit(f"error: the {name} run showed no frame or no 'done' in the page")
    return {"open": opened, "first": r["first"], "end": r["done"]}


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    p.add_argument("--weights", default="random",
                   help="weights to open (random: no download; pretrained needs the files)")
    p.add_argument("--think", type=float, default=1.0,
                   help="seconds between the model opened in the server and the Run click")
    p.add_argument("--browser", action="store_true",
                   help="click -> first frame in headless Chromium, a fresh server each")
    p.set_defaults(repeats=5)
    args = p.parse_args(argv)
    if args.clock == "cpu":
        raise SystemExit("error: a first frame is a wall time; use --clock wall")
    device = setup(args)
    if device.type != "cpu":
        raise SystemExit("error: the engine process takes CPU models (CUDA runs stay in the "
                         "server)")
    threads = run_threads()
    weights = None if args.weights == "pretrained" else args.weights
    rows = []
    pw = None
    if args.browser:
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
    for name in args.models:
        got: dict[bool, list[dict]] = {False: [], True: []}
        for _ in range(args.repeats):
            for pre in (False, True):
                got[pre].append(in_browser(pw, name, args.weights, pre, args.think) if pw
                                else one(name, weights, pre, args.think, threads))
                print(name, "preload" if pre else "no preload", got[pre][-1], flush=True)
        med = statistics.median
        without, with_ = got[False], got[True]
        rows.append([name, args.weights, med(r["open"] for r in without),
                     med(r["open"] for r in with_),
                     med(r["first"] for r in without), med(r["first"] for r in with_),
                     med(r["end"] for r in without), med(r["end"] for r in with_)])
    if pw is not None:
        pw.stop()
    run_len = "10 steps" if args.browser else "2 steps"
    table = md_table(["model", "weights",
                      "page open s, alone" if args.browser else "server opens it s, alone",
                      "the same, the worker alongside",
                      "Run -> first frame s, worker opens it at the run",
                      "the same, worker opened it alongside the server",
                      f"Run -> done ({run_len}) s, at the run", "the same, alongside"], rows)
    if args.browser:
        notes = [f"Medians of {args.repeats} repeats, the two variants interleaved, each with "
                 "a fresh server (DEMONS_VIZ_PRELOAD=0: the worker opens the model at the "
                 "first run; 1: alongside the server, the default) and headless Chromium at "
                 "1280x720: the Playground opened with the model in its URL (page open = "
                 "until the page is idle, the server's model spinner included), the Run click "
                 f"{args.think:g} s later, click -> first new pre-image decoded and click -> "
                 "'done' visible, times from the page's own clock; a 10-step run at the "
                 "page's other defaults."]
        report("first_run_browser", "The first run of a newly chosen model, in a browser",
               [("Click to first frame", table)], args, device, notes)
        return 0
    notes = [f"Medians of {args.repeats} repeats, the two variants interleaved, each in a "
             f"fresh engine process with {threads} torch thread{'s' * (threads > 1)} (the "
             "dashboard's); the server's open_model in this process; the Run click "
             f"{args.think:g} s after the server has the model; a 2-step fluid-elastic "
             "Sobolev run of class 1, a frame every step.",
             "'server opens it' is this process's open_model (with its torch threads), alone or "
             "with the worker opening its own copy at the same time (both share the machine's "
             "cores): what the page's model spinner shows."]
    report("first_run", "The first run of a newly chosen model", [("First frame", table)],
           args, device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
