"""Image-quality metrics for comparing regularization schemes (paper Sec. 3, Fig. 4, Table 1).

* :func:`psnr` and :func:`ssim` compare a reconstruction with the original (feature
  inversion, eq. 3); SSIM is Wang et al. (2004) with an 11 x 11 Gaussian window
  (sigma 1.5), K1 = 0.01, K2 = 0.03, population statistics, averaged over the valid window
  positions and the channels (the same definition as scikit-image's
  ``structural_similarity(..., gaussian_weights=True, use_sample_covariance=False)``).
* :func:`high_frequency_fraction` and :func:`total_variation` (eq. 19) are re-exported
  from :mod:`viz_core.spectra`; :func:`coarse_fraction` is the share of spectral energy at
  long wavelengths (the "coarse scales" that elastic schemes keep, Sec. 2.2 and 4.1).

Images are arrays or tensors of shape (H, W), (C, H, W) or (N, C, H, W) with values in
``[0, data_range]``; batched inputs give one value per sample.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from viz_core.errors import VizError
from viz_core.spectra import band_energy_fraction, high_frequency_fraction, total_variation

__all__ = [
    "coarse_fraction",
    "high_frequency_fraction",
    "image_metrics",
    "psnr",
    "ssim",
    "total_variation",
]

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _batch(img: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(H, W) | (C, H, W) | (N, C, H, W) -> float64 (N, C, H, W) CPU tensor."""
    t = img.detach() if isinstance(img, torch.Tensor) else torch.as_tensor(np.asarray(img))
    t = t.to("cpu", torch.float64)
    if t.ndim == 2:
        t = t[None, None]
    elif t.ndim == 3:
        t = t[None]
    if t.ndim != 4:
        raise VizError(f"expected an image of shape (H, W), (C, H, W) or (N, C, H, W), "
                       f"got {tuple(t.shape)}", field="image")
    return t


def _pair(x, y) -> tuple[torch.Tensor, torch.Tensor, bool]:
    a, b = _batch(x), _batch(y)
    batched = (getattr(x, "ndim", 0) == 4) or (getattr(y, "ndim", 0) == 4)
    if a.shape[1:] != b.shape[1:]:
        raise VizError(f"images differ in shape: {tuple(a.shape[1:])} vs {tuple(b.shape[1:])}",
                       field="image")
    if a.shape[0] != b.shape[0]:
        if a.shape[0] == 1:
            a = a.expand_as(b)
        elif b.shape[0] == 1:
            b = b.expand_as(a)
        else:
            raise VizError(f"batch sizes differ: {a.shape[0]} vs {b.shape[0]}", field="image")
    return a, b, batched


def _out(v: torch.Tensor, batched: bool) -> np.ndarray | float:
    return v.numpy() if batched else float(v[0])


def psnr(x, y, data_range: float = 1.0) -> np.ndarray | float:
    """Peak signal-to-noise ratio ``10 log10(R^2 / MSE)`` in dB; ``inf`` for identical images.

    A float for single images, an (N,) array for (N, C, H, W) batches.
    """
    a, b, batched = _pair(x, y)
    mse = (a - b).pow(2).flatten(1).mean(1)
    val = torch.where(mse > 0, 10 * torch.log10(data_range**2 / mse.clamp_min(1e-300)),
                      torch.full_like(mse, math.inf))
    return _out(val, batched)


def _gaussian_window(size: int, sigma: float) -> torch.Tensor:
    r = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)


def ssim(x, y, data_range: float = 1.0, window: int = SSIM_WINDOW,
         sigma: float = SSIM_SIGMA) -> np.ndarray | float:
    """Structural similarity (Wang et al. 2004) with a Gaussian window, in [-1, 1]; 1 for
    identical images. Local statistics are Gaussian-weighted means over every position
    where the window fits (valid convolution), then averaged over positions and channels.
    """
    a, b, batched = _pair(x, y)
    n, c, h, w = a.shape
    if h < window or w < window:
        raise VizError(f"SSIM needs images of at least {window}x{window} pixels, "
                       f"got {h}x{w}", field="image")
    win = _gaussian_window(window, sigma)[None, None].repeat(c, 1, 1, 1)

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, win, groups=c)

    mu_a, mu_b = filt(a), filt(b)
    var_a = filt(a * a) - mu_a**2
    var_b = filt(b * b) - mu_b**2
    cov = filt(a * b) - mu_a * mu_b
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1)
                                                   * (var_a + var_b + c2))
    return _out(s.flatten(1).mean(1), batched)


def coarse_fraction(img, cutoff: float = 1 / 16) -> float:
    """Fraction of the (mean-free) spectral energy at radial frequencies <= ``cutoff``
    cycles/pixel (default 1/16: wavelengths of 16 px and more): how much of the image is
    coarse structure. The low-frequency counterpart of :func:`high_frequency_fraction`."""
    return band_energy_fraction(_batch(img)[0], hi=cutoff)


def image_metrics(images, reference=None) -> dict[str, np.ndarray]:
    """Per-sample statistics of a batch of pre-images (N, C, H, W) in [0, 1]:
    ``hf_fraction``, ``coarse_fraction``, ``tv`` and, given the originals ``reference``
    ((1|N, C, H, W), same size), ``psnr`` and ``ssim``."""
    x = _batch(images)
    out = {
        "hf_fraction": np.array([high_frequency_fraction(im) for im in x]),
        "coarse_fraction": np.array([coarse_fraction(im) for im in x]),
        "tv": np.array([total_variation(im) for im in x]),
    }
    if reference is not None:
        ref = _batch(reference)
        if ref.shape[-2:] != x.shape[-2:]:
            ref = F.interpolate(ref, size=x.shape[-2:], mode="bilinear", align_corners=False)
        out["psnr"] = np.atleast_1d(psnr(x, ref))
        out["ssim"] = np.atleast_1d(ssim(x, ref)) if min(x.shape[-2:]) >= SSIM_WINDOW else \
            np.full(x.shape[0], np.nan)
    return out
