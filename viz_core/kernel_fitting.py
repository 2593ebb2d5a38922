"""Kernel construction and fitting (paper Sec. 2.2-2.4, 2.7): the sampled Gaussian
``G_sigma`` (eqs. 6, 8), the Sobolev kernel ``S_gamma`` as the exact DST-I solution of
``(Id - gamma Lap)^k s = delta`` with Dirichlet boundary (eq. 16), and the rule that fits
sigma / gamma to a kernel size (Sec. 2.7). Plain NumPy arrays; :mod:`viz_core.kernels`
turns them into kernels that filter batches."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from viz_core.errors import VizError

__all__ = ["FIT_THRESHOLD", "SIZED_KINDS", "fit_parameter", "gaussian_kernel",
           "laplacian_5pt_dirichlet", "ring_max", "sobolev_kernel", "sobolev_solve"]

#: Kernel kinds with a size their parameter is fitted to (Sec. 2.7): G_sigma and S_gamma.
SIZED_KINDS = ("gaussian", "sobolev")
#: The fitting rule's bound on the outermost ring of a unit-sum kernel (Sec. 2.7).
FIT_THRESHOLD = 1e-4


def gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """Sampled Gaussian ``G_sigma`` on a size x size grid, unit sum (float64)."""
    r = np.arange(size) - size // 2
    g = np.exp(-(r**2) / (2.0 * sigma**2))
    k = np.outer(g, g)
    return k / k.sum()


def _dirichlet_basis(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal DST-I eigenvectors and eigenvalues ``mu`` of ``-d^2`` (Dirichlet), n points."""
    j = np.arange(1, n + 1)
    v = np.sqrt(2.0 / (n + 1)) * np.sin(np.pi * np.outer(j, j) / (n + 1))
    mu = 4.0 * np.sin(np.pi * j / (2.0 * (n + 1))) ** 2
    return v, mu


def sobolev_solve(f: np.ndarray | torch.Tensor, gamma: float, order: int = 1) -> np.ndarray:
    """Solve ``(Id - gamma*Lap)^order s = f`` for a 2D array ``f`` (eq. 16; ``order > 1``
    is the higher-order filter of Sec. 4), exactly, in the DST-I eigenbasis of the 5-point
    Laplacian with **Dirichlet** boundary (values outside the grid are zero). ``f`` may be a
    NumPy array or a tensor of shape (H, W); returns a float64 NumPy array."""
    f = np.asarray(f.detach().cpu() if isinstance(f, torch.Tensor) else f, dtype=np.float64)
    if f.ndim != 2:
        raise VizError(f"sobolev_solve needs a 2D array, got shape {f.shape}", field="shape")
    vy, muy = _dirichlet_basis(f.shape[0])
    vx, mux = _dirichlet_basis(f.shape[1])
    mult = (1.0 + gamma * (muy[:, None] + mux[None, :])) ** (-order)
    return vy @ ((vy.T @ f @ vx) * mult) @ vx.T


def sobolev_kernel(size: int, gamma: float, order: int = 1, normalize: bool = True) -> np.ndarray:
    """The Sobolev kernel ``S_gamma``: :func:`sobolev_solve` of the centred unit impulse on
    a size x size grid (eq. 16), unit sum when ``normalize`` (the raw solution is what
    satisfies the linear system). float64."""
    delta = np.zeros((size, size))
    delta[size // 2, size // 2] = 1.0
    s = sobolev_solve(delta, gamma, order)
    # the exact solution is even in both axes (and transposition); remove rounding asymmetry
    s = s + s[::-1]  # pairwise sums are exactly symmetric (commutative)
    s = s + s[:, ::-1]
    s = (s + s.T) / 8.0
    return s / s.sum() if normalize else s


def laplacian_5pt_dirichlet(x: np.ndarray) -> np.ndarray:
    """The 5-point Laplacian of ``x`` with zero values outside the grid."""
    p = np.pad(x, 1)
    return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4.0 * x


def ring_max(k: np.ndarray) -> float:
    """The largest entry of the outermost one-pixel ring of a 2D kernel (Sec. 2.7)."""
    return float(max(k[0].max(), k[-1].max(), k[:, 0].max(), k[:, -1].max()))


@lru_cache(maxsize=256)
def fit_parameter(kind: str, size: int, order: int = 1, threshold: float = FIT_THRESHOLD) -> float:
    """Fit sigma (Gaussian) or gamma (Sobolev) to a kernel size (paper Sec. 2.7).

    Reading implemented (the literal one of Sec. 2.7): after normalising to unit
    sum, every entry of the outermost one-pixel ring is <= ``threshold`` (so all entries
    above it lie inside the one-pixel margin), and the parameter is the largest for which
    this holds, so the kernel fills its size as fully as that allows. The ring maximum
    grows monotonically with the parameter, so bisection finds it.
    """
    if kind not in SIZED_KINDS:
        raise VizError(f"only gaussian and sobolev kernels are fitted, not {kind!r}",
                       field="kernel")
    if size < 3:
        return 1e-6  # a 1x1 kernel is the identity whatever the parameter

    def ring(p: float) -> float:
        k = gaussian_kernel(size, p) if kind == "gaussian" else sobolev_kernel(size, p, order)
        return ring_max(k)

    lo, hi = 1e-4, 1.0
    while ring(hi) <= threshold:
        lo, hi = hi, hi * 2.0
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        if ring(mid) <= threshold:
            lo = mid
        else:
            hi = mid
    return lo
