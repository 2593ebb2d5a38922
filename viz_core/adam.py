"""Adam (Kingma and Ba; ``torch.optim.Adam``'s arithmetic) as the engine's other optimizer:
its direction takes the place of the normalised gradient in eq. 18, and the fluid kernel
``Kf`` filters it (:mod:`viz_core.config`: ``optimizer="adam"``)."""

from __future__ import annotations

import math

import torch

from viz_core.config import RunConfig


def stage_adam(adam: Adam | None, u: torch.Tensor, c0: RunConfig) -> Adam:
    """Adam's state for an octave stage: the moments carry over from the previous stage when
    the canvas keeps its size (stages at the same scale: one optimisation with a new step
    size, as torch.optim.Adam with a changed learning rate), and restart when it changes
    (the moments belong to pixels that no longer exist)."""
    if adam is not None and adam.m.shape == u.shape:
        return adam
    return Adam(u, c0.adam_betas, c0.adam_eps)


class Adam:
    """Adam's moments over a canvas (Kingma and Ba; torch.optim.Adam's arithmetic): the
    descent direction ``m_hat / (sqrt(v_hat) + eps)`` of the pixels in ``window``."""

    def __init__(self, u: torch.Tensor, betas: tuple[float, float], eps: float) -> None:
        self.m = torch.zeros_like(u)
        self.v = torch.zeros_like(u)
        self.b1, self.b2 = float(betas[0]), float(betas[1])
        self.eps = float(eps)
        self.t = 0

    def direction(self, d: torch.Tensor, window: tuple) -> torch.Tensor:
        self.t += 1
        m, v = self.m[window], self.v[window]  # views: updated in place
        m.lerp_(d, 1.0 - self.b1)
        v.mul_(self.b2).addcmul_(d, d, value=1.0 - self.b2)
        denom = (v.sqrt() / math.sqrt(1.0 - self.b2 ** self.t)).add_(self.eps)
        return m / denom / (1.0 - self.b1 ** self.t)
