"""A loaded network and its layer outputs: :class:`LoadedModel`, shared by every source.

Every model source (:mod:`viz_core.models`: the zoo, ``from_module``, exported programs,
import strings, TorchScript, timm) returns a :class:`LoadedModel`: an eval-mode network that
takes *normalised* input, plus its preprocessing, class names, a catalogue of layers worth
visualising (the feature maps ``Phi`` of eqs. 1-4) and the paper's (keras) layer names as
aliases.

A loaded model is shared read-only between threads and sessions. Layer outputs are taken
with ``torchvision``'s fx feature extractor built on a *shadow* copy of the module tree
(same parameter tensors, separate module objects), so nothing here ever registers hooks on
the shared network, switches its train/eval mode or touches ``requires_grad``. A network
that fx cannot trace (data-dependent control flow), or whose user put forward hooks on it
(an ablation, say: they act in the shadow too), has its module outputs taken by forward
hooks on the shadow instead.
"""

from __future__ import annotations

import copy
import difflib
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

from viz_core.errors import VizError
from viz_core.zoo import ModelSpec

__all__ = ["LoadedModel", "TokenGrid"]


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


# ----------------------------------------------------------------------------- feature modules

def _shadow(module: nn.Module, hooks: bool = False) -> nn.Module:
    """A copy of the module tree that shares parameters and buffers but not module objects
    (own train/eval flags, own hook dicts), so tracing it cannot disturb the original;
    ``hooks``: the hook dicts start as copies of the original's (the user's forward hooks,
    an ablation say, then act in the copy too), else empty."""
    clone = copy.copy(module)
    for key, value in list(clone.__dict__.items()):
        if "hook" in key and isinstance(value, dict):
            clone.__dict__[key] = type(value)(value) if hooks else type(value)()
    clone.__dict__["_modules"] = {
        k: (_shadow(v, hooks) if v is not None else None) for k, v in module._modules.items()
    }
    return clone


def has_forward_hooks(net: nn.Module) -> bool:
    """Whether a module of ``net`` carries forward hooks or pre-hooks of its user's."""
    return any(getattr(m, "_forward_hooks", None) or getattr(m, "_forward_pre_hooks", None)
               for m in net.modules())


