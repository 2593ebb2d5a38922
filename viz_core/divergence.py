"""Divergence of a run: a sample whose demons update (eq. 18) is not finite stops updating
and keeps its pre-image of the last frame before the failure.

The check costs a step one small reduction (the L1 norm of the clipped update: a NaN
anywhere makes it non-finite) and keeps references to two numbers the step computed anyway
(``||g||_1`` and ``D``); they are read only when a frame is produced, where the host
synchronises anyway, and while every sample is finite one sum over all of them is the whole
check. So nothing waits for the device between frames, and a step does no per-sample
bookkeeping while every sample is finite (Sec. 2.5's step-size remark: too large a step
makes the update overflow).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from viz_core.config import RunConfig
from viz_core.transforms import resize


class Health:
    """Divergence bookkeeping of a batch of ``n`` samples between frames of at most
    ``span`` steps. :meth:`record` is called once per step, :meth:`check` at every frame."""

    def __init__(self, n: int, span: int, dev: torch.device) -> None:
        self.n = n
        self._alloc(max(1, span) + 1, dev)
        self.j = 0                  # steps recorded since the last check
        self.since = 0              # step count at the last check
        self.alive = [True] * n
        self.first_bad = [-1] * n   # 1-based step of the first non-finite update
        self.mask: torch.Tensor | None = None  # (n,1,1,1) once a sample has diverged
        self.last: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self.d = np.full(n, np.nan, dtype=np.float32)
        self.act = np.full(n, np.nan, dtype=np.float32)
        self.gn = np.zeros(n, dtype=np.float32)
        self.images: np.ndarray | None = None  # the last frame's pre-images
        self.jt = torch.zeros(1, dtype=torch.long, device=dev)  # record_static's row
        self.steps: list[torch.Tensor] = []  # record's: (sum, ||g||_1, D) per step

    def _alloc(self, span: int, dev: torch.device) -> None:
        self.rec = torch.zeros(2, span, self.n, device=dev)  # record_static's rows
        self.rows = 0  # rows of ``rec`` in use since the last check

    def record(self, x: torch.Tensor, new: torch.Tensor, g_l1: torch.Tensor,
               d: torch.Tensor, act: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Record one step (no host synchronisation): one reduction of ``new``, references
        to ``g_l1`` and ``d`` (fresh tensors of this step); returns ``new``, or the previous
        pre-image ``x`` for samples that already diverged."""
        self.steps += (_l1(new), g_l1.view(-1), d)
        self.j += 1
        self.last = (d, act, g)
        return new if self.mask is None else torch.where(self.mask, new, x)

    def record_static(self, new: torch.Tensor, g_l1: torch.Tensor, d: torch.Tensor) -> None:
        """:meth:`record` with the row index on the device (replayable as a CUDA graph);
        :meth:`count` does the host's part."""
        vals = torch.stack((_l1(new), g_l1.view(-1) + d)).unsqueeze(1)
        self.rec.index_copy_(1, self.jt, vals)
        self.jt.add_(1)

    def count(self, last: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> None:
        """The host's part of a :meth:`record_static` step (``last``: its D, activation, g)."""
        self.j += 1
        self.rows += 1
        self.last = last

    def sync_index(self) -> None:
        """Before static steps: :meth:`record`'s steps since the last check move into the
        buffer, and the device row index follows."""
        if self.steps:
            recs = self._stacked()
            self.rec[:, self.rows:self.rows + recs.shape[1]] = recs
            self.rows += recs.shape[1]
        self.jt.fill_(self.rows)

    def check(self, u: torch.Tensor, step: int) -> None:
        """At a frame: find samples whose updates since the last frame were not finite,
        put their last frame's pre-image back into ``u`` (in place) and freeze them; take
        the numbers of the last step for the others."""
        j, self.j, self.since = self.j, 0, step
        since = step - j
        # one sum: finite when every record is (a false alarm of an overflowing sum only
        # costs the exact test below)
        rec = None
        if self.rows or (self.steps and not math.isfinite(float(torch.stack(self.steps).sum()))):
            rec = self._records()
        self.steps = []
        if rec is not None and not math.isfinite(float(rec.sum())):
            bad = ~torch.isfinite(rec).all(0)  # (j, n)
            hit = bad.any(0).tolist()
            first = bad.to(torch.uint8).argmax(0).tolist()
            for i, h in enumerate(hit):
                if h and self.alive[i]:
                    self.alive[i] = False
                    self.first_bad[i] = since + first[i] + 1
                    if self.images is not None:
                        prev = torch.from_numpy(self.images[i:i + 1]).to(u)
                        u[i] = resize(prev, u.shape[-1])[0]
            if any(hit):
                self.mask = torch.tensor(self.alive, device=u.device).view(-1, 1, 1, 1)
        if self.last is not None:
            d, act, g = self.last
            self.last = None
            ok = np.array(self.alive)
            now = torch.stack([d.detach().float(), act.detach().float(),
                               g.flatten(1).norm(dim=1).float()]).cpu().numpy()
            for mine, new in zip((self.d, self.act, self.gn), now):
                mine[ok] = new[ok]

    def _stacked(self) -> torch.Tensor:
        """:meth:`record`'s steps as (2, steps, n) records (emptying its list)."""
        steps, self.steps = self.steps, []
        t = torch.stack(steps).view(len(steps) // 3, 3, -1)  # (steps, 3, n)
        return torch.stack((t[:, 0], t[:, 1] + t[:, 2]))

    def _records(self) -> torch.Tensor | None:
        """The (2, j, n) records since the last frame (update sums; ``||g||_1 + D``): the
        static steps' buffer rows, then :meth:`record`'s steps; None if there are none."""
        parts = [self.rec[:, :self.rows]] if self.rows else []
        if self.steps:
            parts.append(self._stacked())
        if self.rows:
            self.rows = 0
            self.jt.zero_()
        return None if not parts else parts[0] if len(parts) == 1 else torch.cat(parts, 1)

    def numbers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(objective, activation, gradient norm) of each sample's last finite frame."""
        return self.d.copy(), self.act.copy(), self.gn.copy()

    def messages(self, cfgs: list[RunConfig]) -> list[str | None]:
        return [None if b < 0 else divergence_message(b, cfgs[i])
                for i, b in enumerate(self.first_bad)]


def _l1(new: torch.Tensor) -> torch.Tensor:
    """The per-sample record of an update: its L1 norm (the sum of the clipped pixels, by
    the kernel that already computed ``||g||_1`` in the step); NaN if any pixel is."""
    return torch.linalg.vector_norm(new, 1, dim=(1, 2, 3))


def divergence_message(step: int, cfg: RunConfig) -> str:
    cause = ("p=1 inversion at zero error or a too large step size" if cfg.p == 1 and
             cfg.task == "inversion" else "the step size is probably too large")
    return (f"diverged at step {step}: the update produced NaN or Inf ({cause}); "
            f"kept the pre-image of the last frame before it")
