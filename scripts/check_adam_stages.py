#!/usr/bin/env python
"""Adam's moments across octave stages at the same scale: kept (the engine) against
restarted at every stage (the engine before), on the offline inversion presets.

The presets' inversion schedule is three stages at scale 1.0 with step sizes tau, tau/2 and
tau/5 (``viz_core.offline_presets``). Restarting Adam's moments at a stage boundary makes
its next step a bias-corrected ``g / |g|``: every pixel moves by the full learning rate at
once. This script runs every scheme on every shipped sample (one batch) both ways and
reports the mean PSNR of the uint8 pre-image and the mean absolute pixel change per step
(0-255 units) at each stage boundary and on the step before it.

Example::

    OMP_NUM_THREADS=1 python scripts/check_adam_stages.py --out results/adam_stages_fmnist_vgg.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from check_inversion_psnr import samples  # noqa: E402

import viz_core.engine as engine  # noqa: E402
from viz_core import models  # noqa: E402
from viz_core.images import to_uint8  # noqa: E402
from viz_core.machine import load_average, machine_description  # noqa: E402
from viz_core.metrics import psnr  # noqa: E402
from viz_core.offline_presets import (  # noqa: E402
    OFFLINE_PRESET_MODELS,
    OFFLINE_SCHEMES,
    SCHEME_TITLES,
    offline_batch,
)


def measure(model_name: str, restart: bool, limit: int) -> dict:
    """Final PSNR per scheme and mean |du| (0-255) per step, moments kept or restarted."""
    model = models.load_model(model_name, device=torch.device("cpu"))
    refs, names = samples()
    if limit:
        refs, names = refs[:limit], names[:limit]
    cfgs = [c for c in offline_batch(model_name, "inversion", image="shipped samples",
                                     schemes=OFFLINE_SCHEMES) for _ in names]
    keep = engine.stage_adam
    if restart:  # the engine before: a fresh state at every stage
        engine.stage_adam = lambda adam, u, c0: keep(None, u, c0)
    try:
        prev, du = None, []
        t0 = time.perf_counter()
        for f in engine.run(cfgs, model, reference=refs.repeat(len(OFFLINE_SCHEMES), 1, 1, 1),
                            every=1):
            if prev is not None:
                du.append(float(np.abs(f.images - prev).mean()) * 255.0)
            prev, final = f.images, f
        seconds = time.perf_counter() - t0
    finally:
        engine.stage_adam = keep
    out = np.stack([to_uint8(im) for im in final.images]).astype(np.float32) / 255.0
    ref = refs.repeat(len(OFFLINE_SCHEMES), 1, 1, 1).numpy()
    values = psnr(out.reshape(ref.shape), ref)
    n = len(names)
    bounds = np.cumsum([o.steps for o in cfgs[0].schedule])[:-1]
    return {"psnr": {s: float(values[i * n:(i + 1) * n].mean())
                     for i, s in enumerate(OFFLINE_SCHEMES)},
            "du": du, "bounds": [int(b) for b in bounds], "seconds": seconds, "n": n,
            "layer": cfgs[0].layer, "steps": cfgs[0].total_steps}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="fmnist_vgg", choices=OFFLINE_PRESET_MODELS)
    p.add_argument("--limit", type=int, default=0, help="first N samples only (0: all)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    kept, reset = measure(args.model, False, args.limit), measure(args.model, True, args.limit)
    lines = [f"# Adam's moments across same-scale stages ({args.model}, inversion from "
             f"{kept['layer']}, {kept['steps']} steps, {kept['n']} shipped samples)", "",
             f"Command: `OMP_NUM_THREADS=1 python scripts/check_adam_stages.py "
             f"{' '.join(argv if argv is not None else sys.argv[1:])}`  ",
             f"Machine: {machine_description()}; 1-min load average {load_average()}.", "",
             "## Mean PSNR of the uint8 pre-image (dB)", "",
             "| method | moments restarted | moments kept | kept - restarted |",
             "|---|---:|---:|---:|"]
    for s in OFFLINE_SCHEMES:
        a, b = reset["psnr"][s], kept["psnr"][s]
        lines.append(f"| {SCHEME_TITLES[s]} | {a:.2f} | {b:.2f} | {b - a:+.2f} |")
    lines += ["", "## Mean |du| per step at the stage boundaries (0-255 units, all runs)", "",
              "| step | moments restarted | moments kept |", "|---|---:|---:|"]
    for b in kept["bounds"]:
        for st in (b, b + 1):  # du[i] is the change of step i + 1
            lines.append(f"| {st}{' (first of a stage)' if st == b + 1 else ''} | "
                         f"{reset['du'][st - 1]:.2f} | {kept['du'][st - 1]:.2f} |")
    lines += ["", f"Run time, one batch each: restarted {reset['seconds']:.1f} s, kept "
              f"{kept['seconds']:.1f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
