#!/usr/bin/env python
"""Step overhead of this tree's engine against the engine of an earlier git revision, in one
process, interleaved with the bare forward + backward (so that a loaded machine's swings
hit all three alike). Same measure as ``bench/overhead.py``: engine time per step / bare.

Example: python bench/overhead_vs.py --rev 55dbfca --threads 1 --clock cpu
"""

from __future__ import annotations

import importlib
import importlib.util
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, am_base, bare_step, base_parser, md_table, now, report, setup

SCHEMES = ["no regularization", "Sobolev fluid-elastic", "Gaussian fluid-elastic", "TV"]


def engine_at(rev: str):
    """The module ``viz_core/engine.py`` as it was at ``rev`` (against today's library)."""
    text = subprocess.run(["git", "show", f"{rev}:viz_core/engine.py"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "engine_at_rev.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("engine_at_rev", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["engine_at_rev"] = mod
    spec.loader.exec_module(mod)
    return mod


def library_at(rev: str):
    """The engine of ``rev`` with the whole library (``viz_core``) of ``rev``: a copy of
    the package, renamed ``viz_core_at_rev`` so that it loads beside today's."""
    import re
    import tarfile
    from io import BytesIO

    tar = subprocess.run(["git", "archive", rev, "viz_core"], cwd=ROOT, check=True,
                         capture_output=True).stdout
    root = Path(tempfile.mkdtemp())
    tarfile.open(fileobj=BytesIO(tar)).extractall(root)
    pkg = root / "viz_core_at_rev"
    (root / "viz_core").rename(pkg)
    for f in pkg.rglob("*.py"):
        f.write_text(re.sub(r"\bviz_core\b", "viz_core_at_rev", f.read_text("utf-8")), "utf-8")
    sys.path.insert(0, str(root))
    return importlib.import_module("viz_core_at_rev.engine")


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--rev", required=True, help="git revision of the engine to compare with")
    p.add_argument("--models", nargs="+", default=["fmnist_vgg", "fmnist_resnet"])
    p.add_argument("--schemes", nargs="+", default=SCHEMES)
    p.add_argument("--steps", type=int, default=10, help="steps per timed chunk")
    p.add_argument("--library", action="store_true",
                   help="the whole library at --rev, not only its engine.py")
    p.set_defaults(repeats=40)
    args = p.parse_args(argv)
    device = setup(args)

    from viz_core import models
    from viz_core.engine import run
    from viz_core.evaluation.scheme_metrics import standard_schemes

    old = library_at(args.rev) if args.library else engine_at(args.rev)
    k, rows = args.steps, []
    for name in args.models:
        model = models.load_model(name, weights="random", device=device)
        layer = model.spec.default_layer
        bare = bare_step(model, layer, 1, device)
        for c in standard_schemes(am_base(name, layer, k * (args.repeats + 4), device)):
            if c.name not in args.schemes:
                continue
            gens = {"rev": old.run([c], model, every=k), "now": run([c], model, every=k)}
            for g in gens.values():  # warm-up
                next(g)
                next(g)
            t = {"bare": [], "rev": [], "now": []}
            for _ in range(args.repeats):
                for key, g in gens.items():
                    t0 = now()
                    for _ in range(k):
                        bare()
                    t["bare"].append((now() - t0) / k)
                    t0 = now()
                    next(g)
                    t[key].append((now() - t0) / k)
            for g in gens.values():
                g.close()
            b, r, n = (statistics.median(t[x]) for x in ("bare", "rev", "now"))
            rows.append([name, c.name, b * 1e3, (r - b) * 1e3, (n - b) * 1e3, r / b, n / b])
    table = md_table(["model", "scheme", "bare ms", f"overhead ms at {args.rev}",
                      "overhead ms now", f"ratio at {args.rev}", "ratio now"], rows)
    notes = [f"Medians of {args.repeats} interleaved chunks of {k} steps (bare, engine at "
             f"{args.rev}, bare, engine now); batch 1, channel 0 of the default layer, random "
             "weights. Target ratio <= 1.05 (issue 22).",
             f"At {args.rev}: " + ("the whole library (viz_core) of that revision, loaded "
                                   "as a renamed copy." if args.library else
                                   "its viz_core/engine.py, with today's library (schemes, "
                                   "kernels, divergence).")]
    report("overhead_vs" + ("_library" if args.library else ""),
           f"Step overhead: this engine against {args.rev}",
           [("Per-step time", table)], args, device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
