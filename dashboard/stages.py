"""Where a run's step schedule changes stage (octaves, Secs. 2.7 and 3.1; a step-size
schedule: tau of eq. 18 per stage), as marks for the curves (:func:`dashboard.plots.
curves_figure`). Plain data: no Streamlit, no plotting.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

__all__ = ["StageMark", "stage_marks"]


class StageMark(NamedTuple):
    """Where a stage of a run's step schedule starts on the curves: after ``step`` steps;
    ``label`` is what the chart writes beside the line ("tau 2.5", "octave 2"), ``detail``
    its hover text."""

    step: int
    label: str
    detail: str


def _schedule(config: Any) -> list[tuple[float, int, float]]:
    """(scale, steps, tau) of each stage of one configuration: a RunConfig, its dict or its
    JSON (``octaves`` as ``[scale, steps, tau]`` lists; none: one stage of ``steps`` steps
    at ``step_size``)."""
    if hasattr(config, "schedule"):
        return [(float(o.scale), int(o.steps), float(o.tau)) for o in config.schedule]
    d = json.loads(config) if isinstance(config, (str, bytes)) else dict(config)
    octaves = d.get("octaves") or []
    if octaves:
        return [(float(o[0]), int(o[1]), float(o[2])) for o in octaves]
    return [(1.0, int(d.get("steps") or 0), float(d.get("step_size") or 0.0))]


def stage_marks(configs: Sequence[Any]) -> tuple[StageMark, ...]:
    """The stage boundaries of a batch's step schedule (octaves, Secs. 2.7 and 3.1 of the
    paper, or a step-size schedule: tau of eq. 18 per stage), for :func:`curves_figure`:
    one mark where each stage after the first starts, none for a one-stage run.
    ``configs``: the batch's configurations (JSON as a :class:`~dashboard.runs.RunRecord`
    keeps them, dicts or RunConfigs), which share their scales and steps (the engine's
    rule); a mark says the new tau where only tau changes and all configurations agree on
    it, the octave where the scale changes, else the stage. Empty stages (0 steps) are
    skipped; an unreadable configuration gives no marks.

    >>> cfg = {"octaves": [[1, 100, 5], [1, 60, 2.5], [1, 40, 1]]}
    >>> [(m.step, m.label) for m in stage_marks([json.dumps(cfg)])]
    [(100, 'tau 2.5'), (160, 'tau 1')]
    >>> [m.label for m in stage_marks([{"octaves": [[1, 50, 5], [1.2, 20, 5]]}])]
    ['octave 2']
    >>> stage_marks([{"steps": 100, "step_size": 5.0}])
    ()
    """
    try:
        schedules = [[st for st in _schedule(c) if st[1] > 0] for c in configs]
    except (ValueError, TypeError, KeyError, IndexError):
        return ()
    if not schedules or len(schedules[0]) < 2:
        return ()
    first = schedules[0]
    n = len(first)
    marks: list[StageMark] = []
    done = first[0][1]
    for k in range(1, n):
        scale, steps, tau = first[k]
        taus = {sch[k][2] for sch in schedules if len(sch) == n}
        same_tau = len(taus) == 1
        if scale != first[k - 1][0]:
            label = f"octave {k + 1}"
        elif same_tau and tau != first[k - 1][2]:
            label = f"tau {tau:g}"
        else:
            label = f"stage {k + 1}"
        detail = (f"stage {k + 1} of {n} from step {done}: {steps} steps at scale {scale:g}"
                  + (f", tau {tau:g}" if same_tau else ", tau per configuration"))
        marks.append(StageMark(done, label, detail))
        done += steps
    return tuple(marks)
