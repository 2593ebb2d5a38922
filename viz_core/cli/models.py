"""``demons-viz models [NAME]``: the model zoo, weights status and layer catalogues."""

from __future__ import annotations

import argparse
import json

from viz_core import models

HELP = "list models, their weights status and layers"
DESCRIPTION = None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="show the layer catalogue and aliases of one model")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    if args.name:
        _show_one(args.name, args.json)
        return 0
    rows = [{"name": s.name, "family": s.family, "input_size": s.input_size,
             "channels": s.channels, "weights": models.weights_status(s.name),
             "paper": s.paper, "default_layer": s.default_layer}
            for s in models.available_models()]
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'model':22} {'family':12} {'input':>9}  {'weights':16} default layer")
    for r in rows:
        size = f"{r['channels']}x{r['input_size']}"
        star = " (paper)" if r["paper"] else ""
        print(f"{r['name']:22} {r['family']:12} {size:>9}  {r['weights']:16} "
              f"{r['default_layer']}{star}")
    print("layers of one model: demons-viz models NAME")
    return 0


def _show_one(name: str, as_json: bool) -> None:
    lm = models.load_model(name, weights="random")
    info = {"name": lm.spec.name, "input_size": lm.spec.input_size,
            "channels": lm.spec.channels, "default_layer": lm.spec.default_layer,
            "weights": models.weights_status(name), "layers": lm.layers,
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
        print("  paper (keras) aliases:")
        for a, t in lm.aliases.items():
            print(f"    {a} -> {t}")
