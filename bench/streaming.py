#!/usr/bin/env python
"""Streaming: the engine with a frame every step consumed by a no-op consumer vs no frames
(one at the start and one at the end). Target ratio <= 1.10.

Example: python bench/streaming.py --threads 2
"""

from __future__ import annotations

import statistics

from common import am_base, base_parser, default_steps, engine_step_time, md_table, report, setup

DEFAULT_MODELS = ["fmnist_vgg", "resnet50", "vgg19"]


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    p.add_argument("--steps", type=int, default=0, help="steps per run (0: per model)")
    p.add_argument("--batch", nargs="+", type=int, default=[1, 6],
                   help="schemes per batch (1 = fluid-elastic Sobolev; 6 = the six demons)")
    args = p.parse_args(argv)
    device = setup(args)

    from viz_core import models
    from viz_core.evaluation.scheme_metrics import standard_schemes

    rows = []
    for name in args.models:
        model = models.load_model(name, weights="random", device=device)
        steps = default_steps(name, model, args.steps)
        all_cfgs = [c for c in standard_schemes(am_base(name, model.spec.default_layer,
                                                        steps, device))
                    if c.name not in ("plain", "tv")]
        all_cfgs.sort(key=lambda c: c.name != "fluid_elastic_sobolev")
        for b in args.batch:
            cfgs = all_cfgs[:b]
            engine_step_time(cfgs, model, 1)  # warm-up
            t_none, t_every = [], []
            for _ in range(args.repeats):
                t_none.append(engine_step_time(cfgs, model, steps, every=steps))
                t_every.append(engine_step_time(cfgs, model, steps, every=1,
                                                consume=lambda f: None))
            a, e = statistics.median(t_none), statistics.median(t_every)
            rows.append([name, model.spec.input_size, len(cfgs), steps, a * 1e3, e * 1e3,
                         e / a])
        del model
    table = md_table(["model", "size", "batch", "steps", "no frames ms/step",
                      "frame every step ms/step", "ratio"], rows)
    notes = [f"A frame copies the batch's pre-images and per-sample numbers to the host; "
             f"medians of {args.repeats} interleaved repeats, random weights. Target <= 1.10."]
    report("streaming", "Streaming: a frame every step vs no frames",
           [("Time per step", table)], args, device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
