#!/usr/bin/env python
"""The floor of the class-conditional start: how many classes the judges recognise in the
start images themselves, before any update.

A class pre-image grown from a class-conditional start (``--init class_conditional``, a
Gaussian fitted to the class's training images, after Santurkar et al. 2019) can only be
credited with what it adds to its start. Writes a Markdown table (command, machine, date,
floors) per network: classes recognised in the 8-bit start images, per seed.

    python scripts/class_prior_floor.py --out results/class_conditional_start_floor.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from viz_core import models, zoo  # noqa: E402
from viz_core.class_prior import initial_images  # noqa: E402
from viz_core.judging import classify, quantize  # noqa: E402
from viz_core.machine import machine_description  # noqa: E402

NETWORKS = [zoo.OFFLINE_JUDGE, "fmnist_vgg", "fmnist_resnet", "fmnist_vgg_robust",
            "fmnist_resnet_robust"]


def start_hits(name: str, seeds: int) -> list[int]:
    """Per seed: classes whose class-conditional start image ``name`` classifies as the
    class (10 classes, 64x64, quantised to 8 bits)."""
    m = models.load_model(name)
    out = []
    for seed in range(seeds):
        x = initial_images(["class_conditional"] * 10, list(range(10)), [seed] * 10,
                           [0.02] * 10, zoo.FMNIST_MEAN, 1, 64, True)
        pred = classify(m, quantize(x.numpy())).argmax(1).numpy()
        out.append(int((pred == np.arange(10)).sum()))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", type=Path, default=ROOT / "results" /
                   "class_conditional_start_floor.md")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    lines = ["# Floor of the class-conditional start", "", "Command:", "",
             "    python scripts/class_prior_floor.py " + " ".join(
                 sys.argv[1:] if argv is None else argv), "",
             f"Machine: {machine_description()}. Date: "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
             "Classes recognised in the start images themselves (a draw from the Gaussian "
             "fitted to the class's Fashion-MNIST training images, 8-bit), before any "
             "update, per seed (the seeds of the recognisability benchmark). A pre-image grown "
             "from this start is credited only with what it adds to this floor. Other "
             "floors: chance 1 of 10; a flat image 1 of 10.", "",
             "| network | classes recognised in the start (mean) | per seed |",
             "|---|---:|---|"]
    for name in NETWORKS:
        hits = start_hits(name, args.seeds)
        role = " (independent judge)" if name == zoo.OFFLINE_JUDGE else ""
        lines.append(f"| {name}{role} | {np.mean(hits):.1f} of 10 | "
                     f"{', '.join(map(str, hits))} |")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[-len(NETWORKS) - 2:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
