"""Divergence of a run: a sample whose demons update (eq. 18) is not finite stops updating
and keeps its pre-image of the last frame before the failure.

The check keeps references to the clipped update of each step and to two numbers the step
computed anyway (``||g||_1`` and ``D``); they are read only when a frame is produced, where
the host synchronises anyway, and while every sample is finite one sum over all of them is
the whole check. A small update is clipped straight into a ring of buffers and summed there
with the others of its frame in one operation (a NaN anywhere makes the sum non-finite); a
large one is summed at its own step. So nothing waits for the device between frames, and a
step of a small image runs no operation of its own for the check (Sec. 2.5's step-size
remark: too large a step makes the update overflow). A data term D (eqs. 1-4) that is already
NaN or Inf for a finite pre-image is the network's doing, not the step's: the message says so.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.transforms import resize

#: Updates of at most this many values are clipped into the ring (:meth:`Health.slot`).
RING_NUMEL = 1 << 16
#: The ring holds at most this many steps' updates (then they are summed, as one block).
RING_STEPS = 16


class Health:
    """Divergence bookkeeping of a batch of ``n`` samples between frames of at most
    ``span`` steps. :meth:`record` is called once per step, :meth:`check` at every frame."""

    def __init__(self, n: int, span: int, dev: torch.device) -> None:
        self.n = n
        self.span = max(1, span)
        self._alloc(self.span + 1, dev)
        self.j = 0                  # steps recorded since the last check
        self.since = 0              # step count at the last check
        self.alive = [True] * n
        self.first_bad = [-1] * n   # 1-based step of the first non-finite update
        self.bad_output = [False] * n  # whether D itself was non-finite at that step
        self.mask: torch.Tensor | None = None  # (n,1,1,1) once a sample has diverged
        self.last: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self.d = np.full(n, np.nan, dtype=np.float32)
        self.act = np.full(n, np.nan, dtype=np.float32)
        self.gn = np.zeros(n, dtype=np.float32)
        self.images: np.ndarray | None = None  # the last frame's pre-images
        self.jt = torch.zeros(1, dtype=torch.long, device=dev)  # record_static's row
        self.steps: list[torch.Tensor] = []   # record's ||g||_1 and D (n,), per step
        self.blocks: list[torch.Tensor] = []  # record's update sums, (steps, n) blocks
        self.ring: torch.Tensor | None = None  # (slots, *update shape)
        self.slots: list[torch.Tensor] = []
        self._shape: torch.Size | None = None  # the ring's update shape
        self.k0 = self.k = 0        # ring slots [k0, k) hold updates not yet summed
        self._slot: torch.Tensor | None = None  # the slot handed out for this step

    def _alloc(self, span: int, dev: torch.device) -> None:
        self.rec = torch.zeros(3, span, self.n, device=dev)  # record_static's rows
        self.rows = 0  # rows of ``rec`` in use since the last check

    def slot(self, like: torch.Tensor) -> torch.Tensor | None:
        """Where this step's clipped update goes (shaped like ``like``): a buffer of the
        ring when the update is small, else None (clip in place; :meth:`record` sums it)."""
        k = self.k
        if k < len(self.slots) and like.shape == self._shape:
            self.k = k + 1
            self._slot = self.slots[k]
            return self._slot
        if like.numel() > RING_NUMEL:
            return None
        ring = self.ring
        if ring is None or ring.shape[1:] != like.shape or ring.dtype != like.dtype:
            self._sum_ring()
            self.ring = ring = like.new_empty((min(self.span, RING_STEPS) + 1, *like.shape))
            self.slots = list(ring.unbind(0))
            self._shape = like.shape
            self.k0 = self.k = 0
        if self.k == len(self.slots):  # the ring is full: sum it, start over (the step's
            self._sum_ring()           # input, in the last slot, is not overwritten)
            self.k0 = self.k = 0
        self._slot = self.slots[self.k]
        self.k += 1
        return self._slot

    def _sum_ring(self) -> None:
        """The ring's updates not yet summed, as one (steps, n) block."""
        if self.k > self.k0:
            self.blocks.append(self.ring[self.k0:self.k].flatten(2).sum(2))
            self.k0 = self.k

    def record(self, x: torch.Tensor, new: torch.Tensor, g_l1: torch.Tensor,
               d: torch.Tensor, act: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Record one step (no host synchronisation): ``new`` (the update clipped to
        [0, 1], in the ring from :meth:`slot`, else summed now), references to ``g_l1`` and
        ``d`` ((n,) tensors of this step); returns ``new``, or the previous pre-image ``x``
        for samples that already diverged."""
        if new is not self._slot:
            self.blocks.append(_l1(new).unsqueeze(0))
        self._slot = None
        self.steps += (g_l1, d)
        self.j += 1
        self.last = (d, act, g)
        return new if self.mask is None else torch.where(self.mask, new, x)

    def record_static(self, new: torch.Tensor, g_l1: torch.Tensor, d: torch.Tensor) -> None:
        """:meth:`record` with the row index on the device (replayable as a CUDA graph);
        :meth:`count` does the host's part."""
        vals = torch.stack((_l1(new), g_l1.view(-1), d.view(-1))).unsqueeze(1)
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
        last, self.last = self.last, None
        # one stack of the steps' numbers, the updates' sums and the frame's (D, activation,
        # ||g||_2), read by the host at once; their sum is finite when every record is (a
        # false alarm of an overflowing sum, or of a frame number, only costs the exact test)
        tail = [] if last is None else [last[0], last[1],
                                        torch.linalg.vector_norm(last[2], dim=(1, 2, 3))]
        parts = self.steps + self._update_sums() + tail
        now = None
        if parts:
            now = torch.stack(parts)
            if now.dtype != torch.float32 or not now.is_cpu:
                now = now.float().cpu()
            now = now.numpy()
        if now is not None and not all(map(math.isfinite, now.ravel().tolist())):
            self._flag(self._records(), since, u)
        else:
            self._clear()
        # the ring starts over at its first slot, unless the pre-image (the last update)
        # is there: the next chunk of steps fits in it without wrapping
        self.k0 = self.k = 1 if self.k == 1 else 0
        if tail:
            now = now[-3:]
            if self.mask is None:
                self.d, self.act, self.gn = now
            else:
                ok = np.array(self.alive)
                self.d, self.act, self.gn = (np.where(ok, new, mine) for mine, new in
                                             zip((self.d, self.act, self.gn), now))

    def _update_sums(self) -> list[torch.Tensor]:
        """Per sample, the sum of the records not in ``steps`` (n,): the updates in the
        ring, the summed ones, the static steps' rows."""
        parts = []
        if self.k > self.k0:
            parts.append(self.ring[self.k0:self.k].sum((0, *range(2, self.ring.dim()))))
        if self.blocks:
            parts.append(torch.cat(self.blocks).sum(0))
        if self.rows:
            parts.append(self.rec[:, :self.rows].sum((0, 1)))
        return parts

    def _clear(self) -> None:
        self.steps, self.blocks, self.k0 = [], [], self.k
        if self.rows:
            self.rows = 0
            self.jt.zero_()

    def _flag(self, rec: torch.Tensor | None, since: int, u: torch.Tensor) -> None:
        """The exact test of the (3, j, n) records: freeze the samples with a non-finite
        record, at their first such step, noting whether D itself was non-finite there."""
        if rec is None or math.isfinite(float(rec.sum())):
            return
        bad = ~torch.isfinite(rec).all(0)  # (j, n)
        hit = bad.any(0).tolist()
        first = bad.to(torch.uint8).argmax(0).tolist()
        for i, h in enumerate(hit):
            if h and self.alive[i]:
                self.alive[i] = False
                self.first_bad[i] = since + first[i] + 1
                self.bad_output[i] = not math.isfinite(float(rec[2, first[i], i]))
                if self.images is not None:
                    prev = torch.from_numpy(self.images[i:i + 1]).to(u)
                    u[i] = resize(prev, u.shape[-1])[0]
        if any(hit):
            self.mask = torch.tensor(self.alive, device=u.device).view(-1, 1, 1, 1)

    def _stacked(self) -> torch.Tensor:
        """:meth:`record`'s steps as (3, steps, n) records (emptying its lists): the update
        sums, ``||g||_1`` and D."""
        self._sum_ring()
        blocks, steps, self.blocks, self.steps = self.blocks, self.steps, [], []
        t = torch.stack(steps).view(len(steps) // 2, 2, -1)  # (steps, 2, n)
        return torch.stack((blocks[0] if len(blocks) == 1 else torch.cat(blocks),
                            t[:, 0], t[:, 1]))

    def _records(self) -> torch.Tensor | None:
        """The (3, j, n) records since the last frame (update sums; ``||g||_1``; D): the
        static steps' buffer rows, then :meth:`record`'s steps; None if there are none."""
        parts = [self.rec[:, :self.rows]] if self.rows else []
        if self.steps:
            parts.append(self._stacked())
        if self.rows:
            self.rows = 0
            self.jt.zero_()
        return None if not parts else parts[0] if len(parts) == 1 else torch.cat(parts, 1)

    def measured(self, d: torch.Tensor, act: torch.Tensor) -> None:
        """D and the activation measured on the frame's pre-images (n,): they replace the
        last step's for every sample that has not diverged (a diverged one keeps those of
        its last finite frame)."""
        d, act = (t.detach().float().cpu().numpy() for t in (d, act))
        ok = np.array(self.alive)
        self.d, self.act = np.where(ok, d, self.d), np.where(ok, act, self.act)

    def numbers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(objective, activation, gradient norm) of each sample's last finite frame."""
        return self.d.copy(), self.act.copy(), self.gn.copy()

    def messages(self, cfgs: list[RunConfig]) -> list[str | None]:
        return [None if b < 0 else divergence_message(b, cfgs[i], self.bad_output[i])
                for i, b in enumerate(self.first_bad)]


def _l1(new: torch.Tensor) -> torch.Tensor:
    """The per-sample record of an update: its L1 norm (the sum of the clipped pixels, by
    the kernel that already computed ``||g||_1`` in the step); NaN if any pixel is."""
    return torch.linalg.vector_norm(new, 1, dim=(1, 2, 3))


def _p1_inversion(cfg: RunConfig) -> bool:
    """Whether the run inverts with the exponent p = 1 (eq. 2): the task's ``p``, or an
    objective's ``inversion(layer, 1)`` term (the run's ``p`` is not read there)."""
    if not cfg.objective:
        return cfg.task == "inversion" and cfg.p == 1
    from viz_core.objectives import parse_objective

    try:
        return any(lf.name == "inversion" and len(lf.args) > 1 and float(lf.args[1]) == 1
                   for _, lf in parse_objective(str(cfg.objective)).parts)
    except (VizError, TypeError, ValueError):
        return False


def divergence_message(step: int, cfg: RunConfig, output: bool = False) -> str:
    """What a run that diverged at ``step`` says: NaN or Inf in the update, its likely cause
    (an L1 feature error, p = 1 of eq. 2, has no gradient at zero error), and that the
    pre-image of the last frame before it is kept. ``output``: the data term D (eqs. 1-4)
    was itself NaN or Inf for the step's pre-image, whose pixels are finite (clipped to
    [0, 1]): the network's output, which no step size causes, is said to be the cause.

    >>> from viz_core.config import RunConfig
    >>> "(p=1 inversion" in divergence_message(7, RunConfig(
    ...     objective="inversion(block2, 1)", image="fmnist/0_ankle_boot.png"))
    True
    >>> "(p=1 inversion" in divergence_message(7, RunConfig(
    ...     objective="inversion(block2)", image="fmnist/0_ankle_boot.png"))
    False
    >>> divergence_message(1, RunConfig(), output=True)[:72]
    "diverged at step 1: the network's output is NaN or Inf for the start ima"
    """
    if output:
        what = "the start image" if step <= 1 else f"the pre-image of step {step - 1}"
        return (f"diverged at step {step}: the network's output is NaN or Inf for {what} "
                "(its pixels are finite), so the objective D is too: this is the network, "
                "not the step size; kept the pre-image of the last frame before it")
    cause = ("p=1 inversion at zero error or a too large step size" if _p1_inversion(cfg)
             else "the step size is probably too large")
    return (f"diverged at step {step}: the update produced NaN or Inf ({cause}); "
            f"kept the pre-image of the last frame before it")


def no_gradient_message(step: int, grad_norm: float, activation: float) -> str | None:
    """Why a run that did not diverge still produced nothing: its data term had no
    gradient at its last step (an inactive unit, eq. 4: the pre-image stopped where it
    was), or None.

    >>> no_gradient_message(20, 0.0, 0.0)[:28]
    'the target gave no gradient '
    >>> no_gradient_message(20, 0.5, 2.0) is None
    True
    """
    if step > 0 and grad_norm == 0.0:
        return (f"the target gave no gradient (activation {activation:.4g}, gradient norm 0 "
                f"at step {step}): the unit is inactive for this image, so the pre-image "
                "did not change; choose another channel, layer or class")
    return None

