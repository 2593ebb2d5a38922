"""Sweeps: a base run configuration times axes, run locally or on Ray, stored resumably.

``Sweep`` and ``Axis`` (:mod:`.spec`), batches (:mod:`.grouping`), the per-batch work and
per-cell metrics (:mod:`.cells`), the result directory (:mod:`.store`), executors and the
driver :func:`run_sweep` (:mod:`.executors`), ready-made sweeps (:mod:`.ready`).
"""

from viz_core.sweeps.executors import EXECUTORS, get_executor, run_sweep
from viz_core.sweeps.spec import AXES, Axis, Cell, Sweep
from viz_core.sweeps.store import SweepStore

__all__ = ["AXES", "EXECUTORS", "Axis", "Cell", "Sweep", "SweepStore", "get_executor",
           "run_sweep"]
