"""The zoo as a model source: offline Fashion-MNIST networks and torchvision ImageNet
networks by name, pretrained, random or from a user's state_dict file (the entries
themselves are in :mod:`viz_core.zoo`)."""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import torch
from torch import nn

from viz_core.devices import resolve_device
from viz_core.errors import VizError
from viz_core.models.loaded import LoadedModel
from viz_core.zoo import (
    ModelSpec,
    build_net,
    build_torchvision,
    class_names,
    get_spec,
    layer_catalogue,
    offline_weights_path,
    torch_hub_checkpoint,
    weights_enum_of,
)

__all__ = ["load_model", "read_state_dict", "load_state"]

_FAMILY_LABEL = {"offline": "Fashion-MNIST weights", "torchvision": "ImageNet weights"}


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A state_dict read with ``weights_only=True``: a pickle that would run code is refused."""
    p = Path(path)
    if not p.is_file():
        raise VizError(f"weights file {p} does not exist", field="weights")
    with open(p, "rb") as fh:  # torch.save writes a zip (legacy: a pickle, protocol >= 2)
        magic = fh.read(4)
    if not (magic.startswith(b"PK") or magic[:1] == b"\x80"):
        raise VizError(f"cannot read weights file {p}: it is not a file written by "
                       f"torch.save (of a state_dict)", field="weights")
    try:
        with warnings.catch_warnings():  # torch.load's notice on a TorchScript archive
            warnings.simplefilter("ignore")
            obj = torch.load(p, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        raise VizError(f"refused to load {p}: it is not a plain state_dict (the safe "
                       f"weights-only loader rejected it: {str(exc).splitlines()[0]})",
                       field="weights") from exc
    except Exception as exc:  # a damaged file: torch.load's own first line, with its kind
        if "TorchScript" in str(exc):
            raise VizError(f"{p} is a TorchScript model, not a state_dict: give it as the "
                           "model (model=), not as its weights (weights=)",
                           field="weights") from None
        line = (str(exc).strip().splitlines() or [""])[0]
        raise VizError(f"cannot read weights file {p} ({type(exc).__name__}: {line})",
                       field="weights") from exc
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise VizError(f"{p} does not hold a state_dict (a dict of tensors)", field="weights")
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def load_state(net: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``net``; a VizError naming missing / unexpected keys otherwise."""
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        def few(keys: list[str]) -> str:
            return ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")

        raise VizError(f"{source} does not match the architecture: missing keys "
                       f"[{few(missing)}]; unexpected keys [{few(unexpected)}]", field="weights")
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise VizError(f"{source} does not match the architecture: {exc}",
                       field="weights") from exc


def _missing_checkpoint_error(name: str) -> VizError:
    path, url = torch_hub_checkpoint(name)
    return VizError(
        f"pretrained weights for {name} are not available offline. Download {url} and put "
        f"it at {path} (the torch hub cache, $TORCH_HOME/hub/checkpoints), or pass "
        "allow_download=True, or use weights='random'. The command `demons-viz models "
        f"download {name}` fetches it.", field="weights")


def load_model(name: str, weights: str | os.PathLike | None = None,
               device: str | torch.device = "cpu", seed: int = 0,
               allow_download: bool = False) -> LoadedModel:
    """Build a zoo model.

    ``weights``: None/"default" = pretrained (offline models from assets/, torchvision models
    from the torch hub cache; downloading only with ``allow_download``), "random" = random
    init with ``seed``, or a path to a state_dict file (loaded with ``weights_only=True``).
    """
    spec = get_spec(name)
    device = resolve_device(device)
    mode = "file"
    if weights in (None, "default", "random"):
        mode = weights or "default"
    if mode == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = build_net(spec)
        label, pretrained = f"{name} (RANDOM weights, seed {seed})", False
    elif mode == "file":
        state = read_state_dict(weights)
        aux = spec.name == "googlenet" and any(k.startswith("aux1.") for k in state)
        with torch.random.fork_rng(devices=[]):
            net = build_net(spec, aux=aux)
        load_state(net, state, str(weights))
        if aux:
            net.aux_logits, net.aux1, net.aux2 = False, None, None
        label, pretrained = f"{name} (weights from {Path(weights).name})", True
    elif spec.family == "offline":
        path = offline_weights_path(name)
        if not path.is_file():
            raise VizError(f"offline weights {path} are missing; train them with "
                           f"`python scripts/train_offline.py --model {name}`", field="weights")
        net = build_net(spec)
        load_state(net, read_state_dict(path), str(path))
        label, pretrained = f"{name} ({_FAMILY_LABEL['offline']})", True
    else:
        path, _ = torch_hub_checkpoint(name)
        if not path.is_file() and not allow_download:
            raise _missing_checkpoint_error(name)
        try:
            net = build_torchvision(spec, weights=weights_enum_of(spec))
        except Exception as exc:
            raise VizError(f"loading pretrained weights for {name} from {path} failed: {exc}",
                           field="weights") from exc
        label, pretrained = f"{name} ({_FAMILY_LABEL['torchvision']})", True
    return _finish(spec, net, label, pretrained, device)


def _finish(spec: ModelSpec, net: nn.Module, label: str, pretrained: bool,
            device: torch.device) -> LoadedModel:
    net = net.to(device).eval().requires_grad_(False)
    if device.type == "cpu":  # oneDNN's channels-last convolutions: 10-20 % faster per step
        net = net.to(memory_format=torch.channels_last)
    layers, aliases = layer_catalogue(spec, net)
    return LoadedModel(spec, net, class_names(spec), layers, aliases, pretrained, label, device)
