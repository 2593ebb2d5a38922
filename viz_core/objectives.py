"""Data terms D of the variational model (eqs. 1-4).

* activation maximization (eq. 4, ``Z = 1``): minimise ``D = -<Phi(u), e_i>`` where ``Phi`` is
  a class logit (pre-softmax score), the spatial mean of one channel of a layer, or a single
  unit ``(channel, y, x)`` of a layer;
* feature inversion (eq. 3): ``D = ||Phi(u) - Phi_0||_2^p / Z`` with ``Z = ||Phi_0||_2^p`` and
  ``p`` in {1, 2} (Mahendran and Vedaldi's normalisation).

An :class:`Objective` is evaluated on a batch of pre-images in pixel space [0, 1]; it returns
the data term per sample (to be minimised) and the *target activation* per sample: the
maximised activation for AM, the relative feature error ``||Phi(u) - Phi_0|| / ||Phi_0||`` for
inversion. Several samples may target different classes / channels (one batched pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from viz_core.errors import VizError

TASKS = ("am", "inversion")


@dataclass(frozen=True)
class Target:
    """What one sample of a batch maximises (AM) or reconstructs (inversion)."""

    task: str = "am"
    layer: str = "logits"
    index: int | None = None           # class (layer "logits") or channel
    unit: tuple[int, int] | None = None  # (y, x) of a single unit; None = channel mean
    p: int = 2


class Objective:
    """Batched data term for one layer of a loaded model.

    All samples share the layer; each has its own class/channel index (AM) or reference
    features ``phi0`` (inversion), so six schemes on one target are one forward pass.
    """

    def __init__(self, model, targets: list[Target], reference: torch.Tensor | None = None):
        if not targets:
            raise VizError("no targets given", field="target")
        t0 = targets[0]
        if any(t.task != t0.task or t.layer != t0.layer for t in targets):
            raise VizError("a batch must share its task and layer", field="layer")
        self.model = model
        self.targets = targets
        self.task = t0.task
        self.layer = model.resolve_layer(t0.layer)
        self.net = model.features(self.layer)
        device = model.device
        if self.task == "am":
            idx = [t.index for t in targets]
            if any(i is None for i in idx):
                raise VizError("activation maximization needs a class or channel index",
                               field="target")
            self.index = torch.tensor(idx, device=device)
            self._rows = torch.arange(len(idx), device=device)
            # one shared channel: a plain select (cheaper forward and backward than indexing)
            self._shared = idx[0] if len(set(idx)) == 1 else None
            units = [t.unit for t in targets]
            self.units = None if all(u is None for u in units) else units
            self._yx: tuple[torch.Tensor, torch.Tensor] | None = None
            self.p = None
        elif self.task == "inversion":
            if reference is None:
                raise VizError("feature inversion needs an image to invert", field="image")
            ps = {t.p for t in targets}
            if not ps <= {1, 2}:
                raise VizError(f"inversion exponent p must be 1 or 2, got {sorted(ps)}",
                               field="p")
            self.p = torch.tensor([float(t.p) for t in targets], device=device)
            with torch.no_grad():
                ref = reference.to(device)
                if ref.shape[0] == 1 and len(targets) > 1:
                    ref = ref.expand(len(targets), *ref.shape[1:])
                self.phi0 = self.net(model.normalize(ref)).detach()
            self.z = self.phi0.flatten(1).norm(dim=1).clamp(min=1e-12)
        else:
            raise VizError(f"unknown task {self.task!r}; allowed: {', '.join(TASKS)}",
                           field="task")

    def __call__(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (D per sample, target activation per sample) for pre-images ``u`` in [0,1]."""
        phi = self.net(self.model.normalize(u))
        if self.task == "inversion":
            err = (phi - self.phi0).flatten(1).norm(dim=1) / self.z
            return err ** self.p, err.detach()
        rows = self._rows
        if phi.ndim == 2:  # logits or pooled features
            act = phi[:, self._shared] if self._shared is not None else phi[rows, self.index]
        elif self.units is None:
            sel = phi[:, self._shared] if self._shared is not None else phi[rows, self.index]
            act = sel.mean(dim=(-2, -1))
        else:
            if self._yx is None:  # once: units default to the map's centre
                h, w = phi.shape[2:]
                self._yx = (torch.tensor([u[0] if u else h // 2 for u in self.units],
                                         device=phi.device),
                            torch.tensor([u[1] if u else w // 2 for u in self.units],
                                         device=phi.device))
            act = phi[rows, self.index, self._yx[0], self._yx[1]]
        return -act, act.detach()


def check_target(model, target: Target, reference_size: int | None = None) -> None:
    """Validate a target against a model: layer, class / channel index, unit position."""
    layer = model.resolve_layer(target.layer)
    if target.task == "am":
        if target.index is None:
            raise VizError("activation maximization needs --target CLASS or --channel C",
                           field="target")
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


def _layer_hw(model, layer: str) -> tuple[int, int]:
    """Spatial size of ``layer``'s output at the model's input size (one probe pass)."""
    spec = model.spec
    with torch.no_grad():
        x = torch.zeros(1, spec.channels, spec.input_size, spec.input_size, device=model.device)
        out = model.features(layer)(model.normalize(x))
    if out.ndim != 4:
        raise VizError(f"layer {layer} has no spatial map; a unit needs a convolutional layer",
                       field="unit")
    return int(out.shape[2]), int(out.shape[3])
