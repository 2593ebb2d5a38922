"""Checks a sweep passes before anything is written or any worker starts.

A typo (an unknown model, a layer the model lacks, a class index out of range, an image
that does not decode, an unknown judge) must end the sweep with one message while the
output folder is still untouched, so that the corrected command can use the same folder.
The size of the grid is checked first, from the axes' lengths alone, so that a huge
product of axes is refused before a single cell is built.

Every check here is what a worker would check anyway (the data term's layer and index,
eqs. 3-4; the image of feature inversion, eq. 3); doing it once in the driver turns a
failure in the middle of a run into a failure before it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from viz_core import engine, models
from viz_core.config import RunConfig
from viz_core.devices import resolve_device
from viz_core.errors import VizError
from viz_core.images import load_image
from viz_core.objectives import check_target
from viz_core.sweeps.spec import RANDOM, Sweep

#: Most cells of one sweep unless the caller raises the limit (``--max-cells``).
MAX_CELLS = 10_000


def check_size(sweep: Sweep, max_cells: int = MAX_CELLS) -> int:
    """The number of cells of ``sweep`` (product of the axes' lengths, or their common
    length when zipped), refused above ``max_cells`` before any cell is built."""
    if max_cells < 1:
        raise VizError(f"max_cells= must be >= 1, got {max_cells}", field="max_cells")
    n = len(sweep)
    if n > max_cells:
        sizes = " x ".join(str(len(a.values)) for a in sweep.axes)
        raise VizError(f"the sweep has {n:,} cells ({sizes}), more than the limit of "
                       f"{max_cells:,}; use fewer values or raise max_cells=",
                       field="axes")
    return n


def _is_file_model(name: str) -> bool:
    return Path(name).suffix in (".pt", ".pth", ".ts", ".jit") or Path(name).is_file()


def _probe_model(cfg: RunConfig, here: bool):
    """The model a cell runs with, for its layers and classes: the real one when the work
    runs here (``here``; it is then cached for the run), else the architecture alone
    (random weights on the CPU: workers elsewhere may hold weights this machine lacks)."""
    from viz_core.sweeps.cells import cached_model

    if here:
        return cached_model(cfg)
    if _is_file_model(cfg.model):
        return engine.prepare_model(cfg, resolve_device("cpu"))
    return models.load_model(cfg.model, weights=RANDOM, device="cpu", seed=0)


def check_cells(sweep: Sweep, here: bool = True, remote: bool = False) -> None:
    """Every cell's model loads (``here``: with its weights) and has the cell's layer and
    class or channel. ``remote``: the workers run on another machine, so a model file
    missing here is left for them to find."""
    probes: dict[tuple, object] = {}
    seen: set[tuple] = set()
    for cell in sweep.cells():
        cfg = cell.config
        if remote and _is_file_model(cfg.model) and not os.path.isfile(cfg.model):
            continue
        key = (cfg.model, cfg.weights if here else None,
               cfg.seed if here and cfg.weights == RANDOM else 0,
               repr(sorted(cfg.extra.items())) if _is_file_model(cfg.model) else "")
        if key not in probes:
            try:
                probes[key] = _probe_model(cfg, here)
            except VizError as exc:
                raise VizError(f"cell {cell.id!r}: {exc}", field=exc.field) from None
        model = probes[key]
        target = cfg.target_spec(model.spec.default_layer)
        if (key, target) in seen:
            continue
        seen.add((key, target))
        try:
            check_target(model, target)
        except VizError as exc:
            raise VizError(f"cell {cell.id!r}: {exc}", field=exc.field) from None


def check_image(sweep: Sweep, resolve: Callable[[str], str | None] | None = None) -> None:
    """The image of an inversion sweep exists and decodes (empty, truncated, non-image
    and decompression-bomb files are refused here, not in a worker)."""
    base = sweep.base
    if base.task != "inversion":
        return
    if not base.image:
        raise VizError("feature inversion needs an image (image=)", field="image")
    path = Path((resolve or str)(base.image) or base.image)
    if not path.is_file():
        raise VizError(f"image file {base.image!r} does not exist", field="image")
    load_image(path.read_bytes(), 32, 1)


def check_judge(sweep: Sweep, here: bool = True) -> None:
    """The judge is ``auto``, ``none`` or a zoo model (whose weights load, ``here``)."""
    from viz_core.sweeps.cells import cached_model, resolve_judge

    try:
        judge = resolve_judge(sweep.judge, sweep.base.model)
        if judge and here:
            cached_model(RunConfig(model=judge, device=sweep.base.device))
    except VizError as exc:
        raise VizError(f"judge={sweep.judge!r}: {exc}", field="judge") from None


def preflight(sweep: Sweep, *, max_cells: int = MAX_CELLS, here: bool = True,
              remote: bool = False,
              resolve: Callable[[str], str | None] | None = None) -> Sweep:
    """All the checks, in order of cost: grid size, cells, judge, image, models and
    targets. ``here``: the batches run in this process (local executor); ``remote``: on
    another machine (``--ray-address``). Returns ``sweep``, validated."""
    check_size(sweep, max_cells)
    sweep.validate()
    check_judge(sweep, here)
    check_image(sweep, resolve)
    check_cells(sweep, here, remote)
    return sweep

