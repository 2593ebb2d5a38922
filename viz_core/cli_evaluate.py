"""``demons-viz evaluate`` (the paper's Table 1 protocol, Sec. 3.2) and ``demons-viz metrics``
(per-scheme numbers for a set of runs). :func:`register` adds both to the CLI's subparsers;
handlers take the argparse namespace, return an exit code and raise :class:`VizError` for
bad input."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from viz_core.cli import _float
from viz_core.cli import _int_or_none as _int
from viz_core.errors import VizError


def register(subparsers) -> None:
    """Add the ``evaluate`` and ``metrics`` subcommands (handler in ``args.handler``)."""
    from viz_core.evaluate import ALL_METHODS, METHODS, PAPER_KERNEL_SIZE, TV_EPS, TV_LAMBDA

    e = subparsers.add_parser(
        "evaluate", help="Table 1 protocol: reconstruct with one network, classify with the other",
        description="Reconstruct N images from a layer of network A with every regularization "
        "method, classify the 8-bit reconstructions with network B (and vice versa) and "
        "write top-1/top-5 tables (CSV, Markdown), a plotly bar chart (HTML) and metrics.")
    e.add_argument("--pair", choices=["offline", "imagenet"], default="offline",
                   help="offline: fmnist_vgg <-> fmnist_resnet on Fashion-MNIST (default); "
                   "imagenet: vgg19 block5_conv1 <-> densenet121 conv5_block12_0_bn (needs "
                   "--images)")
    e.add_argument("--models", nargs=2, metavar=("A", "B"), help="override the pair's models")
    e.add_argument("--layers", nargs=2, metavar=("LA", "LB"),
                   help="override the layers (default: each model's deepest block)")
    e.add_argument("--weights-a", help="weights of A: 'random' or a state_dict file")
    e.add_argument("--weights-b", help="weights of B: 'random' or a state_dict file")
    e.add_argument("--images", help="image folder (ImageFolder layout, or flat with --labels)")
    e.add_argument("--labels", help="labels file for a flat folder: 'NAME LABEL' per line")
    e.add_argument("--data-dir", help="Fashion-MNIST folder (default: Debian's)")
    e.add_argument("-n", "--n", type=_int, default=1000, help="number of images (1000)")
    e.add_argument("--steps", type=_int, default=300, help="iterations (paper: 300)")
    e.add_argument("--step-size", type=_float,
                   help="tau, 0-255 units per step (default: the documented mapping of the "
                   "paper's 20)")
    e.add_argument("--kernel-size", type=_int, default=PAPER_KERNEL_SIZE)
    e.add_argument("--tv", type=_float, default=TV_LAMBDA, help="TV weight lambda")
    e.add_argument("--tv-eps", type=_float, default=TV_EPS)
    e.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated subset of: {', '.join(ALL_METHODS)}")
    e.add_argument("--batch-images", type=_int, default=20,
                   help="images per engine batch, x methods samples (20: cache-friendly on "
                   "CPUs; raise it on a GPU)")
    e.add_argument("--workers", type=_int, default=2,
                   help="batches run concurrently, drawn from both directions (2, default), "
                   "or one after the other (1); without --threads each worker gets cores / "
                   "workers threads")
    e.add_argument("--directions", choices=["both", "ab", "ba"], default="both")
    e.add_argument("--seed", type=_int, default=0)
    e.add_argument("--no-fuse", action="store_true",
                   help="do not fold BatchNorm into convolutions (slower, same numbers)")
    e.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: run the reconstructing network under autocast (about 2x "
                   "faster on CPUs with AVX512-BF16; classification stays fp32)")
    e.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    e.add_argument("--threads", type=_int, default=0, help="torch CPU threads (0: default)")
    e.add_argument("--out", default="results", help="output folder (results/)")
    e.add_argument("--name", help="file stem (default table1_<pair>)")
    e.add_argument("--per-sample", action="store_true", help="also write <name>_samples.csv")
    e.add_argument("--plotly-js", choices=["cdn", "inline"], default="cdn",
                   help="HTML chart: load plotly.js from its CDN (small file) or embed it")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(handler=cmd_evaluate)

    m = subparsers.add_parser(
        "metrics", help="per-scheme metrics (objective, activation, HF/coarse share, TV, "
        "PSNR/SSIM) for a set of runs",
        description="Run a set of configurations (run JSON files, or the standard scheme "
        "set: plain, fluid/elastic/fluid-elastic x Sobolev/Gaussian, TV) and print their "
        "metrics per scheme, with the paper's qualitative claims checked as numbers.")
    m.add_argument("configs", nargs="*", help="run JSON files (from visualize --json)")
    m.add_argument("--model", default="fmnist_vgg")
    m.add_argument("--weights", help="'random' or a state_dict file (default: pretrained)")
    m.add_argument("--task", choices=["am", "inversion"], default="am")
    m.add_argument("--target", type=_int, help="class to maximise (default 0)")
    m.add_argument("--layer", help="layer (channel AM, or inversion; default: model's)")
    m.add_argument("--channel", type=_int)
    m.add_argument("--image", help="image to invert (task inversion)")
    m.add_argument("--steps", type=_int, default=160)
    m.add_argument("--step-size", type=_float, default=5.0)
    m.add_argument("--kernel-size", type=_int, default=PAPER_KERNEL_SIZE)
    m.add_argument("--tv", type=_float, default=TV_LAMBDA)
    m.add_argument("--jitter", type=_float, default=0.0)
    m.add_argument("--seed", type=_int, default=0)
    m.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    m.add_argument("--threads", type=_int, default=0)
    m.add_argument("--csv", help="write the table as CSV")
    m.add_argument("--json", help="write rows and claims as JSON")
    m.add_argument("--md", help="write the table, the claims and the command as Markdown")
    m.add_argument("--quiet", action="store_true")
    m.set_defaults(handler=cmd_metrics)


def _threads(n: int) -> None:
    import torch

    if n < 0:
        raise VizError(f"--threads must be >= 0, got {n}", field="threads")
    if n:
        torch.set_num_threads(n)


def _command_line(name: str) -> str:
    argv = sys.argv[1:]
    if name in argv:
        argv = argv[argv.index(name):]
    return "demons-viz " + shlex.join(argv)


def _out_file(path: str | None) -> Path | None:
    if not path:
        return None
    p = Path(path)
    if p.is_dir():
        raise VizError(f"output path {path!r} is a directory", field="out")
    if not p.parent.exists():
        raise VizError(f"output folder {str(p.parent)!r} does not exist", field="out")
    return p


def cmd_evaluate(args) -> int:
    """Run the Table 1 protocol and write CSV / Markdown / HTML / JSON / PNG to ``--out``."""
    from viz_core import evaluate as ev
    from viz_core import models
    from viz_core.engine import resolve_device

    if args.workers < 1:
        raise VizError(f"--workers must be >= 1, got {args.workers}", field="workers")
    workers = args.workers
    if not args.threads and workers > 1:
        import os

        args.threads = max(1, (os.cpu_count() or 1) // workers)
    _threads(args.threads)
    settings = ev.Table1Settings(
        n=args.n, steps=args.steps, step_size=args.step_size, kernel_size=args.kernel_size,
        tv=args.tv, tv_eps=args.tv_eps, methods=[m.key for m in ev.get_methods(args.methods)],
        batch_images=args.batch_images, seed=args.seed, fuse=not args.no_fuse,
        precision=args.precision, workers=workers, directions=args.directions).validate()
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise VizError(f"--out {args.out!r} is a file, not a folder", field="out")
    pair = ev.OFFLINE_PAIR if args.pair == "offline" else ev.IMAGENET_PAIR
    (ma, la), (mb, lb) = pair
    if args.models:
        (ma, mb), la, lb = args.models, None, None
    if args.layers:
        la, lb = args.layers
    device = resolve_device(args.device)
    a = models.load_model(ma, weights=args.weights_a, device=device, seed=args.seed)
    b = models.load_model(mb, weights=args.weights_b, device=device, seed=args.seed + 1)
    if args.images:
        images = ev.folder_images(args.images, a.classes, args.n, args.seed, args.labels)
    elif args.labels:
        raise VizError("--labels needs --images (the folder the labels refer to)",
                       field="labels")
    elif a.spec.family == "offline" and b.spec.family == "offline":
        images = ev.fashion_mnist_images(args.n, args.seed, args.data_dir)
    else:
        raise VizError(f"{ma} and {mb} need an image folder: pass --images DIR (ImageFolder "
                       "layout, or a flat folder with --labels FILE)", field="images")
    settings.n = min(settings.n, len(images))
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        nb = -(-settings.n // settings.batch_images)
        ndir = 2 if settings.directions == "both" else 1
        bar = tqdm(total=ndir * nb * settings.steps, unit="step", file=sys.stderr,
                   desc="evaluate", dynamic_ncols=True)

    def progress(k: int, direction: str) -> None:
        if bar is not None:
            if workers == 1:
                bar.set_description(direction, refresh=False)
            bar.update(k)

    try:
        result = ev.run_table1(a, b, images, settings, la, lb, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    stem = args.name or f"table1_{args.pair}"
    paths = ev.write_table1(result, out, stem, command=_command_line("evaluate"),
                            per_sample=args.per_sample, plotly_js=args.plotly_js)
    print(ev.table1_markdown(result["rows"]))
    print()
    print(f"wrote {', '.join(str(p) for p in paths)} "
          f"({result['wall_seconds'] / 60:.1f} min)")
    return 0


def _group(configs: list) -> list[list]:
    """Split configurations into batches the engine accepts (same model, task, layer...)."""
    from viz_core.engine import check_batchable

    groups: list[list] = []
    for c in configs:
        for g in groups:
            try:
                check_batchable(g + [c])
            except VizError:
                continue
            g.append(c)
            break
        else:
            groups.append([c])
    return groups


def cmd_metrics(args) -> int:
    """Run a set of configurations and print per-scheme metrics and the paper's claims."""
    from viz_core import engine
    from viz_core import evaluate as ev
    from viz_core.config import RunConfig

    _threads(args.threads)
    csv_out, json_out, md_out = _out_file(args.csv), _out_file(args.json), _out_file(args.md)
    if args.configs:
        configs = [RunConfig.load(p) for p in args.configs]
        names = [c.name or Path(p).stem for c, p in zip(configs, args.configs)]
        for c, n in zip(configs, names):
            c.name = n
    else:
        if args.task == "inversion" and not args.image:
            raise VizError("metrics --task inversion needs --image PATH", field="image")
        if args.image and not Path(args.image).is_file():
            raise VizError(f"image file {args.image!r} does not exist", field="image")
        target = args.target if args.target is not None or args.channel is not None else 0
        base = RunConfig(model=args.model, weights=args.weights, task=args.task,
                         target=target if args.task == "am" else None, layer=args.layer,
                         channel=args.channel, image=args.image, steps=args.steps,
                         step_size=args.step_size, jitter=args.jitter, seed=args.seed,
                         device=args.device, every=args.steps)
        base.validate()
        configs = ev.standard_schemes(base, args.kernel_size, args.tv)
    rows: list[dict] = []
    total = sum(c.total_steps for c in configs)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="step", file=sys.stderr, desc="metrics")
    try:
        for group in _group(configs):
            c0 = group[0]
            model = engine.prepare_model(c0)
            ref = engine.load_reference(c0, model) if c0.task == "inversion" else None
            last = 0

            def progress(f) -> None:
                nonlocal last
                if bar is not None:
                    bar.update(f.step - last)
                last = f.step

            res = engine.run_to_end(group, model, reference=ref, keep_frames=False,
                                    every=max(1, c0.total_steps // 10), progress=progress)
            rows += ev.scheme_metrics(res.final, group, ref)
    finally:
        if bar is not None:
            bar.close()
    print(ev.scheme_metrics_markdown(rows))
    claims = ev.paper_claims(rows)
    if claims:
        print()
        for c in claims:
            print(c)
    if csv_out is not None:
        cols = ["label", "scheme", "kernels", "task", "objective", "activation",
                "hf_fraction", "coarse_fraction", "tv", "psnr", "ssim", "diverged"]
        csv_out.write_text(ev.to_csv(rows, cols), encoding="utf-8")
    if json_out is not None:
        json_out.write_text(json.dumps({"rows": rows, "claims": claims}, indent=2,
                                       default=str) + "\n", encoding="utf-8")
    if md_out is not None:
        from viz_core.evaluate import machine_description

        text = ["# Scheme metrics", "", f"Command: `{_command_line('metrics')}`", "",
                f"Machine: {machine_description()}.", "", ev.scheme_metrics_markdown(rows), "",
                "HF fraction: spectral energy above half Nyquist (fine detail, noise); coarse "
                "fraction: energy at wavelengths >= 16 px; TV: mean isotropic total "
                "variation (eq. 19).", ""] + [f"* {c}" for c in claims]
        md_out.write_text("\n".join(text) + "\n", encoding="utf-8")
    return 3 if any(r.get("diverged") for r in rows) else 0
