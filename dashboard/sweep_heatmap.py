"""The Sweeps page's heatmap of one metric over a sweep's cells, built in one go in the words
of the page's captions and best line (:mod:`dashboard.sweep_labels`): the colour bar, each
cell's number and the hover name the metric by :func:`~dashboard.sweep_labels.metric_name`
and write its values by :func:`~dashboard.sweep_labels.format_value` (``judge 24%``,
``PSNR (dB) 21.13``), the chart's title says in full what it measures
(:func:`~dashboard.sweep_labels.metric_title`: an inversion's activation is its relative
feature error, eqs. 2-3); class names and scheme labels on the axes (names as text,
:func:`dashboard.text.plot_text`); the judge's hit / miss and probability (with chance) on a
fixed 0..1 scale (Table 1's test, Sec. 3.2); the best cell framed, and a cell a Stop ended
says "stopped" under its number, has a dashed frame and its step in the hover. No
Streamlit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dashboard.sweep_labels import (
    INVERSION_JUDGE_TITLES,
    format_value,
    metric_name,
    metric_title,
    target_text,
)
from dashboard.sweep_summary import metric_value_text, reference_text, step_reached
from dashboard.text import plot_text
from viz_core.schemes import scheme_label
from viz_core.sweeps.report import STOPPED_COLOR

__all__ = ["heatmap_figure"]

#: What an inversion's judge is tested against (Table 1's test): on its colour bar.
_JUDGED = "the original's class"
#: The frame of the best cell (solid) and of a cell a Stop ended (dashed, inside it).
_BEST_LINE = {"color": "#e8175d", "width": 4}
_STOPPED_LINE = {"color": STOPPED_COLOR, "width": 2, "dash": "dash"}


def heatmap_figure(rows: Sequence[Mapping[str, Any]], axes: Sequence[str], metric: str,
                   total: tuple[list, list] | None = None, *,
                   best: Mapping[str, Any] | None = None) -> Any:
    """The sweep's ``metric`` over the grid of its first two axes as the page shows it (a
    plotly figure; cells not yet done are empty). ``total``: the full row / column values,
    so the grid keeps its shape while streaming; ``best``: the cell framed as the best
    (:func:`dashboard.sweep_summary.best_cell`). Stopped cells are marked here and named
    under the chart by :func:`dashboard.sweep_summary.stopped_line`."""
    import plotly.graph_objects as go

    from viz_core.figures import heatmap_figure as spec
    from viz_core.sweeps.report import grid_of

    base = spec(rows, axes, metric, total)  # the grid, its values and the chart's frame
    rv, cv, cells = grid_of(list(rows), axes)
    if total is not None:
        rv, cv = total
    short, title = metric_name(metric, rows), metric_title(metric, rows)
    ref = reference_text(metric, rows) if metric.startswith("judge") else ""
    texts: list[list[str]] = []
    hovers: list[list[str]] = []
    frames: list[dict] = []
    for i, a in enumerate(rv):
        texts.append([])
        hovers.append([])
        for j, b in enumerate(cv):
            r = cells.get((a, b))
            text, hover = _cell(r, metric, ref)
            if r is not None and r.get("stopped"):
                frames.append(_frame(i, j, 0.45, _STOPPED_LINE))
            texts[-1].append(text)
            hovers[-1].append(hover)
    at = _position(best, axes, rv, cv)
    shapes = ([] if at is None else [_frame(*at, 0.5, _BEST_LINE)]) + frames
    where = ", ".join(f"{a}=%{{{k}}}" for a, k in zip(axes[:2], ("y", "x")))  # as captions
    # the title in full, without the judge's chance: that stands once, beside the value
    about = "" if title == short else f"<br>{plot_text(title)}"
    trace = {**base["data"][0], "text": texts, "customdata": hovers,
             "x": _ticks(cv, axes[1] if len(axes) > 1 else "", rows),
             "y": _ticks(rv, axes[0] if axes else "", rows),
             "colorbar": _colorbar(metric, rows, short, title),
             "hovertemplate": f"{where}<br>{plot_text(short)} %{{customdata}}{about}"
                              "<extra></extra>"}
    if metric in ("judge_hit", "judge_target_prob"):  # yes / no, a probability: fixed 0..1
        trace.update(zmin=0, zmax=1)
    # the core's "no value in these cells" note, in the chart's own title
    notes = [{**n, "text": f"{plot_text(title)}: {n['text'].split(': ', 1)[1]}"}
             for n in base["layout"]["annotations"]]
    layout = {**base["layout"], "title": {"text": plot_text(title)}, "annotations": notes,
              "shapes": shapes}
    return go.Figure({"data": [trace], "layout": layout})


def _cell(r: Mapping[str, Any] | None, metric: str, ref: str) -> tuple[str, str]:
    """A cell's text (its value, ``R`` for random weights, "stopped" under it) and its
    hover lines after the metric's name (the value with the judge's chance beside it, as
    the best line writes it and the only place the hover says it; random weights; the
    step a Stop ended it at)."""
    if r is None:
        return "", "- (not run)"
    value = metric_value_text(metric, r)
    text = value + (" R" if value and r.get("random_weights") else "")
    hover = [(value or "-") + (f" ({ref})" if ref else "")]
    if r.get("random_weights"):
        hover.append("random weights")
    if r.get("stopped"):
        text += "<br>stopped"
        hover.append(f"stopped at {step_reached(r)}: the value of an unfinished run")
    return text, "<br>".join(hover)


def _colorbar(metric: str, rows: Sequence[Mapping[str, Any]], short: str, title: str
              ) -> dict:
    """The colour bar: titled with the metric's name (an inversion's judge with the class it
    tests), the judge's hit / miss in words and its probability in percent, chance marked."""
    judged = metric in INVERSION_JUDGE_TITLES and title == INVERSION_JUDGE_TITLES[metric]
    bar: dict[str, Any] = {"title": {"text": plot_text(f"{short} ({_JUDGED})" if judged
                                                       else short), "side": "right"}}
    if metric == "judge_hit":
        bar.update(tickvals=[0, 1], ticktext=[format_value(metric, v) for v in (0, 1)])
    elif metric == "judge_target_prob":
        chance = _chance(rows)
        if chance is None:
            bar["tickformat"] = ".0%"  # the probability in percent, as the captions say it
        else:
            c = round(chance, 4)
            ticks = sorted({0.0, 0.5, 1.0, c})
            bar.update(tickvals=ticks, ticktext=[
                f"chance {v:.0%}" if v == c else format_value(metric, v) for v in ticks])
    return bar


