#!/usr/bin/env python
"""The first run of a model just chosen in the dashboard: click -> first frame, with the
engine process opening the model alongside the server (``engine_worker.preload``) and
without (it opens the model when the first run asks for it).

Per repeat and variant: a fresh engine process (``dashboard.engine_worker``, as a server
starts it), then what the server does when a page picks the model (``preload`` or not,
then ``viz_core.models.open_model``), a pause for the user to press Run (``--think``
seconds), and one short run through the engine process, timed from the submit to its first
frame (step 0) and to its end. Variants interleaved; medians.

Example: python bench/first_run.py --repeats 5
"""

from __future__ import annotations

import statistics
import threading
import time

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


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    p.add_argument("--weights", default="random",
                   help="weights to open (random: no download; pretrained needs the files)")
    p.add_argument("--think", type=float, default=1.0,
                   help="seconds between the model opened in the server and the Run click")
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
    for name in args.models:
        got: dict[bool, list[dict]] = {False: [], True: []}
        for _ in range(args.repeats):
            for pre in (False, True):
                got[pre].append(one(name, weights, pre, args.think, threads))
                print(name, "preload" if pre else "no preload", got[pre][-1], flush=True)
        med = statistics.median
        without, with_ = got[False], got[True]
        rows.append([name, args.weights, med(r["open"] for r in without),
                     med(r["open"] for r in with_),
                     med(r["first"] for r in without), med(r["first"] for r in with_),
                     med(r["end"] for r in without), med(r["end"] for r in with_)])
    table = md_table(["model", "weights", "server opens it s, alone",
                      "server opens it s, the worker alongside",
                      "Run -> first frame s, worker opens it at the run",
                      "the same, worker opened it alongside the server",
                      "Run -> end (2 steps) s, at the run", "the same, alongside"], rows)
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
