"""Teaching numerics of the Kernels & spectra and Learn demons pages (dashboard.teaching)."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import teaching
from viz_core import kernels
from viz_core.errors import VizError
from viz_core.kernels import KernelSpec, build, power


def test_elastic_powers_match_kernels_power():
    k = build(KernelSpec("sobolev", None, 9))
    got = teaching.elastic_powers(k, [1, 3, 12])
    for m, (x, prof) in got.items():
        w = power(k, m).weights.double().numpy()
        np.testing.assert_allclose(prof, w[w.shape[0] // 2], atol=1e-7)
        assert x[0] == -(w.shape[0] // 2)


def test_std_growth_is_sqrt_n():
    g = build(KernelSpec("gaussian", 1.5, 13))
    m, fluid, elastic = teaching.std_growth(g, 9)
    assert elastic[-1] == pytest.approx(3 * fluid[0])
    w = power(g, 9)
    assert teaching.kernel_std(w) == pytest.approx(elastic[-1], rel=1e-6)


def test_accumulated_responses_fluid_vs_elastic():
    g = build(KernelSpec("gaussian", None, 11))
    f, fluid, elastic = teaching.accumulated_responses(g, 20)
    assert fluid[0] == pytest.approx(1) and elastic[0] == pytest.approx(1)
    assert np.all(elastic <= fluid + 1e-12)  # elastic damps every frequency more
    assert elastic[-1] < 0.01 * max(fluid[-1], 1e-3)


def test_kernel_stats_reproduce_the_fitting_table():
    x = teaching.kernel_stats(build(KernelSpec("sobolev", None, 11)), "S")
    assert x.param == pytest.approx(0.38, rel=0.03) and x.center == pytest.approx(0.442, 0.01)
    assert x.nyquist_gain == pytest.approx(0.40, abs=0.02)
    assert set(teaching.comparison_kernels(9, 3)) == {"Gaussian", "Sobolev k=1", "Sobolev k=3"}


def test_toy_shows_the_scale_behaviour():
    run = teaching.run_toy("gaussian", 9, None, 0.3, 300, "inversion")
    end = run.at(300)
    fine = {k: teaching.band_energy(v)["fine"] for k, v in end.items()}
    target = teaching.band_energy(run.target)
    assert end["plain"] == pytest.approx(run.target, abs=1e-6)  # plain GD converges
    assert fine["elastic"] < 0.2 * target["fine"]                # elastic damps fine scales
    assert fine["fluid"] > target["fine"]                        # fluid keeps start noise
    e = teaching.band_energy(run.start)
    assert sum(e.values()) == pytest.approx(np.var(run.start), rel=1e-9)
    am = teaching.run_toy("sobolev", 7, None, 0.3, 50, "am")
    assert np.abs(am.at(50)["plain"]).max() <= 1.0


def test_toy_validation():
    with pytest.raises(VizError):
        teaching.run_toy(task="classify")
    with pytest.raises(VizError):
        teaching.run_toy(tau=float("nan"))
    with pytest.raises(VizError):
        teaching.toy_kernel("gaussian", 4)
    with pytest.raises(VizError):
        teaching.toy_kernel("spectral", 9)


def test_toy_uses_the_engine_kernels():
    g = teaching.toy_kernel("gaussian", 9)
    row = teaching.kernel_1d(g)
    r = np.arange(9) - 4
    sigma = g.param
    expect = np.exp(-(r**2) / (2 * sigma**2))
    np.testing.assert_allclose(row, expect / expect.sum(), atol=1e-12)  # separable marginal
    s = teaching.toy_kernel("sobolev", 9)
    np.testing.assert_allclose(teaching.kernel_1d(s).sum(), 1.0)
    # one step of the toy's fluid scheme is u - tau * (k * g), periodic along x
    run = teaching.run_toy("sobolev", 9, None, 0.5, 1, "inversion", noise=0.0)
    k = teaching.kernel_1d(s)
    g0 = run.start - run.target
    filt = sum(k[j] * np.roll(g0, j - 4) for j in range(9))
    np.testing.assert_allclose(run.signals["fluid"][1], run.start - 0.5 * filt, atol=1e-6)
    np.testing.assert_allclose(run.signals["elastic"][1],
                               sum(k[j] * np.roll(run.start - 0.5 * g0, j - 4)
                                   for j in range(9)), atol=1e-6)


def test_higher_order_sobolev_variance_is_2_k_gamma():
    # the variance of (Id - gamma Lap)^-k is 2 k gamma per axis (k gamma is what the limit
    # towards a Gaussian holds fixed), measured on a kernel large enough not to truncate
    for gamma, k in [(0.5, 1), (0.5, 3), (0.25, 6)]:
        s = build(KernelSpec("sobolev", gamma, 41, k))
        assert teaching.kernel_std(s) ** 2 == pytest.approx(2 * k * gamma, rel=1e-3)


# ----------------------------------------------------------------------------- QA: speed, formulas

def _engine_toy(kind: str, size: int, tau: float, steps: int, task: str, noise: float):
    """The 1D example through the engine's own update (SchemeBank.step on an image constant
    along y, periodic border): the reference run_toy must agree with."""
    import torch

    from viz_core.schemes import STRUCTURE_SLOTS, Scheme, SchemeBank

    k = teaching.toy_kernel(kind, size)
    schemes = [Scheme(fluid=k.spec if f else None, elastic=k.spec if e else None,
                      border="circular")
               for f, e in (STRUCTURE_SLOTS[n] for n in teaching.TOY_SCHEMES)]
    bank = SchemeBank(schemes, [tau] * 4)
    w = teaching.toy_target(256)
    u0 = np.random.default_rng(0).normal(0.0, noise, 256)
    rows = k.size // 2 + 1

    def image(v):
        return torch.from_numpy(v).double().expand(4, 1, rows, 256).clone()

    wt, u = image(w), image(u0)
    coef = torch.full((4, 1, 1, 1), tau, dtype=torch.float64)
    out = [u[:, 0, 0].numpy().copy()]
    for t in range(steps):
        g = (u - wt) if task == "inversion" else -wt
        u = bank.step(u, g, t, coef * 0, coef, coef * 0, coef * 0 + 1.0)
        if task == "am":
            u = u.clamp(-1.0, 1.0)
        out.append(u[:, 0, 0].numpy().copy())
    return np.stack(out, axis=1)  # (4, steps + 1, 256)


@pytest.mark.parametrize("kind,size,task,noise", [("gaussian", 9, "inversion", 0.3),
                                                   ("sobolev", 31, "inversion", 0.0),
                                                   ("gaussian", 31, "am", 0.3),
                                                   ("sobolev", 7, "am", 0.0)])
def test_toy_gives_the_engine_update_without_its_convolutions(monkeypatch, kind, size, task,
                                                              noise):
    """The toy ran the engine's 2D convolution on a 4 x 1 x 16 x 256 image every step (a 31 x
    31 kernel: ~30 s for 500 steps with no spinner; teacher QA). It now filters through the
    kernels' transfer functions: the same numbers as the engine's update, and no
    convolution at all."""
    ref = _engine_toy(kind, size, 0.7, 6, task, noise)
    import viz_core.kernel_batch as kb

    def no_conv(*a, **k):
        raise AssertionError("the 1D example ran a 2D convolution")

    monkeypatch.setattr(kb.F, "conv2d", no_conv)
    run = teaching.run_toy(kind, size, None, 0.7, 6, task, noise=noise, seed=0)
    got = np.stack([run.signals[s] for s in teaching.TOY_SCHEMES])
    np.testing.assert_allclose(got, ref, atol=1e-9)
    long = teaching.run_toy(kind, 31, None, 0.3, 500, task, noise=noise)
    assert all(v.shape == (501, 256) and np.isfinite(v).all() for v in long.signals.values())


def test_settled_is_never_said_at_the_first_steps():
    """A trajectory has settled only once its last steps move it little: never at t = 0 or
    1, not while it still moves, and yes once it has converged."""
    run = teaching.run_toy("gaussian", 9, None, 0.3, 100, "inversion", noise=0.0)
    el = run.signals["elastic"]
    assert not teaching.settled(el, 0) and not teaching.settled(el, 1)
    assert not teaching.settled(el, 5)
    assert teaching.settled(el, 100) and teaching.settled(el, 500)  # clamped to the end
    slow = teaching.run_toy("gaussian", 9, None, 0.01, 50, "inversion", noise=0.0)
    assert not teaching.settled(slow.signals["elastic"], 50)


def test_the_plotted_responses_follow_the_stated_formulas():
    """The Kernels page's |H| is the DFT of the kernel as built; untruncated, the Sobolev
    filter's is the discrete symbol 1 / (1 + 4 gamma sin^2(pi f)) (eq. 16 with the 5-point
    Laplacian), not eq. 16's continuous form; the Gaussian's is exp(-2 pi^2 sigma^2 f^2)."""
    for gamma, k in ((0.5, 1), (0.5, 3), (3.0, 1)):
        f, h = teaching.axial_response(build(KernelSpec("sobolev", gamma, 41, k)), 128)
        np.testing.assert_allclose(h, kernels.sobolev_symbol(gamma, f, order=k), atol=1e-4)
        assert kernels.sobolev_fourier(gamma, 0.5, k) < 0.6 * h[-1]  # pi^2 against 4
    f, h = teaching.axial_response(build(KernelSpec("gaussian", 1.5, 21)), 128)
    np.testing.assert_allclose(h, kernels.gaussian_transfer(1.5, f), atol=1e-4)
