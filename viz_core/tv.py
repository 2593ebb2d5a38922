"""Total variation of eqs. 19-20 (the baseline regulariser of Mahendran and Vedaldi): the
relaxed energy ``sum sqrt(|grad u|^2 + eps^2)`` and its gradient, with forward differences
(Neumann boundary) per channel. :class:`viz_core.schemes.SchemeBank` adds ``lambda`` times
the gradient to the data gradient of a demons step (eq. 18 + eq. 5).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["tv_energy", "tv_gradient", "tv_work"]


def _forward_diff(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward differences, zero in the last column / row (Neumann)."""
    dx = F.pad(u[..., :, 1:] - u[..., :, :-1], (0, 1))
    dy = F.pad(u[..., 1:, :] - u[..., :-1, :], (0, 0, 0, 1))
    return dx, dy


def tv_work(u: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Work buffers of :func:`tv_gradient` for images shaped like ``u``, reusable from step
    to step: the two forward differences (2, *u.shape), the two normalised ones with a zero
    first row and column (2, ..., H+1, W+1), and the views of them a step writes and
    reads (their borders stay 0)."""
    *lead, h, w = u.shape
    d, p = u.new_zeros((2, *lead, h, w)), u.new_zeros((2, *lead, h + 1, w + 1))
    return (d, d[0, ..., :, :-1], d[1, ..., :-1, :], p[:, ..., 1:, 1:], p[0, ..., 1:, 1:],
            p[0, ..., 1:, :-1], p[1, ..., 1:, 1:], p[1, ..., :-1, 1:])


def tv_gradient(u: torch.Tensor, eps: float | torch.Tensor,
                work: tuple[torch.Tensor, ...] | None = None) -> torch.Tensor:
    """Gradient of the relaxed TV, sum sqrt(|grad u|^2 + eps^2) (eqs. 19-20):
    ``-div(grad u / sqrt(|grad u|^2 + eps^2))`` with forward differences (Neumann: zero in
    the last column / row) and the divergence as their negative adjoint, per channel.
    ``eps`` may be a (N,1,1,1) tensor; ``work`` (:func:`tv_work`) saves the allocations
    and slicing of a step; the normalisation runs as one operation on both differences."""
    if torch.compiler.is_compiling():  # writes into views would break a compiled graph
        return _tv_gradient_functional(u, eps)
    d, dx, dy, p_in, px, px_prev, py, py_prev = tv_work(u) if work is None else work
    h, w = u.shape[-2:]
    torch.sub(u.narrow(-1, 1, w - 1), u.narrow(-1, 0, w - 1), out=dx)
    torch.sub(u.narrow(-2, 1, h - 1), u.narrow(-2, 0, h - 1), out=dy)
    sq = torch.mul(d, d)
    torch.mul(d, torch.add(sq[0], sq[1]).add_(eps * eps).rsqrt_(), out=p_in)
    # -div p with div p = p - p shifted by one (backward difference, p = 0 outside), the
    # adjoint of -grad; written as (p_prev - p) - ... (rounding is sign-symmetric: the
    # same numbers as negating at the end, in the few kinds of operation a step uses)
    return torch.sub(px_prev, px).sub_(py).add_(py_prev)


def tv_energy(u: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Relaxed total variation per sample (eqs. 19-20): ``sum sqrt(|grad u|^2 + eps^2)``
    over pixels and channels of each sample of ``u`` (N, ...), forward differences with
    Neumann boundary (zero in the last row / column). ``eps = 0`` is the isotropic TV of
    eq. 19; :func:`tv_gradient` is the gradient of this energy."""
    dx, dy = _forward_diff(u)
    return torch.sqrt(dx * dx + dy * dy + eps * eps).flatten(1).sum(1)


def _tv_gradient_functional(u: torch.Tensor, eps: float | torch.Tensor) -> torch.Tensor:
    """:func:`tv_gradient` without work buffers (the same arithmetic), for torch.compile."""
    dx, dy = _forward_diff(u)
    inv = (dx.square() + dy.square()).add_(eps * eps).rsqrt_()
    px, py = dx * inv, dy * inv
    div = (px - F.pad(px[..., :, :-1], (1, 0))).add_(py).sub_(F.pad(py[..., :-1, :], (0, 0, 1, 0)))
    return div.neg_()
