"""Regularization kernels of the demons update (paper Sec. 2.2-2.4, 2.7).

A :class:`KernelSpec` is what a user chooses (kind, parameter, size, order); :func:`build`
turns it into a :class:`Kernel`, which can be applied to a batch of multi-channel images
by depthwise convolution (border mode ``reflect`` by default) or exactly and periodically
through the FFT.

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

from viz_core import cosine
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
        p = "fit" if self.param is None else f"{self.param:g}"
        name = {"gaussian": "sigma", "sobolev": "gamma", "spectral": "d", "decay": "lambda"}
        extra = f", k={self.order}" if self.kind == "sobolev" and self.order > 1 else ""
        size = "" if self.kind in ("spectral", "decay") else f" {self.size or 'full'}"
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
        return Kernel(spec, float(spec.param if spec.param is not None else 2.0), None)
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


def _multiplier(k: Kernel, h: int, w: int, full: bool = False) -> torch.Tensor:
    fy, fx = _freq_grids(h, w, full)
    if k.spec.kind == "spectral":
        f = torch.sqrt((fy * h) ** 2 + (fx * w) ** 2)  # cycles per image
        return (1.0 / (1.0 + f / k.spec.f0) ** k.param).float()
    if k.weights is None:  # untruncated Sobolev: eigenvalues of -Lap (5-point)
        mu = 4 * torch.sin(math.pi * fy) ** 2 + 4 * torch.sin(math.pi * fx) ** 2
        return ((1.0 + k.param * mu) ** (-k.spec.order)).float()
    s = k.size
    pad = torch.zeros(h, w, dtype=torch.float64)
    if s > h or s > w:
        raise VizError(f"kernel size {s} is larger than the image ({h}x{w})", field="kernel_size")
    pad[:s, :s] = k.weights.double() * k.scale
    pad = torch.roll(pad, (-(s // 2), -(s // 2)), dims=(0, 1))
    return torch.fft.rfft2(pad).to(torch.complex64)


def fft_filter(x: torch.Tensor, mult: torch.Tensor, periodic: bool = True) -> torch.Tensor:
    """Multiply the spectrum of ``x`` (N, C, H, W) by ``mult`` ((N|1, 1|C, H', W'//2+1)).

    ``periodic=False`` uses the symmetric (half-sample) extension to 2H x 2W, which makes the
    filter act with Neumann boundary (the DCT-II form); ``mult`` must then be for 2H x 2W.
    """
    h, w = x.shape[-2:]
    if not periodic:
        x = torch.cat([x, x.flip(-2)], dim=-2)
        x = torch.cat([x, x.flip(-1)], dim=-1)
    y = torch.fft.irfft2(torch.fft.rfft2(x) * mult, s=x.shape[-2:])
    return y[..., :h, :w] if not periodic else y


class KernelBatch:
    """Kernel ``kernels[i]`` for sample ``i`` of a batch, applied depthwise over channels.

    Spatial kernels run as one grouped convolution (kernels zero-padded to a common size),
    or, for a few small planes on the CPU with reflect border, as the equal DCT-I product of
    :mod:`viz_core.cosine`;
    spectral kernels and the untruncated Sobolev operator through the FFT. ``border`` is the
    convolution's border mode (``reflect`` default, or ``replicate``, ``circular``,
    ``zeros``) and also picks the FFT boundary (``circular`` -> periodic, else Neumann by
    symmetric extension). Identity kernels cost nothing. Weights and multipliers are built
    once and cached per device, channel count and image size, so a step does no set-up.
    """

    def __init__(self, kernels: list[Kernel | None], border: str = "reflect") -> None:
        if border not in BORDERS:
            raise VizError(f"unknown border mode {border!r}; allowed: {', '.join(BORDERS)}",
                           field="border")
        self.kernels = kernels
        self.border = border
        active = [i for i, k in enumerate(kernels) if k is not None and not _is_noop(k)]
        self.spatial = [i for i in active if kernels[i].spatial]
        self.spectral = [i for i in active if not kernels[i].spatial]
        self.noop = not active
        self._cache: dict[tuple, torch.Tensor] = {}
        # even kernels (all built ones) may take the DCT-I route of viz_core.cosine
        self.even = all(cosine.is_even(kernels[i].weights) for i in self.spatial)
        # unit-sum spatial kernels with a border that keeps constants constant: K(v + c) =
        # K(v) + c for a constant c (so the engine may skip subtracting the mean image)
        self.unit_gain = bool(active) and not self.spectral and border != "zeros" and all(
            abs(float(kernels[i].weights.double().sum()) * kernels[i].scale - 1.0) < 1e-6
            for i in self.spatial)

    def _weight(self, c: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        key = ("w", c, device, dtype)
        if key not in self._cache:
            ks = [self.kernels[i] for i in self.spatial]
            s = max(k.size for k in ks)
            weight = torch.zeros(len(ks), s, s, dtype=torch.float64)
            for j, k in enumerate(ks):
                o = (s - k.size) // 2
                weight[j, o:o + k.size, o:o + k.size] = k.weights.double() * k.scale
            self._cache[key] = weight.repeat_interleave(c, 0)[:, None].to(device, dtype)
        return self._cache[key]

    def _mult(self, h: int, w: int, device: torch.device) -> torch.Tensor:
        key = ("m", h, w, device)
        if key not in self._cache:
            periodic = self.border == "circular"
            hh, ww = (h, w) if periodic else (2 * h, 2 * w)
            m = torch.stack([self.kernels[i].multiplier(hh, ww) for i in self.spectral])
            self._cache[key] = m[:, None].to(device)
        return self._cache[key]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.noop:
            return x
        n, c, h, w = x.shape
        if len(self.kernels) != n:
            raise ValueError(f"{len(self.kernels)} kernels for a batch of {n}")
        full = len(self.spatial) == n
        if full and not self.spectral:
            return self._conv(x, c, h, w)
        # index tensors cached on the device: indexing with a Python list would copy the
        # list to the GPU at every step, which waits for the GPU (a host synchronisation)
        out = x.clone()
        if self.spatial:
            i = self._rows("spatial", x.device)
            out.index_copy_(0, i, self._conv(x.index_select(0, i), c, h, w))
        if self.spectral:
            i = self._rows("spectral", x.device)
            out.index_copy_(0, i, fft_filter(x.index_select(0, i), self._mult(h, w, x.device),
                                             periodic=self.border == "circular"))
        return out

    def _rows(self, which: str, device: torch.device) -> torch.Tensor:
        key = ("rows", which, device)
        if key not in self._cache:
            self._cache[key] = torch.tensor(getattr(self, which), dtype=torch.long,
                                            device=device)
        return self._cache[key]

    def _cosine(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        key = ("cos", h, w, x.device, x.dtype)
        if key not in self._cache:
            ks = [self.kernels[i] for i in self.spatial]
            mult = torch.stack([cosine.multiplier(k.weights.double() * k.scale, h, w)
                                for k in ks])
            self._cache[key] = (cosine.matrices(h, w, x.device, x.dtype),
                                mult[:, None].to(x.device, x.dtype))
        mats, mult = self._cache[key]
        return cosine.apply(x, mats, mult)

    def _conv(self, x: torch.Tensor, c: int, h: int, w: int) -> torch.Tensor:
        weight = self._weight(c, x.device, x.dtype)
        s = weight.shape[-1]
        p = s // 2
        if p and (p >= h or p >= w):
            raise VizError(f"kernel size {s} is too large for a {h}x{w} image "
                           f"(it must be smaller than {2 * min(h, w) - 1})", field="kernel_size")
        m = x.shape[0]
        if self.even and self.border == "reflect" and cosine.worth_it(m * c, h, w, p,
                                                                      x.device):
            return self._cosine(x, h, w)  # the same result, faster for small images
        xin = x.reshape(1, m * c, h, w)
        if p:
            mode = "constant" if self.border == "zeros" else self.border
            xin = F.pad(xin, (p, p, p, p), mode=mode)
        return F.conv2d(xin, weight, groups=m * c).reshape(m, c, h, w)


def apply_kernels(
    kernels: list[Kernel | None], x: torch.Tensor, border: str = "reflect"
) -> torch.Tensor:
    """Apply ``kernels[i]`` to sample ``x[i]`` (see :class:`KernelBatch`)."""
    return KernelBatch(kernels, border)(x)


def _is_noop(k: Kernel) -> bool:
    return k.spatial and k.size == 1 and k.scale == 1.0


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
