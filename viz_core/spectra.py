"""Image statistics used to compare schemes: radially averaged power spectrum, the share of
spectral energy above half Nyquist, and total variation (paper eq. 19)."""

from __future__ import annotations

import numpy as np
import torch

from viz_core.schemes import tv_energy


def _as_tensor(img: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(C, H, W) or (H, W) float tensor."""
    t = torch.as_tensor(np.asarray(img) if not isinstance(img, torch.Tensor) else img)
    t = t.detach().double().cpu()
    return t[None] if t.ndim == 2 else t


def radial_power_spectrum(img: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged power spectrum of an image (C, H, W) or (H, W), mean removed.

    Returns ``(freq, power)``: frequency in cycles per pixel (0 .. 0.5, the Nyquist limit)
    and the mean power |F|^2 over the channels and the annulus of each integer radius.
    """
    t = _as_tensor(img)
    t = t - t.mean(dim=(-2, -1), keepdim=True)
    c, h, w = t.shape
    p = (torch.fft.fft2(t).abs() ** 2).mean(0) / (h * w)
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    r = torch.sqrt(fy**2 + fx**2) * min(h, w)
    bins = torch.round(r).long().flatten()
    nb = min(h, w) // 2 + 1
    keep = bins < nb
    total = torch.zeros(nb, dtype=torch.float64).index_add_(0, bins[keep], p.flatten()[keep])
    count = torch.zeros(nb, dtype=torch.float64).index_add_(
        0, bins[keep], torch.ones_like(p.flatten()[keep]))
    freq = np.arange(nb) / min(h, w)
    return freq, (total / count.clamp(min=1)).numpy()


def band_energy_fraction(img: np.ndarray | torch.Tensor, lo: float = 0.0,
                         hi: float = float("inf")) -> float:
    """Fraction of the (mean-free) spectral energy at radial frequencies in (lo, hi]
    cycles/pixel, over all channels of an image (C, H, W) or (H, W)."""
    t = _as_tensor(img)
    t = t - t.mean(dim=(-2, -1), keepdim=True)
    h, w = t.shape[-2:]
    p = (torch.fft.fft2(t).abs() ** 2).sum(0)
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    r = torch.sqrt(fy**2 + fx**2)
    total = float(p.sum())
    return float(p[(r > lo) & (r <= hi)].sum()) / total if total > 0 else 0.0


def high_frequency_fraction(img: np.ndarray | torch.Tensor) -> float:
    """Fraction of the (mean-free) spectral energy above half the Nyquist frequency,
    i.e. at radial frequency > 0.25 cycles/pixel: how much fine detail or noise is left."""
    return band_energy_fraction(img, lo=0.25)


def total_variation(img: np.ndarray | torch.Tensor) -> float:
    """Isotropic total variation (eq. 19, :func:`viz_core.schemes.tv_energy` with
    ``eps = 0``) divided by the number of values (pixels x channels): the mean length of the
    image gradient, so that images of different sizes compare. For an image in [0, 1] it
    lies in [0, sqrt(2)]."""
    t = _as_tensor(img)
    return float(tv_energy(t[None], 0.0)[0]) / t.numel()
