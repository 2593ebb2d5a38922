"""The Sweeps page's heatmap of one metric over a sweep's cells (a plotly figure from
:func:`viz_core.figures.heatmap_figure`): titles in the words of the sweep's task, class
names and scheme labels on the axes (names as text, :func:`dashboard.text.plot_text`), the
judge's hit / miss and probability (with chance) on a fixed 0..1 scale (Table 1's test,
Sec. 3.2, on an inversion). No Streamlit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dashboard.sweep_labels import metric_title, target_text
from dashboard.text import plot_text
from viz_core.schemes import scheme_label

__all__ = ["heatmap_figure"]


def _tick_texts(values: Sequence[Any], axis: str, rows: Sequence[Mapping[str, Any]]
                ) -> list[str] | None:
    """The tick labels of a ``target`` axis with class names and of a ``scheme`` axis with
    the schemes' labels, else None (values as they are)."""
    if axis == "scheme":
        return [scheme_label(str(v)) for v in values]
    if axis != "target":
        return None
    names = {r.get("target"): target_text(r) for r in rows if r.get("target_class")}
    return [names.get(v, "" if v is None else str(v)) for v in values] if names else None


def heatmap_figure(rows: Sequence[Mapping[str, Any]], axes: Sequence[str], metric: str,
                   total: tuple[list, list] | None = None, *,
                   best: Mapping[str, Any] | None = None) -> Any:
    """The sweep's metric heatmap (:func:`viz_core.figures.heatmap_figure`) as a plotly
    figure, for the Sweeps page: the title, colour bar and hover text name what the metric
    measures for the sweep's task (:func:`metric_title`), a class-target axis shows the
    class names; the judge's hit / miss and probability (chance marked) on fixed 0..1.
    ``best``: the cell framed as the best (:func:`dashboard.sweep_summary.best_cell`)."""
    import plotly.graph_objects as go

    from viz_core.figures import heatmap_figure as spec
    from viz_core.sweeps.report import grid_of

    fig = spec(rows, axes, metric, total)
    title = metric_title(metric, rows)
    rv, cv, cells = grid_of(list(rows), axes)
    if total is not None:
        rv, cv = total
    trace = dict(fig["data"][0])
    for key, values, axis in (("y", rv, axes[0] if axes else ""),
                              ("x", cv, axes[1] if len(axes) > 1 else "")):
        ticks = _tick_texts(values, axis, rows)
        # a class, network or layer name is text, not plotly's HTML (<a href>, <b>, <br>)
        trace[key] = [plot_text(t) for t in (trace[key] if ticks is None else ticks)]
    where = ", ".join(f"{a}=%{{{k}}}" for a, k in zip(axes[:2], ("y", "x")))  # as captions
    value = "%{z:.4g}"
    short = title.removeprefix("independent judge: ")  # the chart's title says whose
    bar = {**trace.get("colorbar", {}), "title": {"text": short, "side": "right"}}
    if metric == "judge_hit":  # yes / no: a fixed miss / hit scale, whatever the cells
        trace.update(zmin=0, zmax=1, text=_hit_texts(cells, rv, cv))
        bar.update(tickvals=[0, 1], ticktext=["miss", "hit"])
        value = "%{text}"
    elif metric == "judge_target_prob":  # a probability: 0..1, chance on the bar and hover
        trace.update(zmin=0, zmax=1)
        chance = _chance(rows)
        if chance is not None:
            ticks = sorted({0.0, 0.5, 1.0, round(chance, 4)})
            bar.update(tickvals=ticks, ticktext=[
                f"chance {v:.0%}" if v == round(chance, 4) else f"{v:g}" for v in ticks])
            value += f" (chance {chance:.0%})"
    trace["colorbar"] = bar
    trace["hovertemplate"] = f"{where}<br>{title}: {value}<extra></extra>"
    layout = dict(fig["layout"])
    layout["title"] = {**layout.get("title", {}), "text": title}
    at = _position(best, axes, rv, cv)
    if at is not None:  # a frame around the best cell (category axes: cells at 0, 1, ...)
        i, j = at
        layout["shapes"] = [*layout.get("shapes", []), {
            "type": "rect", "xref": "x", "yref": "y", "x0": j - 0.5, "x1": j + 0.5,
            "y0": i - 0.5, "y1": i + 0.5, "line": {"color": "#e8175d", "width": 4}}]
    return go.Figure({"data": [trace], "layout": layout})


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


def _hit_texts(cells: Mapping[tuple, Mapping[str, Any]], rv: Sequence[Any],
               cv: Sequence[Any]) -> list[list[str]]:
    """The cells of a ``judge_hit`` heatmap in words: hit / miss (R: random weights)."""
    def word(r: Mapping[str, Any] | None) -> str:
        if r is None or r.get("judge_hit") is None:
            return ""
        return ("hit" if float(r["judge_hit"]) >= 0.5 else "miss") + (
            " R" if r.get("random_weights") else "")
    return [[word(cells.get((a, b))) for b in cv] for a in rv]


def _chance(rows: Sequence[Mapping[str, Any]]) -> float | None:
    """The judge's chance level in the cells (one judge per sweep), None if not kept."""
    return next((float(r["judge_chance"]) for r in rows
                 if r.get("judge_chance") is not None), None)
