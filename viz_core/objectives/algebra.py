"""Composable objectives: data terms D(u) (eqs. 1-4) combined with ``+``, ``-`` and scalar
``*``, in the spirit of Lucid/Lucent's ``objectives`` (Olah et al., "Feature
Visualization", Distill 2017).

A :class:`Term` is a linear combination ``sum_k c_k D_k`` of *leaves*; each leaf reads one
layer's output ``Phi`` and gives one value per sample of the batch, to be **minimised**
(Lucent's convention: ``channel`` is minus the channel's mean activation, ``diversity`` is
minus the similarity of the batch's Gram matrices, so ``channel(...) - w*diversity(...)``
asks for an active channel *and* different samples). The engine takes a bound term
unchanged as D(u) in eq. 18, so every scheme and kernel applies to it.

A new objective is one function decorated with :func:`objective` (the built-in ones are in
:mod:`viz_core.objectives.library`) plus its test; the grammar of ``--objective`` finds it
by name.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from viz_core.errors import VizError
from viz_core.objectives.tasks import FeatureModel

__all__ = ["MAX_WEIGHT", "OBJECTIVES", "Binding", "BoundTerm", "Leaf", "Term", "leaf",
           "objective", "weight_problem"]

#: The largest magnitude of a term's weight. The data term D(u) (eqs. 1-4) is computed in
#: single precision (float32, largest value ~3.4e38), where a larger factor overflows with
#: ordinary activations and their gradients (Adam squares them); with the step rule of
#: eq. 18 the step is normalised by the gradient's size, so only the weights' ratios matter.
MAX_WEIGHT = 1e6


def weight_problem(weight: float) -> str | None:
    """What is wrong with a term's weight (a phrase following "weight W"), or None: a weight
    is a finite number of magnitude at most :data:`MAX_WEIGHT`.

    >>> weight_problem(0.1) is None
    True
    >>> weight_problem(float("nan"))
    'is not a finite number'
    """
    if not math.isfinite(weight):
        return "is not a finite number"
    if abs(weight) > MAX_WEIGHT:
        return (f"is too large: a weight is at most {MAX_WEIGHT:g} in magnitude (the "
                "objective is computed in single precision, where a larger factor overflows)")
    return None

#: Objective name -> the decorated function that builds its :class:`Term`.
OBJECTIVES: dict[str, Callable[..., Term]] = {}

#: What a leaf's evaluator returns for a layer output: D per sample (the reported
#: activation is then -D), or (D, activation) per sample.
Value = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Binding:
    """What a leaf sees when a run starts: the model, its resolved layer and the reference
    image of an inversion ((1|N, C, S, S) in [0, 1], or None)."""

    model: FeatureModel
    layer: str
    reference: torch.Tensor | None

    def phi(self, u01: torch.Tensor) -> torch.Tensor:
        """``Phi(u)``: the layer's output for pixels ``u01`` in [0, 1]."""
        return self.model.features(self.layer)(self.model.normalize(u01))

    def channels(self) -> int:
        """Channels of the layer's output (classes for ``logits``)."""
        return self.model.layer_channels(self.layer)


@dataclass(frozen=True)
class Leaf:
    """One data term: ``make(binding)`` returns the evaluator ``Phi -> Value``."""

    layer: str
    make: Callable[[Binding], Callable[[torch.Tensor], Value]]
    needs_reference: bool = False
    name: str = ""
    args: tuple = ()

    def __str__(self) -> str:
        return f"{self.name}({', '.join(_render(a) for a in self.args)})"


def leaf(layer: str, make: Callable[[Binding], Callable[[torch.Tensor], Value]], *,
         needs_reference: bool = False) -> Term:
    """The term of one leaf reading ``layer`` (used inside an :func:`objective` function)."""
    return Term(((1.0, Leaf(str(layer), make, needs_reference)),))


