"""Schemes: identity reductions, composition, TV gradient (eqs. 5, 6, 8, 17-20)."""

import numpy as np
import pytest
import torch

from viz_core import spectra
from viz_core.errors import VizError
from viz_core.kernels import KernelSpec, build
from viz_core.schemes import (
    FIG1_SCHEMES,
    SCHEME_REGISTRY,
    Scheme,
    SchemeBank,
    demons_step,
    get_scheme,
    scheme_key,
    tv_energy,
    tv_gradient,
)

ID = KernelSpec("identity")
S = KernelSpec("sobolev", None, 7)
G = KernelSpec("gaussian", None, 5)


def _step(scheme, u, g, tau=0.1, step=0):
    n = u.shape[0]
    col = (n, 1, 1, 1)
    bank = SchemeBank([scheme] * n, [tau] * n)
    center = torch.full((1, u.shape[1], 1, 1), 0.3, dtype=u.dtype)
    return bank.step(u, g, step, center, torch.full(col, tau, dtype=u.dtype),
                     torch.full(col, tau * scheme.tv, dtype=u.dtype),
                     torch.full(col, scheme.tv_eps, dtype=u.dtype))


@pytest.fixture
def ug():
    torch.manual_seed(0)
    return torch.rand(2, 3, 24, 24, dtype=torch.float64), torch.randn(2, 3, 24, 24,
                                                                       dtype=torch.float64)


def test_identity_kernels_reduce_to_plain_gradient_descent(ug):
    u, g = ug
    plain = _step(Scheme(), u, g)
    torch.testing.assert_close(plain, u - 0.1 * g, atol=1e-15, rtol=0)  # eq. 5
    for scheme in [Scheme(fluid=ID), Scheme(elastic=ID), Scheme(fluid=ID, elastic=ID)]:
        assert torch.equal(_step(scheme, u, g), plain), scheme.name  # bit for bit


def test_fluid_elastic_is_the_composition(ug):
    u, g = ug
    kf, ke = build(S), build(G)
    expected = ke.apply(u - 0.1 * kf.apply(g))  # eq. 18 (unit-sum Ke commutes with the mean)
    got = _step(Scheme(fluid=S, elastic=G), u, g)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)
    fluid = _step(Scheme(fluid=S), u, g)
    torch.testing.assert_close(fluid, u - 0.1 * kf.apply(g), atol=1e-12, rtol=0)  # eq. 8 / 17
    elastic = _step(Scheme(elastic=G), u, g)
    torch.testing.assert_close(elastic, ke.apply(u - 0.1 * g), atol=1e-12, rtol=0)  # eq. 6


def test_elastic_every_k_steps(ug):
    u, g = ug
    sch = Scheme(elastic=G, elastic_every=3)
    assert torch.equal(_step(sch, u, g, step=0), _step(Scheme(), u, g))  # step 1: no blur
    torch.testing.assert_close(_step(sch, u, g, step=2), build(G).apply(u - 0.1 * g))


def test_decay_shrinks_towards_mean(ug):
    u, g = ug
    out = _step(Scheme(elastic=KernelSpec("decay", 2.0)), u, torch.zeros_like(g), tau=0.1)
    torch.testing.assert_close(out, 0.3 + 0.8 * (u - 0.3))


def test_tv_gradient_matches_finite_differences():
    torch.manual_seed(1)
    u = torch.rand(1, 2, 9, 8, dtype=torch.float64)
    eps = 0.1
    g = tv_gradient(u, eps)
    num = torch.zeros_like(u)
    h = 1e-6
    for idx in range(u.numel()):
        e = torch.zeros(u.numel(), dtype=torch.float64)
        e[idx] = h
        e = e.view_as(u)
        num.view(-1)[idx] = (tv_energy(u + e, eps) - tv_energy(u - e, eps)).item() / (2 * h)
    torch.testing.assert_close(g, num, atol=1e-6, rtol=1e-5)


def test_tv_combines_with_demons(ug):
    u, g = ug
    sch = Scheme(fluid=S, tv=0.5, tv_eps=0.2)
    expected = u - 0.1 * build(S).apply(g + 0.5 * tv_gradient(u, 0.2))
    torch.testing.assert_close(_step(sch, u, g), expected)
    assert sch.name == "fluid demons + TV"
    assert Scheme(tv=1.0).name == "TV"


