#!/usr/bin/env python
"""Batching: k = 6 schemes (fluid / elastic / fluid-elastic x Sobolev / Gaussian) run as one
batch vs six sequential runs of one scheme each. Target ratio on CPU <= 0.8, GPU <= 0.3.

Example: python bench/batching.py --threads 2
"""

from __future__ import annotations

import statistics

from common import am_base, base_parser, default_steps, md_table, now, report, setup, sync

DEFAULT_MODELS = ["fmnist_vgg", "resnet50", "vgg19"]


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    p.add_argument("--steps", type=int, default=0, help="steps per run (0: per model)")
    args = p.parse_args(argv)
    device = setup(args)

    from viz_core import models
    from viz_core.engine import run_to_end
    from viz_core.evaluation.scheme_metrics import standard_schemes
    from viz_core.schemes import FIG1_DEMONS as SIX

    rows = []
    for name in args.models:
        model = models.load_model(name, weights="random", device=device)
        steps = default_steps(name, model, args.steps)
        base = am_base(name, model.spec.default_layer, steps, device)
        cfgs = standard_schemes(base, schemes=SIX)

        def batched(cfgs=cfgs, model=model):
            run_to_end(cfgs, model, keep_frames=False)

        def sequential(cfgs=cfgs, model=model):
            for c in cfgs:
                run_to_end([c], model, keep_frames=False)

        batched()
        sequential()
        tb, ts = [], []
        for _ in range(args.repeats):  # interleaved
            for fn, acc in ((batched, tb), (sequential, ts)):
                sync(device)
                t0 = now()
                fn()
                sync(device)
                acc.append(now() - t0)
        b, s = statistics.median(tb), statistics.median(ts)
        rows.append([name, model.spec.input_size, steps, b * 1e3 / steps,
                     s * 1e3 / steps, b / s])
        del model
    table = md_table(["model", "size", "steps", "6 as one batch ms/step",
                      "6 sequential ms/step", "ratio"], rows)
    notes = [f"Whole runs (set-up included) of {len(SIX)} schemes: {', '.join(SIX)}; "
             f"activation maximisation of channel 0 at the default layer, random weights, "
             f"median of {args.repeats} interleaved repeats. Target: CPU <= 0.8, GPU <= 0.3."]
    report("batching", "Batching: six schemes as one batch vs six runs",
           [("Time per step", table)], args, device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
