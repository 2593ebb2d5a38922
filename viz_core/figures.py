"""Report figures that the command line writes as interactive HTML and the dashboard shows:
the Table 1 chart (Sec. 3.2) and a sweep's metric heatmap.

Plotly is optional (the ``dashboard`` extra): this module imports it only when a figure is
drawn, and :func:`have_plotly` says whether it can be. Nothing else in :mod:`viz_core`
imports plotly.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from viz_core.metrics import metric_label
from viz_core.sweeps.report import grid_of

__all__ = ["have_plotly", "heatmap_figure", "table1_figure"]


def have_plotly() -> bool:
    """Whether plotly is installed (the figures need it; the data files do not)."""
    return importlib.util.find_spec("plotly") is not None


def table1_figure(rows: list[dict]) -> Any:
    """Plotly grouped bar chart: top-1 / top-5 per method, one panel per direction, with
    the classifier's accuracy on the originals as a dashed line (Table 1 protocol, paper
    Sec. 3.2; rows as written by :mod:`viz_core.evaluation.reports`)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    directions = list(dict.fromkeys(r["direction"] for r in rows))
    fig = make_subplots(rows=1, cols=len(directions), shared_yaxes=True,
                        subplot_titles=[f"{d.replace(' -> ', ' rec. -> ')}" for d in directions])
    colors = {"top1": "#1f77b4", "top5": "#aec7e8"}
    for j, d in enumerate(directions, 1):
        rs = [r for r in rows if r["direction"] == d and r["method"] != "original"]
        clean = next((r for r in rows if r["direction"] == d and r["method"] == "original"),
                     None)
        for k, name in (("top1", "top-1"), ("top5", "top-5")):
            fig.add_trace(go.Bar(x=[r["label"] for r in rs], y=[r[k] for r in rs], name=name,
                                 marker_color=colors[k], showlegend=j == 1,
                                 text=[f"{r[k]:.1f}" for r in rs], textposition="outside"),
                          row=1, col=j)
        if clean is not None:
            for k, dash in (("top1", "dash"), ("top5", "dot")):
                fig.add_hline(y=clean[k], line_dash=dash, line_color="gray", row=1, col=j,
                              annotation_text=f"originals {k[:3]}-{k[3:]} {clean[k]:.1f}%",
                              annotation_position="bottom right")
    fig.update_layout(barmode="group", yaxis_title="accuracy of the other network (%)",
                      yaxis_range=[0, 105], title="Table 1 protocol: reconstructions "
                      "classified by the other network", template="plotly_white",
                      height=480, width=max(700, 520 * len(directions)))
    return fig


def _label(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def heatmap_figure(rows: Sequence[Mapping[str, Any]], axes: Sequence[str], metric: str,
                   total: tuple[list, list] | None = None) -> Any:
    """A sweep's ``metric`` over the grid of its first two axes (cells not yet done are
    empty); ``total``: the full row / column values, so the grid keeps its shape while
    streaming. Titled with the metric's registry label (:data:`viz_core.metrics.METRICS`)."""
    import plotly.graph_objects as go

    rv, cv, cells = grid_of(list(rows), axes)
    if total is not None:
        rv, cv = total
    z = np.full((len(rv), len(cv)), np.nan)
    text = [["" for _ in cv] for _ in rv]
    for i, a in enumerate(rv):
        for j, b in enumerate(cv):
            r = cells.get((a, b))
            v = None if r is None else r.get(metric)
            if v is not None:
                z[i, j] = float(v)
                text[i][j] = f"{float(v):.3g}" + (" R" if r.get("random_weights") else "")
    fig = go.Figure(go.Heatmap(z=z, x=[_label(v) for v in cv], y=[_label(v) for v in rv],
                               text=text, texttemplate="%{text}", colorscale="Viridis",
                               colorbar={"title": {"text": metric}},
                               hovertemplate="%{y} / %{x}: %{z:.4g}<extra></extra>"))
    fig.update_layout(title=metric_label(metric), height=360,
                      margin={"l": 60, "r": 20, "t": 40, "b": 40},
                      xaxis={"title": {"text": axes[1] if len(axes) > 1 else ""},
                             "type": "category"},
                      yaxis={"title": {"text": axes[0] if axes else ""}, "type": "category",
                             "autorange": "reversed"})
    return fig
