"""Model files and import strings as model sources.

* ``FILE.pt2``: a ``torch.export`` program (the recommended format). Inner layers are the
  module paths recorded in the graph (``nn_module_stack``), so a layer's output is the last
  graph value its module computes; the program is cut there, as fx does for modules.
  Export with a dynamic batch dimension to batch several configurations in one pass; a
  program exported for batch 1 runs the samples one at a time.
* ``package.module:factory``: imports ``factory`` and wraps the ``nn.Module`` it returns
  with :func:`viz_core.models.from_module`.
* ``FILE.pt`` (TorchScript): legacy, deprecated upstream by PyTorch; only ``logits``.

Every loader refuses pickles: ``.pt2`` archives and TorchScript files hold no pickled code,
and state_dicts are read with ``weights_only=True``.
"""

from __future__ import annotations

import copy
import importlib
import logging
import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from viz_core.devices import resolve_device
from viz_core.errors import VizError
from viz_core.models.loaded import LoadedModel
from viz_core.models.module_source import (
    check_contract,
    class_name_list,
    float32_note,
    from_module,
)
from viz_core.models.program_graph import (
    cut,
    input_shape,
    module_outputs,
    output_node,
    size_range,
    static_batch,
    training_ops,
)
from viz_core.models.reinit import reinitialise
from viz_core.models.zoo_source import load_state, read_state_dict
from viz_core.zoo import IMAGENET_MEAN, IMAGENET_STD, ModelSpec

__all__ = ["IMPORT_STRING", "load_exported", "load_import_string", "load_torchscript"]

#: ``package.module:factory`` (a callable returning an ``nn.Module``).
IMPORT_STRING = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Program(nn.Module):
    """A graph module behind a plain module: exported programs refuse ``train()``/``eval()``,
    so the graph is held unregistered and the wrapper's mode switches never reach it.
    ``per_sample`` runs a batch one sample at a time (programs exported for batch 1)."""

    def __init__(self, graph: Callable, per_sample: bool = False) -> None:
        super().__init__()
        object.__setattr__(self, "_graph", graph)
        self.per_sample = per_sample

    def state_dict(self, *args, **kwargs):  # the graph's weights (what a run records)
        graph = self._graph
        if isinstance(graph, nn.Module):
            return graph.state_dict(*args, **kwargs)
        return super().state_dict(*args, **kwargs)

    def forward(self, x: torch.Tensor):
        if not self.per_sample or x.shape[0] == 1:
            return self._graph(x)
        outs = [self._graph(x[i:i + 1]) for i in range(x.shape[0])]
        if isinstance(outs[0], dict):
            return {k: torch.cat([o[k] for o in outs]) for k in outs[0]}
        return torch.cat(outs)


def own_weights(net: nn.Module, weights: str | os.PathLike | None, seed: int
                ) -> tuple[bool, str]:
    """``net``'s weights as a run asks (in place): its own (None, "default"), PyTorch's
    default initialisation (``"random"``, seeded: :mod:`viz_core.models.reinit`), or a
    state_dict file; returns (pretrained, the label's note)."""
    if weights in (None, "default"):
        return True, ""
    if weights == "random":
        reinitialise(net, seed)
        return False, f"RANDOM weights, seed {seed}"
    load_state(net, read_state_dict(weights), str(weights))
    return True, f"weights from {Path(weights).name}"


def with_weights(model: LoadedModel, weights: str | os.PathLike, seed: int = 0
                 ) -> LoadedModel:
    """A wrapped module (:func:`from_module`) with other weights (:func:`own_weights`), on a
    copy: the registered network is never changed."""
    net = copy.deepcopy(model.net)
    pretrained, note = own_weights(net, weights, seed)
    spec = model.spec
    return from_module(net, input_size=spec.input_size, channels=spec.channels,
                       mean=spec.mean, std=spec.std, classes=model.classes, name=spec.name,
                       device=model.device, pretrained=pretrained, tokens=model.tokens,
                       layers=[n for n in model.layers if n != "logits"],
                       default_layer=spec.default_layer, description=spec.description,
                       label=f"{spec.name} ({note})", keep=False)


