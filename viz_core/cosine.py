"""Reflect-border convolution as a DCT-I multiplier, for small images on the CPU.

A convolution with an even kernel (``k[-i, j] = k[i, j] = k[i, -j]``: Gaussian, Sobolev)
and ``reflect`` border (``d c b | a b c d | c b a``) equals the circular convolution of the
image's whole-sample symmetric extension (period ``2h - 2``) with the zero-padded kernel,
provided the kernel radius is below the image side. That extension is diagonalised by the
DCT-I, so per axis::

    K * x  =  S_h ((A_h x A_w^T) . M) S_w^T,

with ``A`` the DCT-I analysis matrix (``A[k, n] = w_n cos(pi k n / (h - 1))``, ``w`` = 1 at
both ends and 2 inside), ``S = A / (2h - 2)`` its inverse and ``M`` the kernel's (real)
discrete Fourier transform on the ``(2h-2) x (2w-2)`` grid. The result is exact up to
rounding; it costs four small matrix products, which on a CPU beats oneDNN's grouped
convolution for a handful of image planes of up to ~128 px (a one-channel 64x64 image:
~35 us against ~105 us).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

# use the transform when (planes x longest side) is at most this (CPU measurements: the
# matrix products win below about 250, the grouped convolution above)
MAX_PLANES_X_SIDE = 256


def is_even(weights: torch.Tensor) -> bool:
    """Whether a 2-D kernel is symmetric under flipping each axis."""
    return bool(torch.equal(weights, weights.flip(0)) and torch.equal(weights, weights.flip(1)))


def worth_it(planes: int, h: int, w: int, radius: int, device: torch.device) -> bool:
    """Whether the transform is the faster exact route (CPU, small images, kernel fits in
    one period ``2h - 2`` of the symmetric extension: radius <= side - 2)."""
    return (device.type == "cpu" and min(h, w) >= 2 and radius < min(h, w) - 1
            and planes * max(h, w) <= MAX_PLANES_X_SIDE)


@lru_cache(maxsize=32)
def _analysis64(n: int) -> torch.Tensor:
    idx = torch.arange(n, dtype=torch.float64)
    c = torch.cos(math.pi * idx.view(-1, 1) * idx / (n - 1))
    wts = torch.full((n,), 2.0, dtype=torch.float64)
    wts[0] = wts[-1] = 1.0
    return c * wts  # A[k, n] = w_n cos(pi k n / (n - 1))


def matrices(h: int, w: int, device: torch.device, dtype: torch.dtype
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(A_h, A_w^T, S_h, S_w^T)`` for an ``h x w`` image."""
    ah, aw = _analysis64(h), _analysis64(w)
    out = (ah, aw.T, ah / (2 * h - 2), aw.T / (2 * w - 2))
    return tuple(m.to(device, dtype).contiguous() for m in out)  # type: ignore[return-value]


def multiplier(weights: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The (h, w) DCT-I multiplier ``M`` of an even ``s x s`` kernel (float64)."""
    s = weights.shape[-1]
    p = s // 2
    z = torch.zeros(2 * h - 2, 2 * w - 2, dtype=torch.float64)
    z[:s, :s] = weights.double()
    z = torch.roll(z, (-p, -p), (0, 1))  # kernel centre at the origin
    return torch.fft.fft2(z).real[:h, :w].contiguous()


def apply(x: torch.Tensor, mats: tuple[torch.Tensor, ...], mult: torch.Tensor) -> torch.Tensor:
    """``K * x`` with reflect border for ``x`` (..., h, w) and multipliers broadcasting
    against it (e.g. (N, 1, h, w) for one kernel per sample)."""
    ah, awt, sh, swt = mats
    if x.shape[:-2].numel() == 1 and mult.shape[:-2].numel() == 1:  # one plane: plain mm
        x2, m2 = x.reshape(x.shape[-2:]), mult.reshape(mult.shape[-2:])
        return (sh @ ((ah @ x2 @ awt) * m2) @ swt).reshape(x.shape)
    return sh @ ((ah @ x @ awt) * mult) @ swt
