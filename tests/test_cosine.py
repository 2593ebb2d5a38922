"""The DCT-I route for reflect-border convolution (viz_core.cosine) equals the convolution."""

import pytest
import torch
import torch.nn.functional as F

from viz_core import cosine
from viz_core.kernel_batch import KernelBatch
from viz_core.kernels import KernelSpec, build


def _reflect_conv(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    p = k.shape[-1] // 2
    xp = F.pad(x.reshape(1, n * c, h, w), (p, p, p, p), mode="reflect")
    k = k.to(x.dtype).expand(n * c, 1, *k.shape)
    return F.conv2d(xp, k, groups=n * c).reshape(n, c, h, w)


@pytest.mark.parametrize("kind,size", [("gaussian", 3), ("gaussian", 11), ("sobolev", 5),
                                       ("sobolev", 11), ("sobolev", 21)])
@pytest.mark.parametrize("hw", [(12, 12), (16, 40), (33, 17)])
def test_cosine_transform_equals_reflect_convolution(kind, size, hw):
    h, w = hw
    if size // 2 >= min(h, w):
        pytest.skip("kernel larger than the image")
    k = build(KernelSpec(kind, None, size)).weights.double()
    x = torch.rand(2, 3, h, w, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    mats = cosine.matrices(h, w, x.device, x.dtype)
    y = cosine.apply(x, mats, cosine.multiplier(k, h, w))
    torch.testing.assert_close(y, _reflect_conv(x, k), atol=1e-12, rtol=0)


def test_built_kernels_are_exactly_even():
    for spec in [KernelSpec("sobolev", None, 11), KernelSpec("sobolev", 3.0, 21, order=2),
                 KernelSpec("gaussian", None, 13)]:
        assert cosine.is_even(build(spec).weights), spec
    assert not cosine.is_even(torch.arange(9.0).view(3, 3))


def test_kernel_batch_takes_the_cosine_route_for_small_planes_only():
    s, g = build(KernelSpec("sobolev", None, 11)), build(KernelSpec("gaussian", None, 7))
    x = torch.rand(3, 1, 64, 48)
    batch = KernelBatch([s, None, g])
    y = batch(x)
    assert any(key[0] == "cos" for key in batch._cache if isinstance(key, tuple))
    ref = torch.stack([_reflect_conv(x[:1], s.weights)[0], x[1],
                       _reflect_conv(x[2:], g.weights)[0]])
    torch.testing.assert_close(y, ref, atol=2e-6, rtol=0)
    big = KernelBatch([s])  # 3 channels x 224 px: the grouped convolution is faster
    big(torch.rand(1, 3, 224, 224))
    assert not any(key[0] == "cos" for key in big._cache if isinstance(key, tuple))
    other = KernelBatch([s], border="replicate")  # not diagonalised by the DCT-I
    other(torch.rand(1, 1, 32, 32))
    assert not any(key[0] == "cos" for key in other._cache if isinstance(key, tuple))


def test_unit_gain_kernels_commute_with_constants():
    s = build(KernelSpec("sobolev", None, 11))
    decay = build(KernelSpec("decay", 0.5), tau=0.1)
    assert KernelBatch([s, None]).unit_gain
    assert not KernelBatch([s], border="zeros").unit_gain
    assert not KernelBatch([decay]).unit_gain
    x = torch.rand(1, 3, 20, 20, dtype=torch.float64)
    c = torch.tensor([0.2, 0.5, 0.7], dtype=torch.float64).view(1, 3, 1, 1)
    kb = KernelBatch([s])
    torch.testing.assert_close(kb(x - c) + c, kb(x), atol=1e-12, rtol=0)


def test_kernel_wider_than_one_period_takes_the_convolution_route():
    # a 63 x 63 kernel on a 32 x 32 image: radius 31 fits the reflect border but not one
    # period (62) of the symmetric extension; the result still equals the convolution
    k = build(KernelSpec("gaussian", None, 63))
    x = torch.rand(1, 1, 32, 32, dtype=torch.float64)
    assert not cosine.worth_it(1, 32, 32, 31, x.device)
    torch.testing.assert_close(KernelBatch([k], "reflect")(x), _reflect_conv(x, k.weights))
