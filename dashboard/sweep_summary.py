"""What the Sweeps page says about a sweep's cells beyond the pictures: the best cell of the
heatmap's metric (in its direction: a higher target activation, eq. 4, or judge's
probability, Sec. 3.2; a lower feature error, eq. 3), the value each metric is read against
(the judge's chance level, the flat image's PSNR / SSIM / feature error of an inversion, the
start image's value otherwise), a cell's value in words, the spread over seeds within each
setting of the other axes, the cells a Stop ended (marked on the heatmap and named in one
line under it; the heatmap itself: :mod:`dashboard.sweep_heatmap`), in the captions' words
(names and values from :mod:`dashboard.sweep_labels`). No Streamlit."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from dashboard.sweep_labels import format_value, metric_name, value_text
from dashboard.text import name
from viz_core.metrics import METRICS
from viz_core.sweeps.report import spread, step_reached

__all__ = ["best_cell", "best_line", "cell_caption", "grid_slots", "metric_value_text",
           "randomization", "reference_text", "seed_spread", "step_reached", "stopped_line",
           "value_caption"]

#: An inversion's metrics whose floor is the flat image's (the run's ``<key>_floor``).
_FLAT = {"psnr": "psnr_floor", "ssim": "ssim_floor", "feature_error": "feature_error_floor"}


def _inversion(rows: Sequence[Mapping[str, Any]]) -> bool:
    return bool(rows) and rows[0].get("task") == "inversion"


def _value(row: Mapping[str, Any], metric: str) -> float | None:
    v = row.get(metric)
    if v is None or isinstance(v, str):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def direction(metric: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """"higher", "lower" or "" (no better direction: HF and coarse fraction) for ``metric``
    in these cells: an AM run's activation is the target's (higher), an inversion's is its
    relative feature error (lower, eq. 3).

    >>> direction("activation", [{"task": "am"}]), direction("activation", [{"task": "inversion"}])
    ('higher', 'lower')
    >>> direction("hf_fraction", [])
    ''
    """
    if metric == "activation":
        return "lower" if _inversion(rows) else "higher"
    m = METRICS.get(metric)
    return m.better if m is not None else ""


def best_cell(rows: Sequence[Mapping[str, Any]], metric: str) -> Mapping[str, Any] | None:
    """The cell with the best value of ``metric`` (:func:`direction`; the first of equals,
    judge hits ranked by the judge's probability), among the finished cells with trained
    weights that did not diverge; None when the metric has no better direction or no value.

    >>> best_cell([{"cell_id": "a", "activation": 1.0}, {"cell_id": "b", "activation": 3.0},
    ...            {"cell_id": "c", "activation": 9.0, "random_weights": True}],
    ...           "activation")["cell_id"]
    'b'
    """
    way = direction(metric, rows)
    ok = [r for r in rows if not r.get("random_weights") and not r.get("diverged")
          and not r.get("stopped") and _value(r, metric) is not None]
    if not way or not ok:
        return None
    sign = 1.0 if way == "higher" else -1.0

    def key(r: Mapping[str, Any]) -> tuple[float, float]:
        tie = _value(r, "judge_target_prob") if metric == "judge_hit" else None
        return (sign * float(_value(r, metric)), tie or 0.0)

    return max(ok, key=key)  # max() keeps the first of equals


def _chance(rows: Sequence[Mapping[str, Any]]) -> float | None:
    return next((float(r["judge_chance"]) for r in rows if r.get("judge_chance") is not None),
                None)


def metric_value_text(metric: str, row: Mapping[str, Any]) -> str:
    """A cell's value of ``metric`` as the page writes it everywhere
    (:func:`dashboard.sweep_labels.format_value`); "" without a value.

    >>> metric_value_text("judge_target_prob", {"judge_target_prob": 0.951})
    '95%'
    >>> metric_value_text("activation", {"activation": 3.14159}), metric_value_text("ssim", {})
    ('3.142', '')
    """
    return format_value(metric, _value(row, metric))


def _span(values: Sequence[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.4g}" if f"{lo:.3g}" == f"{hi:.3g}" else f"{lo:.3g}-{hi:.3g}"


def reference_text(metric: str, rows: Sequence[Mapping[str, Any]],
                   start: Mapping[str, Mapping[str, float]] | None = None) -> str:
    """The value ``metric`` is read against, in words: the judge's chance level (Sec. 3.2),
    an inversion's flat-image floor of PSNR / SSIM / feature error, else the start image's
    value (the initial noise, as the Playground gives it; ``start``: cell id -> its start
    values, a range where the cells' starts differ); "" when none is known.

    >>> reference_text("judge_target_prob", [{"judge_chance": 0.1}])
    'chance 10%'
    >>> reference_text("ssim", [{"task": "inversion", "ssim_floor": 0.31}])
    'flat image: 0.31'
    >>> reference_text("total_variation", [{"cell_id": "a"}], {"a": {"total_variation": 0.2}})
    'start: 0.2'
    """
    if metric in ("judge_target_prob", "judge_hit"):
        chance = _chance(rows)
        return f"chance {chance:.0%}" if chance is not None else ""
    key = "feature_error" if metric == "activation" and _inversion(rows) else metric
    if key in _FLAT and _inversion(rows):
        floors = [float(r[_FLAT[key]]) for r in rows if r.get(_FLAT[key]) is not None]
        return f"flat image: {_span(floors)}" if floors else ""
    values = [float(v) for r in rows
              for v in [((start or {}).get(str(r.get("cell_id"))) or {}).get(metric)]
              if v is not None and math.isfinite(float(v))]
    return f"start: {_span(values)}" if values else ""


def best_line(metric: str, rows: Sequence[Mapping[str, Any]], axes: Sequence[str],
              start: Mapping[str, Mapping[str, float]] | None = None) -> str:
    """One line under the heatmap: the best cell by its axis values and its value, with
    the reference beside it, e.g. ``Best: gamma=1.6, step_size=2 - judge 95% (chance
    10%)``; for a metric without a better direction, only the reference; "" for nothing.

    >>> best_line("judge_target_prob", [{"gamma": 1.6, "judge_target_prob": 0.95,
    ...     "judge_chance": 0.1, "task": "am"}], ["gamma"])
    'Best: gamma=1.6 - judge 95% (chance 10%)'
    """
    ref = reference_text(metric, rows, start)
    title = metric_name(metric, rows)
    best = best_cell(rows, metric)
    if best is None:
        if not ref:
            return ""
        why = "" if direction(metric, rows) else " (no direction is better)"
        return f"{title}{why}: {ref}"
    where = ", ".join(f"{a}={value_text(a, best)}" for a in axes)
    way = direction(metric, rows)
    word = "" if metric.startswith("judge") else f" ({way} is better)"
    return (f"Best: {where} - {title} {metric_value_text(metric, best)}"
            + (f" ({ref})" if ref else "") + word)


def randomization(res: Mapping[str, Any]) -> tuple[str, list[dict]] | None:
    """The trained-vs-random verdict of a finished sweep with a ``weights`` axis
    (:func:`viz_core.sweeps.report.randomization_verdict`, by its other axis) and its
    table; None for any other sweep, or one not done."""
    from viz_core.sweeps.report import randomization_verdict

    rows, axes = res["rows"], res["axes"]
    if "weights" not in axes or len(rows) != res["total"] or res.get("status") != "done":
        return None
    items, verdict = randomization_verdict(rows, by=next(
        (a for a in axes if a != "weights"), "scheme"))
    return verdict, items


def seed_spread(rows: Sequence[Mapping[str, Any]], axes: Sequence[str]
                ) -> tuple[str, list[dict]]:
    """The spread (mean, std, min, max, n) of each metric over the seeds within each
    setting of the sweep's other axes (a kernel size's seeds together, never two kernel
    sizes), as a heading and table rows; ("", []) when ``seed`` is not an axis. Stopped
    cells are left out.

    >>> head, table = seed_spread([{"seed": s, "kernel_size": k, "activation": k + s}
    ...     for k in (3, 5) for s in (0, 1)], ["kernel_size", "seed"])
    >>> head, [(t["kernel_size"], t["mean"], t["n"]) for t in table if t["metric"] == "activation"]
    ('Spread over 2 seeds, per kernel_size', [('3', 3.5, 2), ('5', 5.5, 2)])
    """
    if "seed" not in axes:
        return "", []
    others = [a for a in axes if a != "seed"]
    groups: dict[tuple, list] = {}
    for r in rows:
        if not r.get("stopped"):
            groups.setdefault(tuple(value_text(a, r) for a in others), []).append(r)
    seeds = max((len({r.get("seed") for r in g}) for g in groups.values()), default=0)
    out = []
    for key, group in groups.items():
        for m, v in spread([dict(r) for r in group]).items():
            out.append({**dict(zip(others, key)), "metric": m, **v})
    head = f"Spread over {seeds} seeds" + (f", per {', '.join(others)}" if others else "")
    return head, out


def cell_caption(row: Mapping[str, Any], axes: Sequence[str],
                 rows: Sequence[Mapping[str, Any]] = ()) -> str:
    """A montage picture's caption: its axis values, and random weights, divergence or a
    stop (the metric's value goes under it, :func:`value_caption`).

    >>> cell_caption({"gamma": 0.2, "stopped": True, "steps_done": 20, "steps": 40}, ["gamma"])
    'gamma=0.2 · stopped at step 20 / 40'
    """
    vals = name(", ".join(f"{a}={value_text(a, row)}" for a in axes))
    if row.get("random_weights"):
        vals += " · RANDOM weights"
    if row.get("diverged"):
        vals += " · diverged"
    if row.get("stopped"):
        vals += f" · stopped at step {row.get('steps_done')} / {row.get('steps')}"
    return vals


def value_caption(row: Mapping[str, Any], metric: str, rows: Sequence[Mapping[str, Any]],
                  best: bool = False) -> str:
    """The heatmap metric's value of a cell, under its picture, marked when it is the
    best cell; "" without a value.

    >>> value_caption({"activation": 2.5, "task": "am"}, "activation", [], True)
    'target activation (logit) 2.5 · best'
    """
    value = metric_value_text(metric, row)
    if not value:
        return ""
    return f"{name(metric_name(metric, rows or [row]))} {value}" + (" · best" if best else "")


def grid_slots(keys: Sequence[Sequence[Any]], rows: Sequence[Mapping[str, Any]]
               ) -> dict[tuple, Mapping[str, Any]]:
    """Grid position -> the cell's row, placed by the cell's index in the sweep (``keys``:
    index -> its (row value, column value)), so the montage shows every cell the progress
    bar counts.

    >>> grid_slots([[1, "a"], [2, "a"]], [{"index": 1, "cell_id": "x"}])
    {(2, 'a'): {'index': 1, 'cell_id': 'x'}}
    """
    return {tuple(keys[r["index"]]): r for r in rows
            if isinstance(r.get("index"), int) and 0 <= r["index"] < len(keys)}


def _stopped(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("stopped")]


def stopped_line(rows: Sequence[Mapping[str, Any]], axes: Sequence[str]) -> str:
    """One line under the heatmap naming the cells a Stop ended and the step each reached
    (their values are those of unfinished runs); "" when none was stopped.

    >>> line = stopped_line([{"gamma": 0.1, "stopped": True, "steps_done": 20, "steps": 60},
    ...               {"gamma": 0.4, "stopped": True, "steps_done": 20, "steps": 60},
    ...               {"gamma": 0.8}], ["gamma"])
    >>> print(line)
    Stopped early (values of unfinished runs): gamma=0.1 | gamma=0.4 at step 20 / 60
    """
    groups: dict[str, list[str]] = {}
    for r in _stopped(rows):
        where = ", ".join(f"{a}={value_text(a, r)}" for a in axes)
        groups.setdefault(step_reached(r), []).append(where)
    if not groups:
        return ""
    return ("Stopped early (values of unfinished runs): "
            + "; ".join(f"{' | '.join(cells)} at {step}" for step, cells in groups.items()))