def _frame(i: int, j: int, half: float, line: Mapping[str, Any]) -> dict:
    """A rectangle around the cell at row ``i``, column ``j`` (category axes)."""
    return {"type": "rect", "xref": "x", "yref": "y", "x0": j - half, "x1": j + half,
            "y0": i - half, "y1": i + half, "line": dict(line)}


def _ticks(values: Sequence[Any], axis: str, rows: Sequence[Mapping[str, Any]]
           ) -> list[str]:
    """An axis's tick labels as text (not plotly's HTML): a ``target`` axis with class
    names, a ``scheme`` axis with the schemes' labels, "" for the one column of a sweep
    of one axis."""
    names = ({r.get("target"): target_text(r) for r in rows if r.get("target_class")}
             if axis == "target" else {})
    out = []
    for v in values:
        if axis == "scheme" and v is not None:
            t = scheme_label(str(v))
        elif v in names:
            t = names[v]
        else:
            t = "" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))
        out.append(plot_text(t))
    return out


def _position(best: Mapping[str, Any] | None, axes: Sequence[str], rv: Sequence[Any],
              cv: Sequence[Any]) -> tuple[int, int] | None:
    """(row, column) of the cell ``best`` on the grid, None if it is not there."""
    if best is None or not axes:
        return None
    a = best.get(axes[0])
    b = best.get(axes[1]) if len(axes) > 1 else None
    if a not in rv or b not in cv:
        return None
    return list(rv).index(a), list(cv).index(b)


def _chance(rows: Sequence[Mapping[str, Any]]) -> float | None:
    """The judge's chance level in the cells (one judge per sweep), None if not kept."""
    return next((float(r["judge_chance"]) for r in rows
                 if r.get("judge_chance") is not None), None)
