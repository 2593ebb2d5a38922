"""The zoo's entries: what each model is, where its weights live, its layer catalogue.

Static descriptions (:class:`ModelSpec`) of the offline Fashion-MNIST networks shipped in
``assets/`` and of the torchvision ImageNet networks, the builders of their modules, and
the catalogue of layers worth visualising with the paper's keras layer names as aliases
(Sec. 3). Loading, preprocessing and feature extraction are in :mod:`viz_core.models`,
which re-exports everything public here.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn

from viz_core.datasets import FMNIST_CLASSES
from viz_core.errors import VizError
from viz_core.offline_nets import build_offline_net, offline_default_layer, offline_layers

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Dataset statistics of the 64x64 bilinear-upsampled Fashion-MNIST training set (pixels in [0, 1]);
# the model cards in assets/models/ record the same values.
FMNIST_MEAN = (0.2862,)
FMNIST_STD = (0.3387,)


@dataclass(frozen=True)
class ModelSpec:
    """Static description of a zoo entry (cheap: builds nothing, reads nothing)."""

    name: str
    family: str  # "torchvision" | "offline" | "user"
    input_size: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    default_layer: str
    description: str
    paper: bool
    probe_size: int = 64  # smallest convenient input size for shape probes
    weights_enum: str = ""  # torchvision weights enum, e.g. "VGG19_Weights"


def _tv(name: str, enum: str, default_layer: str, description: str, paper: bool) -> ModelSpec:
    return ModelSpec(name, "torchvision", 224, 3, IMAGENET_MEAN, IMAGENET_STD, default_layer,
                     description, paper, 64, enum)


def _offline(name: str, description: str) -> ModelSpec:
    return ModelSpec(name, "offline", 64, 1, FMNIST_MEAN, FMNIST_STD,
                     offline_default_layer(name), description, False, 64)


_SPECS: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        _offline("fmnist_vgg", "VGG-style plain CNN trained on Fashion-MNIST (64x64 grey), "
                               "shipped offline; the default model"),
        _offline("fmnist_resnet", "small ResNet (basic blocks) trained on Fashion-MNIST "
                                  "(64x64 grey), shipped offline"),
        _offline("fmnist_vgg_robust", "fmnist_vgg adversarially trained (L2 PGD): perceptually "
                                      "aligned gradients, recognisable pre-images"),
        _offline("fmnist_resnet_robust", "fmnist_resnet adversarially trained (L2 PGD), "
                                         "the robust twin of fmnist_resnet"),
        _tv("vgg19", "VGG19_Weights", "features.29",
            "VGG19 (ImageNet); the paper's main network, block5_conv1 = features.29", True),
        _tv("resnet50", "ResNet50_Weights", "layer3.5",
            "ResNet50 (ImageNet, torchvision IMAGENET1K_V2 weights); used in the paper", True),
        _tv("densenet121", "DenseNet121_Weights", "features.denseblock4.denselayer12.norm1",
            "DenseNet121 (ImageNet); used in the paper, conv5_block12_0_bn = "
            "features.denseblock4.denselayer12.norm1", True),
        _tv("resnet18", "ResNet18_Weights", "layer3.1", "ResNet18 (ImageNet), small and fast",
            False),
        _tv("googlenet", "GoogLeNet_Weights", "inception4c",
            "GoogLeNet / Inception v1 (ImageNet), the classic of feature visualisation", False),
        _tv("mobilenet_v3_small", "MobileNet_V3_Small_Weights", "features.9",
            "MobileNetV3 small (ImageNet), the fastest network here", False),
    ]
}

def assets_dir() -> Path:
    """Folder with offline weights and samples (``$DEMONS_VIZ_ASSETS`` overrides)."""
    env = os.environ.get("DEMONS_VIZ_ASSETS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "assets"


def available_models() -> list[ModelSpec]:
    """All zoo entries, the main offline model first."""
    return list(_SPECS.values())


def get_spec(name: str) -> ModelSpec:
    """The spec registered under ``name``; VizError listing the known names otherwise."""
    if name not in _SPECS:
        close = difflib.get_close_matches(str(name), list(_SPECS), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise VizError(f"unknown model {name!r}.{hint} Known models: {', '.join(_SPECS)}.",
                       field="model")
    return _SPECS[name]


def weights_enum_of(spec: ModelSpec):
    """The torchvision weights enum's DEFAULT entry of a torchvision zoo model."""
    return getattr(torchvision.models, spec.weights_enum).DEFAULT


