"""The matrix routes of the demons update (viz_core.fused_step) equal the general path of
eq. 18 (KernelBatch's convolutions / DCT-I), and a sample's update is the same alone and in
a batch."""

import pytest
import torch
import torch.nn.functional as F

from viz_core.fused_step import FusedBank, descend, reflect_matrix, route
from viz_core.kernels import KernelSpec, build
from viz_core.schemes import Scheme, SchemeBank

S = KernelSpec("sobolev", None, 11)
G = KernelSpec("gaussian", None, 11)
STRUCTURES = {"plain": Scheme(), "fluid-S": Scheme(fluid=S), "elastic-S": Scheme(elastic=S),
              "fluid-elastic-S": Scheme(fluid=S, elastic=S), "fluid-G": Scheme(fluid=G),
              "elastic-G": Scheme(elastic=G), "fluid-elastic-G": Scheme(fluid=G, elastic=G),
              "TV": Scheme(tv=0.3), "fluid-elastic-S+TV": Scheme(fluid=S, elastic=S, tv=0.3),
              "fluid-G+elastic-S": Scheme(fluid=G, elastic=S)}


def _args(n, dtype, tv=0.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    u = torch.rand(n, 1, 48, 40, generator=gen, dtype=dtype)
    g = torch.randn(n, 1, 48, 40, generator=gen, dtype=dtype)
    col = torch.ones(n, 1, 1, 1, dtype=dtype)
    return u, g, 0, col * 0.3, col * 0.02, col * (0.02 * tv), col * 0.05


def test_routes():
    assert route(build(G)) == "sep" and route(build(S)) == "dct"
    assert route(None) is None and route(build(KernelSpec("identity"))) is None
    assert route(build(KernelSpec("spectral", 1.0))) == "other"


def test_reflect_matrix_is_the_reflect_border_convolution():
    k = build(G).weights.double()
    a = k.sum(1) / float(k.sum()) ** 0.5
    x = torch.rand(1, 1, 23, 17, dtype=torch.float64)
    ref = F.conv2d(F.pad(x, (5, 5, 5, 5), mode="reflect"), k[None, None])
    out = reflect_matrix(a, 23) @ x[0, 0] @ reflect_matrix(a, 17).T
    torch.testing.assert_close(out, ref[0, 0], atol=1e-13, rtol=0)


@pytest.mark.parametrize("name", list(STRUCTURES))
@pytest.mark.parametrize("n", [1, 3])
def test_the_matrix_routes_equal_the_general_path(name, n):
    sch = STRUCTURES[name]
    fused, general = SchemeBank([sch] * n, [0.01] * n), SchemeBank([sch] * n, [0.01] * n)
    general._fused = None
    args = _args(n, torch.float64, sch.tv)
    assert fused._fused is not None and fused._fused.plans(args[0]) is not None
    torch.testing.assert_close(fused.step(*args), general.step(*args), atol=1e-12, rtol=0)


def test_a_sample_is_updated_alone_as_in_a_mixed_batch():
    schemes = list(STRUCTURES.values())
    n = len(schemes)
    bank = SchemeBank(schemes, [0.01 * (i + 1) for i in range(n)])
    u, g, _, c, coef, _, eps = _args(n, torch.float32)
    tv = torch.tensor([s.tv for s in schemes]).view(-1, 1, 1, 1) * coef
    assert len(bank._fused.groups) > 1
    batched = bank.step(u, g, 0, c, coef, tv, eps)
    for i, s in enumerate(schemes):
        alone = SchemeBank([s], [0.01 * (i + 1)])
        sl = slice(i, i + 1)
        torch.testing.assert_close(
            alone.step(u[sl], g[sl], 0, c[sl], coef[sl], tv[sl], eps[sl]), batched[sl],
            atol=1e-6, rtol=0)


def test_other_kernels_borders_and_cadences_keep_the_general_path():
    spectral = Scheme(fluid=KernelSpec("spectral", 1.0))
    decay = Scheme(elastic=KernelSpec("decay", 0.5))
    assert SchemeBank([spectral], [0.1])._fused is None
    assert SchemeBank([decay], [0.1])._fused is None
    assert SchemeBank([Scheme(elastic=S, elastic_every=2)], [0.1])._fused is None
    assert SchemeBank([Scheme(fluid=S, border="replicate")], [0.1])._fused is None
    big = SchemeBank([Scheme(fluid=S)], [0.1])  # 3 channels at 224 px: the convolution
    assert big._fused.plans(torch.rand(1, 3, 224, 224)) is None
    assert FusedBank.build([None], [None], "reflect", [1]) is not None  # plain, TV


def test_tv_gradient_on_reused_work_buffers_is_the_same():
    from viz_core.tv import _tv_gradient_functional, tv_gradient, tv_work

    u = torch.rand(2, 3, 17, 20, dtype=torch.float64)
    eps = torch.rand(2, 1, 1, 1, dtype=torch.float64)
    work = tv_work(u)
    first = tv_gradient(u, eps, work)
    assert torch.equal(tv_gradient(u, eps, work), first)  # the buffers' borders stay 0
    assert torch.equal(tv_gradient(u, eps), first)
    assert torch.equal(_tv_gradient_functional(u, eps), first)


def test_descend_is_one_step_of_every_form():
    gen = torch.Generator().manual_seed(1)
    base, d = (torch.randn(2, 1, 5, 4, generator=gen, dtype=torch.float64) for _ in range(2))
    den = torch.rand(2, 1, 1, 1, generator=gen, dtype=torch.float64) + 0.5
    coef = torch.full((2, 1, 1, 1), 0.3, dtype=torch.float64)
    want = base - 0.3 * d / den
    torch.testing.assert_close(descend(base, d, 0.3, den), want, atol=1e-15, rtol=0)
    torch.testing.assert_close(descend(base, d, coef / den, None), want, atol=1e-15, rtol=0)
    torch.testing.assert_close(descend(base, d, 0.3, None), base - 0.3 * d, atol=1e-15, rtol=0)
    torch.testing.assert_close(descend(base, d, None, den, 1.0), base + d / den, atol=1e-15,
                               rtol=0)
    assert torch.equal(descend(base, d, None, None), base - d)


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_the_normalised_step_equals_the_step_with_its_factor(name):
    # the engine's form: a number over ||g||_1, divided inside the update (eq. 18)
    sch = STRUCTURES[name]
    u, g, _, c, _, tv, eps = _args(1, torch.float64, sch.tv)
    den = g.abs().sum((1, 2, 3))  # (1,): broadcasts over one sample
    bank = SchemeBank([sch], [0.01])
    torch.testing.assert_close(bank.step(u, g, 0, c, 40.0, tv, eps, den),
                               bank.step(u, g, 0, c, 40.0 / den.view(1, 1, 1, 1), tv, eps),
                               atol=1e-12, rtol=0)


def test_a_step_beyond_the_dtype_gives_an_inf_update_not_an_exception():
    """torch refuses 1e40 as a float32 scalar; the step must still give the non-finite
    update that divergence detection reports (eq. 18 with a huge tau)."""
    from viz_core.fused_step import descend

    base, d = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    den = torch.full((1, 1, 1, 1), 2.0)
    for den_ in (den, None):
        out = descend(base, d, 1e40, den_)
        assert torch.isinf(out).all() and (out < 0).all()
    assert torch.isnan(descend(base, d, float("nan"), den)).all()
    assert torch.equal(descend(base, d, 4.0, den), torch.full((1, 1, 2, 2), -2.0))
