"""Task objectives: the data terms D of the variational model (eqs. 1-4) that a run's
task / target / layer fields name, one target per sample of a batch:

* activation maximization (eq. 4, ``Z = 1``): minimise ``D = -<Phi(u), e_i>`` where ``Phi`` is
  a class logit (pre-softmax score), the spatial mean of one channel of a layer, or a single
  unit ``(channel, y, x)`` of a layer;
* feature inversion (eq. 3): ``D = ||Phi(u) - Phi_0||_2^p / Z`` with ``Z = ||Phi_0||_2^p`` and
  ``p`` in {1, 2} (Mahendran and Vedaldi's normalisation).

An :class:`Objective` (:class:`ActivationObjective` or :class:`InversionObjective`, built
by :func:`make_objective`) is evaluated on a batch of pre-images in pixel space [0, 1]; it returns
the data term per sample (to be minimised) and the *target activation* per sample: the
maximised activation for AM, the relative feature error ``||Phi(u) - Phi_0|| / ||Phi_0||`` for
inversion. Several samples may target different classes / channels (one batched pass).
Composable objectives (``channel(...) - 0.1*diversity(...)``) are in
:mod:`viz_core.objectives.algebra`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from viz_core.errors import VizError

TASKS = ("am", "inversion")


class ModelInfo(Protocol):
    """The static description of a model that the library reads (see ``models.ModelSpec``)."""

    @property
    def name(self) -> str: ...
    @property
    def input_size(self) -> int: ...
    @property
    def channels(self) -> int: ...
    @property
    def mean(self) -> tuple[float, ...]: ...
    @property
    def std(self) -> tuple[float, ...]: ...
    @property
    def default_layer(self) -> str: ...


@runtime_checkable
class FeatureModel(Protocol):
    """The model interface of objectives, the engine and the tests' fake model
    (``models.LoadedModel`` implements it): a frozen network taking NORMALISED input."""

    spec: ModelInfo
    device: torch.device
    classes: list[str]

    def normalize(self, x01: torch.Tensor) -> torch.Tensor:
        """(x - mean) / std per channel for pixels ``x01`` in [0, 1]."""
        ...

    def resolve_layer(self, name: str) -> str:
        """The canonical layer name (``"logits"`` for the class scores); VizError if unknown."""
        ...

    def features(self, layer: str) -> Callable[[torch.Tensor], torch.Tensor]:
        """Normalised input -> the output of ``layer``: (N, C, h, w) or (N, classes)."""
        ...

    def layer_channels(self, name: str) -> int:
        """Channels of a layer's output (classes for ``"logits"``)."""
        ...


#: What activation maximization of a class maximises: the class ``"logit"`` (the paper's
#: class score, eq. 4) or its log-probability ``"log_prob"`` (log-softmax: the negative
#: cross-entropy that Santurkar et al. 2019 minimise with robust models). The logit of a
#: class also rises with the logits of similar classes (Coat, Shirt and Pullover), so its
#: pre-image may be read as one of them; the log-probability pushes the others down, and
#: saturates once the class is reached.
CLASS_SCORES = ("logit", "log_prob")


@dataclass(frozen=True)
class Target:
    """What one sample of a batch maximises (AM) or reconstructs (inversion)."""

    task: str = "am"
    layer: str = "logits"
    index: int | None = None           # class (layer "logits") or channel
    unit: tuple[int, int] | None = None  # (y, x) of a single unit; None = channel mean
    p: int = 2
    score: str = "logit"               # class score (CLASS_SCORES), layer "logits" only


