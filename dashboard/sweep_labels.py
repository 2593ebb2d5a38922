"""How the Sweeps page names what a cell measured: the metric's title in the words of the
sweep's task (the target activation of eq. 4, the relative feature error of eq. 3, the
judge's test of Table 1), the one name with unit and the one value format the page writes
for a metric everywhere (best line, captions, the heatmap's colour bar, cells and hover:
``judge 24%``, ``PSNR (dB) 21.13``), a class target by its class name, an axis value as a
caption shows it, and the cells as the page's table lists them. No Streamlit."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from dashboard.settings.labels import config_activation_label
from dashboard.text import percent_text
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.metrics import metric_label
from viz_core.schemes import scheme_label

__all__ = ["INVERSION_JUDGE_TITLES", "format_value", "metric_name", "metric_title",
           "option_name", "table_rows", "target_text", "value_text"]


#: The judge's metrics for an inversion: its target is the original's class (Table 1's test).
INVERSION_JUDGE_TITLES = {
    "judge_target_prob": "independent judge: probability of the original's class",
    "judge_hit": "independent judge: top-1 = the original's class"}


#: A metric's name where the registry's label lacks its unit (PSNR in decibels): in the
#: chart's title as in every other place the page names the metric.
_UNITS = {"psnr": "PSNR (dB)"}
#: The judge's probability and top-1 (Sec. 3.2) before a value: "judge 24%", "judge hit"
#: (the value says which; the chart's title says it in full, :func:`metric_title`).
_SHORT = {"judge_target_prob": "judge", "judge_hit": "judge"}


def metric_title(metric: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """What ``metric`` measures in the cells ``rows`` (one sweep: one task). The registry's
    ``activation`` is the target activation in AM (a class logit or log-probability, a
    channel mean or unit, eq. 4: the words the Playground's curves use) and the relative
    feature error ``||Phi(u) - Phi0|| / ||Phi0||`` in inversion (eqs. 2-3: the registry's
    ``feature_error``); the judge's metrics of an inversion name the original's class, the
    target of Table 1's test; every other metric is its registry label.

    >>> metric_title("activation", [{"task": "inversion"}])
    'rel. feature error'
    >>> metric_title("judge_hit", [{"task": "inversion"}])
    "independent judge: top-1 = the original's class"
    >>> metric_title("ssim", []), metric_title("psnr", [])
    ('SSIM', 'PSNR (dB)')
    """
    inversion = bool(rows) and rows[0].get("task") == "inversion"
    if inversion and metric in INVERSION_JUDGE_TITLES:
        return INVERSION_JUDGE_TITLES[metric]
    if metric != "activation" or not rows:
        return _UNITS.get(metric) or metric_label(metric)
    row = rows[0]
    if inversion:
        return metric_label("feature_error")
    try:
        return config_activation_label(RunConfig.from_json(str(row["config"])))
    except (KeyError, ValueError, TypeError, VizError):  # a row without its configuration
        return config_activation_label(RunConfig(task=str(row.get("task") or "am")))


def metric_name(metric: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """The name (with its unit) the page writes before a value of ``metric``, the same in
    the best line, the captions, the heatmap's colour bar and hover: the judge's metrics as
    ``judge`` (``judge 24%``, ``judge hit``), else :func:`metric_title`.

    >>> metric_name("judge_target_prob", [{"task": "inversion"}]), metric_name("psnr", [])
    ('judge', 'PSNR (dB)')
    """
    return _SHORT.get(metric) or metric_title(metric, rows)


def option_name(metric: str, task: str) -> str:
    """The heatmap-metric box's name of ``metric`` in a ``task`` sweep: the name the page
    writes before its values (:func:`metric_name`, with its unit: ``PSNR (dB)``), where
    that name is the metric's alone and the same before a run: the judge's two metrics
    (both ``judge`` there) by their full titles, as a maximisation's chart is titled, and
    AM's activation as its target activation (eq. 4; its chart names the class logit or
    channel once a run gives the configuration). The judge's words follow the task, as its
    chart's title does (an inversion's target is the original's class); the box keeps its
    choice when they change (:meth:`dashboard.widgets.Controls.select`).

    >>> option_name("psnr", "inversion"), option_name("activation", "am")
    ('PSNR (dB)', 'target activation')
    >>> option_name("judge_hit", "am"), option_name("judge_hit", "inversion")
    ('independent judge: top-1 = target', "independent judge: top-1 = the original's class")
    """
    if metric in _SHORT:  # one short name for two metrics: its chart's full title
        return metric_title(metric, [{"task": task}])
    if metric == "activation":
        return "target activation" if task == "am" else metric_label(metric)
    return metric_name(metric, [{"task": task}])


def format_value(metric: str, value: Any) -> str:
    """A value of ``metric`` as the page writes it everywhere: the judge's probability in
    percent, its top-1 as hit / miss, else 4 significant digits; "" for no finite number
    (the CSV keeps the raw numbers).

    >>> format_value("judge_target_prob", 0.24), format_value("judge_hit", 1.0)
    ('24%', 'hit')
    >>> format_value("psnr", 21.1312), format_value("ssim", None)
    ('21.13', '')
    """
    if value is None or isinstance(value, str):
        return ""
    v = float(value)
    if not math.isfinite(v):
        return ""
    if metric == "judge_hit":
        return "hit" if v >= 0.5 else "miss"
    if metric == "judge_target_prob":
        return f"{v:.0%}"
    if metric == "hf_fraction":  # as the Playground and Compare write it
        return percent_text(v)
    return f"{v:.4g}"


def target_text(row: Mapping[str, Any]) -> str:
    """A cell's target as the Playground's class box names it: ``7 · Sneaker`` (the model's
    class name), ``class 7`` when the model has no names; a channel (or a row from before
    class names were recorded) by its index.

    >>> target_text({"target": 7, "target_class": "Sneaker"})
    '7 · Sneaker'
    >>> target_text({"target": 3, "target_class": "class 3"}), target_text({"target": 5})
    ('class 3', '5')
    """
    t, name = row.get("target"), row.get("target_class")
    if t is None:
        return ""
    if not name:
        return str(t)
    return str(name) if str(name) == f"class {t}" else f"{t} · {name}"


def value_text(axis: str, row: Mapping[str, Any]) -> str:
    """The value of ``axis`` in a cell, as a caption or tick shows it (a class target by
    :func:`target_text`)."""
    if axis == "target":
        return target_text(row)
    v = row.get(axis)
    if axis == "scheme" and v is not None:
        return scheme_label(str(v))  # "Sobolev fluid", as the other pages name it
    return "" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))


def table_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict]:
    """The cells as the page's table shows them: the target by :func:`target_text` (an
    inversion's: the original's class the judge tests it against, Table 1), no
    configuration JSON or PNG name, and an inversion's activation once, as its feature
    error (eq. 3: the same number).

    >>> table_rows([{"task": "inversion", "target": None, "activation": 0.4,
    ...              "feature_error": 0.4, "judge_target_class": "Bag"}])
    [{'task': 'inversion', 'target': "Bag (the original's class)", 'feature_error': 0.4}]
    """
    inversion = bool(rows) and all(r.get("task") == "inversion" for r in rows)
    once = inversion and any(r.get("feature_error") is not None for r in rows)
    out = []
    for r in rows:
        row = {k: v for k, v in r.items()
               if k not in ("config", "png", "target_class", "judge_target_class")
               and not (once and k == "activation")}
        if r.get("task") == "inversion":
            judged = r.get("judge_target_class")
            row["target"] = (f"{judged} (the original's class)" if judged
                             else "the original image")
        elif r.get("target") is not None:
            row["target"] = target_text(r)
        out.append(row)
    return out
