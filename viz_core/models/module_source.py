"""Any ``nn.Module`` as a model source (:func:`from_module`), and the registry of wrapped
user models that run configurations name (``RunConfig(model=NAME)``).

The user's network is wrapped, never changed: its train/eval flag, ``requires_grad``,
device and hooks stay as they are (layer outputs come from a shadow copy of the module
tree, see :mod:`viz_core.models.loaded`); a run on another device runs a copy
(:func:`on_device`). Layers are the names ``net.named_modules()`` gives, plus ``"logits"``
(the network's output, the class scores of eq. 4).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import operator
import re
import threading
import weakref
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

__all__ = ["check_contract", "float32_note", "from_module", "input_error", "on_device",
           "other_channels", "register", "registered", "registered_names", "same_device",
           "size_hint", "train_mode_note", "unregister"]

_REGISTRY: dict[str, LoadedModel] = {}
_REGISTRY_LOCK = threading.Lock()
#: A model's copies on other devices (:func:`on_device`): model -> {device: (state, copy)}.
_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
        values = "value" if channels == 1 else "values"
        raise VizError(f"mean and std need {channels} {values} each (std > 0), got "
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


def other_channels(run: Callable[[torch.Tensor], object], channels: int, size: int,
                   device: torch.device, source: str) -> VizError | None:
    """After a network failed on ``channels``-channel input: the error to raise when it runs
    on the other count (1 or 3), saying which it takes; None when it fails there too (the
    failure is not about channels)."""
    other = 4 - channels if channels in (1, 3) else None
    if other is None:
        return None
    try:
        with torch.no_grad():
            run(torch.zeros(1, other, size, size, device=device))
    except Exception:  # noqa: BLE001 - not the channels, then
        return None
    return VizError(f"{source} takes {other}-channel inputs, not {channels}: set "
                    f"channels={other}", field="channels")


#: Input sizes tried when a network fails on the one it was given (:func:`size_hint`).
COMMON_SIZES = (28, 32, 64, 96, 128, 224, 256, 299)


def size_hint(run: Callable[[torch.Tensor], object], channels: int, size: int,
              device: torch.device) -> str:
    """After a network failed on ``size`` x ``size`` input: what to do, for its message. A
    common size it runs on (:data:`COMMON_SIZES`) is named (``set input_size=28``); else
    the size it was built for is asked for (``input_size=``: a flag or control).

    >>> size_hint(lambda x: x.view(1, 784), 1, 64, torch.device("cpu"))
    'the network does not take 64x64 inputs but runs on 28x28: set input_size=28'
    """
    for other in (s for s in COMMON_SIZES if s != size):
        try:
            with torch.no_grad():
                run(torch.zeros(1, channels, other, other, device=device))
        except Exception:  # noqa: BLE001 - not this size either
            continue
        return (f"the network does not take {size}x{size} inputs but runs on {other}x{other}: "
                f"set input_size={other}")
    return (f"if the network does not take {size}x{size} inputs, give the size it was built "
            "for (input_size=)")


def input_error(run: Callable[[torch.Tensor], object], channels: int, size: int,
                device: torch.device, source: str, failed: str) -> VizError:
    """The error to raise after a network ``run`` failed on its first (1, ``channels``,
    ``size``, ``size``) input (``failed``: what failed, and torch's words): the channel
    count it takes (:func:`other_channels`, named after ``source``), else ``failed`` with
    the input size to set (:func:`size_hint`)."""
    wrong = other_channels(run, channels, size, device, source)
    return wrong or VizError(f"{failed}; {size_hint(run, channels, size, device)}",
                             field="input_size")


def _probe(net: nn.Module, channels: int, size: int, device: torch.device,
           source: str) -> tuple[torch.Tensor, Callable | None]:
    """The logits of a zero image, through an eval-mode shadow (the network keeps its mode),
    and where they are in the network's output (:func:`logits_picker`)."""
    whole = _LayerOutput(_shadow(net).eval(), "logits", as_dict=True)  # as it is
    try:
        with torch.no_grad():
            raw = whole(torch.zeros(1, channels, size, size, device=device))
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise input_error(whole, channels, size, device, source, f"{source} fails on a "
                          f"(1, {channels}, {size}, {size}) input: {msg}") from None
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


def train_mode_note(net: nn.Module) -> str:
    """"" unless ``net`` is in train mode with layers that act otherwise in eval mode, which
    the wrapper runs it in (BatchNorm with running statistics, dropout): a note naming them
    for the model's label."""
    acts = []
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training
           and m.running_mean is not None for m in net.modules()):
        acts.append("BatchNorm running statistics")
    if any(isinstance(m, nn.modules.dropout._DropoutNd) and m.training and m.p > 0
           for m in net.modules()):
        acts.append("dropout off")
    return f"run in eval mode: {', '.join(acts)}" if acts else ""


def same_device(a: torch.device, b: torch.device) -> bool:
    """Whether ``a`` and ``b`` are one device (``cuda`` is the current CUDA device)."""
    def index(d: torch.device) -> int:
        if d.index is not None:
            return d.index
        return torch.cuda.current_device() if d.type == "cuda" else 0
    return a.type == b.type and index(a) == index(b)


def _state(net: nn.Module) -> tuple:
    """What a copy of ``net`` must follow: its tensors (and their in-place versions: an
    optimiser step, ``load_state_dict``), its modules' train flags and forward hooks."""
    tensors = tuple((id(t), t._version) for t in (*net.parameters(), *net.buffers()))
    modules = tuple((id(m), m.training, tuple(getattr(m, "_forward_hooks", {})),
                     tuple(getattr(m, "_forward_pre_hooks", {}))) for m in net.modules())
    return tensors, modules


def on_device(model: LoadedModel, device: torch.device) -> LoadedModel:
    """``model`` where it runs on ``device``, else a copy of it there, made once per device
    and remade when the network changes (weights, hooks, train flag); the user's module
    never moves. A :class:`VizError` when it cannot be copied (a model whose layers come
    from an exported program's graph: open the program on that device instead)."""
    if same_device(model.device, device):
        return model
    state = _state(model.net)
    key = str(device)
    with _REGISTRY_LOCK:
        made = _COPIES.get(model, {}).get(key)
        if made is not None and made[0] == state:
            return made[1]
    if model.extractor is not None:
        raise VizError(f"{model.spec.name} is on {model.device} and cannot be copied to "
                       f"{device} (its layers come from a program's graph): open it on "
                       f"{device} (models.open_model(FILE, device=...))", field="device")
    try:
        net = copy.deepcopy(model.net).to(device)
    except Exception as exc:  # noqa: BLE001 - torch's reason, said once
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VizError(f"{model.spec.name} cannot be copied from {model.device} to {device}: "
                       f"{msg}", field="device") from None
    moved = dataclasses.replace(model, net=net, device=device)
    with _REGISTRY_LOCK:
        _COPIES.setdefault(model, {})[key] = (state, moved)
    return moved


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
    if not same_device(dev, own):
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
    for said in (note, batch_statistics_note(net), train_mode_note(net)):
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
