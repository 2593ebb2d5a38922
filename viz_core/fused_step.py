"""The kernels of the demons update (eq. 18) in a few matrix products per step: small images
on a CPU, where a step of the network costs a few milliseconds and the update's own
operations must stay a few percent of it.

Two exact routes for an even kernel with reflect border, both built once per octave stage
and image shape (no per-step set-up):

* ``sep``: a separable kernel (the Gaussian ``G_sigma = g g^T``, eqs. 6 and 8) is
  ``K * x = B_h x B_w^T`` with ``B`` the reflect-border matrix of the 1-D factor: two small
  matrix products;
* ``dct``: any even kernel (the Sobolev ``S_gamma``, eq. 16) is diagonal in the DCT-I basis
  (:mod:`viz_core.cosine`), ``K * x = S ((A x A^T) . M) S^T``. Both slots of eq. 18 are
  diagonal in that basis, so with ``d = coef g (+ tv_coef grad TV(u))`` the fluid-elastic
  update ``Ke * (u - Kf * d) = S ((A u A^T) . Me - (A d A^T) . (Me Mf)) S^T`` is one forward
  transform each of u and d, their products with the multipliers and one inverse transform.

The step factor of the engine's normalised gradient, ``tau |u| / ||g||_1`` (Sec. 2.5), is a
number over a per-sample divisor, applied inside the operation that combines the two terms
(:func:`descend`): on images this small every operation costs more than its arithmetic.

A sample's route depends on its own kernels, cadence and image shape only (never on the
batch's size or its other members), so a batch is split into groups of one route pair (and
the samples of the general path) and every sample is updated in a batch exactly as alone.
Unit-gain elastic kernels (every built Gaussian and Sobolev kernel) keep constants under
reflect borders, so ``c + Ke * (v - c) = Ke * v`` and the mean image ``c`` drops out; L2
decay, spectral kernels, other borders and ``elastic_every > 1`` keep the general path.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from viz_core import cosine
from viz_core.kernel_batch import KernelBatch
from viz_core.kernels import Kernel

__all__ = ["FusedBank", "descend", "reflect_matrix", "route"]

#: A step factor: a number, a (N,1,1,1) tensor, or None (1).
Coef = float | torch.Tensor | None


def descend(base: torch.Tensor, d: torch.Tensor, coef: Coef, den: torch.Tensor | None,
            sign: float = -1.0) -> torch.Tensor:
    """``base + sign * coef * d / den`` in one operation (``coef=None``: 1; ``den=None``: 1;
    a number ``coef`` with a tensor ``den`` is the engine's normalised step of eq. 18,
    ``tau |u| / ||g||_1``, without a division of its own)."""
    if isinstance(coef, (int, float)) and not abs(coef) <= torch.finfo(base.dtype).max:
        # a step too large for the dtype (or not finite): torch refuses it as a scalar;
        # as a tensor it gives the inf/nan update that divergence detection reports
        coef = torch.tensor(float(coef), dtype=torch.float64, device=base.device) \
            .to(base.dtype)
    if den is not None:
        if isinstance(coef, torch.Tensor):
            return torch.addcdiv(base, d * coef, den, value=sign)
        return torch.addcdiv(base, d, den, value=sign * (1.0 if coef is None else coef))
    if coef is None:
        return base - d if sign < 0 else base + d
    if isinstance(coef, torch.Tensor):
        return torch.addcmul(base, coef, d, value=sign)
    return torch.add(base, d, alpha=sign * coef)


def _factors(k: Kernel) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The 1-D factors (a, b) with ``weights * scale = a b^T`` (float64), or None."""
    w = k.weights.double() * k.scale
    s = float(w.sum())
    if s <= 0:
        return None
    a, b = w.sum(1) / s ** 0.5, w.sum(0) / s ** 0.5
    if float((torch.outer(a, b) - w).abs().max()) > 1e-14 * float(w.abs().max()):
        return None
    return a, b


def route(k: Kernel | None) -> str | None:
    """``None`` (no kernel, or the identity), ``sep``, ``dct``, or ``other`` (general
    path: spectral kernels, uneven weights)."""
    if k is None or KernelBatch([k]).noop:
        return None
    if not k.spatial or not cosine.is_even(k.weights):
        return "other"
    return "sep" if _factors(k) is not None else "dct"


def reflect_matrix(taps: torch.Tensor, n: int) -> torch.Tensor:
    """The (n, n) matrix of the 1-D correlation with ``taps`` (odd length, radius < n) and
    reflect border (``d c b | a b c d | c b a``), float64."""
    r = taps.numel() // 2
    i = torch.arange(n)[:, None].expand(n, taps.numel())
    j = i + torch.arange(taps.numel())[None, :] - r
    j = torch.where(j < 0, -j, torch.where(j >= n, 2 * (n - 1) - j, j))
    m = torch.zeros(n, n, dtype=torch.float64)
    return m.index_put_((i, j), taps.double().expand(n, -1), accumulate=True)