class Objective:
    """Batched data term D for one layer of a model (eqs. 1-4): ``obj(u)`` returns (D per
    sample, target activation per sample) for pre-images ``u`` in [0, 1]. All samples share
    the layer, so six schemes on one target are one forward pass. Build one with
    :func:`make_objective` (or the task's class directly)."""

    def __init__(self, model: FeatureModel, targets: Sequence[Target]) -> None:
        if not targets:
            raise VizError("no targets given", field="target")
        if any(t.task != targets[0].task or t.layer != targets[0].layer for t in targets):
            raise VizError("a batch must share its task and layer", field="layer")
        self.model = model
        self.targets = list(targets)
        self.layer = model.resolve_layer(targets[0].layer)
        self.net = model.features(self.layer)

    def features(self, u: torch.Tensor) -> torch.Tensor:
        """``Phi(u)``: the layer's output for pre-images ``u`` in [0, 1]."""
        return self.net(self.model.normalize(u))

    def __call__(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class ActivationObjective(Objective):
    """Activation maximization (eq. 4, ``Z = 1``): ``D = -a`` with ``a`` a class logit (or
    its log-probability, :data:`CLASS_SCORES`), the spatial mean of one channel, or one unit
    ``(channel, y, x)``; samples may mix a channel mean and single units of the layer, and
    logits and log-probabilities."""

    def __init__(self, model: FeatureModel, targets: Sequence[Target]) -> None:
        super().__init__(model, targets)
        idx = [t.index for t in self.targets]
        if any(i is None for i in idx):
            raise VizError("activation maximization needs a class or channel index",
                           field="target")
        device = model.device
        self.index = torch.tensor(idx, device=device)
        self._rows = torch.arange(len(idx), device=device)
        # one shared channel: a plain select (cheaper forward and backward than indexing)
        self._shared = idx[0] if len(set(idx)) == 1 else None
        self.units = [t.unit for t in self.targets]
        self._unit_rows = torch.tensor([u is not None for u in self.units], device=device)
        self._yx = (torch.tensor([u[0] if u else 0 for u in self.units], device=device),
                    torch.tensor([u[1] if u else 0 for u in self.units], device=device))
        scores = [t.score for t in self.targets]
        bad = sorted(set(scores) - set(CLASS_SCORES))
        if bad:
            raise VizError(f"unknown class score {bad[0]!r}; allowed: "
                           f"{', '.join(CLASS_SCORES)}", field="class_score")
        self._log_prob = None
        self._all_log_prob = all(s == "log_prob" for s in scores)  # host-side: no GPU sync
        if "log_prob" in scores:
            if self.layer != "logits":
                raise VizError("the log-probability score applies to classes (layer logits), "
                               "not to channels", field="class_score")
            self._log_prob = torch.tensor([s == "log_prob" for s in scores], device=device)

    def __call__(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        phi = self.features(u)
        sel = phi[:, self._shared] if self._shared is not None else phi[self._rows, self.index]
        if self._log_prob is not None:  # log-softmax of the class: logit - logsumexp
            lp = sel - torch.logsumexp(phi, dim=1)
            act = lp if self._all_log_prob else torch.where(self._log_prob, lp, sel)
        elif phi.ndim == 2:  # logits or pooled features
            act = sel
        elif not any(self.units):  # channel means
            act = sel.mean(dim=(-2, -1))
        else:
            unit = sel[self._rows, self._yx[0], self._yx[1]]
            act = unit if all(self.units) else torch.where(
                self._unit_rows, unit, sel.mean(dim=(-2, -1)))
        return -act, act.detach()


class InversionObjective(Objective):
    """Feature inversion (eq. 3): ``D = ||Phi(u) - Phi_0||_2^p / ||Phi_0||_2^p`` with ``p``
    in {1, 2} per sample; the reported activation is the relative error
    ``||Phi(u) - Phi_0|| / ||Phi_0||``. ``reference``: (1|N, C, S, S) in [0, 1]."""

    def __init__(self, model: FeatureModel, targets: Sequence[Target],
                 reference: torch.Tensor) -> None:
        super().__init__(model, targets)
        ps = {t.p for t in self.targets}
        if not ps <= {1, 2}:
            raise VizError(f"inversion exponent p must be 1 or 2, got {sorted(ps)}", field="p")
        self.p = torch.tensor([float(t.p) for t in self.targets], device=model.device)
        with torch.no_grad():
            ref = reference.to(model.device)
            if ref.shape[0] == 1 and len(self.targets) > 1:
                ref = ref.expand(len(self.targets), *ref.shape[1:])
            self.phi0 = self.features(ref).detach()
        self.z = self.phi0.flatten(1).norm(dim=1).clamp(min=1e-12)

    def __call__(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        err = (self.features(u) - self.phi0).flatten(1).norm(dim=1) / self.z
        return err ** self.p, err.detach()


def make_objective(model: FeatureModel, targets: Sequence[Target],
                   reference: torch.Tensor | None = None) -> Objective:
    """The objective of a batch of targets (which share task and layer)."""
    task = targets[0].task if targets else "am"
    if task == "am":
        return ActivationObjective(model, targets)
    if task == "inversion":
        if reference is None:
            raise VizError("feature inversion needs an image to invert", field="image")
        return InversionObjective(model, targets, reference)
    raise VizError(f"unknown task {task!r}; allowed: {', '.join(TASKS)}", field="task")


def check_target(model: FeatureModel, target: Target) -> None:
    """Validate a target against a model: layer, class / channel index, unit position."""
    layer = model.resolve_layer(target.layer)
    if target.task == "am":
        if target.index is None:
            raise VizError("activation maximization needs a class (target=) or a channel "
                           "(channel=)", field="target")
        if layer == "logits":
            n = len(model.classes)
            if not 0 <= target.index < n:
                raise VizError(f"class index {target.index} out of range 0..{n - 1}",
                               field="target")
        else:
            n = model.layer_channels(layer)
            if not 0 <= target.index < n:
                raise VizError(f"channel {target.index} out of range 0..{n - 1} for layer "
                               f"{layer}", field="channel")
            if target.unit is not None:
                h, w = _layer_hw(model, layer)
                y, x = target.unit
                if not (0 <= y < h and 0 <= x < w):
                    raise VizError(f"unit ({y}, {x}) outside the {h}x{w} map of {layer}",
                                   field="unit")
    elif target.task == "inversion":
        if target.p not in (1, 2):
            raise VizError(f"inversion exponent p must be 1 or 2, got {target.p}", field="p")
    else:
        raise VizError(f"unknown task {target.task!r}; allowed: {', '.join(TASKS)}",
                       field="task")


def _layer_hw(model: FeatureModel, layer: str) -> tuple[int, int]:
    """Spatial size of ``layer``'s output at the model's input size (one probe pass)."""
    spec = model.spec
    with torch.no_grad():
        x = torch.zeros(1, spec.channels, spec.input_size, spec.input_size, device=model.device)
        out = model.features(layer)(model.normalize(x))
    if out.ndim != 4:
        raise VizError(f"layer {layer} has no spatial map; a unit needs a convolutional layer",
                       field="unit")
    return int(out.shape[2]), int(out.shape[3])
