"""The model zoo: torchvision ImageNet networks, offline Fashion-MNIST networks, user models.

The entries themselves (specs, weights locations, layer catalogues, builders) are in
:mod:`viz_core.zoo`; this module loads them and re-exports its public names.

Every model comes back as a :class:`LoadedModel`: an eval-mode network with frozen
parameters that takes *normalised* input, plus its preprocessing, class names, a catalogue
of layers worth visualising, and the paper's (keras) layer names as aliases.

A loaded model is shared read-only between threads and sessions. Layer outputs are taken
with ``torchvision``'s fx feature extractor built on a *shadow* copy of the module tree
(same parameter tensors, separate module objects), so nothing here ever registers hooks on
the shared network, switches its train/eval mode or touches ``requires_grad``.
"""

from __future__ import annotations

import copy
import difflib
import os
import pickle
import re
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

from viz_core.devices import resolve_device
from viz_core.errors import VizError
from viz_core.zoo import (
    FMNIST_MEAN,
    FMNIST_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    ModelSpec,
    _build,
    _build_torchvision,
    _catalogue,
    _classes,
    _offline_weights_path,
    _weights_enum,
    assets_dir,
    available_models,
    get_spec,
    torch_hub_checkpoint,
    weights_status,
)

__all__ = [
    "FMNIST_MEAN",
    "FMNIST_STD",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "LoadedModel",
    "ModelSpec",
    "assets_dir",
    "available_models",
    "get_spec",
    "load_model",
    "load_torchscript",
    "torch_hub_checkpoint",
    "weights_status",
]


class _TraceLock:
    """Readers-writer lock between forward passes (readers) and fx traces (writer).

    fx tracing patches ``nn.Module.__call__`` for the whole process, so a forward pass in
    another thread (another dashboard session) during a trace would fail. Traces wait for
    running forwards to finish; new forwards wait while a trace is pending or running.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._waiting = 0

    @contextmanager
    def read(self):
        with self._cond:
            while self._writing or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self):
        with self._cond:
            self._waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


_TRACE_LOCK = _TraceLock()
_FAMILY_LABEL = {"offline": "Fashion-MNIST weights", "torchvision": "ImageNet weights"}


# ----------------------------------------------------------------------------- feature modules

def _shadow(module: nn.Module) -> nn.Module:
    """A copy of the module tree that shares parameters and buffers but not module objects
    (own train/eval flags, own hook dicts), so tracing it cannot disturb the original."""
    clone = copy.copy(module)
    for key, value in list(clone.__dict__.items()):
        if "hook" in key and isinstance(value, dict):
            clone.__dict__[key] = type(value)()
    clone.__dict__["_modules"] = {
        k: (_shadow(v) if v is not None else None) for k, v in module._modules.items()
    }
    return clone


def _clone_outputs(gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Return a copy of each requested value, taken right where it is produced, so that
    in-place ops later in the graph (``ReLU(inplace=True)`` after a BatchNorm, DenseNet's
    final in-place ``F.relu``) cannot change it."""
    graph = gm.graph
    output = next(n for n in graph.nodes if n.op == "output")
    outs = dict(output.args[0])
    for key, node in outs.items():
        with graph.inserting_after(node):
            outs[key] = graph.call_method("clone", (node,))
    output.args = (outs,)
    graph.lint()
    gm.recompile()
    return gm


