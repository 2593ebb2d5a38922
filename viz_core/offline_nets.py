"""Compact Fashion-MNIST CNNs for offline use (64x64 single-channel input).

Two visualised architecture families with clearly named stages, so that layers read well in
the dashboard: ``FmnistVGG`` (plain conv stack, blocks ``block1`` ... ``block4``) and
``FmnistResNet`` (residual stages ``layer1`` ... ``layer4``). Both end in global average
pooling and a linear classifier ``fc``; the deepest convolutional stage works at 4x4.

A third family judges them: ``FmnistLeNet`` (LeNet-5 layout, LeCun et al. 1998: 5x5
convolutions, max pooling, no batch normalisation, a fully connected head), the independent
judge of the recognisability measure (Sec. 3.2) that shares no block type with the other two.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

__all__ = [
    "OFFLINE_ARCHS",
    "FmnistLeNet",
    "FmnistResNet",
    "FmnistVGG",
    "build_offline_net",
    "offline_default_layer",
    "offline_layers",
]


def _conv_bn_relu(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=False),
    ]


def _vgg_block(cin: int, cout: int, first_stride: int = 1) -> nn.Sequential:
    a = _conv_bn_relu(cin, cout, first_stride)
    b = _conv_bn_relu(cout, cout)
    names = ["conv1", "bn1", "relu1", "conv2", "bn2", "relu2"]
    return nn.Sequential(OrderedDict(zip(names, a + b)))


class FmnistVGG(nn.Module):
    """VGG-style plain network: four blocks of two 3x3 conv-BN-ReLU layers.

    64x64 -> block1 (stride-2 first conv, 32x32) -> pool -> block2 (16x16) -> pool
    -> block3 (8x8) -> pool -> block4 (4x4) -> global average pool -> dropout -> fc.
    """

    def __init__(self, widths: tuple[int, ...] = (24, 48, 96, 192), num_classes: int = 10,
                 in_channels: int = 1, dropout: float = 0.2) -> None:
        super().__init__()
        w1, w2, w3, w4 = widths
        self.block1 = _vgg_block(in_channels, w1, first_stride=2)
        self.pool1 = nn.MaxPool2d(2)
        self.block2 = _vgg_block(w1, w2)
        self.pool2 = nn.MaxPool2d(2)
        self.block3 = _vgg_block(w2, w3)
        self.pool3 = nn.MaxPool2d(2)
        self.block4 = _vgg_block(w3, w4)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(w4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.block1(x))
        x = self.pool2(self.block2(x))
        x = self.pool3(self.block3(x))
        x = self.block4(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs, identity or 1x1 projection shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU(inplace=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = nn.ReLU(inplace=False)
        self.downsample: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.downsample(x))


class FmnistResNet(nn.Module):
    """Small residual network: stride-2 stem, four stages of basic blocks.

    ``blocks`` basic blocks per stage (``layerK.0``, ...).
    64x64 -> stem (32x32) -> layer1 (32x32) -> layer2 (16x16) -> layer3 (8x8)
    -> layer4 (4x4) -> global average pool -> fc.
    """

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128), blocks: int = 1,
                 num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        if len(widths) != 4:
            raise ValueError("FmnistResNet needs four stage widths")
        w1 = widths[0]
        self.stem = nn.Sequential(OrderedDict(zip(
            ["conv", "bn", "relu"], _conv_bn_relu(in_channels, w1, stride=2))))
        cin = w1
        for i, w in enumerate(widths, start=1):
            stride = 1 if i == 1 else 2
            layers = [BasicBlock(cin, w, stride)] + [BasicBlock(w, w) for _ in range(blocks - 1)]
            setattr(self, f"layer{i}", nn.Sequential(*layers))
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer2(self.layer1(self.stem(x)))
        x = self.layer4(self.layer3(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class FmnistLeNet(nn.Module):
    """LeNet-style judge: 5x5 convolutions and max pooling, no batch norm, two dense layers.

    64x64 -> 2x2 average pool (32x32, LeNet-5's input size) -> conv1 (5x5, 24) -> pool (16x16)
    -> conv2 (5x5, 48) -> pool (8x8) -> conv3 (3x3, 96) -> pool3 (4x4) -> flatten
    -> fc1 (256) -> dropout -> fc.
    """

    def __init__(self, widths: tuple[int, ...] = (24, 48, 96), hidden: int = 256,
                 num_classes: int = 10, in_channels: int = 1, dropout: float = 0.3) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.downsample = nn.AvgPool2d(2)

        def stage(cin: int, cout: int, k: int) -> nn.Sequential:
            return nn.Sequential(OrderedDict(
                [("conv", nn.Conv2d(cin, cout, k, padding=k // 2)), ("relu", nn.ReLU())]))

        self.conv1 = stage(in_channels, w1, 5)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = stage(w1, w2, 5)
        self.pool2 = nn.MaxPool2d(2)
        self.conv3 = stage(w2, w3, 3)
        self.pool3 = nn.MaxPool2d(2)
        self.fc1 = nn.Sequential(OrderedDict(
            [("linear", nn.Linear(w3 * 16, hidden)), ("relu", nn.ReLU())]))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.conv1(self.downsample(x)))
        x = self.pool3(self.conv3(self.pool2(self.conv2(x))))
        return self.fc(self.dropout(self.fc1(torch.flatten(x, 1))))


OFFLINE_ARCHS: dict[str, type[nn.Module]] = {"fmnist_vgg": FmnistVGG, "fmnist_resnet": FmnistResNet,
                                             "fmnist_lenet": FmnistLeNet}

def build_offline_net(arch: str, **kwargs) -> nn.Module:
    """Instantiate the architecture ``arch`` (an :data:`OFFLINE_ARCHS` key; random weights).
    Which model has which architecture is a relation of the zoo (``ModelSpec.architecture``)."""
    return OFFLINE_ARCHS[arch](**kwargs)


_DEFAULT_LAYERS = {"fmnist_vgg": "block4", "fmnist_resnet": "layer4", "fmnist_lenet": "pool3"}


def offline_layers(name: str) -> list[str]:
    """Layer catalogue of an architecture (dotted module names in forward order, then
    "logits")."""
    if name == "fmnist_vgg":
        layers = [s for i in range(1, 5) for s in (f"block{i}.relu1", f"block{i}")]
    elif name == "fmnist_resnet":
        layers = ["stem"] + [s for i in range(1, 5) for s in (f"layer{i}.0.relu1", f"layer{i}")]
    elif name == "fmnist_lenet":
        layers = ["conv1", "conv2", "conv3", "pool3"]
    else:
        raise KeyError(name)
    return layers + ["logits"]


def offline_default_layer(name: str) -> str:
    """The deepest convolutional block of an architecture (used for feature inversion)."""
    return _DEFAULT_LAYERS[name]
