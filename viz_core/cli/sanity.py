"""``demons-viz sanity``: the model-randomisation sanity check of class pre-images
(Adebayo et al. 2018; :mod:`viz_core.evaluation.sanity`): cascading and independent
randomisation of the layers, similarity to the trained network's pre-images over seeds,
the randomised network's logit spread and a verdict with its uncertainty.

Example (the committed results)::

    demons-viz sanity --model fmnist_vgg --out results --name sanity_fmnist_vgg
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone

from viz_core import models
from viz_core.cli.common import (
    add_device,
    add_threads,
    check_out,
    command_line,
    int_arg,
    set_threads,
    stem_arg,
)
from viz_core.cli.contract import zoo_only
from viz_core.devices import resolve_device
from viz_core.errors import VizError
from viz_core.evaluation import sanity as sn
from viz_core.evaluation.imagesets import folder_images
from viz_core.evaluation.recognisability import shipped_imageset
from viz_core.evaluation.sanity_report import sanity_markdown, write_sanity
from viz_core.machine import load_average
from viz_core.offline_presets import OFFLINE_SCHEMES

HELP = "model-randomisation sanity check (cascading / independent, over seeds)"
DESCRIPTION = " ".join(__doc__.split("\n\n")[0].split())  # the first paragraph, whole


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="fmnist_vgg",
                   help="an offline model with tuned presets (default fmnist_vgg)")
    p.add_argument("--schemes", default=",".join(sn.DEFAULT_SCHEMES),
                   help=f"comma-separated scheme keys, any of: {', '.join(OFFLINE_SCHEMES)}")
    p.add_argument("--classes", default=",".join(map(str, sn.DEFAULT_CLASSES)),
                   help="comma-separated class indices (default 1,7,8)")
    p.add_argument("--seeds", type=int_arg, default=3, help="seeds (>= 2; default 3)")
    p.add_argument("--steps", type=int_arg, default=100,
                   help="steps per run, the presets' stages scaled (default 100; 0: the "
                   "presets' 200)")
    p.add_argument("--bn", choices=sn.BN_MODES, default="reestimate",
                   help="BatchNorm of randomised layers: re-estimate its statistics on real "
                   "images (default), keep the trained one, or reset it to defaults")
    p.add_argument("--modes", default=",".join(sn.MODES),
                   help="cascade, independent, or both as cascade,independent (default)")
    p.add_argument("--images", help="image folder for the real images (default: the shipped "
                   "Fashion-MNIST samples)")
    p.add_argument("--labels", help="labels file for a flat --images folder")
    add_device(p)
    add_threads(p)
    p.add_argument("--out", default="results", help="output folder (results/)")
    p.add_argument("--name", type=stem_arg, help="file stem (default sanity_<model>)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def _list(text: str, flag: str, cast=str) -> list:
    try:
        vals = [cast(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise VizError(f"{flag} must be comma-separated integers, got {text!r}",
                       field=flag.strip("-")) from None
    if not vals:
        raise VizError(f"{flag} is empty", field=flag.strip("-"))
    return vals


def _preset_models() -> list[str]:
    """The zoo models with tuned offline presets (what the check runs on)."""
    from viz_core.evaluation.recognisability import preset_architecture

    out = []
    for spec in models.available_models():
        try:
            preset_architecture(spec.name)
        except VizError:
            continue
        out.append(spec.name)
    return out


def run(args: argparse.Namespace) -> int:
    """Run the check and write CSV / Markdown / JSON / PNG to ``--out``."""
    set_threads(args.threads)
    st = sn.SanitySettings(schemes=_list(args.schemes, "--schemes"),
                           classes=_list(args.classes, "--classes", int), seeds=args.seeds,
                           steps=args.steps or None, bn=args.bn,
                           modes=tuple(_list(args.modes, "--modes"))).validate()
    if args.labels and not args.images:
        raise VizError("--labels needs --images (the folder the labels refer to)",
                       field="labels")
    zoo_only(args.model, "sanity", _preset_models())
    out = check_out(args.out, folder=True)
    model = models.load_model(args.model, device=resolve_device(args.device))
    sn.sanity_configs(args.model, st.schemes[:1], st.classes[:1], 0, None)  # presets exist?
    bad = [c for c in st.classes if not 0 <= c < len(model.classes)]
    if bad:
        raise VizError(f"class {bad[0]} is out of range for {args.model} (0-"
                       f"{len(model.classes) - 1})", field="classes")
    iset = folder_images(args.images, model.classes, None, 0, args.labels) if args.images \
        else shipped_imageset(model.classes)
    images = iset.load(range(len(iset)), model.spec.input_size, model.spec.channels)
    load0, t0 = load_average(), time.perf_counter()
    result = sn.run_sanity(model, images, [int(v) for v in iset.labels], st,
                           progress=None if args.quiet else
                           (lambda msg: print(msg, file=sys.stderr, flush=True)))
    result["wall_seconds"] = time.perf_counter() - t0
    result["load_average"] = f"{load0} / {load_average()}"
    out.mkdir(parents=True, exist_ok=True)
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    paths = write_sanity(result, out, args.name or f"sanity_{args.model}",
                         command_line(args), date)
    print(sanity_markdown(result).split("## Logit spread")[0].split("## Verdict")[1].strip())
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0
