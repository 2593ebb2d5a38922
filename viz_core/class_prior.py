"""Starting pre-images: the paper's noise start, or a class-conditional Gaussian start.

The paper (Sec. 3.1) starts activation maximization from small noise around the mean image;
that is the default (``RunConfig.init == "noise"``). The "class-conditional" start draws the
initial image from a Gaussian fitted to the training images of the target class (mean and
full covariance at 28x28, after Santurkar et al. 2019, "Image synthesis with a single robust
classifier"), then resizes it to the model's input. It is a data prior: a picture made from
it shows the class's average silhouette before the network has done anything, so it is a
labelled setting of its own, never part of a scheme, and the benchmarks use the noise start.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

from viz_core.datasets import FMNIST_CLASSES, load_fashion_mnist, to_model_input
from viz_core.errors import VizError

__all__ = ["INITS", "class_gaussian", "initial_images"]

#: Starting points of a run: the paper's noise start, or the class-conditional Gaussian.
INITS = ("noise", "class_conditional")
_RIDGE = 1e-4  # added to the covariance's diagonal so that its Cholesky factor exists


@functools.lru_cache(maxsize=4)
def _class_stats(root: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per class: mean (10, 784) and Cholesky factor (10, 784, 784) of the training images
    in [0, 1] (28x28, float64 fit)."""
    images, labels = load_fashion_mnist("train", root)
    x = images.reshape(len(images), -1).double() / 255.0
    means, factors = [], []
    for c in range(len(FMNIST_CLASSES)):
        xc = x[labels == c]
        mu = xc.mean(0)
        cov = torch.cov(xc.T) + _RIDGE * torch.eye(x.shape[1], dtype=x.dtype)
        means.append(mu)
        factors.append(torch.linalg.cholesky(cov))
    return torch.stack(means).float(), torch.stack(factors).float()


def class_gaussian(target: int, root: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (784,) and Cholesky factor (784, 784) of the Gaussian fitted to the Fashion-MNIST
    training images of class ``target`` (VizError when the data set is not installed)."""
    if not 0 <= target < len(FMNIST_CLASSES):
        raise VizError(f"the class-conditional start needs a Fashion-MNIST class 0..9, got "
                       f"{target}", field="init")
    means, factors = _class_stats(root)
    return means[target], factors[target]


def initial_images(inits: Sequence[str], targets: Sequence[int | None],
                   seeds: Sequence[int], stds: Sequence[float], mean: Sequence[float],
                   channels: int, size: int, fmnist: bool) -> torch.Tensor:
    """The starting pre-images (N, C, size, size) in [0, 1]: per config, noise of std
    ``stds[i]`` around the mean image (the paper's start), or a draw from the Gaussian of
    class ``targets[i]`` (``fmnist``: the model was trained on Fashion-MNIST). One CPU
    generator per config, so that a seed gives the same start on every device."""
    center = torch.tensor(list(mean), dtype=torch.float32).view(-1, 1, 1)
    out = []
    for init, target, seed, std in zip(inits, targets, seeds, stds):
        g = torch.Generator().manual_seed(seed)
        if init == "noise":
            out.append(torch.randn(channels, size, size, generator=g) * std + center)
            continue
        if init != "class_conditional":
            raise VizError(f"unknown init {init!r}; allowed: {', '.join(INITS)}", field="init")
        if not fmnist or channels != 1 or target is None:
            raise VizError("the class-conditional start is for class activation maximization "
                           "of a Fashion-MNIST model (a class target)", field="init")
        mu, factor = class_gaussian(target)
        draw = (mu + factor @ torch.randn(mu.shape[0], generator=g)).clamp(0, 1)
        out.append(to_model_input(draw.view(1, 1, 28, 28), size)[0])
    return torch.stack(out).clamp(0, 1)
