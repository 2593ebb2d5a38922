#!/usr/bin/env python
"""Append the floors (flat image, chance levels) to a committed Table 1 report.

A Table 1 figure means something only next to what no reconstruction would score
(`viz_core.evaluation.floors`). Runs written before the floors were part of the report get
them with this script; new runs of `demons-viz evaluate` include them.

    python scripts/table1_floors.py results/table1_offline.md --pair offline -n 1000
    python scripts/table1_floors.py results/table1_robust.md --pair robust -n 1000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from viz_core import models  # noqa: E402
from viz_core.evaluation.floors import FLOORS_HEADING, floors_section, table1_floors  # noqa: E402
from viz_core.evaluation.imagesets import fashion_mnist_images  # noqa: E402
from viz_core.evaluation.recognisability import PAIRS  # noqa: E402
from viz_core.zoo import judge_for  # noqa: E402


def floors_text(pair: str, n: int, seed: int = 0) -> str:
    """The floors section of ``pair`` on the first ``n`` class-balanced test images."""
    a_name, b_name = PAIRS[pair]
    a, b = models.load_model(a_name), models.load_model(b_name)
    judges = {f"{a_name} -> {b_name}": b, f"{b_name} -> {a_name}": a}
    judge = judge_for(a_name)
    if judge is not None and models.weights_status(judge) == "offline":
        judges[f"independent judge ({judge})"] = models.load_model(judge)
    rows = table1_floors(judges, fashion_mnist_images(n, seed), n)
    command = f"python scripts/table1_floors.py <md> --pair {pair} -n {n}"
    return "\n".join(floors_section(rows, command))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("md", type=Path, help="a Table 1 report written by demons-viz evaluate")
    p.add_argument("--pair", choices=sorted(PAIRS), default="offline")
    p.add_argument("-n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    text = args.md.read_text(encoding="utf-8")
    text = text.split(FLOORS_HEADING)[0].rstrip() + "\n\n"
    args.md.write_text(text + floors_text(args.pair, args.n, args.seed), encoding="utf-8")
    print(f"floors appended to {args.md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
