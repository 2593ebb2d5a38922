"""Model sources: the zoo, any ``nn.Module``, exported programs, import strings, TorchScript
and timm, each returning a :class:`LoadedModel` (see :mod:`viz_core.models.loaded`).

=====================  =========================================  ==========================
source                 how a run names it (``RunConfig.model``)   module
=====================  =========================================  ==========================
zoo                    ``fmnist_vgg``, ``vgg19``, ...              ``zoo_source``
any module (Python)    the ``name`` given to :func:`from_module`  ``module_source``
exported program       ``FILE.pt2``                               ``file_source``
import string          ``package.module:factory``                 ``file_source``
TorchScript (legacy)   ``FILE.pt``                                ``file_source``
timm (extra)           ``timm:NAME``                              ``timm_source``
team list               a name in ``demons-viz.toml``              ``team``
=====================  =========================================  ==========================

A new source is one module here and one branch in :func:`open_model`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from viz_core.config import CONTRACT_KEYS
from viz_core.devices import resolve_device
from viz_core.errors import VizError
from viz_core.models.file_source import (
    IMPORT_STRING,
    load_exported,
    load_import_string,
    load_torchscript,
    with_weights,
)
from viz_core.models.loaded import LoadedModel, TokenGrid
from viz_core.models.module_source import (
    from_module,
    on_device,
    register,
    registered,
    registered_names,
    unregister,
)
from viz_core.models.team import TEAM_ENV, TeamModel, team_models, team_models_or_error
from viz_core.models.zoo_source import load_model, load_state, read_state_dict
from viz_core.zoo import (
    FMNIST_MEAN,
    FMNIST_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    ModelSpec,
    assets_dir,
    available_models,
    get_spec,
    is_zoo_name,
    torch_hub_checkpoint,
    weights_status,
)

__all__ = [
    "FMNIST_MEAN", "FMNIST_STD", "IMAGENET_MEAN", "IMAGENET_STD", "LoadedModel", "ModelSpec",
    "CONTRACT", "TEAM_ENV", "TIMM_OWN", "TeamModel", "contract_not_applying", "contract_why",
    "TokenGrid", "UPLOAD_PREFIX", "assets_dir", "available_models",
    "from_module", "get_spec", "is_file_model", "is_known_name", "team_models",
    "team_models_or_error", "with_weights",
    "load_exported", "load_import_string", "load_model", "load_state", "load_torchscript",
    "on_device", "open_model", "read_state_dict", "register", "registered", "torch_hub_checkpoint",
    "unregister", "weights_status",
]

#: How the dashboard names a program uploaded to it in the run JSONs it writes
#: (``upload:<hash>/<name>.pt2``): a name only that server can open.
UPLOAD_PREFIX = "upload:"

#: TorchScript file suffixes (legacy).
SCRIPT_SUFFIXES = (".pt", ".pth", ".ts", ".jit")


def is_file_model(name: str) -> bool:
    """Whether a model name is a file (an exported program or TorchScript)."""
    p = Path(name)
    return p.suffix in (".pt2", *SCRIPT_SUFFIXES) or p.is_file()


def _named(model: LoadedModel, name: str, source: str) -> LoadedModel:
    """``model`` under the name a team gave it (its label and spec say ``name``, its
    description where it comes from)."""
    import dataclasses

    old = model.spec.name
    label = (name + model.label[len(old):] if model.label.startswith(old)
             else f"{name} ({model.label})")
    about = model.spec.description
    if source not in about and Path(source).name not in about:
        about = f"{about} (from {source})"
    spec = dataclasses.replace(model.spec, name=name, description=about)
    return dataclasses.replace(model, spec=spec, label=label)


def is_known_name(name: str) -> bool:
    """Whether ``name`` names a model of the registries: the zoo, a network registered with
    :func:`from_module`, an entry of the team's list (a team file that cannot be read names
    none here; opening a team model reports it)."""
    return (is_zoo_name(name) or registered(name) is not None
            or name in team_models_or_error()[0])


#: A network's input contract (what a file or an import string cannot say by itself; a
#: run keeps it in ``RunConfig.extra``).
CONTRACT = CONTRACT_KEYS
#: The contract a ``timm:`` model takes from its own pretrained configuration.
TIMM_OWN = tuple(k for k in CONTRACT if k != "classes")


def contract_not_applying(name: str) -> tuple[str, ...]:
    """The contract settings that do not apply to the model ``name``: the input and
    normalisation for a timm model (its pretrained configuration has them; classes may be
    named), all of them for a zoo, team or registered model (it has its own), none for a
    network file or an import string (they state its input)."""
    if name.startswith("timm:"):
        return TIMM_OWN
    known = (registered(name) is not None or is_zoo_name(name)
             or name in team_models_or_error()[0])
    return CONTRACT if known else ()  # else a file, an import string or a bad name


def contract_why(name: str) -> str:
    """Why :func:`contract_not_applying` refuses a setting for ``name``."""
    if name.startswith("timm:"):
        return ("timm models use their own input size, channels and normalisation (from the "
                "model's pretrained configuration)")
    return ("a zoo or team model, or a network registered with from_module, has its own "
            f"input size, channels, normalisation and classes (`demons-viz models {name}` "
            "lists them); the setting is for a network file or an import string")


def open_model(name: str, *, weights: str | os.PathLike | None = None,
               device: str | torch.device | None = None, seed: int = 0,
               input_size: int | None = None, channels: int | None = None,
               mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
               classes: Sequence[str] | None = None) -> LoadedModel:
    """The model a run names, from whichever source the name points to (table above).
    ``input_size``/``channels``/``mean``/``std``/``classes``: the contract of a file or
    import-string model (a timm model knows its own). ``device``: default the CPU, and for
    a network registered with :func:`from_module` the device it is on; a registered network
    asked for on another device runs as a copy of it there (:func:`on_device`)."""
    name = str(name)
    given = {k: v for k, v in (("input_size", input_size), ("channels", channels),
                               ("mean", mean), ("std", std), ("classes", classes))
             if v is not None}
    refused = [k for k in given if k in contract_not_applying(name)]
    if refused:
        raise VizError(f"{refused[0]} does not apply to {name}: {contract_why(name)}",
                       field=refused[0])
    own = registered(name)
    if own is not None:
        dev = own.device if device is None else resolve_device(device)
        if weights in (None, "default"):
            return on_device(own, dev)
        return with_weights(own, weights, seed, device=dev)
    device = "cpu" if device is None else device
    teams, team_error = team_models_or_error()  # a broken list blocks its own names only
    team = teams.get(name)
    if team is not None:  # a team's model from demons-viz.toml: its contract is there
        team.importable()
        if team.weights and weights in (None, "default", "pretrained"):
            weights = team.weights  # the entry's state_dict: the network's own weights
        return _named(open_model(team.source, weights=weights, device=device, seed=seed,
                                 **team.contract()), team.name, team.source)
    if name.startswith(UPLOAD_PREFIX):
        raise VizError(f"model {name!r} is a program uploaded to a dashboard, known only to "
                       f"that server: give the file itself (model={Path(name).name!r} or "
                       "its path)", field="model")
    if Path(name).suffix == ".pt2":  # the program records its input shape
        return load_exported(name, input_size=input_size, channels=channels, mean=mean,
                             std=std, classes=classes, device=device, weights=weights,
                             seed=seed)
    if input_size is not None and input_size < 1:  # 0 is no size (it read as "default")
        raise VizError(f"input_size must be an integer in [8, 2048], got {input_size!r}",
                       field="input_size")
    contract = {"input_size": int(input_size or 224), "channels": int(channels or 3),
                "mean": mean, "std": std, "classes": classes, "device": device}
    if name.startswith("timm:"):
        from viz_core.models.timm_source import load_timm

        return load_timm(name[len("timm:"):], weights=weights, device=device, seed=seed,
                         classes=classes)
    if is_file_model(name):  # legacy defaults of the CLI: ImageNet, or 0.5 for grey
        if mean is None and std is None and contract["channels"] == 1:
            contract.update(mean=(0.5,), std=(0.5,))
        return load_torchscript(name, **contract, weights=weights, seed=seed)
    if IMPORT_STRING.match(name):
        return load_import_string(name, weights=weights, seed=seed, **contract)
    if ":" in name:
        raise VizError(f"model {name!r} is neither a zoo name, a file, timm:NAME nor an "
                       "import string package.module:factory", field="model")
    try:
        return load_model(name, weights=weights, device=device, seed=seed)
    except VizError as exc:
        own = registered_names() + [n for n in teams if n not in registered_names()]
        if not str(exc).startswith("unknown model") or not (own or team_error):
            raise
        why = (f" Your networks: {', '.join(own)}." if own else "") + (
            f" The team's model list cannot be read: {team_error}" if team_error else "")
        raise VizError(f"{exc}{why}", field="model") from None
