"""Regularization kernels of the demons update (paper Sec. 2.2-2.4, 2.7).

A :class:`KernelSpec` is what a user chooses (kind, parameter, size, order); :func:`build`
turns it into a :class:`Kernel`; :mod:`viz_core.kernel_batch` applies kernels to a batch of
multi-channel images (depthwise convolution with border mode ``reflect`` by default, the
DCT-I route for small images, or exactly and periodically through the FFT).

Kinds
-----
``identity``  the Dirac delta: leaves its input unchanged.
``gaussian``  sampled ``G_sigma``, normalised to unit sum (eqs. 6, 8).
``sobolev``   ``S_gamma``: the discrete solution of ``(Id - gamma*Lap)^k s = delta_0`` on the
              size x size grid with the 5-point Laplacian and **Dirichlet** boundary (grid
              neighbours outside the kernel are dropped, i.e. taken as zero), normalised to
              unit sum (eq. 16; ``k > 1`` is the paper's "higher-order" future work).
              ``size = 0`` means untruncated: the operator applied to the whole image through
              its spectrum (Neumann boundary via symmetric extension, or periodic).
``spectral``  Distill/Lucid's FFT parameterisation as a fluid preconditioner: the gradient's
              Fourier coefficients are scaled by ``1 / (1 + |f| / f0)^d`` (``param = d``,
              ``f0`` in cycles per image).
``decay``     L2 decay ``(1 - lambda * tau) * delta`` (Simonyan et al.); ``param = lambda``.
              Its factor depends on the step size, so :func:`build` takes ``tau``.

Plain arrays (:func:`gaussian_kernel`, :func:`sobolev_kernel`, :func:`sobolev_solve`) and
the fitting rule of Sec. 2.7 are in :mod:`viz_core.kernel_fitting`; the demons update on
plain arrays is :func:`viz_core.schemes.demons_step`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from viz_core.errors import VizError
from viz_core.kernel_fitting import (
    MAX_KERNEL_SIZE,
    SIZED_KINDS,
    check_fittable,
    fit_parameter,
    gaussian_kernel,
    sobolev_kernel,
)

KINDS = ("identity", "gaussian", "sobolev", "spectral", "decay")
#: The spectral preconditioner's default exponent d (Olah et al., Distill 2017; not in the
#: paper).
SPECTRAL_D = 2.0
BORDERS = ("reflect", "replicate", "circular", "zeros")
PARAM_RANGE = {"gaussian": (1e-3, 1e3), "sobolev": (1e-6, 1e6), "spectral": (1e-3, 10.0)}


@dataclass(frozen=True)
class KernelSpec:
    """A user's choice of kernel. ``param`` is sigma / gamma / d / lambda; ``None`` fits it."""

    kind: str = "identity"
    param: float | None = None
    size: int = 11
    order: int = 1
    f0: float = 1.0  # spectral only: cut-off in cycles per image

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> KernelSpec:
        known = {k: d[k] for k in ("kind", "param", "size", "order", "f0") if k in d}
        return cls(**known)

    @classmethod
    def parse(cls, text: str, size: int = 11, order: int = 1) -> KernelSpec:
        """Parse the CLI form ``KIND[:PARAM]`` (e.g. ``sobolev:0.38``, ``gaussian``)."""
        kind, _, param = text.strip().partition(":")
        kind = kind.strip().lower()
        value: float | None = None
        if param.strip() and param.strip().lower() != "fit":
            try:
                value = float(param)
            except ValueError:
                raise VizError(
                    f"kernel parameter {param!r} in {text!r} is not a number "
                    "(use KIND[:PARAM], e.g. sobolev:0.38)",
                    field="kernel",
                ) from None
        spec = cls(kind=kind, param=value, size=size, order=order)
        validate_spec(spec)
        return spec

    @property
    def label(self) -> str:
        if self.kind == "identity":
            return "identity"
        if self.kind == "spectral":  # not fitted: its default exponent is a number
            d = SPECTRAL_D if self.param is None else self.param
            return f"spectral (Lucid's preconditioner, d={d:g})"
        p = "fit" if self.param is None else f"{self.param:g}"
        name = {"gaussian": "sigma", "sobolev": "gamma", "decay": "lambda"}
        extra = f", k={self.order}" if self.kind == "sobolev" and self.order > 1 else ""
        size = "" if self.kind == "decay" else f" {self.size or 'full'}"
        return f"{self.kind}{size} ({name[self.kind]}={p}{extra})"


def _finite_positive(value: float, name: str) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise VizError(f"{name} must be a finite number > 0, got {value!r}", field=name)


