"""A sweep: one base run configuration and axes, each varying one field of it.

The cells are the grid product of the axes (or, zipped, their element-wise tuples). Each
axis changes one parameter of the variational model: the regularization scheme of eq. 18
(with TV, eqs. 19-20), the kernel kind, the Gaussian sigma (eqs. 6, 8) or Sobolev gamma
(eq. 16), the kernel size (Sec. 2.7), the Sobolev order, the step size tau (eq. 18), the TV
weight lambda (eq. 19), the number of steps, the layer and target of the data term
(eqs. 3-4), the seed, the model, and trained vs randomly initialised weights (the model
randomization test of Adebayo et al. 2018 applied to feature visualization).

A cell's id is made of its varying values only (``gamma=0.1,step_size=5``), so the same
cell has the same id in every run of the sweep: results can be resumed and compared.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.kernels import KernelSpec
from viz_core.schemes import SIZED_KINDS, get_scheme, scheme_key

TRAINED, RANDOM = "trained", "random"


def _kernels(cfg: RunConfig) -> list[tuple[str, KernelSpec]]:
    return [(slot, k) for slot, k in (("fluid", cfg.fluid), ("elastic", cfg.elastic))
            if k is not None]


def kernel_size_of(cfg: RunConfig, default: int = 11) -> int:
    """The size of the first sized (Gaussian / Sobolev) kernel of ``cfg``, else ``default``."""
    sizes = [k.size for _, k in _kernels(cfg) if k.kind in SIZED_KINDS]
    return int(sizes[0]) if sizes else default


def _with_kernels(cfg: RunConfig, change: Callable[[KernelSpec], KernelSpec | None],
                  axis: str, what: str) -> RunConfig:
    out, hit = {}, False
    for slot, k in _kernels(cfg):
        new = change(k)
        if new is not None:
            out[slot], hit = new, True
    if not hit:
        low = what.lower()
        example = "gaussian" if "gaussian" in low and "sobolev" not in low else "sobolev"
        raise VizError(f"axis {axis!r} needs a base scheme with {what} (e.g. elastic="
                       f"'{example}', or a scheme axis before it)", field="axes")
    return dataclasses.replace(cfg, **out)


def _scheme(cfg: RunConfig, v: str) -> RunConfig:
    from viz_core.config import scheme_config

    named = get_scheme(v)
    tv = cfg.tv if cfg.tv > 0 else None
    out = scheme_config(cfg, named.key, kernel_size_of(cfg), tv)
    out.extra = dict(cfg.extra)
    return out


def _kind(cfg: RunConfig, v: str) -> RunConfig:
    return _with_kernels(cfg, lambda k: None if k.kind == "identity" else
                         dataclasses.replace(k, kind=v, param=None), "kernel", "a kernel")


def _param(kind: str) -> Callable[[RunConfig, float], RunConfig]:
    def apply(cfg: RunConfig, v: float) -> RunConfig:
        name = "gamma" if kind == "sobolev" else "sigma"
        return _with_kernels(cfg, lambda k: dataclasses.replace(k, param=float(v))
                             if k.kind == kind else None, name, f"a {kind} kernel")
    return apply


def _size(cfg: RunConfig, v: int) -> RunConfig:
    return _with_kernels(cfg, lambda k: dataclasses.replace(k, size=int(v))
                         if k.kind in SIZED_KINDS else None,
                         "kernel_size", "a Gaussian or Sobolev kernel")


def _order(cfg: RunConfig, v: int) -> RunConfig:
    return _with_kernels(cfg, lambda k: dataclasses.replace(k, order=int(v))
                         if k.kind == "sobolev" else None, "order", "a Sobolev kernel")


def _step_size(cfg: RunConfig, v: float) -> RunConfig:
    if cfg.octaves:
        raise VizError("a step_size axis needs a base without octaves (each octave has its "
                       "own step size)", field="axes")
    return dataclasses.replace(cfg, step_size=float(v))


def _steps(cfg: RunConfig, v: int) -> RunConfig:
    if cfg.octaves:
        raise VizError("a steps axis needs a base without octaves (each octave has its own "
                       "steps)", field="axes")
    return dataclasses.replace(cfg, steps=int(v))


def _target(cfg: RunConfig, v: int) -> RunConfig:
    if cfg.task == "am" and cfg.channel is not None:
        return dataclasses.replace(cfg, channel=int(v))
    return dataclasses.replace(cfg, target=int(v))


def zoo_class_count(model: str) -> int | None:
    """The number of classes of a zoo model, read from its registry entry without loading
    weights (the logits of the data term, eq. 4); None for any other model (a network
    registered in this process, a team's, a file, an import string, timm), whose classes
    are known only once it is loaded."""
    from viz_core.models.module_source import registered
    from viz_core.zoo import available_models, class_names

    spec = next((s for s in available_models() if s.name == model), None)
    if spec is None or registered(model) is not None:
        return None
    return len(class_names(spec))


def _weights(cfg: RunConfig, v: str) -> RunConfig:
    return dataclasses.replace(cfg, weights="random" if v == RANDOM else None)


def _field(name: str, cast: Callable[[Any], Any]) -> Callable[[RunConfig, Any], RunConfig]:
    return lambda cfg, v: dataclasses.replace(cfg, **{name: cast(v)})


def _choice(options: Sequence[str], axis: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        t = str(text).strip().lower()
        if t not in options:
            raise VizError(f"axis {axis!r}: {text!r} is not one of {', '.join(options)}",
                           field="axes")
        return t
    return parse


def _number(cast: type, axis: str) -> Callable[[str], Any]:
    def parse(text: Any) -> Any:
        try:
            v = cast(float(text)) if cast is int and float(text).is_integer() else cast(text)
        except (TypeError, ValueError):
            what = "an integer" if cast is int else "a number"
            raise VizError(f"axis {axis!r}: {text!r} is not {what}", field="axes") from None
        return v
    return parse


@dataclass(frozen=True)
class AxisKind:
    """How one axis parses its values and applies one value to a configuration."""

    name: str
    parse: Callable[[Any], Any]
    apply: Callable[[RunConfig, Any], RunConfig]
    help: str


def _scheme_parse(text: str) -> str:
    return scheme_key(text)


#: Every axis, in the order in which a cell's values are applied (the scheme before the
#: kernel parameters it fills in).
AXES: dict[str, AxisKind] = {a.name: a for a in [
    AxisKind("model", str, _field("model", str), "zoo model name"),
    AxisKind("weights", _choice((TRAINED, RANDOM), "weights"), _weights,
             "trained or random (model randomization test)"),
    AxisKind("scheme", _scheme_parse, _scheme, "registry key, e.g. fluid_sobolev, tv"),
    AxisKind("kernel", _choice(("gaussian", "sobolev", "spectral"), "kernel"), _kind,
             "kernel kind of the filled slots (parameter fitted)"),
    AxisKind("kernel_size", _number(int, "kernel_size"), _size, "odd kernel size"),
    AxisKind("order", _number(int, "order"), _order, "Sobolev order k"),
    AxisKind("gamma", _number(float, "gamma"), _param("sobolev"), "Sobolev gamma (eq. 16)"),
    AxisKind("sigma", _number(float, "sigma"), _param("gaussian"), "Gaussian sigma"),
    AxisKind("step_size", _number(float, "step_size"), _step_size, "tau, 0-255 units"),
    AxisKind("tv", _number(float, "tv"), _field("tv", float), "TV weight lambda"),
    AxisKind("steps", _number(int, "steps"), _steps, "number of steps"),
    AxisKind("layer", str, _field("layer", str), "layer name or alias"),
    AxisKind("target", _number(int, "target"), _target, "class (or channel) index"),
    AxisKind("seed", _number(int, "seed"), _field("seed", int), "seed of init and jitter"),
]}


@dataclass(frozen=True)
class Axis:
    """One axis: a field name of :data:`AXES` and its values."""

    name: str
    values: tuple

    @classmethod
    def make(cls, name: str, values: Sequence[Any]) -> Axis:
        name = name.strip().replace("-", "_")
        if name not in AXES:
            raise VizError(f"unknown axis {name!r}; allowed: {', '.join(AXES)}", field="axes")
        vals = tuple(AXES[name].parse(v) for v in values)
        if not vals:
            raise VizError(f"axis {name!r} has no values", field="axes")
        if len(set(map(repr, vals))) != len(vals):
            raise VizError(f"axis {name!r} repeats a value", field="axes")
        return cls(name, vals)

    @classmethod
    def parse(cls, text: str) -> Axis:
        """``NAME=V1,V2,...`` (the CLI's ``--axis``)."""
        name, sep, rest = text.partition("=")
        if not sep or not rest.strip():
            raise VizError(f"an axis must be NAME=V1,V2,..., got {text!r}", field="axes")
        return cls.make(name, [v.strip() for v in rest.split(",") if v.strip()])


def _value_text(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def cell_id(values: dict[str, Any]) -> str:
    """A stable, file-name safe id from a cell's varying values (``gamma=0.1,step_size=5``)."""
    raw = ",".join(f"{k}={_value_text(v)}" for k, v in values.items()) or "base"
    safe = re.sub(r"[^A-Za-z0-9._=,+-]", "_", raw)
    if safe != raw or len(safe) > 120:
        safe = f"{safe[:100]}~{hashlib.sha1(raw.encode()).hexdigest()[:8]}"
    return safe


@dataclass
class Cell:
    """One configuration of a sweep: its position, stable id, varying values and config."""

    index: int
    id: str
    values: dict[str, Any]
    config: RunConfig

    @property
    def random_weights(self) -> bool:
        return self.config.weights == "random"


@dataclass
class Sweep:
    """A base configuration and axes; ``zipped`` pairs the axes element-wise instead of
    taking their product. ``judge``: the classifier of the pre-images (an AM class
    pre-image's and an inversion's recognisability, Sec. 3.2; "auto": the
    independent judge, :func:`viz_core.zoo.judge_for`; "none": no judge; or a zoo name).
    ``batch_size``: most cells in one batched forward/backward pass."""

    base: RunConfig
    axes: list[Axis]
    zipped: bool = False
    judge: str = "auto"
    batch_size: int = 8
    name: str = ""
    _cells: list[Cell] | None = field(default=None, init=False, repr=False, compare=False)

    def validate(self) -> Sweep:
        self.base.validate()
        names = [a.name for a in self.axes]
        if len(set(names)) != len(names):
            raise VizError("each axis may appear once", field="axes")
        if self.zipped and len({len(a.values) for a in self.axes}) > 1:
            raise VizError("zipped axes need the same number of values: "
                           + ", ".join(f"{a.name} {len(a.values)}" for a in self.axes),
                           field="axes")
        if not 1 <= self.batch_size <= 256:
            raise VizError(f"batch size must be in 1..256, got {self.batch_size}",
                           field="batch_size")
        self.cells()
        self._check_classes()
        return self

    def _check_classes(self) -> None:
        """Each AM cell's class exists in its model's logits (eq. 4), checked from the zoo's
        registry before anything runs; models outside the zoo are checked when loaded."""
        by_axis = any(a.name == "target" for a in self.axes)
        counts: dict[str, int | None] = {}
        for cell in self.cells():
            cfg = cell.config
            if cfg.task != "am" or cfg.channel is not None or cfg.target is None:
                continue
            if cfg.model not in counts:
                counts[cfg.model] = zoo_class_count(cfg.model)
            n = counts[cfg.model]
            if n is None or cfg.target < n:
                continue
            what = f"class index {cfg.target} out of range 0..{n - 1} for {cfg.model}"
            if by_axis:
                raise VizError(f"axis 'target': {what}", field="axes")
            raise VizError(f"{what} (target=)", field="target")

    def value_tuples(self) -> list[tuple]:
        vals = [a.values for a in self.axes]
        if not vals:
            return [()]
        return list(zip(*vals)) if self.zipped else list(itertools.product(*vals))

    def cells(self) -> list[Cell]:
        """Every cell, validated (the first bad one raises VizError naming its values)."""
        if self._cells is not None:
            return self._cells
        order = {n: i for i, n in enumerate(AXES)}
        axes = sorted(range(len(self.axes)), key=lambda i: order[self.axes[i].name])
        out: list[Cell] = []
        for idx, tup in enumerate(self.value_tuples()):
            values = {a.name: v for a, v in zip(self.axes, tup)}
            cid = cell_id(values)
            cfg = dataclasses.replace(self.base, extra=dict(self.base.extra))
            try:
                for i in axes:
                    cfg = AXES[self.axes[i].name].apply(cfg, tup[i])
                cfg.name = cid
                cfg.validate()
            except VizError as exc:
                raise VizError(f"cell {cid!r}: {exc}", field=exc.field) from None
            out.append(Cell(idx, cid, values, cfg))
        if len({c.id for c in out}) != len(out):
            raise VizError("two cells have the same values (a zipped axis repeats a tuple)",
                           field="axes")
        self._cells = out
        return out

    def __len__(self) -> int:
        """The number of cells, counted without building them (a grid's size is checked
        before anything is allocated, :func:`viz_core.sweeps.preflight.check_size`)."""
        sizes = [len(a.values) for a in self.axes]
        if not sizes:
            return 1
        return min(sizes) if self.zipped else math.prod(sizes)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        return {"base": self.base.to_dict(), "axes": [[a.name, list(a.values)]
                                                      for a in self.axes],
                "zipped": self.zipped, "judge": self.judge, "batch_size": self.batch_size,
                "name": self.name}

    @classmethod
    def from_dict(cls, d: dict) -> Sweep:
        try:
            return cls(RunConfig.from_dict(d["base"]),
                       [Axis.make(n, v) for n, v in d.get("axes", [])],
                       bool(d.get("zipped", False)), str(d.get("judge", "auto")),
                       int(d.get("batch_size", 8)), str(d.get("name", ""))).validate()
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, VizError):
                raise
            raise VizError(f"not a sweep specification: {exc}", field="sweep") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    @classmethod
    def from_json(cls, text: str) -> Sweep:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise VizError(f"not a sweep JSON: {exc}", field="sweep") from None
