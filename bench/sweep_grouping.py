#!/usr/bin/env python
"""Sweep grouping: seconds per cell of the linear grouping of cells into batches against
the earlier quadratic one (each cell scanned every batch), at 10,000 to 90,000 cells of
one batchable grid (gamma x step_size, elastic Sobolev). Linear: seconds per cell stays
flat as the grid grows; quadratic: it grows with the number of batches.

Example: python bench/sweep_grouping.py --sizes 10000 30000 90000 --repeats 3
"""

from __future__ import annotations

import math
import statistics

from common import base_parser, md_table, now, report, setup


def quadratic(cells, batch_size: int) -> int:
    """The grouping before issue 21 (the reference), returning its number of batches."""
    from viz_core.sweeps.grouping import scan_groups

    return len(scan_groups(cells, batch_size))


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 90_000])
    p.add_argument("--quadratic-max", type=int, default=30_000,
                   help="largest grid the quadratic grouping is timed on (it grows as n^2)")
    args = p.parse_args(argv)
    device = setup(args)

    from viz_core.config import RunConfig
    from viz_core.kernels import KernelSpec
    from viz_core.sweeps import Axis, Sweep
    from viz_core.sweeps.grouping import group_cells

    base = RunConfig(model="fmnist_vgg", task="am", target=7, steps=10, device="cpu",
                     elastic=KernelSpec("sobolev", None, 11))
    rows = []
    for n in args.sizes:
        side = math.isqrt(n)
        sweep = Sweep(base, [Axis.make("gamma", [0.001 * (i + 1) for i in range(side)]),
                             Axis.make("step_size", [0.01 * (i + 1) for i in range(side)])],
                      batch_size=8)
        t0 = now()
        cells = sweep.cells()
        build = now() - t0
        lin, quad, batches = [], [], 0
        for _ in range(args.repeats):  # interleaved: both see the same load
            t0 = now()
            batches = len(group_cells(cells, 8))
            lin.append(now() - t0)
            if len(cells) <= args.quadratic_max:
                t0 = now()
                assert quadratic(cells, 8) == batches
                quad.append(now() - t0)
        lm = statistics.median(lin)
        qm = statistics.median(quad) if quad else None
        rows.append([len(cells), batches, build, lm, lm / len(cells) * 1e6,
                     "-" if qm is None else f"{qm:.3f}",
                     "-" if qm is None else f"{qm / len(cells) * 1e6:.1f}",
                     "-" if qm is None else f"{qm / lm:.1f}"])
    table = md_table(["cells", "batches", "build cells s", "linear s", "linear us/cell",
                      "quadratic s", "quadratic us/cell", "quadratic / linear"], rows)
    report("sweep_grouping", "Sweep grouping: linear vs quadratic", [("Grouping", table)],
           args, device, notes=[f"medians of {args.repeats} interleaved repeats; the "
                                "quadratic grouping gives the same batches (asserted)",
                                "floor: linear us/cell at the largest grid at most 1.5x the "
                                "smallest grid's (linear), quadratic / linear growing"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