def _plane(t: Coef) -> Coef:
    """A one-sample factor for the 2-D products of one plane: (1,1,1,1) -> (1, 1)."""
    return t.view(1, 1) if isinstance(t, torch.Tensor) and t.dim() > 2 else t


def _mm(left: torch.Tensor, x: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """``left @ x @ right``; 2-D matrices and a single plane: plain 2-D products."""
    if left.dim() == 2 and x.shape[:-2].numel() == 1:
        return (left @ x.reshape(x.shape[-2:]) @ right).reshape(x.shape)
    return left @ x @ right


class _Plan:
    """The kernels of one group (one route per slot) for one shape, device and dtype."""

    def __init__(self, fluid: list[Kernel | None], elastic: list[Kernel | None],
                 routes: tuple[str | None, str | None], shape: torch.Size,
                 device: torch.device, dtype: torch.dtype) -> None:
        _, _, h, w = shape
        self.routes = routes
        self.mats = cosine.matrices(h, w, device, dtype) if "dct" in routes else None

        def prepared(ks: list[Kernel | None], kind: str | None) -> tuple | None:
            if kind == "sep":  # (m, 1, h, h) and (m, 1, w, w); 2-D for one sample
                f = [_factors(k) for k in ks]
                left = torch.stack([reflect_matrix(a, h) for a, _ in f])[:, None]
                right = torch.stack([reflect_matrix(b, w).T for _, b in f])[:, None]
                if len(ks) == 1:
                    left, right = left[0, 0], right[0, 0]
                return left.to(device, dtype), right.to(device, dtype).contiguous()
            if kind == "dct":  # (m, 1, h, w), and (h, w) for one plane
                mult = torch.stack([cosine.multiplier(k.weights.double() * k.scale, h, w)
                                    for k in ks])[:, None].to(device, dtype)
                return mult, (mult.view(h, w) if shape[:2].numel() == 1 else None)
            return None

        self.f, self.e = prepared(fluid, routes[0]), prepared(elastic, routes[1])
        if routes == ("dct", "dct"):  # (2m, 1, h, w): Me for u, Me Mf for d
            self.pair = torch.cat([self.e[0], self.e[0] * self.f[0]])
            if shape[0] == 1:  # one sample: (h, w) planes for the 2-D products of step
                self.pair2 = tuple(self.pair.view(2, h, w).unbind(0))

    def _apply(self, x: torch.Tensor, kind: str, prep: tuple) -> torch.Tensor:
        if kind == "sep":
            return _mm(prep[0], x, prep[1])
        if prep[1] is not None:  # one plane: 2-D products (cosine.apply's, prepared)
            ah, awt, sh, swt = self.mats
            return (sh @ ((ah @ x.reshape(prep[1].shape) @ awt) * prep[1]) @ swt
                    ).reshape(x.shape)
        return cosine.apply(x, self.mats, prep[0])

    def step(self, u: torch.Tensor, d: torch.Tensor, coef: Coef, den: torch.Tensor | None,
             tv: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """``Ke * (u - Kf * (coef d / den + lam t))`` (eq. 18; ``coef=None``: 1, ``den=None``:
        1; ``tv=(lam, t)``: the TV term of eqs. 19-20, none if None)."""
        kf, ke = self.routes
        if tv is not None and kf is not None:  # the fluid kernel filters both terms
            d, coef, den = descend(tv[0] * tv[1], d, coef, den, 1.0), None, None
            tv = None
        if kf == ke == "dct":
            ah, awt, sh, swt = self.mats
            m = u.shape[0]
            if u.shape[:-2].numel() == 1:  # one plane: 2-D products, u and d apart (the
                # same products as on [u | d], without joining them: fewer kinds of
                # operation after the network's backward pass, where each costs most)
                h, w = u.shape[-2:]
                me, mef = self.pair2
                zu = ah @ u.reshape(h, w) @ awt
                zd = ah @ d.reshape(h, w) @ awt
                v = descend(zu * me, zd * mef, _plane(coef), _plane(den))
                return (sh @ v @ swt).reshape(u.shape)
            z = (ah @ torch.cat([u, d]) @ awt) * self.pair
            return sh @ descend(z[:m], z[m:], coef, den) @ swt
        if kf is not None:
            d = self._apply(d, kf, self.f)
        v = descend(u, d, coef, den)
        if tv is not None:
            v = v.addcmul_(tv[0], tv[1], value=-1.0)
        return v if ke is None else self._apply(v, ke, self.e)


class FusedBank:
    """The kernel part of :meth:`viz_core.schemes.SchemeBank.step` by groups of samples of
    one route pair (see the module text). :meth:`build` says whether a bank qualifies.

    Which route a sample takes depends on that sample alone (its kernels, cadence and the
    image's shape), never on the other members of its batch: the samples that cannot take
    a matrix route (``general``) are updated on the general path by the caller, the others
    here, so each gets the update it gets alone."""

    def __init__(self, fluid: list[Kernel | None], elastic: list[Kernel | None],
                 routes: list[tuple[str | None, str | None]],
                 eligible: list[bool] | None = None) -> None:
        self.fluid, self.elastic = fluid, elastic
        self.groups: dict[tuple[str | None, str | None], list[int]] = {}
        self.general: list[int] = []
        for i, r in enumerate(routes):
            if eligible is None or eligible[i]:
                self.groups.setdefault(r, []).append(i)
            else:
                self.general.append(i)
        self._plans: dict[tuple, list | None] = {}
        self._last: tuple = (None, None)  # the key and plans of the last call

    @classmethod
    def build(cls, fluid: list[Kernel | None], elastic: list[Kernel | None], border: str,
              elastic_every: list[int]) -> FusedBank | None:
        """A :class:`FusedBank` when the border is reflect and some sample's kernels take
        the ``sep`` or ``dct`` route with every elastic kernel of unit gain and applied at
        every step; else None (the general path of
        :class:`~viz_core.kernel_batch.KernelBatch` for every sample)."""
        if border != "reflect":
            return None
        routes = [(route(f), route(e)) for f, e in zip(fluid, elastic)]
        eligible = ["other" not in r and not (r[1] and n != 1)
                    and (not r[1] or KernelBatch([e]).unit_gain)
                    for r, e, n in zip(routes, elastic, elastic_every)]
        return cls(fluid, elastic, routes, eligible) if any(eligible) else None

    def plans(self, u: torch.Tensor) -> list | None:
        """(rows, plan) per group for ``u``'s shape, with ``(rows, indices)`` for the
        samples of the general path; None when no sample takes a matrix route for this shape (its
        planes too many, or its kernel too wide: :func:`viz_core.cosine.worth_it`, decided
        per sample)."""
        key = (u.shape, u.device, u.dtype)
        if key == self._last[0]:  # the steps of a stage: no hashing
            return self._last[1]
        if key not in self._plans:
            n, c, h, w = u.shape
            general = list(self.general)
            groups = []
            for r, rows in self.groups.items():
                fits = []
                for i in rows:
                    ks = [k for k in (self.fluid[i], self.elastic[i]) if k]
                    radius = max([k.size // 2 for k in ks], default=0)
                    ok = not ks or cosine.worth_it(c, h, w, radius, u.device)
                    (fits if ok else general).append(i)
                if fits:
                    groups.append((r, fits))
            out: list | None = None
            if groups:
                def index(rows: list[int]) -> torch.Tensor | None:
                    return (None if len(rows) == n else
                            torch.tensor(sorted(rows), dtype=torch.long, device=u.device))

                out = [(index(rows), _Plan([self.fluid[i] for i in rows],
                                           [self.elastic[i] for i in rows], r,
                                           torch.Size((len(rows), c, h, w)), u.device,
                                           u.dtype)) for r, rows in groups]
                if general:  # the rows of the general path, and who they are
                    out.append((index(general), tuple(sorted(general))))
            self._plans[key] = out
        self._last = (key, self._plans[key])
        return self._last[1]

    def step(self, u: torch.Tensor, d: torch.Tensor, coef: Coef, den: torch.Tensor | None,
             plans: list, tv: tuple[torch.Tensor, torch.Tensor] | None = None,
             general: Callable[[torch.Tensor, tuple[int, ...]], torch.Tensor] | None = None
             ) -> torch.Tensor:
        """``Ke * (u - Kf * (coef d / den + lam t))`` for every sample (:meth:`_Plan.step`),
        with ``plans`` of :meth:`plans`; ``general(idx, rows)`` updates the samples of the
        general path (their entry in ``plans`` holds their indices instead of a plan)."""
        if len(plans) == 1:
            return plans[0][1].step(u, d, coef, den, tv)
        out = torch.empty_like(u)

        def rows(t, idx):
            return t.index_select(0, idx) if isinstance(t, torch.Tensor) else t

        for idx, plan in plans:
            if isinstance(plan, tuple):
                if general is None:
                    raise ValueError("samples of the general path need general=")
                out.index_copy_(0, idx, general(idx, plan))
                continue
            out.index_copy_(0, idx, plan.step(
                rows(u, idx), rows(d, idx), rows(coef, idx), rows(den, idx),
                None if tv is None else (rows(tv[0], idx), rows(tv[1], idx))))
        return out
