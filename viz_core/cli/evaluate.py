"""``demons-viz evaluate``: the paper's Table 1 protocol (Sec. 3.2): reconstruct with one
network, classify the 8-bit reconstructions with the other."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from viz_core import models, zoo
from viz_core.class_prior import INITS
from viz_core.cli.common import (
    add_device,
    add_threads,
    check_out,
    command_line,
    float_arg,
    int_arg,
    progress_bar,
    seed_arg,
    set_threads,
    stem_arg,
)
from viz_core.cli.contract import zoo_only
from viz_core.devices import resolve_device
from viz_core.errors import VizError
from viz_core.evaluation import protocol as pr
from viz_core.evaluation import recognisability as rc
from viz_core.evaluation.floors import table1_floors
from viz_core.evaluation.imagesets import ImageSet, fashion_mnist_images, folder_images
from viz_core.evaluation.reports import (
    am_transfer_markdown,
    inversion_markdown,
    table1_markdown,
    write_recognisability,
    write_table1,
)
from viz_core.figures import table1_figure, write_html
from viz_core.offline_presets import OFFLINE_SCHEMES
from viz_core.schemes import SCHEME_REGISTRY, TABLE1_SCHEMES
from viz_core.sweeps.raycluster import CONNECT_TIMEOUT, check_ray_timeout

HELP = "Table 1 protocol: reconstruct with one network, classify with the other"
DESCRIPTION = ("Reconstruct N images from a layer of network A with every regularization "
               "method, classify the 8-bit reconstructions with network B (and vice versa) "
               "and write top-1/top-5 tables (CSV, Markdown), a plotly bar chart (HTML) and "
               "metrics. With --benchmark recognisability: class pre-images of A judged by "
               "the independent judge and by B (AM transfer) and inversion from every layer "
               "against the flat-image floor and chance levels (CSV, Markdown).")
BENCHMARKS = ("table1", "recognisability")


def add_arguments(e: argparse.ArgumentParser) -> None:
    e.add_argument("--benchmark", choices=BENCHMARKS, default="table1",
                   help="table1: the paper's protocol (default); recognisability: AM "
                   "transfer and inversion quality with floors (pairs offline / robust)")
    e.add_argument("--pair", choices=list(pr.PAIRS), default="offline",
                   help="offline: fmnist_vgg <-> fmnist_resnet on Fashion-MNIST (default); "
                   "robust: their adversarially trained versions; imagenet: vgg19 "
                   "block5_conv1 <-> densenet121 conv5_block12_0_bn (needs --images)")
    e.add_argument("--models", nargs=2, metavar=("A", "B"), help="override the pair's models")
    e.add_argument("--layers", nargs=2, metavar=("LA", "LB"),
                   help="override the layers (default: each model's deepest block)")
    e.add_argument("--weights-a", help="weights of A: 'random' or a state_dict file")
    e.add_argument("--weights-b", help="weights of B: 'random' or a state_dict file")
    e.add_argument("--images", help="image folder (ImageFolder layout, or flat with --labels)")
    e.add_argument("--labels", help="labels file for a flat folder: 'NAME LABEL' per line")
    e.add_argument("--data-dir", help="Fashion-MNIST folder (default: Debian's)")
    e.add_argument("-n", "--n", type=int_arg,
                   help="number of images (table1: 1000; recognisability: the shipped "
                   "Fashion-MNIST samples unless given)")
    e.add_argument("--steps", type=int_arg,
                   help=f"iterations (table1: the paper's {pr.PAPER_STEPS}; recognisability: "
                   "the tuned presets' schedules)")
    e.add_argument("--step-size", type=float_arg,
                   help="tau, 0-255 units per step (default: the documented mapping of the "
                   "paper's 20)")
    e.add_argument("--kernel-size", type=int_arg, default=pr.PAPER_KERNEL_SIZE)
    e.add_argument("--tv", type=float_arg, default=pr.TV_LAMBDA, help="TV weight lambda")
    e.add_argument("--tv-eps", type=float_arg, default=pr.TV_EPS)
    e.add_argument("--methods",
                   help=f"comma-separated scheme keys (table1 default: {','.join(TABLE1_SCHEMES)}"
                   f"; recognisability default: the {len(OFFLINE_SCHEMES)} tuned offline "
                   f"schemes), any of: {', '.join(SCHEME_REGISTRY)}")
    e.add_argument("--batch-images", type=int_arg, default=20,
                   help="images per engine batch, x methods samples (20: cache-friendly on "
                   "CPUs; raise it on a GPU)")
    e.add_argument("--workers", type=int_arg, default=2,
                   help="batches run concurrently, drawn from both directions (2, default), "
                   "or one after the other (1); without --threads each worker gets cores / "
                   "workers threads")
    e.add_argument("--directions", choices=pr.DIRECTIONS, default="both")
    e.add_argument("--seed", type=seed_arg, default=0)
    e.add_argument("--no-fuse", action="store_true",
                   help="do not fold BatchNorm into convolutions (slower, same numbers)")
    e.add_argument("--precision", choices=pr.PRECISIONS, default="fp32",
                   help="bf16: run the reconstructing network under autocast (about 2x "
                   "faster on CPUs with AVX512-BF16; classification stays fp32)")
    add_device(e)
    add_threads(e)
    e.add_argument("--out", default="results", help="output folder (results/)")
    e.add_argument("--name", type=stem_arg, help="file stem (default table1_<pair>)")
    e.add_argument("--per-sample", action="store_true", help="also write <name>_samples.csv")
    e.add_argument("--plotly-js", choices=["cdn", "inline"], default="cdn",
                   help="HTML chart: load plotly.js from its CDN (small file) or embed it")
    e.add_argument("--seeds", type=int_arg, default=3,
                   help="recognisability: seeds per class and scheme (AM transfer; 3)")
    e.add_argument("--classes", help="recognisability: comma-separated class indices (all)")
    e.add_argument("--init", choices=INITS, default="noise",
                   help="recognisability: AM start, the paper's noise (default) or "
                        "class_conditional (a Gaussian fitted to the class's training images, "
                        "a data prior reported as its own setting)")
    e.add_argument("--parts", default=",".join(rc.PARTS),
                   help="recognisability: am, inversion or both (default)")
    e.add_argument("--inversion-layers",
                   help="recognisability: comma-separated layers (of either model; default: "
                   "every layer of each model's catalogue)")
    e.add_argument("--executor", choices=pr.EXECUTORS, default="local",
                   help="local: threads of this process (default); ray: one Ray task per "
                   "batch (needs the distributed extra)")
    e.add_argument("--ray-address", help="join this Ray cluster (default: start a local one)")
    e.add_argument("--ray-timeout", type=float_arg, default=CONNECT_TIMEOUT, metavar="S",
                   help=f"seconds to join --ray-address before giving up "
                   f"({CONNECT_TIMEOUT:g})")
    e.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the chosen benchmark and write its files to ``--out``."""
    if args.ray_address and args.executor != "ray":
        raise VizError("--ray-address needs --executor ray", field="executor")
    check_ray_timeout(args.ray_timeout)
    if args.benchmark == "recognisability":
        return run_recognisability(args)
    return run_table1(args)


