#!/usr/bin/env python
"""Regularization overhead: engine time per step of every scheme / a bare forward+backward
(network truncated at the target layer, gradient w.r.t. the input). Target <= 1.05.

Example: python bench/overhead.py --threads 2
"""

from __future__ import annotations

import statistics

from common import (
    am_base,
    bare_step,
    base_parser,
    default_steps,
    engine_step_time,
    md_table,
    now,
    report,
    setup,
    sync,
)

# model: (layer, steps per timed run) -- a few steps at 224 px on a CPU
DEFAULT_MODELS = ["vgg19", "resnet50", "fmnist_vgg"]


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    p.add_argument("--steps", type=int, default=0, help="steps per timed run (0: per model)")
    args = p.parse_args(argv)
    device = setup(args)

    from viz_core import models
    from viz_core.evaluate import standard_schemes

    rows = []
    for name in args.models:
        model = models.load_model(name, weights="random", device=device)
        layer = model.spec.default_layer
        steps = default_steps(name, model, args.steps)
        cfgs = standard_schemes(am_base(name, layer, steps, device))
        bare = bare_step(model, layer, 1, device)
        times: dict[str, list[float]] = {"bare": []}
        for c in cfgs:  # warm-up: kernels fitted, fx graphs traced, caches filled
            engine_step_time([c], model, 1)
        bare()
        for _ in range(args.repeats):
            # interleaved, so that load changes hit all variants alike
            t0 = now()
            for _ in range(steps):
                bare()
            sync(device)
            times["bare"].append((now() - t0) / steps)
            for c in cfgs:
                times.setdefault(c.name, []).append(engine_step_time([c], model, steps))
        tb = statistics.median(times["bare"])
        for c in cfgs:
            t = statistics.median(times[c.name])
            rows.append([name, f"{model.spec.input_size}", layer, c.name,
                         tb * 1e3, t * 1e3, t / tb])
        del model
    table = md_table(["model", "size", "layer", "scheme", "bare fwd+bwd ms",
                      "engine ms/step", "ratio"], rows)
    worst = max(r[-1] for r in rows)
    notes = [f"Batch 1, activation maximisation of channel 0 at the model's default layer, "
             f"random weights, median of {args.repeats} interleaved repeats; target ratio "
             f"<= 1.05, worst measured {worst:.3f}.",
             "bare = the engine's own truncated feature module, forward + backward w.r.t. "
             "the input, nothing else; engine = everything a step does (gradient "
             "normalisation, kernels, TV, clipping, divergence bookkeeping)."]
    report("overhead", "Regularization overhead per step", [("Per-step time", table)], args,
           device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
