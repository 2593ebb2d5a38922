"""Report figures that the command line writes as interactive HTML and the dashboard shows:
the Table 1 chart (Sec. 3.2) and a sweep's metric heatmap.

A figure here is a plain plotly.js figure specification, ``{"data": [...], "layout":
{...}}`` (JSON-able dicts and lists), so that the library needs no plotting package: the
dashboard hands it to ``plotly.graph_objects.Figure`` and :func:`write_html` writes it as a
page that loads plotly.js itself.

>>> spec = heatmap_figure([{"a": 1, "b": 2, "m": 0.5}], ["a", "b"], "m")
>>> spec["data"][0]["type"], spec["data"][0]["z"]
('heatmap', [[0.5]])
"""

from __future__ import annotations

import html
import importlib.util
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from viz_core.metrics import metric_label
from viz_core.store.rows import json_finite
from viz_core.sweeps.report import grid_of

__all__ = ["PLOTLY_JS_CDN", "heatmap_figure", "table1_chance", "table1_figure",
           "write_html"]

#: plotly.js from its CDN (the HTML files' default: a small file that needs the network)
PLOTLY_JS_CDN = "https://cdn.plot.ly/plotly-4.1.1.min.js"
_TEMPLATE_COLORS = {"paper_bgcolor": "white", "plot_bgcolor": "white"}


def _axis(**kw: Any) -> dict:
    """An axis of plotly's white template: light grid, no zero line."""
    return {"gridcolor": "#ebf0f8", "zeroline": False, "automargin": True, **kw}


def table1_chance(classifier: str) -> tuple[float, float] | None:
    """Top-1 and top-5 accuracy (%) of a guess among ``classifier``'s classes (a zoo name):
    (10, 50) for Fashion-MNIST's ten, (0.1, 0.5) for ImageNet's 1000; None for a network
    outside the zoo. The floor a Table 1 number has to beat (Sec. 3.2).

    >>> table1_chance("fmnist_resnet"), table1_chance("no such net")
    ((10.0, 50.0), None)
    """
    from viz_core import zoo
    from viz_core.errors import VizError
    from viz_core.evaluation.floors import chance_levels

    try:
        n = len(zoo.class_names(zoo.get_spec(classifier)))
    except (VizError, KeyError, AttributeError, ValueError):
        return None
    c = chance_levels(n) if n else None
    return (c["chance_top1"], c["chance_top5"]) if c else None


def _classifier(rows: list[dict], direction: str) -> str:
    """The network that classifies a direction's reconstructions ("A -> B": B)."""
    got = next((r.get("cls_model") for r in rows if r["direction"] == direction
                and isinstance(r.get("cls_model"), str) and r.get("cls_model")), None)
    return got or str(direction).split("->")[-1].strip()


def table1_figure(rows: list[dict]) -> dict:
    """Grouped bar chart: top-1 / top-5 per method, one panel per direction, with the
    classifier's accuracy on the originals (grey) and chance (red: a guess among its
    classes, :func:`table1_chance`) as lines, dashed for top-1 and dotted for top-5; their
    values stand in each panel's title, not over the bars (Table 1 protocol, paper Sec.
    3.2; rows as written by :mod:`viz_core.evaluation.reports`)."""
    directions = list(dict.fromkeys(r["direction"] for r in rows))
    n, gap = len(directions), 0.06
    width = (1 - gap * (n - 1)) / n
    colors = {"top1": "#1f77b4", "top5": "#aec7e8"}
    data, shapes = [], []
    layout: dict[str, Any] = {"barmode": "group", "annotations": [], **_TEMPLATE_COLORS}
    for j, d in enumerate(directions):
        x0 = j * (width + gap)
        suffix = "" if j == 0 else str(j + 1)
        layout[f"xaxis{suffix}"] = _axis(domain=[x0, x0 + width], anchor="y")
        rs = [r for r in rows if r["direction"] == d and r["method"] != "original"]
        clean = next((r for r in rows if r["direction"] == d and r["method"] == "original"),
                     None)
        for k, name in (("top1", "top-1"), ("top5", "top-5")):
            data.append({"type": "bar", "x": [r["label"] for r in rs],
                         "y": [r[k] for r in rs], "name": name, "xaxis": f"x{suffix}",
                         "yaxis": "y", "marker": {"color": colors[k]}, "showlegend": j == 0,
                         "text": [f"{r[k]:.1f}" for r in rs], "textposition": "auto",
                         "textangle": 0, "legendgroup": name})
        chance = table1_chance(_classifier(rows, d))
        lines = [("originals", "gray", (clean["top1"], clean["top5"]) if clean else None),
                 ("chance", "#d62728", chance)]
        said = []
        for what, color, values in lines:
            if values is None:
                continue
            for v, dash in zip(values, ("dash", "dot")):
                shapes.append({"type": "line", "xref": f"x{suffix} domain", "x0": 0, "x1": 1,
                               "yref": "y", "y0": v, "y1": v, "layer": "below",
                               "line": {"dash": dash, "color": color, "width": 1.5}})
            said.append(f"{what} {values[0]:g} / {values[1]:g} %")
        sub = f"<br><span style='font-size:12px'>{', '.join(said)}</span>" if said else ""
        layout["annotations"].append({
            "text": d.replace(" -> ", " rec. -> ") + sub, "xref": "paper", "yref": "paper",
            "x": x0 + width / 2, "y": 1.0, "xanchor": "center", "yanchor": "bottom",
            "showarrow": False, "font": {"size": 15}})
    layout.update(
        shapes=shapes, height=520, width=max(700, 520 * n), margin={"t": 125},
        yaxis=_axis(title={"text": "accuracy of the other network (%)"}, range=[0, 105]),
        title={"text": "Table 1 protocol: reconstructions classified by the other network"
                       "<br><span style='font-size:12px;font-weight:normal'>grey lines: the "
                       "classifier on the originals; red: chance (a guess among its classes); "
                       "dashed top-1, dotted top-5</span>",
               "yref": "container", "y": 0.97, "yanchor": "top"})
    return {"data": data, "layout": layout}


