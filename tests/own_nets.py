"""Small user networks for the bring-your-own-network tests (importable as
``tests.own_nets:branchy`` for the import-string route)."""

from __future__ import annotations

import torch
from torch import nn


class Block(nn.Module):
    """Two branches and a residual."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.left = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU())
        self.right = nn.Conv2d(c, c, 1)
        self.mix = nn.Conv2d(2 * c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.mix(torch.cat([self.left(x), self.right(x)], dim=1)))


class Branchy(nn.Module):
    """Fashion-MNIST-sized classifier: 1 x 32 x 32 in [0, 1] -> 5 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.block = Block(8)
        self.down = nn.Conv2d(8, 12, 3, stride=2, padding=1)
        self.head = nn.Linear(12, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.down(self.block(self.stem(x))))
        return self.head(x.mean(dim=(2, 3)))


class Untraceable(Branchy):
    """Data-dependent control flow: torch.fx cannot trace it; ``spare`` is never called."""

    def __init__(self) -> None:
        super().__init__()
        self.spare = nn.Conv2d(8, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(self.stem(x))
        if x.sum() > 0:  # a Python branch on a tensor value
            x = torch.relu(self.down(x))
        else:
            x = torch.relu(self.down(-x))
        return self.head(x.mean(dim=(2, 3)))


def branchy() -> nn.Module:
    """The import-string factory: a seeded Branchy in train mode (as a user would leave it)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = Branchy()
    return net


class ThreeClasses(nn.Module):
    """1 x 16 x 16 -> 3 logits: the smallest network that has classes to name."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def three_class_program(path, saved: list[str] | None = None):
    """:class:`ThreeClasses` exported to ``path`` (a ``.pt2``), with ``saved`` class names
    as the program's ``classes.txt`` if given; returns ``path``."""
    program = torch.export.export(ThreeClasses().eval(), (torch.rand(1, 1, 16, 16),))
    extra = {"classes.txt": "\n".join(saved)} if saved else None
    torch.export.save(program, str(path), extra_files=extra)
    return path
