#!/usr/bin/env python
"""torch.compile of the regularisation step: compile time, time per step eagerly and
compiled, and the break-even number of steps (compile seconds / per-step saving).

The step compiled is everything a demons step (eq. 18, with TV of eqs. 19-20) does after
the gradient: ``||g||_1``, the normalised step size, :meth:`SchemeBank.step`, the clipping
and the divergence record's reduction. Each timed step runs after a real forward + backward
of the network (as in the engine), so caches are as cold as they are in a run.

Example: python bench/compile_step.py --threads 1 --clock cpu
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

from common import am_base, base_parser, md_table, now, report, setup


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--model", default="fmnist_vgg")
    p.add_argument("--schemes", nargs="*", default=[],
                   help="scheme names of the comparison set (default: all eight)")
    p.add_argument("--steps", type=int, default=200, help="timed steps per variant")
    p.add_argument("--rev", default="",
                   help="also time the step of the library at this git revision (its "
                        "SchemeBank and divergence record), interleaved")
    p.add_argument("--warm-cache", action="store_true",
                   help="keep inductor's on-disk caches (default: a fresh, cold cache)")
    args = p.parse_args(argv)
    device = setup(args)
    if not args.warm_cache:  # a first run's compile: nothing cached from earlier runs
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor_")

    import torch

    from viz_core import models
    from viz_core.config import PIXEL_SCALE
    from viz_core.divergence import Health
    from viz_core.evaluation.scheme_metrics import standard_schemes
    from viz_core.objectives import make_objective
    from viz_core.schemes import SchemeBank

    banks = {"eager": (SchemeBank, Health)}
    if args.rev:
        import importlib

        from overhead_vs import library_at

        library_at(args.rev)
        banks["at rev"] = (importlib.import_module("viz_core_at_rev.schemes").SchemeBank,
                           importlib.import_module("viz_core_at_rev.divergence").Health)

    model = models.load_model(args.model, weights="random", device=device)
    layer = model.spec.default_layer
    size, ch = model.spec.input_size, model.spec.channels
    rows = []
    for c in standard_schemes(am_base(args.model, layer, 10, device)):
        if args.schemes and c.name not in args.schemes:
            continue
        objective = make_objective(model, [c.target_spec(layer)])
        tau_v = c.schedule[0].tau / PIXEL_SCALE
        bank = SchemeBank([c.scheme], [tau_v])
        col = (1, 1, 1, 1)
        tau = torch.full(col, tau_v, device=device)
        tv_coef = tau * c.tv
        eps = torch.full(col, c.tv_eps, device=device)
        center = torch.tensor(model.spec.mean, device=device).view(1, -1, 1, 1)
        tau_numel = tau * float(ch * size * size)

        def post(x, g, d=None, act=None, bank=bank, tau_numel=tau_numel, tv_coef=tv_coef,
                 eps=eps, center=center, health=None):
            g_l1 = torch.linalg.vector_norm(g, 1, dim=(1, 2, 3), keepdim=True)
            coef = tau_numel / g_l1.clamp(min=1e-30)
            new = bank.step(x, g, 0, center, coef, tv_coef, eps).clamp_(0, 1)
            if health is None:  # the compiled step: the record's reduction only
                return new, g_l1, torch.linalg.vector_norm(new, 1, dim=(1, 2, 3))
            return health.record(x, new, g_l1, d, act, g)

        # the engine's step (each library's SchemeBank and Health.record), per library
        eager = {}
        for key, (bank_cls, health_cls) in banks.items():
            h = health_cls(1, 10, device)
            eager[key] = (h, lambda *a, b=bank_cls([c.scheme], [tau_v]), h=h: post(
                *a, bank=b, health=h))

        u = torch.rand(1, ch, size, size, device=device)

        def grad(u=u, objective=objective):
            x = u.detach().requires_grad_(True)
            with torch.enable_grad():
                d, act = objective(x)
                (g,) = torch.autograd.grad(d.sum(), x)
            return x.detach(), g, d.detach(), act

        torch._dynamo.reset()
        compiled = torch.compile(post, dynamic=False)
        x, g, _, _ = grad()
        t0 = time.perf_counter()  # wall time: the C++ compiler runs in other processes
        compiled(x, g)  # the compilation
        compile_s = time.perf_counter() - t0
        fns = {**{k: f for k, (_, f) in eager.items()},
               "compiled": lambda x, g, d, a, f=compiled: f(x, g)}
        times: dict[str, list[float]] = {k: [] for k in fns}
        for i in range(args.steps + 5):  # 5 warm-up rounds
            for key, fn in fns.items():
                args_ = grad()
                t0 = now()
                fn(*args_)
                if i >= 5:
                    times[key].append(now() - t0)
            if i % 10 == 9:  # the frame's part of the record, untimed
                for h, _ in eager.values():
                    h.j, h.rows = 0, 0
                    if hasattr(h, "steps"):
                        h.steps.clear()
        te, tc = (statistics.median(times[k]) for k in ("eager", "compiled"))
        saving = te - tc
        even = f"{compile_s / saving:,.0f}" if saving > 0 else "never (slower)"
        rev = [statistics.median(times["at rev"]) * 1e6] if args.rev else []
        rows.append([c.name, *rev, te * 1e6, compile_s, tc * 1e6, saving * 1e6, even])
    head = [f"{args.rev} us/step"] if args.rev else []
    table = md_table(["scheme", *head, "eager us/step", "compile s", "compiled us/step",
                      "saving us/step", "break-even steps"], rows)
    notes = [f"torch {torch.__version__}, inductor (C++ on the CPU); {args.model} "
             f"({ch}x{size}x{size}), batch 1; medians of {args.steps} steps, each after a "
             "forward + backward of the network; compile s = wall time of the first call "
             f"(tracing, code generation, the C++ compiler), "
             f"{'warm' if args.warm_cache else 'cold'} inductor cache (one per run: later "
             "rows reuse the C++ kernels of earlier rows with the same graph, so the first "
             "row is the cold compile); break-even = compile s / saving per step.",
             "The engine stays eager: a run of a few hundred steps does not earn back the "
             "compile time unless the break-even column says so.",
             "eager (and the revision's column): the engine's step with the library's "
             "SchemeBank and divergence record (its per-frame part untimed); compiled: "
             "the same arithmetic with the record's reduction, without the host-side "
             "bookkeeping. The three are interleaved step by step."]
    report("compile_step", "torch.compile of the regularisation step",
           [("Per-step time", table)], args, device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
