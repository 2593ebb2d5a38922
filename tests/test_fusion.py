"""BatchNorm folding and autocast views of a loaded model (viz_core.fusion)."""

from __future__ import annotations

import pytest
import torch

from viz_core import models
from viz_core.fusion import autocast_model, fuse_model


def _randomise_bn(net: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)



@pytest.mark.parametrize("name", ["fmnist_vgg", "fmnist_resnet"])
def test_fuse_model_is_equivalent(name):
    m = models.load_model(name, weights="random")
    _randomise_bn(m.net)
    fused = fuse_model(m, [m.spec.default_layer])
    assert fused is not m
    assert any(isinstance(x, torch.nn.Identity) for x in fused.net.modules())
    x = m.normalize(torch.rand(3, 1, 64, 64))
    with torch.no_grad():
        for layer in (m.spec.default_layer, "logits"):
            a, b = m.features(layer)(x), fused.features(layer)(x)
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    # the shared network is untouched
    assert any(isinstance(x, torch.nn.BatchNorm2d) for x in m.net.modules())



def test_autocast_model_returns_float32_close_to_the_original():
    m = models.load_model("fmnist_vgg", weights="random")
    view = autocast_model(m, torch.bfloat16)
    x = m.normalize(torch.rand(2, 1, 64, 64))
    with torch.no_grad():
        a, b = m.features("logits")(x), view.features("logits")(x)
    assert b.dtype == torch.float32 and "bfloat16" in view.label
    torch.testing.assert_close(a, b, rtol=0.1, atol=0.1 * float(a.abs().max()))