def torch_hub_checkpoint(name: str) -> tuple[Path, str]:
    """(expected file in the torch hub cache, download URL) of a torchvision model's weights."""
    spec = get_spec(name)
    if spec.family != "torchvision":
        raise VizError(f"{name} is not a torchvision model", field="model")
    url = weights_enum_of(spec).url
    filename = os.path.basename(urlparse(url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename, url


def offline_weights_path(name: str) -> Path:
    """Where an offline model's shipped state_dict lives (``assets/models/NAME.pt``)."""
    return assets_dir() / "models" / f"{name}.pt"


def weights_status(name: str) -> str:
    """"offline" (shipped in assets), "cached" (in the torch hub cache), "download needed",
    or "missing" (an offline model whose file is absent). Never downloads."""
    spec = get_spec(name)
    if spec.family == "offline":
        return "offline" if offline_weights_path(name).is_file() else "missing"
    path, _ = torch_hub_checkpoint(name)
    return "cached" if path.is_file() else "download needed"


# ----------------------------------------------------------------------------- catalogues

def _vgg_catalogue(net: nn.Module) -> tuple[list[str], dict[str, str]]:
    layers, aliases = [], {}
    block, conv = 1, 0
    for i, m in enumerate(net.features):
        if isinstance(m, nn.Conv2d):
            conv += 1
        elif isinstance(m, nn.ReLU):
            layers.append(f"features.{i}")
            aliases[f"block{block}_conv{conv}"] = f"features.{i}"
        elif isinstance(m, nn.MaxPool2d):
            aliases[f"block{block}_pool"] = f"features.{i}"
            block, conv = block + 1, 0
    return layers, aliases


def _resnet_catalogue(net: nn.Module) -> tuple[list[str], dict[str, str]]:
    layers, aliases = ["relu", "maxpool"], {"conv1_relu": "relu", "pool1_pool": "maxpool"}
    for k in range(1, 5):
        for j in range(len(getattr(net, f"layer{k}"))):
            layers.append(f"layer{k}.{j}")
            aliases[f"conv{k + 1}_block{j + 1}_out"] = f"layer{k}.{j}"
    return layers, aliases


def _densenet_catalogue(net: nn.Module) -> tuple[list[str], dict[str, str]]:
    layers = ["features.relu0", "features.pool0"]
    aliases = {"conv1_relu": "features.relu0", "pool1": "features.pool0", "bn": "features.norm5"}
    for k in range(1, 5):
        block = getattr(net.features, f"denseblock{k}")
        for j in range(1, len(block) + 1):
            base = f"features.denseblock{k}.denselayer{j}"
            layers += [f"{base}.norm1", f"{base}.norm2"]
            keras = f"conv{k + 1}_block{j}"
            aliases.update({f"{keras}_0_bn": f"{base}.norm1", f"{keras}_1_conv": f"{base}.conv1",
                            f"{keras}_1_bn": f"{base}.norm2", f"{keras}_2_conv": f"{base}.conv2"})
        layers.append(f"features.denseblock{k}")
        if k < 4:
            layers.append(f"features.transition{k}")
            aliases[f"pool{k + 1}_pool"] = f"features.transition{k}"
    layers.append("features.norm5")
    return layers, aliases


def _googlenet_catalogue(net: nn.Module) -> tuple[list[str], dict[str, str]]:
    layers = ["conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b",
              "maxpool3", "inception4a", "inception4b", "inception4c", "inception4d",
              "inception4e", "maxpool4", "inception5a", "inception5b"]
    aliases = {f"mixed{n[-2:]}": n for n in layers if n.startswith("inception")}
    return layers, aliases


def _mobilenet_catalogue(net: nn.Module) -> tuple[list[str], dict[str, str]]:
    return [f"features.{i}" for i in range(len(net.features))], {}


_CATALOGUES = {
    "vgg19": _vgg_catalogue, "resnet50": _resnet_catalogue, "resnet18": _resnet_catalogue,
    "densenet121": _densenet_catalogue, "googlenet": _googlenet_catalogue,
    "mobilenet_v3_small": _mobilenet_catalogue,
}


def layer_catalogue(spec: ModelSpec, net: nn.Module) -> tuple[list[str], dict[str, str]]:
    """(layers worth visualising, paper alias -> layer) of a zoo model (Sec. 3)."""
    if spec.family == "offline":
        return offline_layers(spec.name), {}
    layers, aliases = _CATALOGUES[spec.name](net)
    aliases["predictions"] = "logits"
    return layers + ["logits"], aliases


# ----------------------------------------------------------------------------- builders

def build_torchvision(spec: ModelSpec, weights=None, aux: bool = False) -> nn.Module:
    """A torchvision zoo network, random or with ``weights`` (a weights enum entry)."""
    builder = getattr(torchvision.models, spec.name)
    if spec.name == "googlenet":
        if weights is not None:
            return builder(weights=weights)
        return builder(weights=None, aux_logits=aux, transform_input=True, init_weights=True)
    return builder(weights=weights)


def build_net(spec: ModelSpec, aux: bool = False) -> nn.Module:
    """A zoo network with random weights (the caller seeds the generator)."""
    if spec.family == "offline":
        return build_offline_net(spec.name)
    return build_torchvision(spec, aux=aux)


def class_names(spec: ModelSpec) -> list[str]:
    """The class names of a zoo model's logits."""
    if spec.family == "offline":
        return list(FMNIST_CLASSES)
    return list(weights_enum_of(spec).meta["categories"])
