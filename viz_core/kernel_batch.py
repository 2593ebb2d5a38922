"""Applying the kernels of :mod:`viz_core.kernels` to a batch of images, one kernel per
sample (the ``K *`` of eq. 18, Secs. 2.2-2.4): depthwise convolution with a border mode,
the exact DCT-I route of :mod:`viz_core.cosine` for small images, and FFT multipliers for
the spectral and untruncated kernels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from viz_core import cosine
from viz_core.errors import VizError
from viz_core.kernels import BORDERS, Kernel

__all__ = ["KernelBatch", "apply_kernels", "fft_filter"]


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
        # per sample: no kernel, or a unit-gain one (constants kept); 1 where not, as (N,1,1,1)
        keeps = [i not in active or (kernels[i].spatial and border != "zeros" and abs(
            float(kernels[i].weights.double().sum()) * kernels[i].scale - 1.0) < 1e-6)
            for i in range(len(kernels))]
        self.unit_gain = bool(active) and all(keeps)
        self._shift = None if all(keeps) or not any(keeps) else torch.tensor(
            [0.0 if k else 1.0 for k in keeps]).view(-1, 1, 1, 1)

    def about(self, x: torch.Tensor, center: torch.Tensor) -> torch.Tensor:
        """The kernels applied about the mean image ``center``: ``c + K * (x - c)`` (eq. 18
        in mean-subtracted space, for L2 decay), which is ``K * x`` for the kernels that keep
        constants; each sample gets the form it gets alone."""
        if self.unit_gain:  # K(x - c) + c = K(x): one operation fewer per step
            return self(x)
        if self.noop:
            return x
        if self._shift is None:
            return center + self(x - center)
        key = ("shift", x.device, x.dtype)  # c only where needed (x - 0 = 0 + x = x exactly)
        if key not in self._cache:
            self._cache[key] = self._shift.to(x.device, x.dtype)
        shift = center * self._cache[key]
        return shift + self(x - shift)

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
        # the route by one sample's planes, not the batch's: a sample's result is then
        # the same alone and in a batch of any size
        if self.even and self.border == "reflect" and cosine.worth_it(c, h, w, p, x.device):
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
