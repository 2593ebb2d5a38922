"""The model zoo with random weights: catalogues, aliases, loading rules, shared-net safety."""

from __future__ import annotations

import pickle
import threading

import pytest
import torch

from viz_core.errors import VizError
from viz_core.models import (
    IMAGENET_MEAN,
    available_models,
    get_spec,
    load_model,
    load_torchscript,
    torch_hub_checkpoint,
    weights_status,
)
from viz_core.offline_nets import build_offline_net

ALL = [s.name for s in available_models()]

_cache: dict[str, object] = {}


def random_model(name: str):
    if name not in _cache:
        _cache[name] = load_model(name, "random")
    return _cache[name]


def test_zoo_listing():
    specs = available_models()
    assert specs[0].name == "fmnist_vgg" and specs[1].family == "offline"
    assert {s.name for s in specs if s.paper} == {"vgg19", "resnet50", "densenet121"}
    assert {"resnet18", "googlenet", "mobilenet_v3_small", "fmnist_resnet"} <= set(ALL)
    for s in specs:
        assert len(s.mean) == len(s.std) == s.channels
    with pytest.raises(VizError, match="vgg19"):
        get_spec("vgg91")


@pytest.mark.parametrize("name", ALL)
def test_catalogue_layers_produce_outputs(name):
    m = random_model(name)
    assert not m.pretrained and "RANDOM" in m.label
    assert m.layers[-1] == "logits" and m.spec.default_layer in m.layers
    modules = dict(m.net.named_modules())
    for alias, target in m.aliases.items():  # every alias points at a real layer
        assert m.resolve_layer(alias) == target
        assert target == "logits" or target in modules, alias
    assert all(layer == "logits" or layer in modules for layer in m.layers)
    s = m.spec.probe_size
    x = m.normalize(torch.rand(1, m.spec.channels, s, s))
    with torch.no_grad():
        outs = m.feature_dict(m.layers)(x)  # every catalogue layer, one forward pass
        assert list(outs) == m.layers
        for layer, out in outs.items():
            assert out.ndim == (2 if layer == "logits" else 4) and out.shape[0] == 1, layer
        for layer in {m.layers[0], m.spec.default_layer, "logits"}:  # the cached single path
            assert torch.allclose(m.features(layer)(x), outs[layer], atol=1e-5), layer
    assert m.layer_channels(m.spec.default_layer) == outs[m.spec.default_layer].shape[1]
    assert m.layer_channels("logits") == len(m.classes)


def test_paper_alias_shapes_at_224():
    x = torch.zeros(1, 3, 224, 224)
    vgg = random_model("vgg19")
    assert vgg.resolve_layer("block5_conv1") == "features.29"
    assert vgg.resolve_layer("block1_conv2") == "features.3"
    dn = random_model("densenet121")
    assert dn.resolve_layer("conv5_block12_0_bn") == "features.denseblock4.denselayer12.norm1"
    assert dn.resolve_layer("conv3_block3_1_bn") == "features.denseblock2.denselayer3.norm2"
    with torch.no_grad():
        assert vgg.features("block5_conv1")(x).shape == (1, 512, 14, 14)
        assert dn.features("conv5_block12_0_bn")(x).shape == (1, 864, 7, 7)
        assert dn.features("conv3_block3_1_bn")(x).shape == (1, 128, 28, 28)
    assert dn.layer_channels("conv5_block12_0_bn") == 864


def test_features_match_module_outputs():
    """fx outputs equal a hook on an independent copy (incl. BN outputs followed by an
    in-place ReLU, which must not leak into the returned tensor)."""
    shared = load_model("densenet121", "random", seed=3)
    ref = load_model("densenet121", "random", seed=3).net
    layer = "features.denseblock2.denselayer3.norm2"
    got = {}

    def hook(_m, _i, out):
        got["x"] = out.clone()  # the in-place ReLU that follows would change `out`

    dict(ref.named_modules())[layer].register_forward_hook(hook)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref(x)
        out = shared.features(layer)(x)
    assert torch.allclose(out, got["x"], atol=1e-5) and (out < 0).any()
    with torch.no_grad():  # several outputs in one pass: later in-place ReLUs must not leak
        outs = shared.feature_dict([layer, "features.norm5", "logits"])(x)
        assert torch.allclose(outs[layer], out, atol=1e-5)
        assert (outs["features.norm5"] < 0).any()
        assert torch.allclose(outs["logits"], shared.net(x), atol=1e-5)
    vgg = random_model("vgg19")
    with torch.no_grad():
        assert torch.equal(vgg.features("features.29")(x), vgg.net.features[:30](x))


def _hooks(net: torch.nn.Module) -> int:
    return sum(len(getattr(m, a)) for m in net.modules() for a in vars(m) if "hook" in a
               and isinstance(getattr(m, a), dict))