def validate_spec(spec: KernelSpec) -> None:
    """Raise :class:`VizError` if ``spec`` cannot be built: among others a size whose
    parameter is to be fitted (``param`` None) but that the rule of Sec. 2.7 cannot fit
    (the Sobolev kernel of eq. 16 beyond size 37 at order 1,
    :func:`~viz_core.kernel_fitting.check_fittable`)."""
    if spec.kind not in KINDS:
        raise VizError(
            f"unknown kernel kind {spec.kind!r}; allowed: {', '.join(KINDS)}", field="kernel"
        )
    size_needed = spec.kind in SIZED_KINDS
    if size_needed:
        s = spec.size
        if not isinstance(s, int) or isinstance(s, bool):
            raise VizError(f"kernel size must be an integer, got {s!r}", field="kernel_size")
        allow_full = spec.kind == "sobolev" and s == 0
        if not allow_full and (s < 1 or s % 2 == 0 or s > MAX_KERNEL_SIZE):
            full = " (or 0 for the untruncated operator)" if spec.kind == "sobolev" else ""
            raise VizError(
                f"kernel size must be odd, between 1 and {MAX_KERNEL_SIZE}{full}, got {s}",
                field="kernel_size",
            )
        if allow_full and spec.param is None:
            raise VizError("the untruncated Sobolev kernel (size 0) needs an explicit gamma",
                           field="gamma")
    if spec.param is not None:
        name = {"gaussian": "sigma", "sobolev": "gamma", "spectral": "d", "decay": "lambda",
                "identity": "param"}[spec.kind]
        if spec.kind == "decay":
            if not math.isfinite(spec.param) or spec.param < 0:
                raise VizError(f"lambda must be a finite number >= 0, got {spec.param!r}",
                               field="lambda")
        elif spec.kind != "identity":
            _finite_positive(spec.param, name)
            lo, hi = PARAM_RANGE[spec.kind]
            if not lo <= spec.param <= hi:
                raise VizError(f"{name} must lie in [{lo:g}, {hi:g}], got {spec.param:g}",
                               field=name)
    if spec.kind == "decay" and spec.param is None:
        raise VizError("the decay kernel needs lambda, e.g. decay:0.1", field="lambda")
    if not isinstance(spec.order, int) or not 1 <= spec.order <= 8:
        raise VizError(f"Sobolev order k must be an integer in 1..8, got {spec.order!r}",
                       field="order")
    if size_needed and spec.param is None and spec.size:
        check_fittable(spec.kind, spec.size, spec.order)
    _finite_positive(spec.f0, "f0")


# --------------------------------------------------------------------------- Kernel objects