def clone_outputs(gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
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


@dataclass(frozen=True)
class TokenGrid:
    """How a transformer's token sequence (N, L, C) maps to a feature map (N, C, h, w): the
    first ``prefix`` tokens (class / register tokens) are dropped, the rest form an h x w
    grid, so that its channels are visualised like a CNN's (eq. 4)."""

    prefix: int
    height: int
    width: int

    def __call__(self, out: torch.Tensor) -> torch.Tensor:
        if out.ndim != 3 or out.shape[1] != self.prefix + self.height * self.width:
            return out
        grid = out[:, self.prefix:]
        return grid.transpose(1, 2).reshape(out.shape[0], out.shape[2], self.height, self.width)


class _Hooked(nn.Module):
    """Module outputs taken by forward hooks on a shadow copy, for networks that fx cannot
    trace: runs the whole forward pass and returns ``{name: output}``. Thread-safe: each
    thread collects its outputs in its own dict."""

    def __init__(self, shadow: nn.Module, names: list[str], model_name: str,
                 pick: Callable | None = None) -> None:
        super().__init__()
        object.__setattr__(self, "_pick", pick)
        self.shadow = shadow
        self.names = names
        self.model_name = model_name
        self._seen = threading.local()
        modules = dict(shadow.named_modules())
        for name in names:
            if name == "logits":
                continue
            modules[name].register_forward_hook(self._keeper(name))

    def _keeper(self, name: str) -> Callable:
        def keep(module, inputs, output):
            store = getattr(self._seen, "outputs", None)
            if store is not None and isinstance(output, torch.Tensor):
                store[name] = output.clone()  # later in-place ops cannot change it
        return keep

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self._seen.outputs = {}
        try:
            out = self.shadow(x)
            seen = self._seen.outputs
        finally:
            self._seen.outputs = None
        if "logits" in self.names:
            seen["logits"] = out if self._pick is None else self._pick(out)
        missing = [n for n in self.names if n not in seen]
        if missing:
            raise VizError(f"layer {missing[0]!r} of {self.model_name} is not reached by the "
                           "forward pass (or does not return a tensor) and cannot be "
                           "visualised", field="layer")
        return {n: seen[n] for n in self.names}


class _LayerOutput(nn.Module):
    """Normalised input -> one layer's output tensor (or a dict of them). Always in eval mode."""

    def __init__(self, body: nn.Module | None, layer: str, script: nn.Module | None = None,
                 as_dict: bool = False, post: Callable | None = None,
                 pick: Callable | None = None):
        super().__init__()
        self.body = body
        self.layer = layer
        self.as_dict = as_dict
        object.__setattr__(self, "_script", script)  # not registered: never moved or re-moded
        object.__setattr__(self, "_post", post)
        object.__setattr__(self, "_pick", pick)  # the whole network's output -> its logits

    def forward(self, x: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        if self._script is not None:
            out = self._script(x)
            return {"logits": out} if self.as_dict else out
        out = self.body(x)
        if self._pick is not None:
            return self._pick(out)
        if self._post is not None and isinstance(out, dict):
            out = {k: (v if k == "logits" else self._post(v)) for k, v in out.items()}
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


#: ``names -> module`` mapping normalised input to ``{name: output}``: a source's own way
#: to reach inner layers (an exported program's graph), replacing fx on the module tree.
Extractor = Callable[[list[str]], nn.Module]


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
    extractor: Extractor | None = field(default=None, repr=False)
    tokens: TokenGrid | None = field(default=None, repr=False)
    #: The logits in a network's output that is not one tensor (a dict, a tuple); None:
    #: the output is the logits (:func:`viz_core.models.module_source.logits_picker`).
    logits_of: Callable | None = field(default=None, repr=False)
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
        if not self.is_script and self.extractor is None and key and not key.startswith("_"):
            modules = dict(self.net.named_modules())
            if key in modules:
                return key
        if self.is_script:
            raise VizError(f"TorchScript models only support the layer 'logits' (asked for "
                           f"{name!r}); export the network with torch.export (a .pt2 file) to "
                           "reach its inner layers", field="layer")
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
            elif name == "logits" and self.extractor is None:
                module = _LayerOutput(_shadow(self.net, hooks=True).eval(), name,
                                      pick=self.logits_of)
            else:
                module = _LayerOutput(self._extractor([name]), name, post=self.tokens)
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
            return _LayerOutput(self._extractor(names), ",".join(names), as_dict=True,
                                post=self.tokens).eval()

    def _extractor(self, names: list[str]) -> nn.Module:
        if self.extractor is not None:
            return self.extractor(names)
        if self.logits_of is not None:  # the output is a dict / tuple, not fx's last node
            return self._hooked(names)
        if has_forward_hooks(self.net):  # the user's hooks act in every forward pass (fx
            return self._hooked(names)   # would leave those of inlined modules out)
        try:
            nodes = self._graph_nodes()
        except Exception:  # fx cannot trace it (data-dependent control flow, ...): hooks
            return self._hooked(names)
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
        except Exception:  # fx tracing problems on exotic modules: hooks reach module outputs
            return self._hooked(names)
        return clone_outputs(gm)

    def _hooked(self, names: list[str]) -> nn.Module:
        modules = dict(self.net.named_modules())
        for name in names:
            if name != "logits" and name not in modules:
                raise VizError(f"layer {name!r} of {self.spec.name} cannot be reached: the "
                               "network cannot be traced, and only module outputs (names from "
                               "named_modules()) and 'logits' can be taken", field="layer")
        return _Hooked(_shadow(self.net, hooks=True).eval(), names, self.spec.name,
                       self.logits_of)

    def layer_channels(self, name: str) -> int:
        """Channel count of a layer's output (number of classes for "logits")."""
        layer = self.resolve_layer(name)
        if layer not in self._channels:
            module = self.features(layer)
            size = self.spec.input_size if self.is_script else self.spec.probe_size
            x = torch.zeros(1, self.spec.channels, size, size, device=self.device)
            with torch.no_grad():
                out = module(x)
            if layer != "logits" and out.ndim not in (2, 4):
                raise VizError(f"layer {layer!r} of {self.spec.name} gives an output of shape "
                               f"{tuple(out.shape)}, not (N, C) or (N, C, h, w): it cannot be "
                               "visualised as channels", field="layer")
            with self._lock:
                self._channels[layer] = int(out.shape[1])
        return self._channels[layer]
