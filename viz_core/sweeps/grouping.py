"""Cells grouped into batches that run as one batched forward/backward pass.

A batch follows the engine's own rule (:func:`viz_core.engine.check_batchable`): its
configurations share the model, weights, task, layer, image, jitter and schedule, and the
seed unless it only draws the start (no jitter, no octaves), and may differ in scheme,
kernels, step size, TV weight and class. The update of eq. 18 is
applied per sample, each member's exactly as alone (its own step factor, the kernel route
it takes alone), so a batch gives each cell the pre-image it would get alone up to the
network's own floating-point summation order: a CPU convolution library picks other
kernels for a batch than for one image, so the network's batched sums differ from a single
run's in the last digits (about 1e-7 of the gradient), and activation maximization is not
contractive: where a ReLU or max-pool switches, that rounding can send a run down another
branch (a lone run whose start moves by 1e-7 does the same). A cell run again alone (the
Playground, ``demons-viz visualize --config``) is then close, not identical; a sweep with
``batch_size=1`` runs every cell exactly as alone, at the cost of the batched pass. Grouping is
deterministic: the same sweep always gives the same batches with the same ids, which is
what lets an interrupted sweep resume.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from viz_core.engine import BATCH_KEYS, check_batchable, seeds_may_differ
from viz_core.errors import VizError
from viz_core.sweeps.spec import Cell


@dataclass
class CellBatch:
    """Cells that run together; ``id`` is stable (position and member ids)."""

    id: str
    cells: list[Cell]

    @property
    def configs(self):
        return [c.config for c in self.cells]


def _fits(group: list[Cell], cell: Cell) -> bool:
    try:
        check_batchable([group[0].config, cell.config])
    except VizError:
        return False
    return True


def batch_key(cell: Cell) -> tuple:
    """What a batch's members share (the fields :func:`check_batchable` compares and the
    octave scales and steps), as a hashable key: cells with equal keys fit one batch."""
    cfg = cell.config
    still = seeds_may_differ(cfg)  # the engine lets seeds differ then
    skip = {"steps", "seed"} if still else {"steps"}
    return (still, tuple(repr(getattr(cfg, k)) for k in BATCH_KEYS if k not in skip),
            tuple((o.scale, o.steps) for o in cfg.schedule))


def scan_groups(cells: list[Cell], batch_size: int = 8) -> list[list[Cell]]:
    """The reference grouping: each cell scans every open batch and joins the first it fits
    (quadratic in the number of cells; :func:`group_cells` gives the same batches in linear
    time, and the tests and ``bench/sweep_grouping.py`` hold it to this)."""
    groups: list[list[Cell]] = []
    for cell in cells:
        for g in groups:
            if len(g) < batch_size and _fits(g, cell):
                g.append(cell)
                break
        else:
            groups.append([cell])
    return groups


def group_cells(cells: list[Cell], batch_size: int = 8) -> list[CellBatch]:
    """Batches of at most ``batch_size`` batchable cells, in the order of the first cell
    of each batch (each cell joins the first open batch it fits).

    Linear in the number of cells: batches fill in order, so the only batch a cell can
    join is the newest one of its :func:`batch_key` (the engine's pairwise rule confirms
    it; should the two ever disagree, a scan of the open batches decides, as before)."""
    groups: list[list[Cell]] = []
    newest: dict[tuple, list[Cell]] = {}
    for cell in cells:
        key = batch_key(cell)
        g = newest.get(key)
        if g is not None and len(g) < batch_size:
            if not _fits(g, cell):  # the key and the rule disagree: scan, as before
                g = next((h for h in groups if len(h) < batch_size and _fits(h, cell)), None)
            if g is not None:
                g.append(cell)
                continue
        g = [cell]
        groups.append(g)
        newest[key] = g
    out = []
    for i, g in enumerate(groups):
        digest = hashlib.sha1("|".join(c.id for c in g).encode()).hexdigest()[:10]
        out.append(CellBatch(f"b{i:04d}-{digest}", g))
    return out
