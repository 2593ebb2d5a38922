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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from viz_core.errors import VizError
from viz_core.spectra import band_energy_fraction, high_frequency_fraction, total_variation

#: Images or a batch of them, (C, H, W) or (N, C, H, W) in [0, 1].
Images = np.ndarray | torch.Tensor

__all__ = [
    "LEGACY_KEYS",
    "METRICS",
    "Metric",
    "coarse_fraction",
    "high_frequency_fraction",
    "image_metrics",
    "metric_keys",
    "metric_label",
    "psnr",
    "run_rows",
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


def psnr(x: Images, y: Images, data_range: float = 1.0) -> np.ndarray | float:
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


def ssim(x: Images, y: Images, data_range: float = 1.0, window: int = SSIM_WINDOW,
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


def coarse_fraction(img: Images, cutoff: float = 1 / 16) -> float:
    """Fraction of the (mean-free) spectral energy at radial frequencies <= ``cutoff``
    cycles/pixel (default 1/16: wavelengths of 16 px and more): how much of the image is
    coarse structure. The low-frequency counterpart of :func:`high_frequency_fraction`."""
    return band_energy_fraction(_batch(img)[0], hi=cutoff)


# ----------------------------------------------------------------------------- registry

#: Where a metric's value comes from: the pre-image alone, the pre-image and the original
#: (inversion, eq. 3), the run itself (engine frame), or the independent judge network
#: (viz_core.zoo.judge_for).
SOURCES = ("image", "reference", "run", "judge")


@dataclass(frozen=True)
class Metric:
    """One number reported per pre-image. ``fn`` (sources ``image`` / ``reference``) maps a
    float64 batch (N, C, H, W) in [0, 1] and the originals (N, C, H, W) or None to (N,)
    values; ``better`` is ``"higher"``, ``"lower"`` or ``""`` (descriptive: the paper reads
    it, no direction is better). ``label`` is the one display name of the key."""

    key: str
    label: str
    better: str = ""
    source: str = "image"
    fn: Callable[[torch.Tensor, torch.Tensor | None], np.ndarray] | None = None
    note: str = ""

    @property
    def needs_reference(self) -> bool:
        return self.source == "reference"


def _per_image(f: Callable) -> Callable[[torch.Tensor, torch.Tensor | None], np.ndarray]:
    return lambda x, ref: np.array([f(im) for im in x])


def _ssim_or_nan(x: torch.Tensor, ref: torch.Tensor | None) -> np.ndarray:
    if min(x.shape[-2:]) < SSIM_WINDOW:
        return np.full(x.shape[0], np.nan)
    return np.atleast_1d(ssim(x, ref))


#: Every metric, by key. The same key means the same thing in every table (scheme metrics,
#: Table 1, sweeps, the CLI and the dashboard). A new metric is one entry here: it is then
#: computed by :func:`image_metrics`, put in every row of :func:`run_rows` and the sweeps'
#: cells, and printed by the reports.
METRICS: dict[str, Metric] = {m.key: m for m in [
    Metric("objective", "final objective", "lower", "run",
           note="the data term D (eqs. 3-4) at the last step"),
    Metric("activation", "target activation / rel. feature error", "", "run",
           note="AM: the target activation; inversion: ||Phi(u) - Phi0|| / ||Phi0||"),
    Metric("hf_fraction", "HF fraction", "", "image", _per_image(high_frequency_fraction),
           "spectral energy above half Nyquist (fine detail, noise)"),
    Metric("coarse_fraction", "coarse fraction", "", "image", _per_image(coarse_fraction),
           "spectral energy at wavelengths >= 16 px (Sec. 2.2, 4.1)"),
    Metric("total_variation", "total variation", "lower", "image",
           _per_image(total_variation), "mean isotropic total variation (eq. 19)"),
    Metric("psnr", "PSNR dB", "higher", "reference",
           lambda x, ref: np.atleast_1d(psnr(x, ref)), "against the inverted original"),
    Metric("ssim", "SSIM", "higher", "reference", _ssim_or_nan,
           "Gaussian-window SSIM against the inverted original"),
    Metric("feature_error", "rel. feature error", "lower", "run",
           note="inversion: ||Phi(u) - Phi0|| / ||Phi0|| (eq. 3)"),
    Metric("judge_target_prob", "independent judge: target probability", "higher",
           "judge", note="the judge's softmax probability of the target class (AM: the class "
           "maximised; inversion: the original's class, Table 1)"),
    Metric("judge_hit", "independent judge: top-1 = target", "higher", "judge"),
]}

#: Keys that older tables used for a metric (Table 1 and scheme-metric files before the
#: registry called the total variation ``tv``; ``tv`` is now only the TV weight lambda).
LEGACY_KEYS = {"tv": "total_variation"}


def metric_keys(*sources: str) -> list[str]:
    """The keys of :data:`METRICS` from ``sources`` (default: all), in registry order."""
    return [k for k, m in METRICS.items() if not sources or m.source in sources]


def metric_label(key: str) -> str:
    """The display label of a metric key (the key itself for other columns)."""
    m = METRICS.get(key)
    return m.label if m is not None else key


def image_metrics(images: Images, reference: Images | None = None
                  ) -> dict[str, np.ndarray]:
    """Per-sample values of every image metric of :data:`METRICS` for a batch of
    pre-images (N, C, H, W) in [0, 1]; given the originals ``reference`` ((1|N, C, H, W),
    resized to the pre-images), the reference metrics (PSNR, SSIM) too."""
    x = _batch(images)
    ref = None
    if reference is not None:
        ref = _batch(reference)
        if ref.shape[-2:] != x.shape[-2:]:
            ref = F.interpolate(ref, size=x.shape[-2:], mode="bilinear", align_corners=False)
        ref = ref.expand(x.shape[0], *ref.shape[1:]) if ref.shape[0] == 1 else ref
    return {m.key: m.fn(x, ref) for m in METRICS.values()
            if m.fn is not None and (m.source == "image" or ref is not None)}


def run_rows(frame: Any, configs: Sequence[Any] | None = None,
             reference: Images | None = None) -> list[dict]:
    """The one row builder: per sample of a (final) :class:`~viz_core.engine.Frame`, its
    ``label``, ``scheme`` (the registry key, :func:`viz_core.schemes.scheme_of`),
    ``kernels`` and ``task``, then every metric of :data:`METRICS` that this run can give
    (run outputs, image metrics; reference metrics given the inverted ``reference``;
    judge metrics are None, filled in by whoever judges), and ``diverged``."""
    from viz_core.schemes import scheme_of

    images = np.asarray(frame.images)
    met = image_metrics(images, reference)
    rows = []
    for i in range(images.shape[0]):
        cfg = configs[i] if configs is not None else None
        inversion = cfg is not None and cfg.task == "inversion"
        run = {"objective": float(frame.objective[i]), "activation": float(frame.activation[i]),
               "feature_error": float(frame.activation[i]) if inversion else None}
        row = {"label": frame.labels[i] if i < len(frame.labels) else str(i),
               "scheme": scheme_of(cfg) if cfg is not None else "",
               "kernels": cfg.scheme.label if cfg is not None else "",
               "task": cfg.task if cfg is not None else ""}
        for m in METRICS.values():
            if m.source == "run":
                row[m.key] = run.get(m.key)
            elif m.key in met:
                row[m.key] = float(met[m.key][i])
            elif m.source == "judge":
                row[m.key] = None
        row["diverged"] = frame.diverged[i] if i < len(frame.diverged) else None
        rows.append(row)
    return rows
