#!/usr/bin/env python
"""Peers: this project's engine vs torch-lucent (``render_vis``) and torch-dreams
(``Dreamer.render``) on the same network, image size, step count and transforms (none),
maximising the mean of channel 0 of the same layer. Reports steps per second and the
ratio (this project's time per step / the peer's; target <= 1.0).

Needs the ``bench`` extra: ``pip install -e ".[bench]"`` (torch-lucent, torch-dreams;
install them with ``--no-deps`` plus kornia==0.4.1 and opencv-python-headless if pip
would otherwise replace torch).

Example: python bench/peers.py --threads 2
"""

from __future__ import annotations

import copy
import statistics
import warnings

import torch
from common import am_base, base_parser, md_table, now, report, setup, sync

DEFAULT_MODELS = ["vgg19", "resnet50"]
STEPS = {"vgg19": 4, "resnet50": 6}


def _lucent(net: torch.nn.Module, layer: str, size: int, steps: int, device):
    from lucent.optvis import param, render

    name = layer.replace(".", "_") + ":0"

    def param_f():  # pixel parameterisation, no FFT / decorrelation (closest to ours)
        return param.image(size, fft=False, decorrelate=False)

    def call() -> None:
        render.render_vis(net, name, param_f, transforms=[], thresholds=(steps,),
                          show_image=False, progress=False)

    return call


def _dreams(net: torch.nn.Module, layer: str, size: int, steps: int, device):
    from torch_dreams import Dreamer

    dreamer = Dreamer(net, quiet=True, device=device.type)
    dreamer.set_custom_transforms(torch.nn.Identity())  # no robustness transforms
    module = dict(net.named_modules())[layer]

    def objective(outputs):
        return -outputs[0][:, 0].mean()

    def call() -> None:
        dreamer.render(layers=[module], custom_func=objective, iters=steps, width=size,
                       height=size, grad_clip=1e9)

    return call


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    p.add_argument("--steps", type=int, default=0, help="steps per run (0: per model)")
    args = p.parse_args(argv)
    device = setup(args)
    warnings.filterwarnings("ignore")

    from viz_core import models
    from viz_core.config import scheme_config
    from viz_core.engine import run_to_end
    from viz_core.fusion import fuse_model

    versions = {}
    for mod in ("lucent", "torch_dreams"):
        try:
            from importlib.metadata import version

            versions[mod] = version({"lucent": "torch-lucent",
                                     "torch_dreams": "torch-dreams"}[mod])
        except Exception:  # noqa: BLE001
            versions[mod] = None
    rows = []
    peer_names: dict[int, str] = {}
    for name in args.models:
        model = models.load_model(name, weights="random", device=device)
        layer = model.resolve_layer(model.spec.default_layer)
        size = model.spec.input_size
        steps = args.steps or STEPS.get(name, 5)
        base = am_base(name, layer, steps, device)
        fast = fuse_model(model, [layer])  # BN folded + channels-last weights (exact)
        plain = scheme_config(base, "plain", 11, 0.0, 0.05)
        fe = scheme_config(base, "fluid_elastic_sobolev", 11, 0.0, 0.05)
        ours = {"demons-viz, plain GD": (plain, model),
                "demons-viz, fluid-elastic Sobolev 11": (fe, model),
                "demons-viz, plain GD, fuse_model": (plain, fast),
                "demons-viz, fluid-elastic Sobolev 11, fuse_model": (fe, fast)}
        calls = {k: (lambda c=c, m=m: run_to_end([c], m, keep_frames=False))
                 for k, (c, m) in ours.items()}
        # the peers get the network as torchvision builds it (what their users pass them);
        # this project's loader has put its copy in channels-last layout on the CPU
        peer_net = copy.deepcopy(model.net).eval().requires_grad_(False)
        peer_net = peer_net.to(memory_format=torch.contiguous_format)
        if versions["lucent"]:
            calls[f"torch-lucent {versions['lucent']} render_vis"] = _lucent(
                peer_net, layer, size, steps, device)
        if versions["torch_dreams"]:
            calls[f"torch-dreams {versions['torch_dreams']} render"] = _dreams(
                peer_net, layer, size, steps, device)
        for fn in calls.values():  # warm-up
            fn()
        times: dict[str, list[float]] = {k: [] for k in calls}
        for _ in range(args.repeats):
            for k, fn in calls.items():
                sync(device)
                t0 = now()
                fn()
                sync(device)
                times[k].append((now() - t0) / steps)
        med = {k: statistics.median(v) for k, v in times.items()}
        peers = [k for k in med if not k.startswith("demons-viz")]
        for k, t in med.items():
            ratios = [f"{t / med[q]:.3f}" if k.startswith("demons-viz") else "" for q in peers]
            ratios += [""] * (2 - len(ratios))
            rows.append([name, size, layer, k, steps, 1.0 / t, t * 1e3, *ratios[:2]])
        peer_names.update({i: q.split(" ")[0] for i, q in enumerate(peers)})
        del model, peer_net
    heads = [f"ours / {peer_names.get(i, '-')}" for i in range(2)]
    table = md_table(["model", "size", "layer", "implementation", "steps", "steps/s",
                      "ms/step", *heads], rows)
    missing = [m for m, v in versions.items() if not v]
    notes = [
        "Same network and weights (random, parameters frozen for everyone so nobody "
        "computes weight gradients): the peers get it as torchvision builds it (contiguous "
        "NCHW weights), this project as its loader prepares it (channels-last on the CPU, "
        "oneDNN's faster layout), batch 1, the same channel-mean objective, no transforms "
        "(lucent transforms=[], torch-dreams custom transforms = identity; its gradient "
        "clipping disabled), whole calls including set-up, median of "
        f"{args.repeats} interleaved repeats. Ratio = this project's time per step / the "
        "peer's; <= 1.0: at least as fast. fuse_model (viz_core.fusion): in addition "
        "BatchNorm folded into the convolutions (outputs equal to rounding).",
        "Parameterisation: ours and lucent optimise pixels (lucent param.image with fft=False, "
        "decorrelate=False, i.e. a sigmoid of pixels); torch-dreams always uses its FFT + "
        "colour-decorrelated parameterisation. Peers run the whole network (hooks), this "
        "project only the part up to the target layer.",
    ]
    if missing:
        notes.append(f"not installed, skipped: {', '.join(missing)} (pip install -e .[bench])")
    report("peers", "Peers: steps per second against torch-lucent and torch-dreams",
           [("Steps per second", table)], args, device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
