"""Adversarial examples under an L2 budget, for the robust offline models.

Robust classifiers (adversarial training, Madry et al. 2018) have perceptually aligned
gradients (Tsipras et al. 2019; Santurkar et al. 2019), which is why their pre-images
(Sec. 3, eq. 4 and eq. 5) are recognisable where a standard network's are textures.
``scripts/train_offline.py --adv-eps`` trains them with :func:`pgd_l2`, and their model
cards record :func:`robust_accuracy` under PGD-20.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["pgd_l2", "robust_accuracy"]


def _l2_normalise(v: torch.Tensor) -> torch.Tensor:
    return v / v.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)


def pgd_l2(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, mean: float, std: float,
           eps: float, steps: int, step_size: float, gen: torch.Generator | None = None
           ) -> torch.Tensor:
    """L2 PGD adversary of ``x`` (pixels in [0, 1]) within ``||delta||_2 <= eps``.

    Random start uniformly in the ball's direction with radius ~ U(0, eps), normalised
    gradient steps, projection onto the ball and onto [0, 1] after each step (Madry et al.
    2018). The network sees ``(x - mean) / std``; it is run in eval mode (no BN updates).
    """
    was_training = net.training
    net.eval()
    n = x.shape[0]
    # drawn on the CPU generator (seeded runs match across devices), then moved to x's device
    noise = torch.randn(x.shape, generator=gen).to(x.device)
    radius = eps * torch.rand(n, generator=gen).view(-1, 1, 1, 1).to(x.device)
    delta = _l2_normalise(noise) * radius
    delta = ((x + delta).clamp(0, 1) - x).requires_grad_(True)
    for _ in range(steps):
        xin = ((x + delta - mean) / std).contiguous(memory_format=torch.channels_last)
        loss = F.cross_entropy(net(xin), y)
        (g,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta += step_size * _l2_normalise(g)
            norm = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            delta *= (eps / norm.clamp_min(1e-12)).clamp(max=1.0)
            delta.copy_((x + delta).clamp(0, 1) - x)
    net.train(was_training)
    return (x + delta).detach()


def robust_accuracy(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, mean: float,
                    std: float, eps: float, steps: int, batch: int = 250) -> float:
    """Accuracy under an L2 PGD-``steps`` attack (step size 2.5 eps / steps, random start)."""
    gen = torch.Generator().manual_seed(1234)
    correct = 0
    for i in range(0, len(x), batch):
        xb, yb = x[i:i + batch].float(), y[i:i + batch]
        adv = pgd_l2(net, xb, yb, mean, std, eps, steps, 2.5 * eps / steps, gen)
        with torch.no_grad():
            pred = net(((adv - mean) / std).contiguous(memory_format=torch.channels_last))
        correct += (pred.argmax(1) == yb).sum().item()
    return correct / len(x)