class _LayerOutput(nn.Module):
    """Normalised input -> one layer's output tensor (or a dict of them). Always in eval mode."""

    def __init__(self, body: nn.Module | None, layer: str, script: nn.Module | None = None,
                 as_dict: bool = False):
        super().__init__()
        self.body = body
        self.layer = layer
        self.as_dict = as_dict
        object.__setattr__(self, "_script", script)  # not registered: never moved or re-moded

    def forward(self, x: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        if self._script is not None:
            out = self._script(x)
            return {"logits": out} if self.as_dict else out
        out = self.body(x)
        if self.as_dict:
            return out
        return out[self.layer] if isinstance(out, dict) else out

    def __call__(self, *args, **kwargs):
        # Defined on the subclass so that fx's process-wide patch of nn.Module.__call__ (in a
        # trace running in another thread) cannot intercept it: no trace runs meanwhile.
        with _TRACE_LOCK.read():
            return super().__call__(*args, **kwargs)

    def train(self, mode: bool = True) -> _LayerOutput:  # eval-only by design
        return super().train(False)

    def extra_repr(self) -> str:
        return f"layer={self.layer!r}"


@dataclass(eq=False)
class LoadedModel:
    """A ready-to-use network (eval, frozen, on ``device``) taking NORMALISED input."""

    spec: ModelSpec
    net: nn.Module
    classes: list[str]
    layers: list[str]
    aliases: dict[str, str]
    pretrained: bool
    label: str
    device: torch.device
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _features: dict[str, nn.Module] = field(default_factory=dict, init=False, repr=False)
    _channels: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _nodes: list[str] | None = field(default=None, init=False, repr=False)
    _stats: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def is_script(self) -> bool:
        return isinstance(self.net, torch.jit.ScriptModule)

    def _mean_std(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = (x.device, x.dtype)
        if key not in self._stats:  # built once per device and dtype, not every step
            shape = (1, -1, 1, 1)
            self._stats[key] = (
                torch.tensor(self.spec.mean, dtype=x.dtype, device=x.device).view(shape),
                torch.tensor(self.spec.std, dtype=x.dtype, device=x.device).view(shape))
        return self._stats[key]

    def normalize(self, x01: torch.Tensor) -> torch.Tensor:
        """(x - mean) / std per channel, for x in [0, 1] of shape (N, C, H, W)."""
        mean, std = self._mean_std(x01)
        return (x01 - mean) / std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`normalize`."""
        mean, std = self._mean_std(x)
        return x * std + mean

    def _graph_nodes(self) -> list[str]:
        if self._nodes is None:
            with _TRACE_LOCK.write():
                self._nodes = get_graph_node_names(_shadow(self.net).eval())[1]
        return self._nodes

    def resolve_layer(self, name: str) -> str:
        """Canonical dotted layer name for a catalogue name, alias, module name or "logits"."""
        key = str(name).strip()
        if key in ("logits", "output"):
            return "logits"
        if key in self.aliases:
            return self.aliases[key]
        if key in self.layers:
            return key
        if not self.is_script and key and not key.startswith("_"):
            modules = dict(self.net.named_modules())
            if key in modules:
                return key
        choices = self.layers + list(self.aliases)
        close = difflib.get_close_matches(key, choices, n=5, cutoff=0.5)
        hint = f" Close matches: {', '.join(close)}." if close else ""
        shown = ", ".join(self.layers[:12]) + (", ..." if len(self.layers) > 12 else "")
        raise VizError(f"unknown layer {name!r} for {self.spec.name}.{hint} "
                       f"Layers: {shown}", field="layer")

    def features(self, layer: str) -> nn.Module:
        """Module mapping normalised input to ``layer``'s output: (N, C, h, w), or (N, classes)
        for "logits". Cached; never modifies the shared network."""
        name = self.resolve_layer(layer)
        with self._lock:
            if name in self._features:
                return self._features[name]
            if self.is_script:
                if name != "logits":
                    raise VizError(f"TorchScript models only support the layer 'logits' "
                                   f"(asked for {layer!r})", field="layer")
                module = _LayerOutput(None, name, script=self.net)
            elif name == "logits":
                module = _LayerOutput(_shadow(self.net).eval(), name)
            else:
                module = _LayerOutput(self._extractor(name), name)
            self._features[name] = module.eval()
            return module

    def feature_dict(self, layers: Sequence[str]) -> nn.Module:
        """Module mapping normalised input to ``{layer: output}`` for several layers in one
        forward pass (keys are the canonical names). Not cached."""
        names = list(dict.fromkeys(self.resolve_layer(name) for name in layers))
        if not names:
            raise VizError("no layers given", field="layer")
        if self.is_script:
            if names != ["logits"]:
                raise VizError("TorchScript models only support the layer 'logits'",
                               field="layer")
            return _LayerOutput(None, "logits", script=self.net, as_dict=True)
        with self._lock:
            return _LayerOutput(self._extractor(names), ",".join(names), as_dict=True).eval()

    def _extractor(self, names: str | list[str]) -> nn.Module:
        nodes = self._graph_nodes()
        names = [names] if isinstance(names, str) else names
        return_nodes = {}
        for name in names:
            if name == "logits":
                return_nodes[nodes[-1]] = name  # the node that produces the network's output
                continue
            if name not in nodes and not any(n.startswith(name + ".") for n in nodes):
                raise VizError(f"layer {name!r} of {self.spec.name} is not used in the forward "
                               "pass and cannot be visualised", field="layer")
            return_nodes[name] = name
        if len(set(return_nodes.values())) != len(names):
            raise VizError(f"layers {names} name the same output twice", field="layer")
        try:
            with _TRACE_LOCK.write():  # fx tracing patches module-level state
                gm = create_feature_extractor(_shadow(self.net).eval(), return_nodes=return_nodes)
        except Exception as exc:  # fx tracing problems on exotic modules
            raise VizError(f"cannot extract layer(s) {', '.join(names)} of {self.spec.name}: "
                           f"{exc}", field="layer") from exc
        return _clone_outputs(gm)

    def layer_channels(self, name: str) -> int:
        """Channel count of a layer's output (number of classes for "logits")."""
        layer = self.resolve_layer(name)
        if layer not in self._channels:
            module = self.features(layer)
            size = self.spec.input_size if self.is_script else self.spec.probe_size
            x = torch.zeros(1, self.spec.channels, size, size, device=self.device)
            with torch.no_grad():
                out = module(x)
            with self._lock:
                self._channels[layer] = int(out.shape[1])
        return self._channels[layer]


# ----------------------------------------------------------------------------- loading

def _read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    p = Path(path)
    if not p.is_file():
        raise VizError(f"weights file {p} does not exist", field="weights")
    try:
        obj = torch.load(p, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        raise VizError(f"refused to load {p}: it is not a plain state_dict (the safe "
                       f"weights-only loader rejected it: {str(exc).splitlines()[0]})",
                       field="weights") from exc
    except Exception as exc:
        raise VizError(f"cannot read weights file {p}: {exc}", field="weights") from exc
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise VizError(f"{p} does not hold a state_dict (a dict of tensors)", field="weights")
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def _load_state(net: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
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
        "allow_download=True, or use weights='random'.", field="weights")


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
            net = _build(spec)
        label, pretrained = f"{name} (RANDOM weights, seed {seed})", False
    elif mode == "file":
        state = _read_state_dict(weights)
        aux = spec.name == "googlenet" and any(k.startswith("aux1.") for k in state)
        with torch.random.fork_rng(devices=[]):
            net = _build(spec, aux=aux)
        _load_state(net, state, str(weights))
        if aux:
            net.aux_logits, net.aux1, net.aux2 = False, None, None
        label, pretrained = f"{name} (weights from {Path(weights).name})", True
    elif spec.family == "offline":
        path = _offline_weights_path(name)
        if not path.is_file():
            raise VizError(f"offline weights {path} are missing; train them with "
                           f"`python scripts/train_offline.py --model {name}`", field="weights")
        net = _build(spec)
        _load_state(net, _read_state_dict(path), str(path))
        label, pretrained = f"{name} ({_FAMILY_LABEL['offline']})", True
    else:
        path, _ = torch_hub_checkpoint(name)
        if not path.is_file() and not allow_download:
            raise _missing_checkpoint_error(name)
        try:
            net = _build_torchvision(spec, weights=_weights_enum(spec))
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
    layers, aliases = _catalogue(spec, net)
    return LoadedModel(spec, net, _classes(spec), layers, aliases, pretrained, label, device)


def load_torchscript(path: str | os.PathLike, input_size: int, channels: int = 3,
                     mean: tuple[float, ...] = IMAGENET_MEAN,
                     std: tuple[float, ...] = IMAGENET_STD, classes: list[str] | None = None,
                     device: str | torch.device = "cpu") -> LoadedModel:
    """Wrap a user TorchScript classifier (normalised input -> logits). Only the "logits"
    layer is available."""
    p = Path(path)
    if not p.is_file():
        raise VizError(f"TorchScript file {p} does not exist", field="weights")
    if not isinstance(input_size, int) or not 8 <= input_size <= 2048:
        raise VizError(f"input_size must be an integer in [8, 2048], got {input_size!r}",
                       field="input_size")
    if channels not in (1, 3):
        raise VizError(f"channels must be 1 or 3, got {channels!r}", field="channels")
    mean, std = tuple(float(v) for v in mean), tuple(float(v) for v in std)
    if len(mean) != channels or len(std) != channels or min(std) <= 0:
        raise VizError(f"mean and std need {channels} values each (std > 0)", field="mean")
    device = resolve_device(device)
    try:
        net = torch.jit.load(str(p), map_location=device)
    except Exception as exc:
        raise VizError(f"cannot load TorchScript model {p}: {exc}", field="weights") from exc
    net = net.eval()
    for param in net.parameters():
        param.requires_grad_(False)
    try:
        with torch.no_grad():
            out = net(torch.zeros(1, channels, input_size, input_size, device=device))
    except Exception as exc:
        raise VizError(f"TorchScript model {p} fails on a (1, {channels}, {input_size}, "
                       f"{input_size}) input: {exc}", field="input_size") from exc
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        raise VizError(f"TorchScript model {p} must return logits of shape (N, classes)",
                       field="weights")
    n = int(out.shape[1])
    classes = list(classes) if classes else [f"class {i}" for i in range(n)]
    if len(classes) != n:
        raise VizError(f"{len(classes)} class names given but the model outputs {n} logits",
                       field="classes")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", p.stem)
    spec = ModelSpec(name, "user", input_size, channels, mean, std, "logits",
                     f"user TorchScript model {p.name}", False, input_size)
    return LoadedModel(spec, net, classes, ["logits"], {}, True, f"{name} (TorchScript)", device)
