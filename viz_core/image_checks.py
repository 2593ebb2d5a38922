"""What a finished pre-image says about itself, without a judge: saturated, washed out or
flat (the step size or the regularization out of range, Sec. 2.5), and whether the explicit
TV step of its configuration (eqs. 19-20) was within its stability bound. The dashboard
shows these instead of a plain "done"; ``demons-viz visualize`` prints them as warnings.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from viz_core.config import TV_STABILITY, tv_stability_limit, tv_stability_ratio
from viz_core.images import LEVELS, quantize_uint8

__all__ = ["image_warnings", "result_warnings", "saturated_share", "tv_stability_warning",
           "typical_saturation"]

SATURATED_SHARE = 0.5   # more than half of the pixels at 0 or 255 ...
SATURATED_EXCESS = 0.25  # ... and this much more than in the reference image (inversion)
SATURATED_CAP = 0.95     # ... or than real images of the kind (AM): at most this share
FLAT_STD = 2.0 / LEVELS   # below two grey levels of standard deviation: a flat image


def tv_stability_warning(tau: float, tv: float, eps: float) -> str | None:
    """A warning when the explicit TV step (eqs. 19-20) is unstable for step size ``tau``
    (0-255 units): tau lambda / eps > 1/4 with tau in [0, 1] pixel units
    (:func:`viz_core.config.tv_stability_ratio`). The bound is the known stability limit of
    an explicit gradient step on the relaxed TV, not the paper's: it gives none, only that
    TV needs "step size restrictions" (Sec. 1.2)."""
    if tv <= 0 or eps <= 0:
        return None
    ratio = tv_stability_ratio(tau, tv, eps)
    if ratio <= TV_STABILITY:
        return None
    limit = tv_stability_limit(tau, eps)
    return (f"unstable TV step: tau lambda / eps = {ratio:.3g} > 1/4 with tau = {tau:g}, "
            "past the stability bound of an explicit step on the TV gradient (eqs. 19-20; a "
            "known result, the paper only says TV needs step size restrictions); keep "
            f"lambda below {limit:.3g} or raise eps")


def saturated_share(img: np.ndarray) -> float:
    """The share of an image's 8-bit values that are 0 or 255."""
    levels = quantize_uint8(np.asarray(img, dtype=np.float64))
    return float(np.mean((levels == 0) | (levels == LEVELS)))


@functools.lru_cache(maxsize=4)
def typical_saturation(channels: int) -> float:
    """The largest :func:`saturated_share` of the shipped sample images with ``channels``
    channels: Fashion-MNIST's black background makes 21-81% of a real garment's pixels
    pure black, so a class pre-image with as many is not saturated by its step size
    (0 where no sample is shipped)."""
    from PIL import Image

    from viz_core.samples import sample_paths

    shares = []
    for path in sample_paths(channels):
        with Image.open(path) as im:
            a = np.asarray(im.convert("L" if channels == 1 else "RGB"), dtype=np.float64)
        shares.append(saturated_share(a / LEVELS))
    return float(max(shares)) if shares else 0.0


def image_warnings(img: np.ndarray, reference: np.ndarray | None = None) -> list[str]:
    """Warnings for a degenerate pre-image (C, H, W) in [0, 1]: saturated (most pixels at 0
    or 1, beyond what the reference image has, or without one what real images of its
    kind have: :func:`typical_saturation`) or washed out (almost no variance)."""
    a = np.nan_to_num(np.asarray(img, dtype=np.float64))
    share = saturated_share(a)
    floor = (saturated_share(np.asarray(reference, dtype=np.float64)) if reference is not None
             else typical_saturation(a.shape[0]))
    std = float(a.std())
    if std < FLAT_STD and share > SATURATED_SHARE:  # one flat colour at a bound: one cause
        tone = "black" if float(a.mean()) < 0.5 else "white"
        return [f"flat {tone}: the image is {share:.0%} pure {tone} and has no structure "
                "(the step size may be too large, or the network gives this target no "
                "gradient)"]
    out = []
    if share > SATURATED_SHARE and share > min(floor + SATURATED_EXCESS, SATURATED_CAP):
        out.append(f"saturated: {share:.0%} of the pixels are pure black or white "
                   "(the step size may be too large)")
    if std < FLAT_STD:
        out.append(f"washed out: the image is almost flat (standard deviation {LEVELS * std:.2g} "
                   "grey levels); the regularization may be too strong")
    return out


def result_warnings(img: np.ndarray, config: Mapping[str, Any],
                    reference: np.ndarray | None = None) -> list[str]:
    """Everything that makes a finished run's result untrustworthy: the image checks and
    the TV stability of its configuration (a run JSON as a dict)."""
    out = image_warnings(img, reference)
    # the step sizes the run used: its stages' with octaves (stored as {"tau": ...} or as
    # (scale, steps, tau)), else its step size
    taus = [float(o["tau"]) if isinstance(o, Mapping) else float(o[2])
            for o in config.get("octaves") or [] if isinstance(o, Mapping) or len(o) == 3]
    taus = taus or [float(config.get("step_size", 0.0))]
    msg = tv_stability_warning(max(taus), float(config.get("tv", 0.0)),
                               float(config.get("tv_eps", 0.05)))
    return out + ([msg] if msg else [])