@pytest.mark.parametrize("name", ["fmnist_resnet", "resnet18"])
def test_features_leave_shared_net_untouched(name):
    m = load_model(name, "random")
    before = {k: v.clone() for k, v in m.net.state_dict().items()}
    s = m.spec.probe_size
    for layer in [m.layers[1], m.spec.default_layer, "logits"]:
        f = m.features(layer)
        f.train()  # asking for train mode must not reach the shared BN layers
        assert not f.training
        x = torch.rand(2, m.spec.channels, s, s, requires_grad=True)
        f(m.normalize(x)).square().sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(not mod.training for mod in m.net.modules())
    assert all(not p.requires_grad for p in m.net.parameters())
    assert _hooks(m.net) == 0
    after = m.net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_features_cache_is_thread_safe():
    m = load_model("fmnist_vgg", "random")
    results = []
    threads = [threading.Thread(target=lambda: results.append(m.features("block3")))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and all(r is results[0] for r in results)


def test_resolve_layer_errors_list_close_matches():
    m = random_model("vgg19")
    with pytest.raises(VizError, match="block5_conv1") as err:
        m.resolve_layer("block5_conv")
    assert err.value.field == "layer"
    assert m.resolve_layer("logits") == "logits" and m.resolve_layer("predictions") == "logits"


def test_random_weights_reproducible_and_labelled():
    a, b = load_model("fmnist_vgg", "random", seed=5), load_model("fmnist_vgg", "random", seed=5)
    c = load_model("fmnist_vgg", "random", seed=6)
    w = "block1.conv1.weight"
    assert torch.equal(a.net.state_dict()[w], b.net.state_dict()[w])
    assert not torch.equal(a.net.state_dict()[w], c.net.state_dict()[w])
    assert "RANDOM" in a.label and "seed 5" in a.label


def test_class_names_offline():
    m = random_model("resnet18")
    assert len(m.classes) == 1000 and m.classes[0] == "tench"
    f = random_model("fmnist_vgg")
    assert f.classes[0] == "T-shirt/top" and f.classes[9] == "Ankle boot"
    assert m.spec.mean == IMAGENET_MEAN


def test_missing_pretrained_weights_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path, url = torch_hub_checkpoint("vgg19")
    assert path == tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    assert weights_status("vgg19") == "download needed"
    with pytest.raises(VizError) as err:
        load_model("vgg19")
    msg = str(err.value)
    assert "vgg19-dcbb9e9d.pth" in msg and str(path) in msg and url in msg
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    assert weights_status("vgg19") == "cached"


def test_state_dict_round_trip(tmp_path):
    for name in ["fmnist_resnet", "googlenet"]:
        src = load_model(name, "random", seed=11)
        file = tmp_path / f"{name}.pt"
        torch.save(src.net.state_dict(), file)
        m = load_model(name, str(file))
        assert m.pretrained and file.name in m.label
        s = m.spec.probe_size
        x = torch.randn(1, m.spec.channels, s, s)
        with torch.no_grad():
            assert torch.allclose(m.net(x), src.net(x), atol=1e-6)


def test_mismatched_state_dict_names_keys(tmp_path):
    file = tmp_path / "other.pt"
    torch.save(build_offline_net("fmnist_resnet").state_dict(), file)
    with pytest.raises(VizError, match="missing keys") as err:
        load_model("fmnist_vgg", file)
    assert "block1.conv1.weight" in str(err.value) and "stem.conv.weight" in str(err.value)
    state = build_offline_net("fmnist_vgg").state_dict()
    state["fc.weight"] = torch.zeros(3, 3)
    torch.save(state, file)
    with pytest.raises(VizError, match="fc.weight"):
        load_model("fmnist_vgg", file)
    with pytest.raises(VizError, match="does not exist"):
        load_model("fmnist_vgg", tmp_path / "nope.pt")


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_malicious_pickle_is_refused(tmp_path, writer):
    marker = tmp_path / "pwned"
    file = tmp_path / "evil.pt"
    payload = {"block1.conv1.weight": _Evil(marker)}
    if writer == "torch":
        torch.save(payload, file)
    else:
        file.write_bytes(pickle.dumps(payload))
    with pytest.raises(VizError, match="refused|cannot read"):
        load_model("fmnist_vgg", file)
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit is deprecated upstream
def test_torchscript_user_model(tmp_path):
    net = build_offline_net("fmnist_resnet").eval()
    file = tmp_path / "user net.pt"
    torch.jit.script(net).save(str(file))
    m = load_torchscript(file, 64, channels=1, mean=(0.5,), std=(0.25,))
    assert m.spec.family == "user" and m.layers == ["logits"] and len(m.classes) == 10
    x = torch.rand(2, 1, 64, 64, requires_grad=True)
    m.features("logits")(m.normalize(x)).sum().backward()
    assert x.grad is not None
    with pytest.raises(VizError, match="logits"):
        m.features("layer4")
    with pytest.raises(VizError, match="class names"):
        load_torchscript(file, 64, channels=1, mean=(0.5,), std=(0.25,), classes=["a", "b"])
    with pytest.raises(VizError, match="mean"):
        load_torchscript(file, 64, channels=1)
    with pytest.raises(VizError):
        load_torchscript(tmp_path / "missing.pt", 64)


def test_normalize_round_trip():
    m = random_model("fmnist_vgg")
    x = torch.rand(2, 1, 8, 8)
    assert torch.allclose(m.denormalize(m.normalize(x)), x, atol=1e-6)
    assert torch.allclose(m.normalize(torch.full((1, 1, 2, 2), m.spec.mean[0])),
                          torch.zeros(1, 1, 2, 2), atol=1e-6)


def test_pretrained_from_torch_hub_cache(tmp_path, monkeypatch):
    """A file at the expected cache path is used as is, without any download."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    src = load_model("mobilenet_v3_small", "random", seed=2)
    path, _ = torch_hub_checkpoint("mobilenet_v3_small")
    path.parent.mkdir(parents=True)
    torch.save(src.net.state_dict(), path)
    m = load_model("mobilenet_v3_small")
    assert m.pretrained and "ImageNet weights" in m.label and "RANDOM" not in m.label
    w = "features.0.0.weight"
    assert torch.equal(m.net.state_dict()[w], src.net.state_dict()[w])


def test_unavailable_device_is_a_viz_error():
    with pytest.raises(VizError) as err:
        load_model("fmnist_vgg", "random", device="no-such-device")
    assert err.value.field == "device"
