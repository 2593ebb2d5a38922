"""The built-in objectives (one decorated function each; see
:mod:`viz_core.objectives.algebra`). Every value is a data term D per sample, minimised:

* ``class_logit(k)`` / ``class_log_prob(k)``: minus a class's logit (eq. 4) or its
  log-probability (log-softmax);
* ``channel(layer, c)``: minus the spatial mean of channel ``c`` (eq. 4, ``Z = 1``);
* ``neuron(layer, c, y, x)``: minus one unit (the centre unit without ``y, x``);
* ``direction(layer, [v...])``: minus the spatial mean of the projection of ``Phi`` on the
  unit vector ``v`` of the layer's channel space;
* ``diversity(layer)``: minus the mean Frobenius-normalised Gram-matrix similarity of each
  sample to the other samples of the batch (Olah et al., Distill 2017; Lucent's
  convention: subtract it, ``channel(...) - 0.1*diversity(...)``);
* ``inversion(layer, p)``: ``||Phi(u) - Phi_0||^p / ||Phi_0||^p`` (eq. 3); the reported
  activation is the relative error.
"""

from __future__ import annotations

import torch

from viz_core.errors import VizError
from viz_core.objectives.algebra import Binding, Term, leaf, objective

__all__ = ["channel", "class_log_prob", "class_logit", "direction", "diversity", "inversion",
           "neuron"]


def _check_class(b: Binding, index: int) -> None:
    n = len(b.model.classes)
    if not 0 <= index < n:
        raise VizError(f"class index {index} out of range 0..{n - 1}", field="objective")


def _check_channel(b: Binding, index: int) -> None:
    n = b.channels()
    if not 0 <= index < n:
        raise VizError(f"channel {index} out of range 0..{n - 1} for layer {b.layer}",
                       field="objective")


def _spatial_mean(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=(-2, -1)) if x.ndim == 3 else x


@objective
def class_logit(index: int) -> Term:
    """Minus the logit of class ``index`` (the paper's class score, eq. 4)."""
    def make(b: Binding):
        _check_class(b, index)
        return lambda phi: -phi[:, index]
    return leaf("logits", make)


@objective
def class_log_prob(index: int) -> Term:
    """Minus the log-probability (log-softmax) of class ``index``."""
    def make(b: Binding):
        _check_class(b, index)
        return lambda phi: torch.logsumexp(phi, dim=1) - phi[:, index]
    return leaf("logits", make)


@objective
def channel(layer: str, index: int) -> Term:
    """Minus the spatial mean of channel ``index`` of ``layer``."""
    def make(b: Binding):
        _check_channel(b, index)
        return lambda phi: -_spatial_mean(phi[:, index])
    return leaf(layer, make)


@objective
def neuron(layer: str, index: int, y: int = -1, x: int = -1) -> Term:
    """Minus unit ``(index, y, x)`` of ``layer`` (-1: the centre of the map)."""
    def make(b: Binding):
        _check_channel(b, index)
        size = b.model.spec.input_size
        with torch.no_grad():
            shape = b.phi(torch.zeros(1, b.model.spec.channels, size, size,
                                      device=b.model.device)).shape
        if len(shape) != 4:
            raise VizError(f"layer {b.layer} has no spatial map; a neuron needs one",
                           field="objective")
        h, w = shape[2], shape[3]
        yy, xx = (h // 2 if y < 0 else y), (w // 2 if x < 0 else x)
        if not (0 <= yy < h and 0 <= xx < w):
            raise VizError(f"unit ({yy}, {xx}) outside the {h}x{w} map of {b.layer}",
                           field="objective")
        return lambda phi: -phi[:, index, yy, xx]
    return leaf(layer, make)


@objective
def direction(layer: str, vector: list[float]) -> Term:
    """Minus the spatial mean of ``<Phi, v / |v|>`` over the channels of ``layer``."""
    def make(b: Binding):
        n = b.channels()
        if len(vector) != n:
            raise VizError(f"direction needs {n} numbers for layer {b.layer}, got "
                           f"{len(vector)}", field="objective")
        v = torch.tensor(vector, dtype=torch.float32, device=b.model.device)
        if not torch.isfinite(v).all() or float(v.norm()) == 0:
            raise VizError("direction needs a finite, non-zero vector", field="objective")
        v = v / v.norm()

        def value(phi: torch.Tensor) -> torch.Tensor:
            proj = torch.einsum("nc...,c->n...", phi, v.to(phi.dtype))
            return -_spatial_mean(proj) if proj.ndim == 3 else -proj
        return value
    return leaf(layer, make)


@objective
def diversity(layer: str) -> Term:
    """Minus each sample's mean Gram similarity to the other samples (zero for one sample)."""
    def make(b: Binding):
        def value(phi: torch.Tensor) -> torch.Tensor:
            n = phi.shape[0]
            flat = phi.flatten(2) if phi.ndim > 2 else phi.unsqueeze(-1)
            gram = flat @ flat.transpose(1, 2)  # (N, C, C)
            g = gram.flatten(1)
            g = g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)
            sim = g @ g.T  # (N, N) cosine similarities of the Gram matrices
            return -(sim.sum(dim=1) - sim.diagonal()) / n
        return value
    return leaf(layer, make)


@objective
def inversion(layer: str, p: int = 2) -> Term:
    """``||Phi(u) - Phi_0||^p / ||Phi_0||^p`` for the reference image's ``Phi_0`` (eq. 3)."""
    if p not in (1, 2):
        raise VizError(f"inversion exponent p must be 1 or 2, got {p}", field="objective")

    def make(b: Binding):
        with torch.no_grad():
            phi0 = b.phi(b.reference).detach()
        z = phi0.flatten(1).norm(dim=1).clamp(min=1e-12)

        def value(phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            err = (phi - phi0).flatten(1).norm(dim=1) / z
            return err ** p, err.detach()
        return value
    return leaf(layer, make, needs_reference=True)
