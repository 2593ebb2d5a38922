"""The input contract of one's own network on the command line (``visualize``, ``sweep``,
``metrics``, ``models``): ``--input-size``, ``--channels``, ``--mean``, ``--std`` and
``--classes`` state what a network file or an import string cannot say by itself (the
image size and normalisation the data term, eqs. 1-4, feeds it). One definition of the flags
and of how they are read; zoo, team and timm models refuse the ones they know themselves."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from viz_core.cli.common import int_arg
from viz_core.config import CONTRACT_KEYS
from viz_core.errors import VizError

#: The contract flags' dests, as :func:`viz_core.models.open_model` names its arguments.
CONTRACT_FLAGS = CONTRACT_KEYS


def add_contract_arguments(p: argparse.ArgumentParser) -> None:
    """``--input-size``, ``--channels``, ``--mean``, ``--std``, ``--classes``."""
    p.add_argument("--input-size", type=int_arg, help="input size of a file or import-string "
                   "model (default: the size a .pt2 program was exported with, else 224; a "
                   "timm: model uses its own and refuses this flag)")
    p.add_argument("--channels", type=int_arg, help="input channels of a file or "
                   "import-string model (1 or 3; default: a .pt2 program's own, else 3)")
    p.add_argument("--mean", help="input normalisation mean per channel, e.g. 0.485,0.456,0.406"
                   " (default: none, the network takes pixels in [0, 1])")
    p.add_argument("--std", help="input normalisation std per channel (default: 1)")
    p.add_argument("--classes", help="text file with one class name per line")


def given_contract(args: argparse.Namespace) -> list[str]:
    """The contract flags given on the command line (their dests)."""
    return [k for k in CONTRACT_FLAGS if getattr(args, k, None) is not None]


def contract_of(model: str, args: argparse.Namespace) -> dict[str, Any]:
    """The contract the flags give for ``model``, read (numbers, the class names of the
    ``--classes`` file) as :func:`viz_core.models.open_model` and ``RunConfig.extra`` take
    it; VizError naming the flag where ``model`` has its own
    (:func:`viz_core.models.contract_not_applying`: they were stored and ignored)."""
    from viz_core.models import contract_not_applying, contract_why

    refused = [k for k in contract_not_applying(model) if getattr(args, k, None) is not None]
    if refused:
        flag = "--" + refused[0].replace("_", "-")
        why = contract_why(model).replace("the setting is", "the flag is")
        raise VizError(f"{flag} does not apply to {model}: {why}", field=refused[0])
    out: dict[str, Any] = {k: getattr(args, k) for k in ("input_size", "channels")
                           if getattr(args, k, None) is not None}
    for k in ("mean", "std"):
        if getattr(args, k, None) is not None:
            out[k] = _numbers(getattr(args, k), k)
    if getattr(args, "classes", None) is not None:
        from viz_core.models.file_source import read_class_names

        out["classes"] = read_class_names(args.classes)
    return out


def model_name(name: str) -> str:
    """A ``--model``: an existing network file by its absolute path (what a run JSON and the
    history record, so a replay from another folder finds it), anything else as given."""
    return str(Path(name).resolve()) if name and Path(name).is_file() else name


def _numbers(text: str, flag: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise VizError(f"--{flag} must be numbers separated by commas, got {text!r}",
                       field=flag) from None


def zoo_only(name: str, command: str, allowed: list[str], field: str = "model") -> None:
    """Refuse one's own network (a file, an import string, a timm or team model) where
    ``command`` takes zoo models only, naming them (``allowed``); an unknown plain name
    passes, for the zoo's own message (a typo: "did you mean ...")."""
    from viz_core.models import is_file_model, is_zoo_name, team_models_or_error
    from viz_core.models.file_source import IMPORT_STRING

    if is_zoo_name(name):
        return
    what = ("a network file" if is_file_model(name) or Path(name).exists() else
            "a timm model" if name.startswith("timm:") else
            "an import string" if IMPORT_STRING.match(name) else
            "a team model (demons-viz.toml)" if name in team_models_or_error()[0] else None)
    if what is None:
        return
    raise VizError(f"{command} takes zoo models ({', '.join(allowed)}), not {what} "
                   f"({name!r}); your own network runs in visualize, metrics and sweep "
                   "(--model)", field=field)