def test_tv_descent_lowers_tv():
    torch.manual_seed(2)
    u = torch.rand(1, 1, 32, 32, dtype=torch.float64)
    e0 = tv_energy(u, 0.05)
    for _ in range(20):
        u = u - 0.01 * tv_gradient(u, 0.05)  # tau * lambda / eps = 0.2 <= 1/4: stable
    assert tv_energy(u, 0.05) < 0.8 * e0


def test_scheme_names():
    assert Scheme().name == "plain GD"
    assert Scheme(fluid=S).name == "fluid demons"
    assert Scheme(elastic=S).name == "elastic demons"
    assert Scheme(fluid=S, elastic=G).name == "fluid-elastic demons"


def test_registry_keys_aliases_and_kernel_slots():
    # Fig. 1's rows as the paper's caption has them: Sobolev first, Gaussian second
    assert FIG1_SCHEMES == ("fluid_sobolev", "elastic_sobolev", "fluid_elastic_sobolev",
                            "fluid_gaussian", "elastic_gaussian", "fluid_elastic_gaussian",
                            "tv", "plain")
    for old, new in (("sobolev-fluid", "fluid_sobolev"), ("fluid-sobolev", "fluid_sobolev"),
                     ("none", "plain"), ("spectral", "fluid_spectral"), ("TV", "tv")):
        assert scheme_key(old) == new
    with pytest.raises(VizError) as err:
        scheme_key("warp")
    assert err.value.field == "scheme"
    fe = get_scheme("fluid-elastic-sobolev")
    assert fe.kernels(9) == (KernelSpec("sobolev", None, 9), KernelSpec("sobolev", None, 9))
    assert get_scheme("elastic_gaussian").kernels(5) == (None, KernelSpec("gaussian", None, 5))
    assert get_scheme("tv").uses_tv and get_scheme("tv").kernels(5) == (None, None)
    assert [SCHEME_REGISTRY[k].label for k in ("fluid_sobolev", "tv", "plain")] == [
        "Sobolev fluid", "TV", "no regularization"]


@pytest.mark.parametrize("shape", [(40,), (24, 24), (3, 24, 24), (2, 3, 24, 24)])
def test_demons_step_on_plain_arrays_is_the_engine_update(shape):
    rng = np.random.default_rng(0)
    u, g = rng.random(shape), rng.normal(size=shape)
    out = demons_step(u, g, 0.1, S, G, tv=0.2, border="circular", center=0.3)
    assert isinstance(out, np.ndarray) and out.shape == shape
    # the same update by hand: SchemeBank on the (N, C, H, W) form
    x = torch.from_numpy(u).reshape((-1, 1, 1, shape[0]) if len(shape) == 1 else
                                    (-1, *(1,) * (4 - len(shape)), *shape)[-4:])
    d = torch.from_numpy(g).reshape(x.shape)
    if len(shape) == 1:  # a 1D signal is an image constant along y
        x, d = x.expand(1, 1, 7, 40).clone(), d.expand(1, 1, 7, 40).clone()
    sch = Scheme(fluid=S, elastic=G, tv=0.2, border="circular")
    n = x.shape[0]
    col = torch.ones(n, 1, 1, 1, dtype=x.dtype)
    want = SchemeBank([sch] * n, [0.1] * n).step(x, d, 0, col * 0.3, col * 0.1, col * 0.02,
                                                 col * 0.05)
    want = want[:, :, :1] if len(shape) == 1 else want
    np.testing.assert_allclose(out, want.reshape(shape).numpy(), atol=1e-12)
    t = demons_step(torch.from_numpy(u), torch.from_numpy(g), 0.1)  # plain GD on tensors
    torch.testing.assert_close(t, torch.from_numpy(u - 0.1 * g))


def test_total_variation_metric_is_the_scheme_energy_per_value():
    torch.manual_seed(3)
    img = torch.rand(3, 16, 20, dtype=torch.float64)
    dx = torch.diff(img, dim=-1, append=img[..., -1:])
    dy = torch.diff(img, dim=-2, append=img[..., -1:, :])
    assert spectra.total_variation(img) == pytest.approx(
        float(torch.sqrt(dx**2 + dy**2).mean()), rel=1e-12)
    assert spectra.total_variation(img) == pytest.approx(
        float(tv_energy(img[None])) / img.numel(), rel=1e-12)
    assert spectra.total_variation(torch.zeros(1, 8, 8)) == 0.0
