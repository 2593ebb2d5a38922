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


def tv_work(u: torch.Tensor) -> tuple:
    """Work buffers of :func:`tv_gradient` for images shaped like ``u``, reusable from step
    to step: the two forward differences and ``eps`` (3, *u.shape) with the views a step
    writes (their last column / row stays 0), the two normalised differences with a zero
    first row and column (2, ..., H+1, W+1) seen as ``p`` and as ``p`` shifted by one
    (``p_x`` one column right, ``p_y`` one row down: one strided view of both), the ``eps``
    last written, and room for the squares, their sum and ``p_prev - p``."""
    *lead, h, w = u.shape
    d, p = u.new_zeros((3, *lead, h, w)), u.new_zeros((2, *lead, h + 1, w + 1))
    # element (c, ..., i, j) of p_prev: p[0, ..., i + 1, j] (c = 0), p[1, ..., i, j + 1]
    # (c = 1): one offset between the two planes
    shifted = p.as_strided((2, *lead, h, w), (p[0].numel() - w, *p.stride()[1:]),
                           p.storage_offset() + w + 1)
    return (d, d[0, ..., :, :-1], d[1, ..., :-1, :], d[:2], p[:, ..., 1:, 1:], shifted,
            [None, -1], torch.empty_like(d), torch.empty_like(u), torch.empty_like(d[:2]))


def _set_eps(d: torch.Tensor, eps: float | torch.Tensor, last: list) -> None:
    """Write ``eps`` into the third plane of ``d`` unless it holds it already (the same
    number, or the same tensor not changed in place since: its version counter)."""
    if not isinstance(eps, torch.Tensor):
        if last[0] is not None or last[1] != eps:
            d[2].fill_(eps)
            last[:] = [None, eps]
        return
    version = None if eps.is_inference() else eps._version
    if version is None or last[0] is not eps or last[1] != version:
        d[2].copy_(eps)
        last[:] = [eps, version]


def tv_gradient(u: torch.Tensor, eps: float | torch.Tensor,
                work: tuple | None = None) -> torch.Tensor:
    """Gradient of the relaxed TV, sum sqrt(|grad u|^2 + eps^2) (eqs. 19-20):
    ``-div(grad u / sqrt(|grad u|^2 + eps^2))`` with forward differences (Neumann: zero in
    the last column / row) and the divergence as their negative adjoint, per channel.
    ``eps`` may be a (N,1,1,1) tensor; ``work`` (:func:`tv_work`) saves the allocations
    and slicing of a step; the normalisation and the divergence run as one operation on
    both differences each (few operations: on small images each costs more than its
    arithmetic)."""
    if torch.compiler.is_compiling():  # writes into views would break a compiled graph
        return _tv_gradient_functional(u, eps)
    d, dx, dy, d2, p, p_prev, last, sq, q, t = tv_work(u) if work is None else work
    torch.diff(u, dim=-1, out=dx)
    torch.diff(u, dim=-2, out=dy)
    _set_eps(d, eps, last)
    # (dx^2 + dy^2) + eps^2 as one sum over the three planes
    torch.mul(d2, torch.sum(torch.mul(d, d, out=sq), 0, out=q).rsqrt_(), out=p)
    # -div p with div p = p - p shifted by one (backward difference, p = 0 outside), the
    # adjoint of -grad: (p_x,prev - p_x) + (p_y,prev - p_y), one subtraction and one sum
    return torch.sub(p_prev, p, out=t).sum(0)


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
    d = torch.stack([dx, dy, torch.as_tensor(eps, dtype=u.dtype, device=u.device)
                     .expand_as(dx)])
    px, py = d[:2] * (d * d).sum(0).rsqrt_()
    return torch.stack([F.pad(px[..., :, :-1], (1, 0)) - px,
                        F.pad(py[..., :-1, :], (0, 0, 1, 0)) - py]).sum(0)
