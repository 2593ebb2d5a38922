"""``demons-viz``: headless runs, kernels, model listing (and evaluation, see cli_evaluate).

Every error a user can cause ends with a one-line message on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from viz_core.errors import VizError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise VizError(f"{self.prog}: {message}")


def _int_or_none(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="demons-viz", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", parser_class=_Parser, required=True)

    m = sub.add_parser("models", help="list models, their weights status and layers")
    m.add_argument("name", nargs="?", help="show the layer catalogue and aliases of one model")
    m.add_argument("--json", action="store_true", help="machine-readable output")

    k = sub.add_parser("kernels", help="write a kernel (.npy) and print its parameters")
    k.add_argument("--kind", required=True, choices=["identity", "gaussian", "sobolev"])
    k.add_argument("--size", type=_int_or_none, required=True)
    k.add_argument("--param", type=_float, default=None,
                   help="sigma (gaussian) or gamma (sobolev); fitted to the size if omitted")
    k.add_argument("--order", type=_int_or_none, default=1, help="Sobolev order k")
    k.add_argument("--out", required=True)

    v = sub.add_parser("visualize", help="activation maximization or feature inversion")
    v.add_argument("--config", help="a run JSON written by --json: reproduces that run; "
                   "other flags override its values")
    v.add_argument("--model", help="zoo name (see `demons-viz models`) or a TorchScript file")
    v.add_argument("--input-size", type=_int_or_none, help="input size of a TorchScript model")
    v.add_argument("--channels", type=_int_or_none, help="input channels of a TorchScript model")
    v.add_argument("--weights", help="'random', or a state_dict file (default: pretrained)")
    v.add_argument("--task", choices=["am", "inversion"])
    v.add_argument("--target", type=_int_or_none, help="class index to maximise")
    v.add_argument("--layer", help="layer name (dotted torchvision name or paper alias)")
    v.add_argument("--channel", type=_int_or_none)
    v.add_argument("--unit", help="Y,X of a single unit of --channel")
    v.add_argument("--image", help="image to invert")
    v.add_argument("--p", type=_int_or_none, help="inversion exponent p (1 or 2)")
    v.add_argument("--fluid", help="fluid kernel KIND[:PARAM]: gaussian, sobolev, spectral")
    v.add_argument("--elastic", help="elastic kernel KIND[:PARAM]: gaussian, sobolev, decay")
    v.add_argument("--kernel-size", type=_int_or_none, help="kernel size (default 11)")
    v.add_argument("--order", type=_int_or_none, help="Sobolev order k of both kernels")
    v.add_argument("--elastic-every", type=_int_or_none, help="apply Ke every k-th step")
    v.add_argument("--tv", type=_float, help="TV weight lambda")
    v.add_argument("--tv-eps", type=_float)
    v.add_argument("--step-size", type=_float, help="tau (0-255 pixel units per step)")
    v.add_argument("--steps", type=_int_or_none)
    v.add_argument("--octaves", help="SCALE:STEPS:TAU,... e.g. 1.0:100:5,1.1:50:2,1.2:10:1")
    v.add_argument("--jitter", type=_float, help="pixels, or a fraction (< 1) of the size")
    v.add_argument("--seed", type=_int_or_none)
    v.add_argument("--grad-norm", choices=["mean_abs", "none"])
    v.add_argument("--device", choices=["auto", "cpu", "cuda"])
    v.add_argument("--every", type=_int_or_none, help="record a GIF frame every k steps")
    v.add_argument("--out", required=True, help="final pre-image (PNG)")
    v.add_argument("--gif", help="trajectory as an animated GIF")
    v.add_argument("--json", help="every parameter and the results")
    v.add_argument("--quiet", action="store_true", help="no progress bar")

    try:
        from viz_core import cli_evaluate
    except ImportError:  # evaluation module not installed
        cli_evaluate = None
    if cli_evaluate is not None:
        cli_evaluate.register(sub)
    return p


# --------------------------------------------------------------------------- commands

def cmd_models(args) -> int:
    from viz_core import models

    if args.name:
        lm = models.load_model(args.name, weights="random")
        info = {"name": lm.spec.name, "input_size": lm.spec.input_size,
                "channels": lm.spec.channels, "default_layer": lm.spec.default_layer,
                "weights": models.weights_status(args.name), "layers": lm.layers,
                "aliases": lm.aliases}
        if args.json:
            print(json.dumps(info))
        else:
            print(f"{lm.spec.name}: {lm.spec.description}")
            print(f"  input {lm.spec.channels}x{lm.spec.input_size}x{lm.spec.input_size}, "
                  f"weights: {info['weights']}, default layer: {lm.spec.default_layer}")
            print("  layers:")
            for name in lm.layers:
                print(f"    {name}")
            if lm.aliases:
                print("  paper (keras) aliases:")
                for a, t in lm.aliases.items():
                    print(f"    {a} -> {t}")
        return 0
    rows = [{"name": s.name, "family": s.family, "input_size": s.input_size,
             "channels": s.channels, "weights": models.weights_status(s.name),
             "paper": s.paper, "default_layer": s.default_layer}
            for s in models.available_models()]
    if args.json:
        print(json.dumps(rows))
    else:
        print(f"{'model':22} {'family':12} {'input':>9}  {'weights':16} default layer")
        for r in rows:
            size = f"{r['channels']}x{r['input_size']}"
            star = " (paper)" if r["paper"] else ""
            print(f"{r['name']:22} {r['family']:12} {size:>9}  {r['weights']:16} "
                  f"{r['default_layer']}{star}")
        print("layers of one model: demons-viz models NAME")
    return 0


def cmd_kernels(args) -> int:
    from viz_core.kernels import KernelSpec, build

    spec = KernelSpec(args.kind, args.param, args.size, args.order)
    k = build(spec)
    w = k.weights.double().numpy()
    if args.kind == "identity" and args.size > 1:
        w = np.zeros((args.size, args.size))
        w[args.size // 2, args.size // 2] = 1.0
    out = _check_out(args.out)
    np.save(out, w)
    print(json.dumps({"kind": args.kind, "size": int(w.shape[0]),
                      "param": None if args.kind == "identity" else k.param,
                      "order": args.order, "fitted": args.param is None and args.kind != "identity",
                      "sum": float(w.sum()), "center": float(w[w.shape[0] // 2, w.shape[1] // 2]),
                      "out": str(out)}))
    return 0


def _check_out(path: str) -> Path:
    p = Path(path)
    if p.exists() and p.is_dir():
        raise VizError(f"output path {path!r} is a directory", field="out")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise VizError(f"output folder {str(parent)!r} does not exist", field="out")
    return p


def config_from_args(args):
    """Merge ``--config`` (if any) with the flags given on the command line."""
    from viz_core.config import RunConfig
    from viz_core.kernels import KernelSpec
    from viz_core.transforms import parse_octaves

    base = RunConfig.load(args.config).to_dict() if args.config else RunConfig().to_dict()
    if not args.config:
        base["target"] = None
    simple = {"model": "model", "weights": "weights", "task": "task", "target": "target",
              "layer": "layer", "channel": "channel", "image": "image", "p": "p", "tv": "tv",
              "tv_eps": "tv_eps", "step_size": "step_size", "steps": "steps",
              "jitter": "jitter", "seed": "seed", "grad_norm": "grad_norm", "device": "device",
              "every": "every", "elastic_every": "elastic_every"}
    for attr, key in simple.items():
        val = getattr(args, attr)
        if val is not None:
            base[key] = val
    if args.image:
        if not Path(args.image).is_file():
            raise VizError(f"image file {args.image!r} does not exist", field="image")
        base["image"] = str(Path(args.image).resolve())
    if args.unit:
        try:
            base["unit"] = [int(v) for v in args.unit.split(",")]
        except ValueError:
            raise VizError(f"--unit must be Y,X integers, got {args.unit!r}",
                           field="unit") from None
    for key in ("input_size", "channels"):
        if getattr(args, key) is not None:
            base.setdefault("extra", {})[key] = getattr(args, key)
    if args.model and Path(args.model).is_file():
        base["model"] = str(Path(args.model).resolve())
    if args.octaves:
        base["octaves"] = [o.to_list() for o in parse_octaves(args.octaves)]
    size = args.kernel_size
    order = args.order
    for slot in ("fluid", "elastic"):
        text = getattr(args, slot)
        if text is not None:
            if text.lower() in ("none", ""):
                base[slot] = None
            else:
                base[slot] = KernelSpec.parse(text, size or 11, order or 1).to_dict()
        elif base.get(slot) and (size or order):
            if size:
                base[slot]["size"] = size
            if order:
                base[slot]["order"] = order
    if base["task"] == "am" and base.get("target") is None and base.get("channel") is None:
        base["target"] = 0
    return RunConfig.from_dict(base)


def cmd_visualize(args) -> int:
    import torch

    from viz_core import engine
    from viz_core.images import gif_bytes, png_bytes

    cfg = config_from_args(args)
    out = _check_out(args.out)
    gif = _check_out(args.gif) if args.gif else None
    js = _check_out(args.json) if args.json else None
    device = engine.resolve_device(cfg.device)
    model = engine.prepare_model(cfg, device)
    every = cfg.every if gif else max(cfg.every, 1)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=cfg.total_steps, unit="step", file=sys.stderr, desc=cfg.scheme.name)

    def progress(f):
        if bar is not None:
            bar.n = f.step
            bar.set_postfix(objective=f"{float(f.objective[0]):.4g}", refresh=False)
            bar.refresh()

    result = engine.run_to_end(cfg, model, every=every, keep_frames=gif is not None,
                               progress=progress)
    if bar is not None:
        bar.close()
    final = result.final
    meta = {"model": model.label, "scheme": cfg.scheme.label, "Software": "demons-viz"}
    out.write_bytes(png_bytes(final.image, meta))
    if gif is not None:
        gif.write_bytes(gif_bytes([f.image for f in result.frames],
                                  comment=f"{model.label}; {cfg.scheme.label}"))
    msg = final.diverged[0]
    if js is not None:
        js.write_text(cfg.to_json(
            model_label=model.label, pretrained=model.pretrained, device=str(device),
            device_name=torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            seconds=round(result.seconds, 4), steps_done=final.step,
            final_objective=_num(final.objective[0]),
            target_activation=_num(final.activation[0]),
            final_grad_norm=_num(final.grad_norm[0]),
            scheme=cfg.scheme.name, diverged=msg, torch=torch.__version__), encoding="utf-8")
    print(json.dumps({"out": str(out), "model": model.label, "scheme": cfg.scheme.label,
                      "final_objective": _num(final.objective[0]),
                      "target_activation": _num(final.activation[0]),
                      "seconds": round(result.seconds, 3)}))
    if msg:
        print(f"warning: {msg}", file=sys.stderr)
        return 3
    return 0


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        handler = {"models": cmd_models, "kernels": cmd_kernels,
                   "visualize": cmd_visualize}.get(args.command) or args.handler
        return int(handler(args) or 0)
    except VizError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, RuntimeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "out of memory" in msg.lower():
            msg += " (try a smaller image, fewer schemes per batch, or --device cpu)"
        print(f"error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
