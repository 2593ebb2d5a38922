"""Model files and import strings as model sources.

* ``FILE.pt2``: a ``torch.export`` program (the recommended format). Inner layers are the
  module paths recorded in the graph (``nn_module_stack``), so a layer's output is the last
  graph value its module computes; the program is cut there, as fx does for modules.
  Export with a dynamic batch dimension to batch several configurations in one pass; a
  program exported for batch 1 runs the samples one at a time.
  Its class names (the labels of the logits, eq. 4), unless given: a ``<name>.classes.txt``
  beside the file, else a ``classes.txt`` saved in the program
  (``torch.export.save(..., extra_files={"classes.txt": ...})``), one name per line as
  ``--classes FILE`` reads them (:func:`program_class_names`).
* ``package.module:factory``: imports ``factory`` and wraps the ``nn.Module`` it returns
  with :func:`viz_core.models.from_module`.
* ``FILE.pt`` (TorchScript): legacy, deprecated upstream by PyTorch; only ``logits``.

Every loader refuses pickles: ``.pt2`` archives and TorchScript files hold no pickled code,
and state_dicts are read with ``weights_only=True``.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
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
    input_error,
)
from viz_core.models.program_graph import (
    check_input,
    cut,
    input_shape,
    module_outputs,
    output_node,
    static_batch,
    training_ops,
)
from viz_core.models.reinit import reinitialise
from viz_core.models.zoo_source import load_state, read_state_dict
from viz_core.zoo import IMAGENET_MEAN, IMAGENET_STD, ModelSpec

__all__ = ["CLASSES_ENTRY", "IMPORT_STRING", "classes_path", "load_exported", "load_import_string",
           "load_torchscript", "parse_class_names", "program_class_names", "read_class_names"]

#: ``package.module:factory`` (a callable returning an ``nn.Module``).
IMPORT_STRING = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
#: The class names a ``.pt2`` program may carry (``torch.export.save``'s ``extra_files``).
CLASSES_ENTRY = "classes.txt"
#: The sidecar of ``net.pt2`` that names its classes: ``net.classes.txt``.
CLASSES_SUFFIX = ".classes.txt"


def parse_class_names(text: str) -> list[str]:
    """Class names from text as ``--classes FILE`` holds them: one per line, blank lines
    and surrounding spaces dropped; a single line is split at its commas (a typed list).

    >>> parse_class_names("Apple\\n\\n Banana \\n"), parse_class_names("Apple, Banana")
    (['Apple', 'Banana'], ['Apple', 'Banana'])
    """
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if len(lines) == 1 and "," in lines[0]:
        lines = [part.strip() for part in lines[0].split(",") if part.strip()]
    return lines


def classes_path(program: str | os.PathLike) -> Path:
    """The sidecar file that names the classes of the program ``program``
    (``net.pt2`` -> ``net.classes.txt``)."""
    p = Path(program)
    return p.with_name(p.stem + CLASSES_SUFFIX)


def read_class_names(path: str | os.PathLike, what: str | None = None) -> list[str]:
    """The class names in the file ``path`` (``--classes``, a team's ``classes_file``, a
    program's sidecar; :func:`parse_class_names`); VizError naming it as ``what`` if bad."""
    what = what or f"class names file {str(path)!r}"  # missing, unreadable or empty: said
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise VizError(f"{what} does not exist", field="classes") from None
    except OSError as exc:
        raise VizError(f"cannot read {what}: {exc.strerror}", field="classes") from None
    names = parse_class_names(text)
    if not names:
        raise VizError(f"{what} holds no names", field="classes")
    return names


def program_class_names(program: str | os.PathLike, saved: str | bytes | None = None
                        ) -> tuple[list[str] | None, str]:
    """The class names of a ``.pt2`` program given none: its sidecar
    (:func:`classes_path`), else ``saved``, the :data:`CLASSES_ENTRY` saved in the program;
    with where they came from (``""`` with None: the logits are numbered)."""
    side = classes_path(program)
    if side.is_file():
        return read_class_names(side, f"{side.name} (the class names of "
                                      f"{Path(program).name})"), side.name
    if isinstance(saved, bytes):
        saved = saved.decode("utf-8", "replace")
    names = parse_class_names(saved or "")
    return (names, f"{CLASSES_ENTRY} saved in {Path(program).name}") if names else (None, "")


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


def with_weights(model: LoadedModel, weights: str | os.PathLike, seed: int = 0,
                 device: torch.device | None = None) -> LoadedModel:
    """A wrapped module (:func:`from_module`) with other weights (:func:`own_weights`), on a
    copy (on ``device``, default the model's): the registered network is never changed."""
    net = copy.deepcopy(model.net)
    pretrained, note = own_weights(net, weights, seed)  # seeded where the model is
    dev = model.device if device is None else device
    spec = model.spec
    return from_module(net.to(dev), input_size=spec.input_size, channels=spec.channels,
                       mean=spec.mean, std=spec.std, classes=model.classes, name=spec.name,
                       device=dev, pretrained=pretrained, tokens=model.tokens,
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
            saved = {CLASSES_ENTRY: ""}  # the class names, when the program carries them
            program = torch.export.load(str(p), extra_files=saved)
    except Exception as exc:
        # torch's own words, without its pointer to log lines the user does not see
        reason = re.sub(r"\s*Please check the warnings above.*$", "", _first_line(exc))
        raise VizError(f"{p.name} is not a torch.export program (.pt2): {reason.rstrip('.')}. "
                       "Export it with torch.export.save (see the README); a state_dict or "
                       "a TorchScript file is no program: give a TorchScript file as model=, "
                       "a state_dict as weights= of its network's import string, or list "
                       "either in demons-viz.toml (a state_dict as an entry's weights)",
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
    check_input(program, gm, p.name, channels, input_size)
    channels = channels or recorded_channels or 3
    input_size = input_size or recorded_size or 224
    mean, std = check_contract(input_size, channels, mean, std)
    for param in gm.parameters():
        param.requires_grad_(False)
    logits = output_node(gm, p.name)
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

    named_by = "given"
    if classes is None:  # its sidecar, or the names saved in the program
        classes, named_by = program_class_names(p, saved.get(CLASSES_ENTRY))
    name = re.sub(r"[^\w.-]", "_", p.stem)  # letters of any script stay (réseau, 模型)
    about = f"exported program {p.name}" + (
        f", class names from {named_by}" if classes and named_by != "given" else "")
    spec = ModelSpec(name, "user", input_size, channels, mean, std, "logits", about, False,
                     input_size)
    # the file's name, not its folder (a dashboard's upload folder is the server's own)
    source = p.name if named_by == "given" or not classes else f"{p.name} ({named_by})"
    return LoadedModel(spec, _Program(gm, per_sample),
                       class_name_list(classes, int(out.shape[1]), source),
                       list(layers) + ["logits"], same, pretrained,
                       f"{name} (exported program{', ' + note if note else ''})", dev,
                       extractor=extractor)


def _import_fix(module_name: str, exc: ImportError) -> str:
    """What makes ``module_name`` importable after ``exc``: its folder on PYTHONPATH where
    the program starts (the CLI, or the dashboard's server), an install of a package it
    needs, or a fix of the import inside it; then a restart (other weights cannot help)."""
    top = module_name.split(".")[0]
    missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
    if missing is None:  # found, but an import inside it failed
        return f"Fix that import in {module_name} and restart"
    if missing.split(".")[0] != top:  # the module is there; a package it needs is not
        return (f"{module_name} needs {missing!r}: install it (or put its folder on PYTHONPATH) "
                "and restart")
    try:
        found = missing != top and importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return f"{top!r} is found, but not {missing!r}: check the import string"
    return (f"Put the folder that holds {top!r} on PYTHONPATH where demons-viz starts (the "
            "dashboard: PYTHONPATH=FOLDER streamlit run app.py) and restart it")


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
    except ImportError as exc:  # other weights cannot help: Python has to find the module
        raise VizError(f"cannot import {module_name!r} for {text}: {_first_line(exc)}. "
                       f"{_import_fix(module_name, exc)}",
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
            raise VizError(f"{p.name} holds weights (a state_dict), not a model: give it as "
                           "weights= to the network it belongs to (model=, a zoo name or "
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
        raise input_error(net, channels, input_size, dev, p.name, f"TorchScript model {p} "
                          f"fails on a (1, {channels}, {input_size}, {input_size}) input: "
                          f"{_first_line(exc).rstrip('.')}") from None
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        raise VizError(f"TorchScript model {p} must return logits of shape (N, classes)",
                       field="weights")
    name = re.sub(r"[^\w.-]", "_", p.stem)  # letters of any script stay (réseau, 模型)
    spec = ModelSpec(name, "user", input_size, channels, mean, std, "logits",
                     f"user TorchScript model {p.name}", False, input_size)
    return LoadedModel(spec, net, class_name_list(classes, int(out.shape[1]), str(p)),
                       ["logits"], {}, pretrained,
                       f"{name} (TorchScript{', ' + note if note else ''})", dev)
