#!/usr/bin/env python
"""Inversion quality of the offline inversion presets: mean PSNR per scheme over the
shipped Fashion-MNIST samples, beside the flat-image floor.

Every sample of ``assets/samples/fmnist/`` (20 test images) is inverted with every scheme
of ``viz_core.offline_presets`` (task "inversion", the preset's layer unless ``--layer``),
all images x schemes as ONE engine batch; the final pre-images are rounded to uint8 and
compared with the originals (PSNR of ``viz_core.metrics``). The
floor is a flat image at the model's dataset mean grey (what the runs start from), and a
flat image at each sample's own mean (the best flat image). Goal (issue 11): the best
scheme's mean PSNR >= 18 dB for fmnist_vgg from block2.

Example::

    OMP_NUM_THREADS=1 python scripts/check_inversion_psnr.py \
        --out results/inversion_psnr_fmnist_vgg.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from viz_core import models  # noqa: E402
from viz_core.devices import DEVICES, resolve_device  # noqa: E402
from viz_core.engine import run_to_end  # noqa: E402
from viz_core.images import load_image, to_uint8  # noqa: E402
from viz_core.machine import load_average, machine_description  # noqa: E402
from viz_core.metrics import psnr  # noqa: E402
from viz_core.offline_presets import (  # noqa: E402
    OFFLINE_PRESET_MODELS,
    OFFLINE_SCHEMES,
    SCHEME_TITLES,
    offline_batch,
    task_preset,
)
from viz_core.samples import fmnist_samples  # noqa: E402
from viz_core.schemes import scheme_key  # noqa: E402

GOAL_DB = 18.0


def samples() -> tuple[torch.Tensor, list[str]]:
    """The shipped Fashion-MNIST samples at 64 x 64: (N, 1, 64, 64) in [0, 1], names."""
    paths = fmnist_samples()
    return torch.cat([load_image(str(p), 64, 1)[0] for p in paths]), [p.stem for p in paths]


def measure(model_name: str, layer: str | None, schemes: list[str], device: torch.device,
            limit: int = 0) -> dict:
    """PSNR (uint8 pre-image vs original) per scheme and image, and the floors."""
    model = models.load_model(model_name, device=device)
    refs, names = samples()
    if limit:
        refs, names = refs[:limit], names[:limit]
    base = offline_batch(model_name, "inversion", image="shipped samples", schemes=schemes,
                         layer=layer)
    cfgs = [c for c in base for _ in names]  # scheme-major: every scheme on every image
    ref = refs.repeat(len(schemes), 1, 1, 1)
    t0 = time.perf_counter()
    res = run_to_end(cfgs, model, reference=ref, keep_frames=False, every=cfgs[0].total_steps)
    seconds = time.perf_counter() - t0
    final = np.stack([to_uint8(im) for im in res.final.images]).astype(np.float32) / 255.0
    values = psnr(final.reshape(ref.shape), ref.numpy())
    per = {s: values[i * len(names):(i + 1) * len(names)] for i, s in enumerate(schemes)}
    grey = torch.full_like(refs, float(model.spec.mean[0]))
    own = refs.mean(dim=(1, 2, 3), keepdim=True).expand_as(refs)
    return {"psnr": per, "names": names, "seconds": seconds, "layer": cfgs[0].layer,
            "steps": cfgs[0].total_steps, "optimizer": cfgs[0].optimizer,
            "floor_grey": psnr(grey, refs), "floor_own": psnr(own, refs),
            "diverged": [c.name for c, m in zip(cfgs, res.final.diverged) if m]}


def report(model_name: str, r: dict, schemes: list[str]) -> tuple[str, bool]:
    mean = {s: float(np.mean(r["psnr"][s])) for s in schemes}
    best = max(schemes, key=mean.get)
    lines = [f"### {model_name}: inversion from {r['layer']} ({r['optimizer']}, "
             f"{r['steps']} steps), PSNR of the uint8 pre-image over {len(r['names'])} "
             "shipped samples\n",
             "| method | mean PSNR dB | min | max |", "|---|---:|---:|---:|"]
    for s in schemes:
        v = r["psnr"][s]
        lines.append(f"| {SCHEME_TITLES[s]} | {mean[s]:.2f} | {v.min():.2f} | {v.max():.2f} |")
    for label, key in (("floor: flat image at the dataset mean grey", "floor_grey"),
                       ("floor: flat image at each sample's own mean", "floor_own")):
        v = r[key]
        lines.append(f"| *{label}* | {np.mean(v):.2f} | {v.min():.2f} | {v.max():.2f} |")
    ok = mean[best] >= GOAL_DB
    lines.append(f"\nBest scheme: {SCHEME_TITLES[best]}, mean {mean[best]:.2f} dB "
                 f"(goal >= {GOAL_DB:g} dB: {'met' if ok else 'MISSED'}). "
                 f"{len(r['names']) * len(schemes)} runs as one batch: {r['seconds']:.1f} s"
                 + (f"; diverged: {', '.join(r['diverged'])}" if r["diverged"] else "") + ".\n")
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="fmnist_vgg", choices=OFFLINE_PRESET_MODELS)
    p.add_argument("--layer", default=None, help="layer to invert (default: the preset's)")
    p.add_argument("--schemes", nargs="+", default=OFFLINE_SCHEMES, type=scheme_key,
                   choices=OFFLINE_SCHEMES)
    p.add_argument("--limit", type=int, default=0, help="first N samples only (0: all)")
    p.add_argument("--device", default="cpu", choices=DEVICES)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: default)")
    p.add_argument("--out", default="", help="also write the report to this markdown file")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    r = measure(args.model, args.layer, args.schemes, device, args.limit)
    text, ok = report(args.model, r, args.schemes)
    command = "OMP_NUM_THREADS=1 python scripts/check_inversion_psnr.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    head = (f"# Offline inversion presets: PSNR against the flat-image floor\n\n"
            f"Command: `{command.strip()}`  \nMachine: {machine_description()}; device "
            f"{device}; 1-min load average {load_average()} (a shared machine). Presets: "
            f"`viz_core/offline_presets.py` (task inversion: "
            f"{task_preset(args.model, 'inversion').steps} steps).\n")
    print(head + "\n" + text)
    if args.out:
        Path(args.out).write_text(head + "\n" + text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
