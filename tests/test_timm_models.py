"""timm networks by name with random weights (the [timm] extra; CI installs it): layer
catalogue from feature_info, ViT blocks as channels of the patch grid, offline rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from viz_core import models
from viz_core.config import RunConfig
from viz_core.engine import run_to_end
from viz_core.errors import VizError

timm = pytest.importorskip("timm", reason="the optional [timm] extra is not installed")


@pytest.fixture(autouse=True)
def empty_caches(tmp_path, monkeypatch):
    """No weights anywhere: an empty torch hub and Hugging Face cache, offline."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_cnn_catalogue_from_feature_info_and_a_channel_run():
    m = models.open_model("timm:resnet18", weights="random", seed=1)
    net = timm.create_model("resnet18", pretrained=False)
    assert m.layers == [f["module"] for f in net.feature_info] + ["logits"]
    assert m.spec.default_layer == "layer4" and m.spec.input_size == 224
    assert m.spec.mean == pytest.approx((0.485, 0.456, 0.406))
    assert len(m.classes) == 1000 and m.classes[0] == "tench"
    assert "RANDOM" in m.label and not m.pretrained
    assert m.layer_channels("layer2") == 128
    assert m.resolve_layer("layer2.0.conv1") == "layer2.0.conv1"  # any module name
    res = run_to_end(RunConfig(model="timm:resnet18", weights="random", seed=1,
                               layer="layer2", channel=7, steps=3), m, keep_frames=False)
    assert np.isfinite(res.final.images).all() and np.isfinite(res.final.activation).all()


def test_vit_blocks_are_channels_of_the_patch_grid():
    m = models.open_model("timm:vit_small_patch16_224", weights="random")
    assert m.layers[0] == "blocks.0" and m.spec.mean == pytest.approx((0.5, 0.5, 0.5))
    x = torch.rand(2, 3, 224, 224)
    out = m.features("blocks.3")(x)
    assert out.shape == (2, 384, 14, 14)
    net = m.net
    tokens = net.blocks[:4](net.norm_pre(net._pos_embed(net.patch_embed(x))))
    grid = tokens[:, net.num_prefix_tokens:].transpose(1, 2).reshape(2, 384, 14, 14)
    torch.testing.assert_close(out, grid, rtol=1e-4, atol=1e-4)
    res = run_to_end(RunConfig(model="timm:vit_small_patch16_224", weights="random",
                               layer="blocks.3", channel=5, unit=(7, 7), steps=2), m,
                     keep_frames=False)
    assert np.isfinite(res.final.activation).all()


def test_convnext_catalogue():
    m = models.open_model("timm:convnext_atto", weights="random")
    assert m.layers == ["stages.0", "stages.1", "stages.2", "stages.3", "logits"]
    assert m.layer_channels("stages.1") == 80


def test_offline_rules():
    with pytest.raises(VizError, match="models download timm:resnet18"):
        models.open_model("timm:resnet18")
    with pytest.raises(VizError, match="Did you mean timm:resnet18"):
        models.open_model("timm:resnet1888", weights="random")


def test_pretrained_from_a_local_file_never_downloads():
    from safetensors.torch import save_file

    from viz_core.models.timm_source import timm_weights_file

    torch.manual_seed(5)
    net = timm.create_model("convnext_atto", pretrained=False).eval()
    path = timm_weights_file("convnext_atto")
    path.parent.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    m = models.open_model("timm:convnext_atto")
    assert m.pretrained and "convnext_atto.safetensors" in m.label
    x = torch.rand(1, 3, 224, 224)
    torch.testing.assert_close(m.features("logits")(x), net(x))