def _label(v: Any) -> str:
    """An axis value as a tick label ("" for the one column of a sweep of one axis).

    >>> _label(0.5), _label("layer2"), _label(None)
    ('0.5', 'layer2', '')
    """
    if v is None:
        return ""
    return f"{v:g}" if isinstance(v, float) else str(v)


def heatmap_figure(rows: Sequence[Mapping[str, Any]], axes: Sequence[str], metric: str,
                   total: tuple[list, list] | None = None) -> dict:
    """A sweep's ``metric`` over the grid of its first two axes (cells not yet done are
    empty); ``total``: the full row / column values, so the grid keeps its shape while
    streaming. Title and colour bar name the metric by its registry label
    (:data:`viz_core.metrics.METRICS`); an inversion's ``activation`` is its relative
    feature error (eqs. 2-3)."""
    title = metric_label("feature_error" if metric == "activation" and rows
                         and rows[0].get("task") == "inversion" else metric)
    rv, cv, cells = grid_of(list(rows), axes)
    if total is not None:
        rv, cv = total
    z = [[math.nan for _ in cv] for _ in rv]  # NaN: a cell not done (null in the page)
    text = [["" for _ in cv] for _ in rv]
    for i, a in enumerate(rv):
        for j, b in enumerate(cv):
            r = cells.get((a, b))
            v = None if r is None else r.get(metric)
            if v is not None and math.isfinite(float(v)):
                z[i][j] = float(v)
                text[i][j] = f"{float(v):.3g}" + (" R" if r.get("random_weights") else "")
    # cells done but none with a value: the metric does not apply to them (the judge's
    # class probability of an inversion, a PSNR without a reference): said on the chart
    empty = bool(cells) and all(math.isnan(v) for row in z for v in row)
    notes = [{"text": f"{metric_label(metric)}: no value in these cells (the metric does not "
              "apply to them)", "showarrow": False, "xref": "paper", "yref": "paper",
              "x": 0.5, "y": 0.5}] if empty else []
    return {"data": [{"type": "heatmap", "z": z, "x": [_label(v) for v in cv],
                      "y": [_label(v) for v in rv], "text": text, "texttemplate": "%{text}",
                      "colorscale": "Viridis", "colorbar": {"title": {"text": title}},
                      "hovertemplate": "%{y} / %{x}: %{z:.4g}<extra></extra>"}],
            "layout": {"title": {"text": title}, "height": 360,
                       "margin": {"l": 60, "r": 20, "t": 40, "b": 40}, **_TEMPLATE_COLORS,
                       "annotations": notes,
                       "xaxis": _axis(title={"text": axes[1] if len(axes) > 1 else ""},
                                      type="category"),
                       "yaxis": _axis(title={"text": axes[0] if axes else ""},
                                      type="category", autorange="reversed")}}


def _bundled_plotly_js() -> str | None:
    """plotly.js as the plotly Python package ships it (read as a file), if installed."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def write_html(figure: Mapping[str, Any], path: str | Path, plotly_js: str = "cdn",
               title: str = "") -> str:
    """Write ``figure`` (a specification of this module) as a standalone HTML page.
    ``plotly_js``: "cdn" loads plotly.js from :data:`PLOTLY_JS_CDN`; "inline" embeds it
    (the copy the plotly package ships; the CDN when it is not installed). Returns how
    plotly.js was included ("cdn" or "inline")."""
    js = _bundled_plotly_js() if plotly_js == "inline" else None
    how = "inline" if js is not None else "cdn"
    script = (f"<script>{js}</script>" if js is not None
              else f'<script src="{PLOTLY_JS_CDN}" charset="utf-8"></script>')
    spec = json.dumps(json_finite({"data": figure["data"], "layout": figure["layout"]}),
                      allow_nan=False)
    spec = spec.replace("</", "<\\/")  # no "</script>" inside the script
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title or 'demons-viz figure')}</title>{script}</head>"
            "<body><div id=\"figure\" style=\"width:100%\"></div><script>"
            f"const spec = {spec};\n"
            "Plotly.newPlot(\"figure\", spec.data, spec.layout, {responsive: true});"
            "</script></body></html>\n")
    Path(path).write_text(page, encoding="utf-8")
    return how