class Term:
    """A linear combination of leaves; ``+``, ``-``, ``*`` by a number, unary ``-``."""

    def __init__(self, parts: tuple[tuple[float, Leaf], ...]) -> None:
        self.parts = parts

    def __add__(self, other: Term) -> Term:
        if not isinstance(other, Term):
            return NotImplemented
        return Term(self.parts + other.parts)

    def __sub__(self, other: Term) -> Term:
        if not isinstance(other, Term):
            return NotImplemented
        return self + (-1.0) * other

    def __mul__(self, k: float) -> Term:
        if isinstance(k, bool) or not isinstance(k, (int, float)):
            return NotImplemented
        parts = tuple((c * float(k), lf) for c, lf in self.parts)
        for c, lf in parts:
            problem = weight_problem(c)
            if problem:
                raise VizError(f"weight {c:g} of {lf} {problem}", field="objective")
        return Term(parts)

    __rmul__ = __mul__

    def __neg__(self) -> Term:
        return (-1.0) * self

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Term) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        text = ""
        for i, (c, lf) in enumerate(self.parts):
            sign = "-" if c < 0 else ("+" if i else "")
            mag = abs(c)
            coef = "" if mag == 1.0 else f"{mag:g}*"
            text += (f" {sign} " if i else sign) + coef + str(lf)
        return text

    def __repr__(self) -> str:
        return f"Term({str(self)!r})"

    def net_weights(self) -> list[tuple[str, float]]:
        """Each distinct term with its weight, repeated terms added up (``channel(a, 1) -
        channel(a, 1)`` has weight 0), in order of first appearance."""
        net: dict[object, list] = {}
        for c, lf in self.parts:
            key = str(lf) if lf.name else id(lf)  # unnamed leaves are never merged
            net.setdefault(key, [str(lf), 0.0, 0.0])
            net[key][1] += c
            net[key][2] += abs(c)
        # a sum that cancels up to rounding (0.1 + 0.2 - 0.3) counts as 0
        return [(name, 0.0 if abs(w) <= 1e-12 * size else w)
                for name, w, size in net.values()]

    def check_active(self) -> None:
        """Raise :class:`VizError` when every term's weight is 0: such a D(u) is constant,
        so the update of eq. 18 has nothing to optimise."""
        if self.parts and all(w == 0 for _, w in self.net_weights()):
            raise VizError(f"objective {str(self)!r}: every term has weight 0 (repeated "
                           "terms added up), so there is nothing to optimise; give a term a "
                           "non-zero weight", field="objective")

    @property
    def needs_reference(self) -> bool:
        """Whether a leaf inverts a reference image (the run needs ``--image``)."""
        return any(lf.needs_reference for _, lf in self.parts)

    def bind(self, model: FeatureModel, reference: torch.Tensor | None = None) -> BoundTerm:
        """The data term D(u) of a run on ``model`` (validates layers and indices)."""
        return BoundTerm(self, model, reference)


class BoundTerm:
    """``D(u)`` of a bound term: ``obj(u)`` returns (D per sample, activation per sample)
    for pre-images ``u`` in [0, 1], the engine's objective interface. The activation is
    that of the first leaf. Leaves on the same layers share one forward pass."""

    def __init__(self, term: Term, model: FeatureModel, reference: torch.Tensor | None) -> None:
        term.check_active()
        for c, lf in term.parts:
            problem = weight_problem(c)
            if problem:
                raise VizError(f"weight {c:g} of {lf} {problem}", field="objective")
        if term.needs_reference and reference is None:
            raise VizError("this objective inverts an image: give one (image=)",
                           field="image")
        self.model = model
        self.term = term
        layers = [model.resolve_layer(lf.layer) for _, lf in term.parts]
        self.layers = list(dict.fromkeys(layers))
        if len(self.layers) == 1:
            self.net = model.features(self.layers[0])
        elif hasattr(model, "feature_dict"):
            self.net = model.feature_dict(self.layers)  # one pass for every layer
        else:  # a model without a multi-layer extractor: one pass per layer
            nets = {layer: model.features(layer) for layer in self.layers}
            self.net = lambda x: {layer: net(x) for layer, net in nets.items()}
        ref = reference.to(model.device) if reference is not None else None
        self.leaves = [(c, layer, lf.make(Binding(model, layer, ref)))
                       for (c, lf), layer in zip(term.parts, layers)]

    def __call__(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(self.model.normalize(u))
        feats = out if isinstance(out, dict) else {self.layers[0]: out}
        total = act = None
        for c, layer, fn in self.leaves:
            value = fn(feats[layer])
            d, a = value if isinstance(value, tuple) else (value, None)
            if act is None:
                act = -d if a is None else a
            d = d if c == 1.0 else c * d
            total = d if total is None else total + d
        return total, act.detach()


def objective(fn: Callable[..., Term]) -> Callable[..., Term]:
    """Register ``fn`` (returning a :func:`leaf` term) as an objective under its name; its
    annotations (``str`` layer, ``int``, ``float``, ``list[float]``) type the grammar's
    arguments. Returns the wrapped function, which records its arguments for ``str()``."""
    sig = inspect.signature(fn)

    def build(*args: Any, **kwargs: Any) -> Term:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise VizError(f"{fn.__name__}{sig}: {exc}", field="objective") from None
        term = fn(*bound.args, **bound.kwargs)
        bound.apply_defaults()
        values = list(bound.arguments.values())
        defaults = [p.default for p in sig.parameters.values()]
        while values and values[-1] == defaults[len(values) - 1]:
            values.pop()  # trailing defaults are not written
        return Term(tuple((c, replace(lf, name=fn.__name__, args=tuple(values)))
                          for c, lf in term.parts))

    build.__name__ = fn.__name__
    build.__doc__ = fn.__doc__
    build.__wrapped__ = fn
    OBJECTIVES[fn.__name__] = build
    return build


_WORD = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.]*$")


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value if _WORD.match(value) else "'" + value.replace("'", "") + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
