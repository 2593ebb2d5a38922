"""A demons step (eq. 18) replayed as one CUDA graph.

On a GPU a step of a small network is launch-bound: the forward, the backward, the
gradient normalisation, the kernels of eq. 18, the clipping and the divergence record are
some hundred kernel launches of a few microseconds each. When nothing in a step changes
from one step to the next (no jitter, the canvas is the network's input, the demons step
rule, every elastic kernel applied at every step, every sample still finite), the engine
captures the step once and replays it: one launch per step, the same arithmetic.

The step function works in place on static buffers (the pre-images ``u`` and the
divergence record of :class:`viz_core.divergence.Health`); the first :data:`WARMUP` steps
run eagerly on a side stream (CUDA's requirement before a capture, and real steps of the
run), the capture itself computes nothing, and every later step is one replay.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

#: Eager steps before the capture (cuDNN / cuBLAS / cuFFT pick their algorithms there).
WARMUP = 3
#: A stage shorter than this runs eagerly (a capture costs about as much as a few steps).
MIN_STEPS = 2 * WARMUP


def usable(device: torch.device, steps: int) -> bool:
    """Whether a static stage of ``steps`` steps on ``device`` is worth a CUDA graph."""
    return device.type == "cuda" and steps >= MIN_STEPS


class EagerStep:
    """The in-place step called directly (the CPU; tests of the static step)."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self.step = fn


class GraphedStep:
    """``step()`` runs ``fn`` (which updates its buffers in place): eagerly for the first
    :data:`WARMUP` calls, then as a replay of the graph captured from it."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.stream = torch.cuda.Stream()

    def step(self) -> None:
        if self.graph is not None:
            self.graph.replay()
            return
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream):
            self.fn()
        torch.cuda.current_stream().wait_stream(self.stream)
        self.calls += 1
        if self.calls == WARMUP:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self.fn()  # recorded, not run
            self.graph = graph