def run_table1(args: argparse.Namespace) -> int:
    """Run the Table 1 protocol and write CSV / Markdown / HTML / JSON / PNG to ``--out``."""
    if args.workers < 1:
        raise VizError(f"--workers must be >= 1, got {args.workers}", field="workers")
    workers = args.workers
    threads = args.threads
    if not threads and workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
    set_threads(threads)
    settings = pr.Table1Settings(
        n=1000 if args.n is None else args.n,
        steps=pr.PAPER_STEPS if args.steps is None else args.steps,
        step_size=args.step_size, kernel_size=args.kernel_size,
        tv=args.tv, tv_eps=args.tv_eps, methods=pr.method_keys(args.methods),
        batch_images=args.batch_images, seed=args.seed, fuse=not args.no_fuse,
        precision=args.precision, workers=workers, directions=args.directions).validate()
    out = check_out(args.out, folder=True)
    (ma, la), (mb, lb) = pr.PAIRS[args.pair]
    if args.models:
        _zoo_models(args.models)
        (ma, mb), la, lb = args.models, None, None
    if args.layers:
        la, lb = args.layers
    # Ray: each worker resolves --device itself (a CPU head node may drive GPU workers);
    # this process needs the networks only for their specs, the floors and the tables
    device = args.device if args.executor == "ray" else str(resolve_device(args.device))
    refs = (pr.ModelRef(ma, args.weights_a, args.seed, device),
            pr.ModelRef(mb, args.weights_b, args.seed + 1, device))
    here = "cpu" if args.executor == "ray" else device
    a, b = (replace(r, device=here).load() for r in refs)
    images = _image_set(args, a, b, settings.n)
    settings.n = min(settings.n, len(images))
    nb = -(-settings.n // settings.batch_images)
    ndir = 2 if settings.directions == "both" else 1
    with progress_bar(ndir * nb * settings.steps, "evaluate", args.quiet) as bar:
        def progress(k: int, direction: str) -> None:
            if workers == 1:
                bar.set_description(direction, refresh=False)
            bar.update(k)

        result = pr.run_table1(a, b, images, settings, la, lb, progress=progress,
                               executor=args.executor, refs=refs,
                               ray_address=args.ray_address, ray_timeout=args.ray_timeout)
    judges = {f"{a.spec.name} -> {b.spec.name}": b, f"{b.spec.name} -> {a.spec.name}": a}
    judge = _independent_judge(a.spec.name, device if args.executor != "ray" else "cpu")
    if judge is not None:
        judges[f"independent judge ({judge.spec.name})"] = judge
    result["floors"] = table1_floors(judges, images, settings.n)
    stem = args.name or f"table1_{args.pair}"
    paths = write_table1(result, out, stem, command=command_line(args),
                         per_sample=args.per_sample, html=html_writer(args.plotly_js))
    print(table1_markdown(result["rows"]))
    print()
    print(f"wrote {', '.join(str(p) for p in paths)} "
          f"({result['wall_seconds'] / 60:.1f} min)")
    return 0


def _zoo_models(names: list[str]) -> None:
    """``--models A B`` name zoo models (both benchmarks load them from the zoo)."""
    zoo_names = [s.name for s in models.available_models()]
    for name in names:
        zoo_only(name, "evaluate", zoo_names, field="models")


def _independent_judge(name: str, device) -> models.LoadedModel | None:
    """The zoo's independent judge of ``name`` (:func:`viz_core.zoo.judge_for`) when its
    weights are shipped here, else None."""
    judge = zoo.judge_for(name)
    if judge is None or models.weights_status(judge) != "offline":
        return None
    return models.load_model(judge, device=device)


def _image_set(args: argparse.Namespace, a: models.LoadedModel, b: models.LoadedModel,
               n: int) -> ImageSet:
    """The images of ``--images`` (with ``--labels``), or Fashion-MNIST for offline pairs."""
    if args.images:
        return folder_images(args.images, a.classes, n, args.seed, args.labels)
    if args.labels:
        raise VizError("--labels needs --images (the folder the labels refer to)",
                       field="labels")
    if a.spec.family == "offline" and b.spec.family == "offline":
        return fashion_mnist_images(n, args.seed, args.data_dir)
    raise VizError(f"{a.spec.name} and {b.spec.name} need an image folder: pass --images DIR "
                   "(ImageFolder layout, or a flat folder with --labels FILE)", field="images")


def html_writer(plotly_js: str):
    """The interactive chart's writer (:func:`viz_core.figures.table1_figure` as a page
    that loads plotly.js: ``plotly_js`` "cdn" or "inline")."""

    def write(rows: list[dict], path: Path) -> None:
        write_html(table1_figure(rows), path, plotly_js, title="Table 1 protocol")

    return write


def _int_list(text: str | None, flag: str) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise VizError(f"{flag} must be comma-separated integers, got {text!r}",
                       field=flag.strip("-")) from None


def run_recognisability(args: argparse.Namespace) -> int:
    """AM transfer and inversion quality (with floors) on a pair, written to ``--out``."""
    if args.executor != "local":
        raise VizError("--benchmark recognisability runs with --executor local",
                       field="executor")
    if args.pair not in rc.PAIRS and not args.models:
        raise VizError(f"--benchmark recognisability needs --pair {' or '.join(rc.PAIRS)} "
                       "(or --models A B)", field="pair")
    if args.n is not None and args.n < 1:  # the images to invert: none is no benchmark
        raise VizError(f"-n must be >= 1 (images to invert), got {args.n}", field="n")
    set_threads(args.threads)
    _zoo_models(args.models or [])
    ma, mb = args.models or rc.PAIRS[args.pair]
    st = rc.RecognisabilitySettings(
        seeds=args.seeds, classes=_int_list(args.classes, "--classes"), init=args.init,
        schemes=list(OFFLINE_SCHEMES) if args.methods is None else pr.method_keys(args.methods),
        steps=args.steps, parts=tuple(p.strip() for p in args.parts.split(",") if p.strip()),
        layers=[v.strip() for v in args.inversion_layers.split(",")]
        if args.inversion_layers else None).validate()
    out = check_out(args.out, folder=True)
    device = resolve_device(args.device)
    a = models.load_model(ma, weights=args.weights_a, device=device, seed=args.seed)
    b = models.load_model(mb, weights=args.weights_b, device=device, seed=args.seed + 1)
    judge = _independent_judge(ma, device)
    images = None
    if "inversion" in st.parts:
        images = _image_set(args, a, b, args.n) if (args.n is not None or args.images) else \
            rc.shipped_imageset(a.classes)
    with progress_bar(rc.total_steps(a, b, st), "recognisability", args.quiet) as bar:
        result = rc.run_recognisability(a, b, images, st, progress=bar.update, judge=judge)
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    layers = ", ".join(st.layers) if st.layers else "every layer of each catalogue"
    steps = f"{st.steps} steps" if st.steps else "the tuned presets' schedules"
    parts = []
    if "am" in st.parts:
        parts.append(f"AM transfer over {st.seeds} seed(s) from the "
                     f"{'paper' + chr(39) + 's noise' if st.init == 'noise' else st.init} start")
    if "inversion" in st.parts:
        parts.append(f"inversion (the presets' seed) from layers: {layers}")
    text = (f"Settings: models {a.label} and {b.label}; independent judge "
            f"{judge.label if judge else 'none (the twin judges)'}; "
            f"schemes {', '.join(st.schemes)}; "
            f"{'; '.join(parts)}; {steps}; pre-images and "
            "reconstructions quantised to 8 bits before classification.")
    stem = args.name or f"recognisability_{args.pair}"
    paths = write_recognisability(result, out, stem, command=command_line(args),
                                  settings=text, date=date)
    if result["am"]:
        print(am_transfer_markdown(result["am"]))
        print()
    if result["inversion"]:
        print(inversion_markdown(result["inversion"]))
        print()
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0
