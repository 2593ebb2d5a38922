"""What a page asks :class:`dashboard.run_panel.RunPanel` to run: :class:`Job`, one batch of
configurations on one model (the engine's batched update, eq. 18), with the networks that
classify its pre-images (the recognisability test of Sec. 3.2).

No Streamlit here: the pages' logic modules build their jobs without importing it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from viz_core.config import RunConfig


@dataclass
class Job:
    """One batch of a run: configurations that share a model, streamed as one batch.

    ``model`` is the loaded model, or ``load`` loads it when the job starts (a batch that
    cannot load its model ends with that error, and the next job runs). ``judges``: the
    models whose verdicts the finished pre-images get (:func:`dashboard.resources.
    verdict_models`), or a function of the loaded model that gives them; none by default.
    ``labels``: one per configuration (default: their names).
    """

    title: str
    configs: list[RunConfig]
    model: Any = None
    load: Callable[[], Any] | None = None
    reference: np.ndarray | None = None
    judges: Sequence[Any] | Callable[[Any], Sequence[Any]] | None = None
    labels: Sequence[str] | None = None
