"""Jitter and octaves (paper Sec. 2.7, 3.1).

Readings implemented:

* **jitter**: a random translation of the whole pre-image by up to ``jitter`` pixels in each
  direction (``jitter < 1`` is a fraction of the network's input size), applied as a
  circular roll before the forward pass; the gradient flows back through the roll, so the
  update lands on the un-shifted image (Fig. 1's "two pixels of jitter").
* **octaves**: a list of ``(scale, steps, tau)`` stages, read in one of two ways
  (:data:`OCTAVE_MODES`, ``RunConfig.octave_mode``):

  - ``absolute`` (default, this tool's reading of Sec. 3.1): ``scale`` is relative to the
    network's input size; the canvas is resized (bilinear, antialiased) to
    ``round(scale * size)`` at the start of each stage, and every step takes a crop of the
    input size at an offset drawn **uniformly** over the slack (the paper's "random
    cropping ... up to 30 %" at scale 1.2 / 1.0);
  - ``deepdraw`` (the deepdraw notebook's reading): each stage **zooms the current
    canvas** by ``scale``, so the scales compound (1.0, 1.1, 1.2 gives 1.0, 1.1, 1.32), and
    crop offsets are drawn from a **normal distribution around the centre** with a standard
    deviation of 0.3 times the slack, clipped to the slack.

  In both, the updated crop is pasted back into the canvas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from viz_core.errors import VizError


@dataclass(frozen=True)
class Octave:
    """One stage of an octave schedule: canvas scale, number of steps, step size tau."""

    scale: float
    steps: int
    tau: float

    def to_list(self) -> list[float]:
        return [self.scale, self.steps, self.tau]


def parse_octaves(text: str) -> list[Octave]:
    """Parse ``SCALE:STEPS:TAU,...`` (e.g. ``1.0:100:5,1.1:50:2,1.2:10:1``)."""
    if not text or not text.strip():
        raise VizError("octave list is empty; use SCALE:STEPS:TAU,... e.g. 1.0:100:5,1.1:50:2",
                       field="octaves")
    out = []
    for part in text.split(","):
        bits = part.strip().split(":")
        if len(bits) != 3:
            raise VizError(f"octave {part.strip()!r} is malformed; each octave is SCALE:STEPS:TAU",
                           field="octaves")
        try:
            out.append(Octave(float(bits[0]), int(bits[1]), float(bits[2])))
        except ValueError:
            raise VizError(f"octave {part.strip()!r} must be numbers: SCALE:STEPS:TAU "
                           "(STEPS an integer)", field="octaves") from None
    validate_octaves(out)
    return out


def validate_octaves(octaves: list[Octave]) -> None:
    if not octaves:
        raise VizError("octave list is empty", field="octaves")
    for o in octaves:
        if not (math.isfinite(o.scale) and 0.25 <= o.scale <= 4.0):
            raise VizError(f"octave scale must be in [0.25, 4], got {o.scale}", field="octaves")
        if not (isinstance(o.steps, int) and 0 <= o.steps <= 100_000):
            raise VizError(f"octave steps must be an integer in [0, 100000], got {o.steps}",
                           field="octaves")
        if not (math.isfinite(o.tau) and o.tau > 0):
            raise VizError(f"octave step size must be a finite number > 0, got {o.tau}",
                           field="octaves")
    if sum(o.steps for o in octaves) == 0:
        raise VizError("octaves have zero steps in total", field="octaves")


def jitter_pixels(jitter: float, size: int) -> int:
    """Maximum shift in pixels: ``jitter`` pixels, or a fraction of ``size`` when < 1."""
    if not math.isfinite(jitter) or jitter < 0:
        raise VizError(f"jitter must be >= 0 (pixels, or a fraction < 1 of the image size), "
                       f"got {jitter}", field="jitter")
    px = int(round(jitter * size)) if 0 < jitter < 1 else int(jitter)
    if px >= size:
        raise VizError(f"jitter of {px} px is not smaller than the image ({size} px)",
                       field="jitter")
    return px


OCTAVE_MODES = ("absolute", "deepdraw")


def canvas_size(scale: float, size: int) -> int:
    return max(size, int(round(scale * size)))


def canvas_sizes(scales: list[float], size: int, mode: str = "absolute") -> list[int]:
    """The canvas side of every octave: ``scale * size`` (absolute), or the previous canvas
    zoomed by ``scale`` (deepdraw: scales compound); never below the input ``size``."""
    if mode not in OCTAVE_MODES:
        raise VizError(f"octave_mode must be one of {', '.join(OCTAVE_MODES)}, got {mode!r}",
                       field="octave_mode")
    out, canvas = [], size
    for scale in scales:
        canvas = canvas_size(scale, canvas if mode == "deepdraw" else size)
        out.append(canvas)
    return out


def resize(u: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a batch of pre-images to ``size`` x ``size`` (bilinear, antialiased)."""
    if u.shape[-1] == size and u.shape[-2] == size:
        return u
    return F.interpolate(u, size=(size, size), mode="bilinear", align_corners=False,
                         antialias=True)


def draw_offsets(gen: torch.Generator, jitter_px: int, slack: int, mode: str = "absolute"
                 ) -> tuple[int, int, int, int]:
    """Draw (crop_y, crop_x, shift_y, shift_x) on the CPU (no device synchronisation): crop
    offsets uniform over the slack (``absolute``) or normal around the centre with standard
    deviation 0.3 x slack, clipped (``deepdraw``); jitter shifts uniform in both modes."""
    r = torch.randint(0, 2**31 - 1, (4,), generator=gen).tolist()
    if mode == "deepdraw" and slack:
        z = (torch.randn(2, generator=gen, dtype=torch.float64) * (0.3 * slack)
             + slack / 2).clamp(0, slack).tolist()
        cy, cx = int(z[0]), int(z[1])
    else:
        cy = r[0] % (slack + 1)
        cx = r[1] % (slack + 1)
    sy = r[2] % (2 * jitter_px + 1) - jitter_px if jitter_px else 0
    sx = r[3] % (2 * jitter_px + 1) - jitter_px if jitter_px else 0
    return cy, cx, sy, sx


def roll(x: torch.Tensor, sy: int, sx: int) -> torch.Tensor:
    return torch.roll(x, shifts=(sy, sx), dims=(-2, -1)) if (sy or sx) else x
