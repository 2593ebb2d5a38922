"""``demons-viz kernels``: write one smoothing kernel (Sec. 2.2-2.4, size fitting Sec. 2.7)
as ``.npy`` and print its parameters."""

from __future__ import annotations

import argparse
import json

import numpy as np

from viz_core.cli.common import KERNEL_KINDS, check_out, float_arg, int_arg
from viz_core.errors import VizError
from viz_core.kernel_fitting import MAX_KERNEL_SIZE, largest_fitted_size
from viz_core.kernels import KernelSpec, build

HELP = "write a kernel (.npy) and print its parameters"
DESCRIPTION = None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", required=True, choices=KERNEL_KINDS)
    p.add_argument("--size", type=int_arg, required=True,
                   help=f"odd, 1..{MAX_KERNEL_SIZE}; a fitted Sobolev kernel up to "
                        f"{largest_fitted_size('sobolev', 1)} (order 1; beyond it no gamma "
                        "is the largest that meets the rule of Sec. 2.7)")
    p.add_argument("--param", type=float_arg, default=None,
                   help="sigma (gaussian) or gamma (sobolev); fitted to the size if omitted "
                        "(Sec. 2.7)")
    p.add_argument("--order", type=int_arg, default=1, help="Sobolev order k")
    p.add_argument("--out", required=True)


def run(args: argparse.Namespace) -> int:
    if args.size < 1:  # size 0: an untruncated kernel, applied in the Fourier domain
        raise VizError(f"--size {args.size}: an untruncated kernel (size 0) has no array to "
                       f"write; give an odd size 1..{MAX_KERNEL_SIZE}", field="size")
    k = build(KernelSpec(args.kind, args.param, args.size, args.order))
    w = k.weights.double().numpy()
    if args.kind == "identity" and args.size > 1:
        w = np.zeros((args.size, args.size))
        w[args.size // 2, args.size // 2] = 1.0
    out = check_out(args.out)
    with open(out, "wb") as fh:  # the name given (np.save(path) would add ".npy")
        np.save(fh, w)
    print(json.dumps({"kind": args.kind, "size": int(w.shape[0]),
                      "param": None if args.kind == "identity" else k.param,
                      "order": args.order, "fitted": args.param is None and args.kind != "identity",
                      "sum": float(w.sum()), "center": float(w[w.shape[0] // 2, w.shape[1] // 2]),
                      "out": str(out)}))
    return 0
