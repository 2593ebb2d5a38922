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

__all__ = ["FIT_THRESHOLD", "MAX_KERNEL_SIZE", "SIZED_KINDS", "check_fittable", "fit_parameter",
           "gaussian_kernel", "largest_fitted_size", "laplacian_5pt_dirichlet", "ring_limit",
           "ring_max", "sobolev_kernel", "sobolev_solve"]

#: Kernel kinds with a size their parameter is fitted to (Sec. 2.7): G_sigma and S_gamma.
SIZED_KINDS = ("gaussian", "sobolev")
#: The fitting rule's bound on the outermost ring of a unit-sum kernel (Sec. 2.7).
FIT_THRESHOLD = 1e-4
#: The largest kernel size the tools accept (odd sizes 1..63).
MAX_KERNEL_SIZE = 63
#: The bracket of the fit never grows past this parameter: the ring maximum is within
#: rounding of its limit there, so a fit that needs more has no meaningful answer.
_MAX_FIT_PARAM = 1e12


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


def _green_kernel(size: int, order: int) -> np.ndarray:
    """``(-Lap)^-order delta`` on a size x size grid (Dirichlet, DST-I), unit sum: the limit
    of the unit-sum Sobolev kernel ``S_gamma`` (eq. 16) as gamma grows without bound, since
    ``(Id - gamma Lap)^-k = gamma^-k (Id/gamma - Lap)^-k`` and unit sum removes
    ``gamma^-k``."""
    v, mu = _dirichlet_basis(size)
    delta = np.zeros((size, size))
    delta[size // 2, size // 2] = 1.0
    s = v @ ((v.T @ delta @ v) * (mu[:, None] + mu[None, :]) ** (-order)) @ v.T
    s = s + s[::-1]
    s = s + s[:, ::-1]
    s = (s + s.T) / 8.0
    return s / s.sum()


@lru_cache(maxsize=1024)
def ring_limit(kind: str, size: int, order: int = 1) -> float:
    """The supremum over the parameter of the outermost ring's largest entry (Sec. 2.7) of
    the unit-sum kernel: the ring maximum grows with sigma / gamma towards this limit, the
    ring of the flat box ``1 / size^2`` for ``G_sigma`` and of the normalised Green's
    function of ``(-Lap)^order`` for ``S_gamma`` (eq. 16, gamma -> infinity). A size whose
    limit is at or below the fitting threshold has no largest parameter: every one keeps
    the ring below it."""
    if kind == "gaussian":
        return 1.0 / size**2
    return ring_max(_green_kernel(size, order))


@lru_cache(maxsize=64)
def largest_fitted_size(kind: str, order: int = 1, threshold: float = FIT_THRESHOLD) -> int:
    """The largest odd size (up to :data:`MAX_KERNEL_SIZE`) whose parameter the rule of
    Sec. 2.7 can fit: every odd size up to it has a ring limit (:func:`ring_limit`) above
    ``threshold``. For the Sobolev kernel at 1e-4 that is 37 (order 1), 39 (order 2) and 41
    (orders 3-8); every Gaussian size up to 63 is fitted."""
    largest = 1
    for size in range(3, MAX_KERNEL_SIZE + 1, 2):
        if ring_limit(kind, size, order) <= threshold:
            break
        largest = size
    return largest


def check_fittable(kind: str, size: int, order: int = 1, threshold: float = FIT_THRESHOLD
                   ) -> None:
    """Raise a one-line :class:`VizError` (field ``kernel_size``) when sigma / gamma cannot
    be fitted to ``size`` by the rule of Sec. 2.7 (:func:`largest_fitted_size`), naming the
    largest size that can."""
    if kind not in SIZED_KINDS or size < 3:
        return
    largest = largest_fitted_size(kind, order, threshold)
    if size > largest:
        what = {"gaussian": ("Gaussian", "sigma"), "sobolev": ("Sobolev", "gamma")}[kind]
        of = f" of order {order}" if kind == "sobolev" and order > 1 else ""
        raise VizError(
            f"a {what[0]} kernel{of} can be fitted to sizes up to {largest}, not {size}: "
            f"beyond that every {what[1]} keeps the outermost ring below {threshold:g} "
            f"(Sec. 2.7), so there is no largest {what[1]} to fit; choose a size <= "
            f"{largest} or set {what[1]} yourself", field="kernel_size")


@lru_cache(maxsize=256)
def fit_parameter(kind: str, size: int, order: int = 1, threshold: float = FIT_THRESHOLD) -> float:
    """Fit sigma (Gaussian) or gamma (Sobolev) to a kernel size (paper Sec. 2.7).

    Reading implemented (the literal one of Sec. 2.7): after normalising to unit
    sum, every entry of the outermost one-pixel ring is <= ``threshold`` (so all entries
    above it lie inside the one-pixel margin), and the parameter is the largest for which
    this holds, so the kernel fills its size as fully as that allows. The ring maximum
    grows monotonically with the parameter towards :func:`ring_limit`, so bisection finds
    it when that limit exceeds ``threshold``; otherwise no largest parameter exists (the
    Sobolev kernel beyond size 37, eq. 16) and :func:`check_fittable` refuses the size.
    """
    if kind not in SIZED_KINDS:
        raise VizError(f"only gaussian and sobolev kernels are fitted, not {kind!r}",
                       field="kernel")
    if size < 3:
        return 1e-6  # a 1x1 kernel is the identity whatever the parameter
    check_fittable(kind, size, order, threshold)

    def ring(p: float) -> float:
        k = gaussian_kernel(size, p) if kind == "gaussian" else sobolev_kernel(size, p, order)
        return ring_max(k)

    lo, hi = 1e-4, 1.0
    while ring(lo) > threshold:  # a small kernel of high order: the rule needs less
        lo, hi = lo / 2.0, lo
    while ring(hi) <= threshold:
        if hi >= _MAX_FIT_PARAM:  # the limit is within rounding of the threshold
            raise VizError(
                f"the {kind} kernel of size {size} cannot be fitted: its outermost ring "
                f"stays below {threshold:g} up to a parameter of {_MAX_FIT_PARAM:g} (Sec. "
                "2.7); choose a smaller size or set the parameter yourself",
                field="kernel_size")
        lo, hi = hi, hi * 2.0
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        if ring(mid) <= threshold:
            lo = mid
        else:
            hi = mid
    return lo
