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
    p.add_argument("--steps", type=int, default=0,
                   help="steps per timed chunk (0: per model)")
    args = p.parse_args(argv)
    device = setup(args)

    from viz_core import models
    from viz_core.engine import run
    from viz_core.evaluation.scheme_metrics import standard_schemes

    rows = []
    for name in args.models:
        model = models.load_model(name, weights="random", device=device)
        layer = model.spec.default_layer
        k = default_steps(name, model, args.steps) // 2 or 1  # steps per chunk
        rounds = args.repeats * (4 if model.spec.input_size < 100 else 1)
        cfgs = standard_schemes(am_base(name, layer, k * (rounds + 2), device))
        bare = bare_step(model, layer, 1, device)
        # one live run per scheme, stepped k steps (one frame) at a time, interleaved with k
        # bare steps: slow drifts of the machine's speed hit every variant alike
        gens = {c.name: run([c], model, every=k) for c in cfgs}
        for g in gens.values():  # warm-up: kernels fitted, fx graphs traced, caches filled
            next(g)
            next(g)
        times: dict[str, list[float]] = {"bare": [], **{c.name: [] for c in cfgs}}
        for _ in range(rounds):
            for key, g in gens.items():
                sync(device)
                t0 = now()
                for _ in range(k):
                    bare()
                sync(device)
                times["bare"].append((now() - t0) / k)
                t0 = now()
                next(g)
                sync(device)
                times[key].append((now() - t0) / k)
        for g in gens.values():
            g.close()
        tb = statistics.median(times["bare"])
        for c in cfgs:
            t = statistics.median(times[c.name])
            rows.append([name, f"{model.spec.input_size}", layer, c.name,
                         tb * 1e3, t * 1e3, (t - tb) * 1e3, t / tb])
        del model, gens
    table = md_table(["model", "size", "layer", "scheme", "bare fwd+bwd ms",
                      "engine ms/step", "overhead ms", "ratio"], rows)
    worst = max(r[-1] for r in rows)
    notes = [f"Batch 1, activation maximisation of channel 0 at the model's default layer, "
             f"random weights; medians over interleaved chunks (each scheme's live run "
             f"advanced one frame of k steps, then k bare steps); target ratio <= 1.05, "
             f"worst measured {worst:.3f}.",
             "bare = the engine's own truncated feature module, forward + backward w.r.t. "
             "the input, nothing else; engine = everything a step does (gradient "
             "normalisation, kernels, TV, clipping, divergence bookkeeping, a frame per "
             "chunk)."]
    report("overhead", "Regularization overhead per step", [("Per-step time", table)], args,
           device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
