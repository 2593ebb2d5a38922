"""Any ``nn.Module`` as a model source (:func:`from_module`), and the registry of wrapped
user models that run configurations name (``RunConfig(model=NAME)``).

The user's network is wrapped, never changed: its train/eval flag, ``requires_grad``,
device and hooks stay as they are (layer outputs come from a shadow copy of the module
tree, see :mod:`viz_core.models.loaded`). Layers are the names ``net.named_modules()``
gives, plus ``"logits"`` (the network's output, the class scores of eq. 4).
"""

from __future__ import annotations

import copy
import math
import operator
import re
import threading
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from viz_core.devices import resolve_device
from viz_core.errors import VizError
from viz_core.models.loaded import (
    LoadedModel,
    TokenGrid,
    _LayerOutput,
    _shadow,
)
from viz_core.zoo import ModelSpec, is_zoo_name

__all__ = ["check_contract", "float32_note", "from_module", "register", "registered",
           "registered_names", "unregister"]

_REGISTRY: dict[str, LoadedModel] = {}
_REGISTRY_LOCK = threading.Lock()


def check_contract(input_size: int, channels: int, mean: Sequence[float] | None,
                   std: Sequence[float] | None) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Validate a network's input contract; returns (mean, std) with the default identity
    normalisation (mean 0, std 1: the network takes pixels in [0, 1])."""
    if isinstance(input_size, bool) or not isinstance(input_size, int) \
            or not 8 <= input_size <= 2048:
        raise VizError(f"input_size must be an integer in [8, 2048], got {input_size!r}",
                       field="input_size")
    if channels not in (1, 3):
        raise VizError(f"channels must be 1 or 3, got {channels!r}", field="channels")
    try:
        mean = tuple(float(v) for v in (mean if mean is not None else (0.0,) * channels))
        std = tuple(float(v) for v in (std if std is not None else (1.0,) * channels))
    except (TypeError, ValueError):
        raise VizError("mean and std must be numbers", field="mean") from None
    if len(mean) == 1 and channels == 3:
        mean = mean * 3
    if len(std) == 1 and channels == 3:
        std = std * 3
    if not all(math.isfinite(v) for v in (*mean, *std)):
        raise VizError(f"mean and std must be finite numbers, got {list(mean)} and "
                       f"{list(std)}", field="mean")
    if len(mean) != channels or len(std) != channels or min(std) <= 0:
        raise VizError(f"mean and std need {channels} values each (std > 0), got "
                       f"{list(mean)} and {list(std)}", field="mean")
    return mean, std


def class_name_list(classes: Sequence[str] | None, n: int, source: str) -> list[str]:
    names = list(classes) if classes else [f"class {i}" for i in range(n)]
    if len(names) != n:
        raise VizError(f"{len(names)} class names given but {source} outputs {n} logits",
                       field="classes")
    return [str(c) for c in names]


def logits_picker(out: object, source: str) -> Callable | None:
    """How to find the logits (the class scores of eq. 4) in a network's output ``out``:
    None for a tensor (the output is the logits); for a mapping, its ``"logits"`` entry, or
    its only tensor; for a tuple or list (e.g. torchvision's GoogLeNet outputs), its first
    element. A :class:`VizError` naming what was found otherwise.

    >>> logits_picker({"feat": 1, "logits": torch.ones(1, 3)}, "net")({"logits": 7})
    7
    >>> logits_picker((torch.ones(1, 3), torch.ones(1, 5)), "net")((1, 2))
    1
    """
    if isinstance(out, torch.Tensor):
        return None
    if isinstance(out, Mapping):
        tensors = [k for k, v in out.items() if isinstance(v, torch.Tensor)]
        if "logits" in out:
            return operator.itemgetter("logits")
        if len(tensors) == 1:
            return operator.itemgetter(tensors[0])
        raise VizError(f"{source} returns a dict with keys {', '.join(map(repr, out))}: name "
                       "the class scores 'logits' (or return them alone)", field="model")
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return operator.itemgetter(0)
    raise VizError(f"{source} returns {type(out).__name__}, not logits: return the class "
                   "scores as a tensor (N, classes), a dict with 'logits', or a tuple whose "
                   "first element they are", field="model")


def _probe(net: nn.Module, channels: int, size: int, device: torch.device,
           source: str) -> tuple[torch.Tensor, Callable | None]:
    """The logits of a zero image, through an eval-mode shadow (the network keeps its mode),
    and where they are in the network's output (:func:`logits_picker`)."""
    try:
        with torch.no_grad():
            whole = _LayerOutput(_shadow(net).eval(), "logits", as_dict=True)  # as it is
            raw = whole(torch.zeros(1, channels, size, size, device=device))
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VizError(f"{source} fails on a (1, {channels}, {size}, {size}) input: {msg}",
                       field="input_size") from None
    pick = logits_picker(raw, source)
    out = raw if pick is None else pick(raw)
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise VizError(f"{source} must return logits of shape (N, classes), got {shape}",
                       field="model")
    return out, pick


def _float32(net: nn.Module, source: str) -> tuple[nn.Module, str]:
    """``net``, or a float32 copy of it when its weights are of another floating type
    (float64, float16, bfloat16): pre-images are float32 images in [0, 1]; the user's
    network is not changed. Returns the network and a note for its label."""
    note = float32_note(net)
    return (copy.deepcopy(net).float(), note) if note else (net, "")


def float32_note(net: nn.Module) -> str:
    """"" when ``net``'s floating weights are float32, else a note naming their types."""
    kinds = {t.dtype for t in [*net.parameters(), *net.buffers()] if t.is_floating_point()}
    if not kinds or kinds == {torch.float32}:
        return ""
    names = ", ".join(sorted(str(k).removeprefix("torch.") for k in kinds))
    return f"run in float32, its weights are {names}"


def batch_statistics_note(net: nn.Module) -> str:
    """"" unless a normalisation layer of ``net`` uses the statistics of its batch in eval
    mode (BatchNorm with ``track_running_stats=False``): then the samples of one batch
    change each other, and a note says so for the model's label."""
    coupled = [n for n, m in net.named_modules()
               if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is None]
    if not coupled:
        return ""
    return (f"batch statistics in {coupled[0]}: the samples of one batch change each other; "
            "run them one at a time to compare")


def from_module(net: nn.Module, *, input_size: int, channels: int = 3,
                mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                classes: Sequence[str] | None = None, name: str | None = None,
                device: str | torch.device | None = None, pretrained: bool = True,
                tokens: TokenGrid | None = None, layers: Sequence[str] | None = None,
                default_layer: str = "logits", description: str = "", label: str = "",
                keep: bool = True) -> LoadedModel:
    """Wrap any classifier ``net`` (input -> logits) as a :class:`LoadedModel`, without
    changing it, and register it under ``name`` so that ``RunConfig(model=name)`` runs it.

    ``mean``/``std``: the network's input normalisation (default: none, the network takes
    pixels in [0, 1]); ``classes``: names of its logits; ``device``: where to run (default:
    where its parameters are; another device runs a copy). Layers: ``named_modules()``
    names and ``"logits"`` (``layers`` gives a shorter catalogue; every module name still
    resolves). ``keep=False`` leaves the wrapper unregistered.
    """
    if not isinstance(net, nn.Module):
        raise VizError(f"from_module needs a torch.nn.Module, got {type(net).__name__}",
                       field="model")
    mean, std = check_contract(input_size, channels, mean, std)
    param = next(iter(net.parameters()), None)
    own = param.device if param is not None else torch.device("cpu")
    dev = own if device is None else resolve_device(device)
    if dev != own:
        net = copy.deepcopy(net).to(dev)  # the user's network stays where it is
    name = name or re.sub(r"[^A-Za-z0-9_.-]", "_", type(net).__name__)
    source = f"{name} ({type(net).__name__})"
    net, note = _float32(net, source)
    out, pick = _probe(net, channels, input_size, dev, source)
    spec = ModelSpec(name, "user", input_size, channels, mean, std, default_layer,
                     description or f"user network {type(net).__name__}", False, input_size)
    catalogue = list(layers) if layers is not None else [
        n for n, _ in net.named_modules() if n]
    label = label or (name if pretrained else f"{name} (RANDOM weights)")
    for said in (note, batch_statistics_note(net)):
        if said:
            label = f"{label} ({said})"
    lm = LoadedModel(spec, net, class_name_list(classes, int(out.shape[1]), source),
                     catalogue + ["logits"], {}, pretrained, label, dev, tokens=tokens,
                     logits_of=pick)
    return register(lm) if keep else lm


def register(model: LoadedModel) -> LoadedModel:
    """Make ``model`` runnable by name (``RunConfig(model=model.spec.name)``); a zoo name
    cannot be taken."""
    name = model.spec.name
    if is_zoo_name(name):
        raise VizError(f"{name!r} is a zoo model; give your network another name",
                       field="model")
    with _REGISTRY_LOCK:
        _REGISTRY[name] = model
    return model


def registered(name: str) -> LoadedModel | None:
    """The wrapped model registered under ``name``, or None."""
    with _REGISTRY_LOCK:
        return _REGISTRY.get(name)


def registered_names() -> list[str]:
    """The names of the networks wrapped with :func:`from_module` in this process."""
    with _REGISTRY_LOCK:
        return list(_REGISTRY)


def unregister(name: str) -> None:
    """Forget a registered model (tests, long-lived sessions)."""
    with _REGISTRY_LOCK:
        _REGISTRY.pop(name, None)