@dataclass(frozen=True)
class Kernel:
    """A built kernel: either spatial ``weights`` (2D, unit sum unless decay) or a spectral
    multiplier (``spectral`` kinds and the untruncated Sobolev operator)."""

    spec: KernelSpec
    param: float
    weights: torch.Tensor | None  # (k, k) float64, None for spectral kernels
    scale: float = 1.0            # decay factor (1 - lambda * tau)

    @property
    def is_identity(self) -> bool:
        return self.spec.kind == "identity" or (
            self.weights is not None and self.weights.numel() == 1 and self.scale == 1.0
        )

    @property
    def spatial(self) -> bool:
        return self.weights is not None

    @property
    def size(self) -> int:
        return 0 if self.weights is None else int(self.weights.shape[-1])

    def multiplier(self, h: int, w: int) -> torch.Tensor:
        """The kernel's periodic Fourier multiplier on an h x w grid (rfft layout,
        (h, w//2+1)); :class:`KernelBatch` takes it on the 2h x 2w symmetric extension for
        the Neumann boundary."""
        return _multiplier(self, h, w)

    def apply(self, x: torch.Tensor, border: str = "reflect") -> torch.Tensor:
        """Apply to ``x`` of shape (H, W), (C, H, W) or (N, C, H, W): depthwise per channel;
        the result has the shape of ``x``."""
        from viz_core.kernel_batch import apply_kernels  # it builds on this module

        x4 = x.reshape((1,) * (4 - x.ndim) + tuple(x.shape)) if x.ndim < 4 else x
        return apply_kernels([self] * x4.shape[0], x4, border=border).reshape(x.shape)

    def frequency_response(self, n: int = 64) -> np.ndarray:
        """|H(f)| on an n x n grid, centred (fftshift), for plots."""
        if self.weights is None:
            m = _multiplier(self, n, n, full=True)
            return np.fft.fftshift(m.abs().double().numpy())
        k = self.weights.double().numpy() * self.scale
        pad = np.zeros((max(n, k.shape[0]), max(n, k.shape[0])))
        s = k.shape[0]
        pad[:s, :s] = k
        pad = np.roll(pad, (-(s // 2), -(s // 2)), axis=(0, 1))
        return np.fft.fftshift(np.abs(np.fft.fft2(pad)))


def build(spec: KernelSpec, tau: float = 1.0) -> Kernel:
    """Build a :class:`Kernel` from a spec (fitting the parameter if ``spec.param`` is None).

    ``tau`` is only used by the ``decay`` kind: factor ``1 - lambda * tau``.
    """
    validate_spec(spec)
    kind = spec.kind
    if kind == "identity":
        return Kernel(spec, 0.0, torch.ones(1, 1, dtype=torch.float64))
    if kind == "decay":
        factor = 1.0 - float(spec.param) * tau
        if not 0.0 <= factor <= 1.0:
            raise VizError(
                f"L2 decay factor 1 - lambda*tau = {factor:g} must lie in [0, 1]; "
                "lower lambda or the step size",
                field="lambda",
            )
        return Kernel(spec, float(spec.param), torch.ones(1, 1, dtype=torch.float64), scale=factor)
    if kind == "spectral":
        return Kernel(spec, float(spec.param if spec.param is not None else SPECTRAL_D), None)
    if kind == "sobolev" and spec.size == 0:
        return Kernel(spec, float(spec.param), None)
    param = spec.param if spec.param is not None else fit_parameter(kind, spec.size, spec.order)
    if kind == "gaussian":
        w = gaussian_kernel(spec.size, param)
    else:
        w = sobolev_kernel(spec.size, param, spec.order)
    return Kernel(spec, float(param), torch.from_numpy(w))


def _freq_grids(h: int, w: int, full: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = (torch.fft.fftfreq if full else torch.fft.rfftfreq)(w, dtype=torch.float64)[None, :]
    return fy, fx


Freq = float | np.ndarray | torch.Tensor


def _sin(f: Freq) -> np.ndarray | torch.Tensor:
    return torch.sin(math.pi * f) if isinstance(f, torch.Tensor) else np.sin(np.pi * np.asarray(f))


def sobolev_symbol(gamma: float, fy: Freq, fx: Freq = 0.0, order: int = 1
                   ) -> np.ndarray | torch.Tensor:
    """|H| of the untruncated discrete Sobolev filter ``(Id - gamma Lap)^-k`` (eq. 16 with
    the 5-point Laplacian, whose symbol is ``4 sin^2(pi f_y) + 4 sin^2(pi f_x)``), gamma in
    px^2, frequencies in cycles / pixel; NumPy arrays or tensors (then a tensor). The
    engine's spectral route applies it (size 0); eq. 16's continuous form is
    :func:`sobolev_fourier`.

    >>> round(float(sobolev_symbol(0.25, 0.5)), 3)
    0.5
    >>> round(float(sobolev_symbol(1.0, torch.tensor(0.25), torch.tensor(0.25), order=2)), 4)
    0.04
    """
    mu = 4 * _sin(fy) ** 2 + 4 * _sin(fx) ** 2
    return (1.0 + gamma * mu) ** (-order)


def sobolev_fourier(gamma: float, f: Freq, order: int = 1) -> np.ndarray:
    """Eq. 16's Fourier form ``(1 + gamma |omega|^2)^-k`` with ``omega = 2 pi f`` (f in
    cycles / pixel): the continuous operator, which the discrete filter
    (:func:`sobolev_symbol`) follows at low frequencies (4 sin^2(pi f) ~ (2 pi f)^2).

    >>> round(float(sobolev_fourier(0.25, 0.5)), 3)
    0.288
    """
    return 1.0 / (1.0 + gamma * (2.0 * np.pi * np.asarray(f)) ** 2) ** order


def gaussian_transfer(sigma: float, f: Freq) -> np.ndarray:
    """The transfer function of G_sigma (eqs. 6, 8): ``exp(-2 pi^2 sigma^2 f^2)``, sigma in
    pixels, f in cycles / pixel (the sampled kernel's spectrum, before truncation and up to
    aliasing near Nyquist).

    >>> round(float(gaussian_transfer(1.0, 0.5)), 4)
    0.0072
    """
    return np.exp(-2.0 * (np.pi * sigma * np.asarray(f)) ** 2)


def _multiplier(k: Kernel, h: int, w: int, full: bool = False) -> torch.Tensor:
    fy, fx = _freq_grids(h, w, full)
    if k.spec.kind == "spectral":
        f = torch.sqrt((fy * h) ** 2 + (fx * w) ** 2)  # cycles per image
        return (1.0 / (1.0 + f / k.spec.f0) ** k.param).float()
    if k.weights is None:  # untruncated Sobolev: eq. 16's discrete symbol
        return sobolev_symbol(k.param, fy, fx, k.spec.order).float()
    s = k.size
    pad = torch.zeros(h, w, dtype=torch.float64)
    if s > h or s > w:
        raise VizError(f"kernel size {s} is larger than the image ({h}x{w})", field="kernel_size")
    pad[:s, :s] = k.weights.double() * k.scale
    pad = torch.roll(pad, (-(s // 2), -(s // 2)), dims=(0, 1))
    return torch.fft.rfft2(pad).to(torch.complex64)


def center_profile(k: Kernel) -> np.ndarray:
    """The kernel's middle row (for plots); spectral kernels have none (empty array)."""
    if k.weights is None:
        return np.zeros(0)
    return k.weights[k.size // 2].double().numpy() * k.scale


def power(k: Kernel, n: int) -> Kernel:
    """``K^n`` (``n``-fold self-convolution): the effective kernel of ``n`` elastic steps
    (eqs. 11-12). Returned with the size grown to ``n*(s-1)+1``."""
    if k.weights is None or n <= 1:
        return k
    w = k.weights.double()[None, None]
    out = w
    for _ in range(n - 1):
        out = F.conv2d(F.pad(out, (k.size - 1,) * 4), w.flip(-1, -2))
    return Kernel(k.spec, k.param, out[0, 0], k.scale**n)
