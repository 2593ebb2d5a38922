"""``demons-viz models [NAME]``: the model zoo, weights status and layer catalogues;
``demons-viz models download NAME``: fetch a model's pretrained weights, explicitly
(:mod:`viz_core.models.downloads`)."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack

from viz_core import models
from viz_core.cli.common import progress_bar
from viz_core.cli.contract import add_contract_arguments, contract_of, given_contract, model_name
from viz_core.errors import VizError
from viz_core.models.downloads import MIRROR_ENV, download, weights_file

HELP = "list models, their weights status and layers"
DESCRIPTION = None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="show the layer catalogue and aliases of one model "
                   "(a zoo name, timm:NAME, a team's model, FILE.pt2 or "
                   "package.module:factory), or 'download'")
    p.add_argument("model", nargs="?", help="with 'download': the model whose weights to fetch "
                   "(vgg19, resnet50, ..., timm:NAME)")
    add_contract_arguments(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--mirror", help=f"base URL serving the same file names (default: "
                   f"${MIRROR_ENV}, else the upstream URL)")
    p.add_argument("--sha256", help="expected SHA-256 when the server announces none")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    given = given_contract(args)
    if given and args.name in (None, "download"):
        raise VizError(f"--{given[0].replace('_', '-')} states the input of one network "
                       "file or import string: give it with its name (`demons-viz models "
                       "FILE.pt2 --input-size 64`)", field=given[0])
    if args.name == "download":
        return _download(args)
    if args.model:
        raise VizError(f"unexpected argument {args.model!r} (did you mean `demons-viz models "
                       f"download {args.model}`?)", field="model")
    if args.name:
        _show_one(model_name(args.name), args.json, contract_of(args.name, args))
        return 0
    rows = [{"name": s.name, "family": s.family, "input_size": s.input_size,
             "channels": s.channels, "weights": models.weights_status(s.name),
             "paper": s.paper, "default_layer": s.default_layer}
            for s in models.available_models()]
    teams, team_error = models.team_models_or_error()
    if team_error is not None:  # the zoo is listed all the same
        print(f"warning: the team's models are not listed: {team_error}", file=sys.stderr)
    for t in teams.values():  # the team's own models (demons-viz.toml)
        rows.append({"name": t.name, "family": "team", "input_size": t.input_size,
                     "channels": t.channels, "weights": "own", "paper": False,
                     "default_layer": "logits", "source": t.source})
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'model':22} {'family':12} {'input':>9}  {'weights':16} default layer")
    for r in rows:
        size = (f"{r['channels'] or '?'}x{r['input_size'] or '?'}"
                if r["input_size"] or r["channels"] else "-")
        star = " (paper)" if r["paper"] else ""
        print(f"{r['name']:22} {r['family']:12} {size:>9}  {r['weights']:16} "
              f"{r['default_layer']}{star}")
    print("layers of one model: demons-viz models NAME")
    return 0


def _show_one(name: str, as_json: bool, contract: dict | None = None) -> None:
    """The layers and aliases of one model; ``contract``: a network file's or an import
    string's input (the contract flags, :func:`viz_core.cli.contract.contract_of`)."""
    zoo = name in {s.name for s in models.available_models()} or name.startswith("timm:")
    # a zoo model without its weights still shows its layers; one's own network as it is
    lm = models.open_model(name, weights="random" if zoo else None, **(contract or {}))
    info = {"name": lm.spec.name, "input_size": lm.spec.input_size,
            "channels": lm.spec.channels, "default_layer": lm.spec.default_layer,
            "weights": _status(name), "layers": lm.layers,
            "aliases": lm.aliases}
    if as_json:
        print(json.dumps(info))
        return
    print(f"{lm.spec.name}: {lm.spec.description}")
    print(f"  input {lm.spec.channels}x{lm.spec.input_size}x{lm.spec.input_size}, "
          f"weights: {info['weights']}, default layer: {lm.spec.default_layer}")
    print("  layers:")
    for layer in lm.layers:
        print(f"    {layer}")
    if lm.aliases:
        print("  aliases (the paper's Keras names, or another name of a layer):")
        for a, t in lm.aliases.items():
            print(f"    {a} -> {t}")


def _status(name: str) -> str:
    if name in models.team_models_or_error()[0]:
        return "own (demons-viz.toml)"
    if name not in {s.name for s in models.available_models()} and \
            not name.startswith("timm:"):
        return "own"  # a file, an import string, a module wrapped in this process
    if name.startswith("timm:"):
        from viz_core.models.timm_source import timm_cached_weights

        return "cached" if timm_cached_weights(name[len("timm:"):]) else "download needed"
    return models.weights_status(name)


def _download(args: argparse.Namespace) -> int:
    if not args.model:
        raise VizError("usage: demons-viz models download NAME", field="model")
    wf = weights_file(args.model)
    with ExitStack() as stack:
        bars = []

        def progress(done: int, total: int | None) -> None:
            if not bars:  # opened once bytes flow: an offline error stays one line
                bars.append(stack.enter_context(
                    progress_bar(total or 0, wf.dest.name, args.quiet, unit="B")))
                bars[0].unit_scale = True
            bar = bars[0]
            if total is not None and bar.total != total:
                bar.total = total
            bar.n = done
            bar.refresh()

        path = download(wf, mirror=args.mirror, sha256=args.sha256, progress=progress)
    print(json.dumps({"model": args.model, "path": str(path), "bytes": path.stat().st_size}))
    return 0
