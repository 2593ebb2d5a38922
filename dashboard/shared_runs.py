"""One computation for the sessions that ask for the same run at the same time.

A class of students who all press Run on the Playground's default setting, or a demo opened
in several tabs, asks the engine process for the same run several times within a second.
The demons iterations (eq. 18, Sec. 3) are deterministic: the same configurations on the same
model, image and frame rate give the same frames, bit for bit. So the engine process
computes such a run once (:class:`SharedRun`) and sends every frame to each session that
asked for it. A session that arrives while the run is under way first gets the frames it
missed, then follows; its frames are the run's, times included (seconds from the run's
start: the engine computed every step of it), and it is told the step it came at
(:attr:`SharedRun.step`), which its page says beside the run's time.

Only identical runs share: runs that differ in any setting (another class, scheme or step
size) keep their own computation and take turns. Computing those as one batch would be
cheaper on a small network, but the network's batched pass rounds differently from a lone
one (oneDNN's convolutions), and over tens of steps activation maximisation grows that into
another picture (0.045 of the intensity range after 40 steps of ``fmnist_vgg``): a run's
picture would then depend on who else happened to run at that moment.

A run is open to newcomers for its first :data:`REPLAY_FRAMES` frames only (the frames kept
for them are then let go): the sessions that share a run are those that asked for it at about
the same time, and a long run does not hold all its frames in memory.

Stop: a session that stops leaves the run; the run ends (between two steps) when every
session that shares it has stopped.

No Streamlit here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

REPLAY_FRAMES = 50  # frames kept for sessions that come later (a run is open to them so long)


@dataclasses.dataclass
class Member:
    """A session's run: its id and its stop signal (a ``threading.Event``)."""

    rid: int
    stop: Any
    ended: bool = False


def same_reference(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Whether two runs invert the same image (or neither inverts one).

    >>> x = np.zeros((1, 1, 2, 2), np.float32)
    >>> same_reference(None, None), same_reference(x, x.copy()), same_reference(x, None)
    (True, True, False)
    """
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))


class SharedRun:
    """A run of the engine and the sessions it is computed for.

    ``start(configs, stop)`` starts the engine (``viz_core.engine.run`` on the run's model,
    reference and frame rate) with a stop that holds once every session has stopped.
    """

    def __init__(self, key: Any, configs: list, reference: np.ndarray | None,
                 every: int | None, start: Callable[[list, Callable[[], bool]], Iterator],
                 first: Member) -> None:
        self.key, self.configs, self.reference, self.every = key, list(configs), reference, every
        self.members = [first]
        self.frames: list = []   # the frames so far (for sessions that come later)
        self.closed_to_newcomers = False
        self.gen: Iterator | None = iter(start(self.configs, self._all_stopped))

    @property
    def live(self) -> list[Member]:
        return [m for m in self.members if not m.ended]

    def _all_stopped(self) -> bool:
        """The engine's stop, asked between two steps: every session has stopped (one that
        left the run had stopped)."""
        return all(m.stop.is_set() for m in self.members)

    def same(self, key: Any, configs: list, reference: np.ndarray | None,
             every: int | None) -> bool:
        """Whether a run asked for now is this one (and this one still goes on)."""
        if (self.gen is None or not self.live or self.closed_to_newcomers or key != self.key
                or every != self.every or any(f.stopped for f in self.frames[-1:])):
            return False
        try:
            return list(configs) == self.configs and same_reference(reference, self.reference)
        except Exception:  # noqa: BLE001 - settings that cannot be compared: not the same
            return False

    @property
    def step(self) -> int:
        """The step the run has reached (its latest frame's; 0 before its first steps): where
        a session that joins now comes in."""
        return int(self.frames[-1].step) if self.frames else 0

    def join(self, member: Member) -> list[tuple[int, Any]]:
        """A session that asks for this run: the frames so far, to send it now (the run's
        own, with the seconds since the run started)."""
        self.members.append(member)
        return [(member.rid, f) for f in self.frames]

    def end_stopped(self) -> list[int]:
        """The sessions that have stopped: they leave the run (their ids)."""
        out = []
        for m in self.live:
            if m.stop.is_set():
                m.ended = True
                out.append(m.rid)
        return out

    def advance(self) -> list[tuple[int, Any]]:
        """The next frame's worth of steps: (session's run id, frame) for each session; an
        empty list and :attr:`gen` None once the run has ended. The engine's errors
        propagate."""
        frame = next(self.gen, None) if self.gen is not None else None
        if frame is None:
            self.close()
            return []
        if not self.closed_to_newcomers:
            self.frames.append(frame)
            if len(self.frames) > REPLAY_FRAMES:
                self.closed_to_newcomers, self.frames = True, []
        return [(m.rid, frame) for m in self.live]

    def close(self) -> None:
        if self.gen is not None:
            getattr(self.gen, "close", lambda: None)()
        self.gen = None
