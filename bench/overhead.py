#!/usr/bin/env python
"""Regularization overhead: engine time per step of every scheme / a bare forward+backward
(network truncated at the target layer, gradient w.r.t. the input). Target <= 1.05.
Own networks (--own): a 200-step fluid-elastic class AM of a module wrapped with
``from_module``, of the same network as a ``.pt2`` file and of a timm model, each against
the network's own bare forward + backward loop. Target for from_module <= 1.2.

Example: python bench/overhead.py --threads 2 [--own]
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


def interleaved_chunk(bare, gen, k: int, device, times: dict[str, list[float]],
                      key: str) -> None:
    """k bare steps, then one frame of the engine (k steps): each timed per step into
    ``times["bare"]`` (and ``times["bare/" + key]``, the bare chunk paired with this
    engine chunk) and ``times[key]``, so slow drifts of the machine hit both alike."""
    sync(device)
    t0 = now()
    for _ in range(k):
        bare()
    sync(device)
    times["bare"].append((now() - t0) / k)
    times.setdefault("bare/" + key, []).append(times["bare"][-1])
    t0 = now()
    next(gen)
    sync(device)
    times[key].append((now() - t0) / k)


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    p.add_argument("--steps", type=int, default=0,
                   help="steps per timed chunk (0: per model)")
    p.add_argument("--name", default="overhead",
                   help="results file bench_<name>_<device>.md (e.g. overhead_small)")
    p.add_argument("--own", action="store_true",
                   help="only the own-network rows (from_module, .pt2, timm)")
    args = p.parse_args(argv)
    device = setup(args)
    if args.own:
        return own_networks(args, device)

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
                interleaved_chunk(bare, g, k, device, times, key)
        for g in gens.values():
            g.close()
        for c in cfgs:  # medians of the scheme's chunks, of its paired bare chunks, and
            # of the ratios of the pairs (a drift between schemes cancels in those)
            te, tb = times[c.name], times["bare/" + c.name]
            t, b = statistics.median(te), statistics.median(tb)
            ratio = statistics.median(e / x for e, x in zip(te, tb))
            rows.append([name, f"{model.spec.input_size}", layer, c.name,
                         b * 1e3, t * 1e3, (t - b) * 1e3, ratio])
        del model, gens
    table = md_table(["model", "size", "layer", "scheme", "bare fwd+bwd ms",
                      "engine ms/step", "overhead ms", "ratio"], rows)
    worst = max(r[-1] for r in rows)
    notes = [f"Batch 1, activation maximisation of channel 0 at the model's default layer, "
             f"random weights; interleaved chunks (k bare steps, then each scheme's live run "
             f"advanced one frame of k steps); bare and engine ms: medians of the scheme's "
             f"chunks and of the bare chunks paired with them; ratio: median of the pairs' "
             f"ratios; target ratio <= 1.05, worst measured {worst:.3f}.",
             "bare = the engine's own truncated feature module, forward + backward w.r.t. "
             "the input, nothing else; engine = everything a step does (gradient "
             "normalisation, kernels, TV, clipping, divergence bookkeeping, a frame per "
             "chunk)."]
    report(args.name, "Regularization overhead per step", [("Per-step time", table)], args,
           device, notes)
    return 0


def own_networks(args, device) -> int:
    """The own-network rows: 200 fluid-elastic steps (10 chunks of 20, interleaved with 20
    bare steps of the network itself: ``net(x)``, the class logit, its input gradient)."""
    import tempfile
    from pathlib import Path

    import torch

    from viz_core import models
    from viz_core.config import RunConfig
    from viz_core.engine import run
    from viz_core.kernels import KernelSpec
    from viz_core.offline_nets import build_offline_net

    torch.manual_seed(0)
    net = build_offline_net("fmnist_vgg").to(device)  # a user's module, left in train mode
    tmp = Path(tempfile.mkdtemp())
    program = torch.export.export(net.eval(), (torch.rand(2, 1, 64, 64, device=device),),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    net.train()
    torch.export.save(program, str(tmp / "net.pt2"))
    sources = [("from_module", lambda: models.from_module(net, input_size=64, channels=1,
                                                         name="bench_own"), net)]
    sources.append((".pt2", lambda: models.load_exported(tmp / "net.pt2", input_size=64,
                                                         channels=1, device=device), net))
    try:
        import timm

        tnet = timm.create_model("resnet18", pretrained=False).to(device)
        sources.append(("timm:resnet18", lambda: models.open_model(
            "timm:resnet18", weights="random", device=device), tnet))
    except ImportError:
        pass
    k, chunks = 20, 10
    rows = []
    for label, load, own in sources:
        model = load()
        size, ch = model.spec.input_size, model.spec.channels
        kern = KernelSpec("sobolev", None, 11 if size < 100 else 21)
        cfg = RunConfig(model=model.spec.name, target=0, fluid=kern, elastic=kern,
                        steps=k * (chunks + 1), every=k, step_size=5.0, device=device.type)
        gen = run([cfg], model, every=k)
        next(gen)  # step 0
        next(gen)  # warm-up chunk
        own.eval()
        x0 = torch.rand(1, ch, size, size, device=device)
        mean = torch.tensor(model.spec.mean, device=device).view(1, -1, 1, 1)
        std = torch.tensor(model.spec.std, device=device).view(1, -1, 1, 1)

        def bare(own=own, x0=x0, mean=mean, std=std) -> None:
            x = x0.detach().requires_grad_(True)
            torch.autograd.grad(-own((x - mean) / std)[:, 0].sum(), x)

        times: dict[str, list[float]] = {"bare": [], "engine": []}
        for _ in range(chunks):
            interleaved_chunk(bare, gen, k, device, times, "engine")
        gen.close()
        tb, te = statistics.median(times["bare"]), statistics.median(times["engine"])
        rows.append([label, f"{ch}x{size}", kern.kind, tb * 1e3, te * 1e3, te / tb])
    models.unregister("bench_own")
    table = md_table(["source", "input", "kernels", "own fwd+bwd ms", "engine ms/step",
                      "ratio"], rows)
    notes = ["Batch 1, class 0 at the logits, fluid-elastic Sobolev (size 11 at 64 px, 21 at "
             "224 px), 200 timed steps in 10 chunks of 20 interleaved with 20 steps of the "
             "network's own loop (eval mode, its normalisation, input gradient only; its "
             "parameters keep requires_grad as the user left them); medians; random weights. "
             "Target for from_module <= 1.2."]
    report("overhead_own", "Own networks: engine step / the network's own loop",
           [("Per-step time", table)], args, device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
