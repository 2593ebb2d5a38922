"""PSNR, SSIM and spectral scheme metrics (viz_core.metrics)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from viz_core import metrics, spectra
from viz_core.errors import VizError


def _ssim_reference(a: np.ndarray, b: np.ndarray, win: int = 11, sigma: float = 1.5,
                    r: float = 1.0) -> float:
    """Straightforward loop over window positions (Wang et al. 2004), one channel."""
    ax = np.arange(win) - win // 2
    g = np.exp(-(ax**2) / (2 * sigma**2))
    w = np.outer(g, g)
    w /= w.sum()
    c1, c2 = (0.01 * r) ** 2, (0.03 * r) ** 2
    vals = []
    for i in range(a.shape[0] - win + 1):
        for j in range(a.shape[1] - win + 1):
            pa, pb = a[i:i + win, j:j + win], b[i:i + win, j:j + win]
            ma, mb = (w * pa).sum(), (w * pb).sum()
            va, vb = (w * (pa - ma) ** 2).sum(), (w * (pb - mb) ** 2).sum()
            cov = (w * (pa - ma) * (pb - mb)).sum()
            vals.append((2 * ma * mb + c1) * (2 * cov + c2)
                        / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    return float(np.mean(vals))


def test_psnr_identical_is_infinite():
    x = np.random.default_rng(0).random((1, 16, 16))
    assert metrics.psnr(x, x) == math.inf


def test_psnr_known_value():
    x = np.zeros((16, 16))
    assert metrics.psnr(x, x + 0.1) == pytest.approx(20.0)
    assert metrics.psnr(x * 255, x * 255 + 25.5, data_range=255) == pytest.approx(20.0)


def test_psnr_batch_and_broadcast():
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.random((3, 1, 8, 8)))
    ref = x[:1]
    v = metrics.psnr(x, ref)
    assert v.shape == (3,)
    assert v[0] == math.inf and np.isfinite(v[1:]).all()


def test_ssim_identical_is_one_and_noise_lowers_it():
    rng = np.random.default_rng(2)
    x = rng.random((1, 32, 32))
    assert metrics.ssim(x, x) == pytest.approx(1.0)
    small = metrics.ssim(x, np.clip(x + 0.05 * rng.standard_normal(x.shape), 0, 1))
    big = metrics.ssim(x, np.clip(x + 0.3 * rng.standard_normal(x.shape), 0, 1))
    assert 1.0 > small > big


def test_ssim_constant_images_known_value():
    a, b = 0.2, 0.6
    c1 = 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    assert metrics.ssim(np.full((16, 16), a), np.full((16, 16), b)) == pytest.approx(expected)


def test_ssim_matches_loop_reference():
    rng = np.random.default_rng(3)
    a = rng.random((17, 19))
    b = np.clip(a + 0.2 * rng.standard_normal(a.shape), 0, 1)
    assert metrics.ssim(a, b) == pytest.approx(_ssim_reference(a, b), rel=1e-10)


def test_ssim_averages_channels():
    rng = np.random.default_rng(4)
    a, b = rng.random((3, 16, 16)), rng.random((3, 16, 16))
    per = [metrics.ssim(a[c], b[c]) for c in range(3)]
    assert metrics.ssim(a, b) == pytest.approx(np.mean(per))


def test_ssim_rejects_small_and_mismatched_images():
    with pytest.raises(VizError):
        metrics.ssim(np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(VizError):
        metrics.ssim(np.zeros((16, 16)), np.zeros((16, 17)))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 0.5))
def test_ssim_psnr_symmetric_and_bounded(seed, noise):
    rng = np.random.default_rng(seed)
    a = rng.random((1, 12, 12))
    b = np.clip(a + noise * rng.standard_normal(a.shape), 0, 1)
    s1, s2 = metrics.ssim(a, b), metrics.ssim(b, a)
    assert s1 == pytest.approx(s2, abs=1e-12)
    assert -1.0 - 1e-9 <= s1 <= 1.0 + 1e-9
    assert metrics.psnr(a, b) == metrics.psnr(b, a)


def test_reexports_are_the_spectra_functions():
    assert metrics.high_frequency_fraction is spectra.high_frequency_fraction
    assert metrics.total_variation is spectra.total_variation


def test_coarse_fraction():
    y, x = np.mgrid[0:64, 0:64]
    slow = np.cos(2 * np.pi * x / 32)            # 1/32 cycles per pixel: coarse
    fast = np.cos(np.pi * (x + y))                # Nyquist checkerboard: fine
    assert metrics.coarse_fraction(slow) == pytest.approx(1.0)
    assert metrics.coarse_fraction(fast) == pytest.approx(0.0, abs=1e-12)
    assert metrics.coarse_fraction(np.ones((8, 8))) == 0.0


def test_image_metrics_keys_and_shapes():
    rng = np.random.default_rng(5)
    imgs = rng.random((4, 1, 16, 16)).astype(np.float32)
    m = metrics.image_metrics(imgs)
    assert set(m) == {"hf_fraction", "coarse_fraction", "total_variation"}
    m = metrics.image_metrics(imgs, imgs[:1])
    assert set(m) >= {"psnr", "ssim"} and m["ssim"].shape == (4,)
    assert m["ssim"][0] == pytest.approx(1.0) and m["psnr"][0] == math.inf
