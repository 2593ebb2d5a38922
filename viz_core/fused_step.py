"""The kernels of the demons update (eq. 18) for a whole batch in a few tensor operations:
small images on a CPU, where a step of the network costs a few milliseconds and the
update's own operations must stay a few percent of it.

Reflect-border convolution with an even kernel is diagonal in the DCT-I basis
(:mod:`viz_core.cosine`): ``K * x = S ((A x A^T) . M) S^T``, four small matrix products and
one product of multipliers. When every sample of a batch has the same filled slots of eq. 18
(all fluid, all elastic, or both; kinds and parameters may differ), the update

    u <- Ke * (u - Kf * d),     d = coef g (+ tv_coef grad TV(u), eqs. 19-20)

is one such transform per filled slot on the whole batch, with the multipliers built once
per octave stage and image shape: no per-step set-up, index copies or cache look-ups. The
arithmetic (and its order) is that of :class:`~viz_core.kernels.KernelBatch`'s DCT-I
route, so a sample's update is the same alone or in a batch. For unit-gain elastic kernels
(every built Gaussian and Sobolev kernel) ``c + Ke * (v - c) = Ke * v`` (reflect borders
keep constants), so the mean image ``c`` drops out; L2 decay keeps the general path.
"""

from __future__ import annotations

import torch

from viz_core import cosine
from viz_core.kernels import Kernel, KernelBatch

__all__ = ["CosinePlan", "plan_for"]


def _slot(kernels: list[Kernel | None]) -> tuple[list[Kernel | None], bool] | None:
    """One slot's kernels and whether it acts at all; None when it is filled for some
    samples only, or holds a spectral or uneven kernel (the general path then)."""
    batch = KernelBatch(kernels, "reflect")
    if batch.noop:
        return [None] * len(kernels), False
    if batch.spectral or len(batch.spatial) != len(kernels) or not batch.even:
        return None
    return list(kernels), True


def plan_for(fluid: list[Kernel | None], elastic: list[Kernel | None], border: str,
             elastic_every: list[int]) -> tuple[list, list, bool, bool] | None:
    """Whether a bank's update can run as a :class:`CosinePlan`: reflect border, every
    elastic kernel applied at every step, each slot filled for all samples or for none,
    all kernels even spatial ones and the elastic ones of unit gain. Returns (fluid
    kernels, elastic kernels, fluid acts, elastic acts), or None."""
    if border != "reflect" or any(e != 1 for e, k in zip(elastic_every, elastic) if k):
        return None
    f, e = _slot(fluid), _slot(elastic)
    if f is None or e is None or (e[1] and not KernelBatch(e[0], border).unit_gain):
        return None
    return f[0], e[0], f[1], e[1]


class CosinePlan:
    """Eq. 18's kernels for one image shape, device and dtype: the DCT-I matrices and the
    per-sample multipliers ``Mf`` and ``Me`` (N, 1, h, w), built once."""

    def __init__(self, fluid: list[Kernel | None], elastic: list[Kernel | None],
                 fluid_on: bool, elastic_on: bool, shape: torch.Size,
                 device: torch.device, dtype: torch.dtype) -> None:
        _, _, h, w = shape
        self.fluid_on, self.elastic_on = fluid_on, elastic_on
        if not (fluid_on or elastic_on):
            return
        self.mats = cosine.matrices(h, w, device, dtype)

        def mults(ks: list[Kernel | None]) -> torch.Tensor | None:
            if not any(ks):
                return None
            return torch.stack([cosine.multiplier(k.weights.double() * k.scale, h, w)
                                for k in ks])[:, None].to(device, dtype)

        self.mf, self.me = mults(fluid), mults(elastic)

    @staticmethod
    def usable(kernels: list[Kernel | None], shape: torch.Size,
               device: torch.device) -> bool:
        """Whether the DCT-I route is exact and the faster one for this shape
        (:func:`viz_core.cosine.worth_it` for the largest kernel radius); without kernels
        (plain gradient descent, TV) always."""
        n, c, h, w = shape
        if all(k is None for k in kernels):
            return True
        radius = max(k.size // 2 for k in kernels if k is not None)
        return cosine.worth_it(n * c, h, w, radius, device)

    def step(self, u: torch.Tensor, d: torch.Tensor, scale: torch.Tensor | None
             ) -> torch.Tensor:
        """``Ke * (u - scale Kf * d)`` (eq. 18; ``scale=None``: 1)."""
        if self.fluid_on:
            d = cosine.apply(d, self.mats, self.mf)
        v = u - d if scale is None else torch.addcmul(u, scale, d, value=-1.0)
        if self.elastic_on:
            v = cosine.apply(v, self.mats, self.me)
        return v