def load_exported(path: str | os.PathLike, *, input_size: int | None = None,
                  channels: int | None = None, mean: Sequence[float] | None = None,
                  std: Sequence[float] | None = None, classes: Sequence[str] | None = None,
                  device: str | torch.device = "cpu",
                  weights: str | os.PathLike | None = None, seed: int = 0) -> LoadedModel:
    """A ``torch.export`` program saved with ``torch.export.save`` (normalised input ->
    logits); inner layers by module path wherever the graph records them. ``input_size``
    and ``channels`` default to the shape the program was exported with (for a dynamic
    height and width: the example input's); ``weights``: :func:`own_weights`."""
    p = Path(path)
    if not p.is_file():
        raise VizError(f"exported program {p} does not exist", field="model")
    dev = resolve_device(device)
    quiet = logging.getLogger("torch.export")  # it logs its own traceback of a bad file
    level = quiet.level
    try:
        quiet.setLevel(logging.CRITICAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.load(str(p))
    except Exception as exc:
        # torch's own words, without its pointer to log lines the user does not see
        reason = re.sub(r"\s*Please check the warnings above.*$", "", _first_line(exc))
        raise VizError(f"{p.name} is not a torch.export program (.pt2): {reason.rstrip('.')}. "
                       "Export it with torch.export.save (see the README); a state_dict or "
                       "a TorchScript file is no program: give it as --weights or as the "
                       "model on the command line, or list it in demons-viz.toml",
                       field="model") from None
    finally:
        quiet.setLevel(level)
    try:
        gm = program.module().to(dev)
    except Exception as exc:
        raise VizError(f"cannot load exported program {p}: {_first_line(exc)}",
                       field="model") from None
    training = training_ops(gm)
    if training:
        verb = "changes" if len(training) == 1 else "change"
        raise VizError(f"{p.name} was exported in training mode: its {' and '.join(training)} "
                       f"{verb} every pass, so no run could be reproduced. Call net.eval() "
                       "before torch.export.export, then save it again", field="model")
    pretrained, note = own_weights(gm, weights, seed)
    precision = float32_note(gm)  # pre-images are float32: the program's own copy follows
    if precision:
        gm = gm.float()
        note = f"{note}, {precision}" if note else precision
    recorded_channels, recorded_size = input_shape(gm, p.name)
    channels = channels or recorded_channels or 3
    sizes = size_range(program, gm)
    if input_size and sizes is not None and not sizes[0] <= input_size <= sizes[1]:
        fixed = sizes[0] == sizes[1]
        takes = (f"{sizes[0]}x{sizes[0]} inputs" if fixed else
                 f"sizes {sizes[0]} to {sizes[1]} (exported with a dynamic size)")
        choose = "use that size" if fixed else "choose a size in that range"
        raise VizError(f"{p.name} takes {takes}, not {input_size}x{input_size}: {choose} or "
                       "export the program for the size you need", field="input_size")
    input_size = input_size or recorded_size or 224
    mean, std = check_contract(input_size, channels, mean, std)
    for param in gm.parameters():
        param.requires_grad_(False)
    logits = output_node(gm)
    outputs = module_outputs(gm)
    layers = {k: v for k, v in outputs.items() if v is not logits}
    # a module whose output is the network's (the classifier, e.g. ``fc``): its logits
    same = {k: "logits" for k, v in outputs.items() if v is logits}
    try:  # one sample must run (a run of one configuration, the layer probes)
        with torch.no_grad():
            out = gm(torch.zeros(1, channels, input_size, input_size, device=dev))
    except Exception as exc:
        hint = (f" (it was exported with {precision.split('are ')[1]} weights: export it in "
                "float32)" if precision else "")
        if static_batch(gm) not in (None, 1):
            hint = (f" (it was exported for batch {static_batch(gm)} only: export it with a "
                    "batch of 1, or with a dynamic batch dimension)")
        raise VizError(f"exported program {p} fails on a (1, {channels}, {input_size}, "
                       f"{input_size}) input: {_first_line(exc)}{hint}",
                       field="input_size") from None
    try:  # a batch: at once where the program allows it, else one sample at a time
        with torch.no_grad():
            gm(torch.zeros(2, channels, input_size, input_size, device=dev))
        per_sample = False
    except Exception:  # noqa: BLE001 - exported for batch 1
        per_sample = True
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        raise VizError(f"exported program {p} must return logits of shape (N, classes)",
                       field="model")

    def extractor(names: list[str]) -> nn.Module:
        nodes = {n: (logits if n == "logits" else layers[n]) for n in names}
        return _Program(cut(gm, nodes), per_sample)

    name = re.sub(r"[^\w.-]", "_", p.stem)  # letters of any script stay (réseau, 模型)
    spec = ModelSpec(name, "user", input_size, channels, mean, std, "logits",
                     f"exported program {p.name}", False, input_size)
    return LoadedModel(spec, _Program(gm, per_sample),
                       class_name_list(classes, int(out.shape[1]), str(p)),
                       list(layers) + ["logits"], same, pretrained,
                       f"{name} (exported program{', ' + note if note else ''})", dev,
                       extractor=extractor)


def load_import_string(text: str, *, input_size: int, channels: int = 3,
                       mean: Sequence[float] | None = None,
                       std: Sequence[float] | None = None,
                       classes: Sequence[str] | None = None,
                       device: str | torch.device = "cpu",
                       weights: str | os.PathLike | None = None, seed: int = 0
                       ) -> LoadedModel:
    """``package.module:factory``: import the factory, call it, wrap its module;
    ``weights``: :func:`own_weights` (a state_dict file is read with ``weights_only=True``)."""
    if not IMPORT_STRING.match(text):
        raise VizError(f"{text!r} is not an import string package.module:factory",
                       field="model")
    module_name, attr = text.split(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except ImportError as exc:
        raise VizError(f"cannot import {module_name!r} for {text}: {_first_line(exc)}",
                       field="model") from None
    except AttributeError:
        raise VizError(f"module {module_name!r} has no {attr!r} (from {text})",
                       field="model") from None
    if not callable(factory):
        raise VizError(f"{text} is not callable", field="model")
    try:
        net = factory()
    except Exception as exc:
        raise VizError(f"{text}() failed: {_first_line(exc)}", field="model") from None
    if not isinstance(net, nn.Module):
        raise VizError(f"{text}() returned {type(net).__name__}, not a torch.nn.Module",
                       field="model")
    pretrained, note = own_weights(net, weights, seed)
    return from_module(net, input_size=input_size, channels=channels, mean=mean, std=std,
                       classes=classes, name=text, device=device,
                       label=f"{text} ({note})" if note else "", keep=False,
                       pretrained=pretrained, description=f"network from {text}")


def _is_state_dict(p: Path) -> bool:
    """Whether ``p`` is a plain ``torch.save`` file of a dict of tensors (safe loader)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(p, weights_only=True, map_location="cpu")
    except Exception:  # noqa: BLE001 - not one
        return False
    return isinstance(obj, dict) and any(isinstance(v, (dict, torch.Tensor))
                                         for v in obj.values())


def load_torchscript(path: str | os.PathLike, input_size: int, channels: int = 3,
                     mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                     classes: Sequence[str] | None = None,
                     device: str | torch.device = "cpu",
                     weights: str | os.PathLike | None = None, seed: int = 0) -> LoadedModel:
    """Legacy: a user TorchScript classifier (normalised input -> logits). TorchScript is
    deprecated upstream in favour of ``torch.export`` (:func:`load_exported`); only the
    "logits" layer is available. ``weights``: :func:`own_weights`."""
    p = Path(path)
    if not p.is_file():
        raise VizError(f"TorchScript file {p} does not exist", field="weights")
    if mean is None and std is None:  # the legacy default: ImageNet statistics
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    mean, std = check_contract(input_size, channels, mean, std)
    dev = resolve_device(device)
    try:
        with warnings.catch_warnings():  # torch.jit's deprecation notice: said in the docs
            warnings.simplefilter("ignore", FutureWarning)
            net = torch.jit.load(str(p), map_location=dev)
    except Exception as exc:
        if _is_state_dict(p):
            raise VizError(f"{p.name} holds weights (a state_dict), not a model: give it with "
                           "--weights to the network it belongs to (a zoo name or "
                           "package.module:factory)", field="model") from None
        raise VizError(f"cannot load TorchScript model {p}: {_first_line(exc)}",
                       field="weights") from None
    net = net.eval()
    pretrained, note = own_weights(net, weights, seed)
    for param in net.parameters():
        param.requires_grad_(False)
    try:
        with torch.no_grad():
            out = net(torch.zeros(1, channels, input_size, input_size, device=dev))
    except Exception as exc:
        raise VizError(f"TorchScript model {p} fails on a (1, {channels}, {input_size}, "
                       f"{input_size}) input: {_first_line(exc)}", field="input_size") from None
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        raise VizError(f"TorchScript model {p} must return logits of shape (N, classes)",
                       field="weights")
    name = re.sub(r"[^\w.-]", "_", p.stem)  # letters of any script stay (réseau, 模型)
    spec = ModelSpec(name, "user", input_size, channels, mean, std, "logits",
                     f"user TorchScript model {p.name}", False, input_size)
    return LoadedModel(spec, net, class_name_list(classes, int(out.shape[1]), str(p)),
                       ["logits"], {}, pretrained,
                       f"{name} (TorchScript{', ' + note if note else ''})", dev)
