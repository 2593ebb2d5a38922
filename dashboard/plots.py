"""Plotly figures shared by the dashboard pages, built from arrays and kernels.

No numerics beyond indexing: kernels come from :mod:`viz_core.kernels` (their weights,
centre profile and ``frequency_response``), spectra from :mod:`viz_core.spectra`, teaching
data from :mod:`dashboard.teaching`; every kernel heatmap (the Kernels & spectra page's and
the Playground's kernel panel) is drawn by :mod:`dashboard.kernel_plots`. Colour scales
avoid Streamlit's rewrite of near-black colours (see ``streamlit-notes.md``): :data:`MAGMA`
starts at pure black. Log axes label their ticks in full (:func:`log_ticks`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sequential
from plotly.subplots import make_subplots

from dashboard.stages import StageMark
from viz_core import figures
from viz_core.kernels import Kernel, center_profile


def table1_figure(rows: list[dict]) -> go.Figure:
    """The Table 1 chart (:func:`viz_core.figures.table1_figure`) as a plotly figure."""
    return go.Figure(figures.table1_figure(rows))


MAGMA = ["#000000"] + list(sequential.Magma[1:])
KERNEL_SCALE = "Viridis"
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), template="plotly_white")
# Streamlit's plotly theme turns axis automargin on: each margin that plotly.js has to grow
# after drawing a figure makes it draw the whole figure again (Plots.doAutoMargin), and the
# default tick-label overflow rule ("hide past div") measures every tick label after each
# draw (a forced browser layout per label). The figures that end every run (curves,
# spectrum) start with margins that already hold their tick labels and axis titles, as
# automargin sizes them on a default run (1280 and 1920 px wide windows; checked by the
# browser tests; the spectrum is 6 px taller than the curves, which keeps the plot area
# that labels every decade), so that their first draw is the last one (automargin still
# grows a margin a figure needs more of; labels may overflow, it keeps them inside).
CURVES_MARGIN = dict(l=42, r=20, t=40, b=50)
SPECTRUM_MARGIN = dict(l=82, r=22, t=40, b=56)  # r: half of the last tick, "0.5"


def _drawn_once(fig: go.Figure, margin: dict) -> go.Figure:
    """``fig`` with ``margin`` and tick labels that are not measured for overflow."""
    fig.update_xaxes(ticklabeloverflow="allow")
    fig.update_yaxes(ticklabeloverflow="allow")
    fig.update_layout(margin=margin)
    return fig


#: Pixels of a legend row, and from the plot area's bottom to a legend under the x-axis
#: title (tick labels and title).
LEGEND_ROW_PX, BELOW_AXIS_PX = 21, 46


def legend_below(fig: go.Figure, n: int, height: int, margin: dict,
                 per_row: int = 2) -> go.Figure:
    """Put the legend of ``n`` entries under the x-axis title, with room for its rows
    (``per_row`` entries each; 1 for a figure in a narrow column: then one entry a row at
    any width) added to the figure's height, so the plot keeps its size and the legend
    neither covers the axis title nor scrolls (a horizontal legend at a fixed fraction
    below the plot did both at 1280 px).

    >>> f = legend_below(go.Figure(), 5, 300, dict(l=10, r=10, t=40, b=10))
    >>> f.layout.height, f.layout.margin.b, f.layout.legend.yanchor
    (363, 113, 'top')
    """
    rows = -(-n // max(1, per_row)) if n > 1 else 0
    extra = rows * LEGEND_ROW_PX
    m = {**margin, "b": max(margin.get("b", 10), BELOW_AXIS_PX + 4) + extra}
    total = height + extra
    plot = max(1, total - m.get("t", 40) - m["b"])
    # one entry a row takes the whole row: a wide column (1920 px) put two in a row and
    # left the rows reserved for the others empty above the caption
    full = dict(entrywidth=1, entrywidthmode="fraction") if per_row == 1 else {}
    fig.update_layout(height=total, margin=m, legend=dict(
        orientation="h", yanchor="top", x=0, y=-BELOW_AXIS_PX / plot, **full))
    return fig


def wrapped(title: str, width: int = 40) -> str:
    """A chart title broken into lines of at most ``width`` characters (``<br>``): a
    narrow column cut a long title off.

    >>> wrapped("effective filter of 10 steps on a constant gradient")
    'effective filter of 10 steps on a<br>constant gradient'
    """
    import textwrap

    return "<br>".join(textwrap.wrap(title, width)) or title


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def kernel_weights(k: Kernel | None) -> np.ndarray:
    """A kernel's weights times its scale (the delta's for ``None``; empty when it acts in
    the Fourier domain)."""
    if k is None:
        return np.ones((1, 1))
    if k.weights is None:
        return np.zeros((0, 0))
    return k.weights.double().numpy() * k.scale


def kernel_title(k: Kernel | None) -> str:
    """Short description with the fitted parameter, e.g. 'Gaussian 9x9, sigma=1.05'."""
    if k is None:
        return "delta (no filter)"
    spec = k.spec
    if spec.kind == "identity":
        return "identity (delta)"
    if spec.kind == "decay":
        return f"L2 decay: {k.scale:.4g} x delta"
    if spec.kind == "spectral":
        return f"spectral 1/(1+|f|/{spec.f0:g})^{k.param:g}"
    size = f"{k.size}x{k.size}" if k.weights is not None else "full image"
    name = "Gaussian" if spec.kind == "gaussian" else "Sobolev"
    par = "σ" if spec.kind == "gaussian" else "γ"
    order = f", k={spec.order}" if spec.kind == "sobolev" and spec.order > 1 else ""
    fitted = " fit" if spec.param is None else ""
    return f"{name} {size}, {par}={k.param:.3g}{fitted}{order}"


#: Line and label of a stage boundary on the curves (thin, grey: they annotate the data).
STAGE_LINE = dict(color="#9e9e9e", width=1, dash="dot")
STAGE_FONT = dict(size=10, color="#616161")


def _stage_name(step: int) -> str:
    return f"stage@{step}"


def _show_stages(fig: go.Figure, last: int | None) -> None:
    """Only the marks the curves have reached are visible (a mark ahead of the data would
    stretch the step axis while a run streams)."""
    for item in (*fig.layout.shapes, *fig.layout.annotations):
        name = item.name or ""
        if name.startswith("stage@"):
            item.visible = last is not None and int(name[6:]) <= last


def curves_figure(steps: Sequence[int], objective: np.ndarray, activation: np.ndarray,
                  labels: Sequence[str], activation_name: str = "target activation",
                  height: int = 280, marks: Sequence[StageMark] = ()) -> go.Figure:
    """Data term D (minimised, eqs. 3-4) and target activation over the steps;
    ``objective``/``activation`` are (T, B) arrays, one column per configuration.
    ``marks`` (:func:`dashboard.stages.stage_marks`): a thin dotted line and a small label
    at each stage boundary of an octave or step-size schedule, where a curve may jump (a
    smaller tau, a larger canvas); shown once the curves reach it."""
    obj = np.asarray(objective, dtype=float).reshape(len(steps), -1)
    act = np.asarray(activation, dtype=float).reshape(len(steps), -1)
    titles = [wrapped("data term D (minimised)", 26), wrapped(activation_name, 26)]
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.12)
    mode = _curve_mode(steps)
    for i, label in enumerate(labels):
        c = _color(i)
        fig.add_trace(go.Scatter(x=list(steps), y=obj[:, i], mode=mode, name=label,
                                 line_color=c, legendgroup=label), row=1, col=1)
        fig.add_trace(go.Scatter(x=list(steps), y=act[:, i], mode=mode, name=label,
                                 line_color=c, legendgroup=label, showlegend=False),
                      row=1, col=2)
    for j, m in enumerate(marks):
        for ax in ("", "2"):
            fig.add_shape(type="line", xref=f"x{ax}", yref=f"y{ax} domain", x0=m.step,
                          x1=m.step, y0=0, y1=1, line=STAGE_LINE, layer="below",
                          name=_stage_name(m.step))
            fig.add_annotation(xref=f"x{ax}", yref=f"y{ax} domain", x=m.step,
                               y=1 - 0.1 * (j % 2), text=m.label, hovertext=m.detail,
                               showarrow=False, xanchor="left", yanchor="top", xshift=2,
                               font=STAGE_FONT, bgcolor="rgba(255,255,255,0.75)",
                               name=_stage_name(m.step))
    _show_stages(fig, steps[-1] if len(steps) else None)
    fig.update_xaxes(title_text="step", title_standoff=2)
    lines = max(t.count("<br>") for t in titles)  # a wrapped title: room above the plots
    margin = {**CURVES_MARGIN, "t": CURVES_MARGIN["t"] + 16 * lines}
    fig.update_layout(height=height + 16 * lines, showlegend=len(labels) > 1, **_LAYOUT)
    _drawn_once(fig, margin)
    return legend_below(fig, len(labels), height + 16 * lines, margin)


def _curve_mode(steps: Sequence[int]) -> str:
    """Lines, with markers while a curve has too few points to draw one (a run of no more
    steps than its frame interval has a single point: a line alone showed nothing)."""
    return "lines+markers" if len(steps) < 3 else "lines"


def set_curves(fig: go.Figure, steps: Sequence[int], objective: np.ndarray,
               activation: np.ndarray) -> go.Figure:
    """New data for a :func:`curves_figure` with the same configurations, in place: no new
    layout or template, so a streaming page redraws it cheaply (the stage marks the curves
    have reached become visible)."""
    obj = np.asarray(objective, dtype=float).reshape(len(steps), -1)
    act = np.asarray(activation, dtype=float).reshape(len(steps), -1)
    mode = _curve_mode(steps)
    with fig.batch_update():
        for i in range(obj.shape[1]):
            fig.data[2 * i].update(x=list(steps), y=obj[:, i], mode=mode)
            fig.data[2 * i + 1].update(x=list(steps), y=act[:, i], mode=mode)
        _show_stages(fig, steps[-1] if len(steps) else None)
    return fig


def set_spectra(fig: go.Figure, spectra: Sequence[tuple[str, np.ndarray, np.ndarray]]
                ) -> go.Figure:
    """New data for a :func:`spectrum_figure` with the same series, in place (and the
    power axis's ticks, :func:`log_ticks`, for the new range)."""
    ys = []
    with fig.batch_update():
        for trace, (_, freq, pw) in zip(fig.data, spectra):
            freq, pw = np.asarray(freq), np.asarray(pw)
            keep = freq > 0
            ys.append(np.maximum(pw[keep], 1e-16))
            trace.update(x=freq[keep], y=ys[-1])
        ys = [y[np.isfinite(y)] for y in ys if np.isfinite(y).any()]
        ticks = log_ticks(min(float(y.min()) for y in ys),
                          max(float(y.max()) for y in ys)) if ys else {}
        fig.update_yaxes(**{"tickvals": None, "ticktext": None, **ticks})
    return fig


#: At most this many labelled ticks on a log axis (a 320 px chart holds about 7 rows).
LOG_TICKS_MAX = 8


def _tick_label(v: float, powers: bool = False) -> str:
    """A log axis tick written in full: "0.05", "200", or, where plain digits would run
    long (or with ``powers``, for decades only), "2×10<sup>-5</sup>", "10<sup>-5</sup>"."""
    m, e = f"{v:.0e}".split("e")
    if int(e) == 0 or (1e-3 <= v < 1e5 and not powers):
        return f"{v:g}"
    return ("" if m == "1" else f"{m}×") + f"10<sup>{int(e)}</sup>"


def log_ticks(lo: float, hi: float, most: int = LOG_TICKS_MAX) -> dict:
    """Tick values and labels between ``lo`` and ``hi`` (> 0) for a log axis, x or y,
    written in full: 1-2-5 per decade, or, where that would be more than ``most`` ticks,
    powers of ten only (every decade, or every second, third ... one). plotly's own log
    axis labels the ticks inside a decade with bare digits ("2" and "5", or "9 8 7 ... 2"):
    they read as "5 cycles / pixel" for 0.05, or a gain of 9 for 0.09.

    >>> log_ticks(0.015, 0.5)["ticktext"]
    ['0.02', '0.05', '0.1', '0.2', '0.5']
    >>> log_ticks(2e-5, 1)["ticktext"]
    ['10<sup>-4</sup>', '10<sup>-3</sup>', '10<sup>-2</sup>', '10<sup>-1</sup>', '1']
    >>> log_ticks(1e-12, 1)["tickvals"]
    [1e-12, 1e-10, 1e-08, 1e-06, 0.0001, 0.01, 1.0]
    """
    if not (np.isfinite(lo) and np.isfinite(hi) and lo > 0 and hi >= lo):
        return {}
    e0, e1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))

    def inside(vals: list[float]) -> list[float]:
        vals = [float(f"{v:.3g}") for v in vals]
        return [v for v in vals if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]

    vals = inside([m * 10.0 ** e for e in range(e0, e1 + 1) for m in (1, 2, 5)])
    powers = any(not 1e-3 <= v < 1e5 for v in vals)  # one style on the axis
    if len(vals) > most:
        powers = True
        decades = inside([10.0 ** e for e in range(e0, e1 + 1)])
        step = -(-len(decades) // max(1, most))
        vals = [v for v in decades if round(np.log10(v)) % step == 0]
    text = [_tick_label(v, powers) for v in vals]
    return {"tickvals": vals, "ticktext": text} if len(vals) >= 2 else {}


def _positive(fig: go.Figure, axis: str = "x") -> tuple[float, float]:
    """Smallest and largest positive finite ``axis`` value of ``fig``'s traces, (0, 0) if
    none (:func:`log_ticks` then leaves the axis to plotly)."""
    vs = [np.asarray(getattr(t, axis), dtype=float).ravel() for t in fig.data
          if getattr(t, axis) is not None]
    vs = [v[np.isfinite(v) & (v > 0)] for v in vs]
    vs = [v for v in vs if v.size]
    return (min(float(v.min()) for v in vs), max(float(v.max()) for v in vs)) if vs else (0, 0)


def _positive_x(fig: go.Figure) -> tuple[float, float]:
    return _positive(fig, "x")


def _log_y(fig: go.Figure) -> dict:
    """The y axis of ``fig`` as a log axis with :func:`log_ticks` over its traces' values."""
    return dict(type="log", **log_ticks(*_positive(fig, "y")))


def spectrum_figure(spectra: Sequence[tuple[str, np.ndarray, np.ndarray]],
                    title: str = "radially averaged power spectrum",
                    height: int = 286) -> go.Figure:
    """Log-log power spectra ``(label, freq, power)`` (cycles/pixel; f = 0 dropped)."""
    fig = go.Figure()
    for i, (label, freq, pw) in enumerate(spectra):
        freq, pw = np.asarray(freq), np.asarray(pw)
        keep = freq > 0
        fig.add_trace(go.Scatter(x=freq[keep], y=np.maximum(pw[keep], 1e-16), mode="lines",
                                 name=label, line_color=_color(i)))
    fig.update_xaxes(type="log", title_text="frequency (cycles / pixel)", title_standoff=2,
                     **log_ticks(*_positive_x(fig)))
    fig.update_yaxes(title_text="power", exponentformat="power", **_log_y(fig))
    fig.update_layout(title=dict(text=title, font_size=13), height=height,
                      showlegend=len(spectra) > 1, **_LAYOUT)
    _drawn_once(fig, SPECTRUM_MARGIN)
    return legend_below(fig, len(spectra), height, SPECTRUM_MARGIN)


def lines_figure(series: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str,
                 xtitle: str, ytitle: str, log_y: bool = False, log_x: bool = False,
                 height: int = 320, dash: Mapping[str, str] | None = None,
                 markers: bool = False, colors: Mapping[str, int | str] | None = None,
                 x_range: tuple[float, float] | None = None,
                 legend_per_row: int = 2) -> go.Figure:
    """Several (x, y) curves on one plot (profiles, responses, growth curves);
    ``colors`` maps a label to a palette index (to pair curves), ``dash`` to a dash style;
    ``legend_per_row``: 1 for a plot in a narrow column (:func:`legend_below`)."""
    fig = go.Figure()
    for i, (label, (x, y)) in enumerate(series.items()):
        c = (colors or {}).get(label, i)
        c = c if isinstance(c, str) else _color(c)
        fig.add_trace(go.Scatter(x=np.asarray(x), y=np.asarray(y), name=label,
                                 mode="lines+markers" if markers else "lines",
                                 line=dict(color=c, dash=(dash or {}).get(label))))
    fig.update_xaxes(title_text=xtitle, title_standoff=2, type="log" if log_x else "linear",
                     range=list(x_range) if x_range else None, exponentformat="power",
                     **(log_ticks(*_positive_x(fig)) if log_x and not x_range else {}))
    fig.update_yaxes(title_text=ytitle, exponentformat="power",  # 10^-4, not "100μ"
                     **(_log_y(fig) if log_y else dict(type="linear")))
    lines = wrapped(title)
    layout = {**_LAYOUT, "margin": {**_LAYOUT["margin"],
                                    "t": 40 + 16 * lines.count("<br>")}}
    fig.update_layout(title=dict(text=lines, font_size=13), height=height, **layout)
    return legend_below(fig, len(series), height, layout["margin"], legend_per_row)


def small_multiples_figure(panels: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]],
                           title: str, xtitle: str, ytitle: str, cols: int = 2,
                           height: int = 420, log_y: bool = False,
                           colors: Mapping[str, str] | None = None) -> go.Figure:
    """One small panel per key of ``panels``, each with its own curves ({label: (x, y)}), so
    no curve hides under another; a label keeps its colour (``colors``) in every panel and
    appears once in the legend. Shared axes."""
    rows = -(-len(panels) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(panels), shared_xaxes=True,
                        shared_yaxes=True, vertical_spacing=0.12, horizontal_spacing=0.04)
    seen: set[str] = set()
    order: dict[str, int] = {}
    for i, curves in enumerate(panels.values()):
        for label, (x, y) in curves.items():
            c = (colors or {}).get(label) or _color(order.setdefault(label, len(order)))
            fig.add_trace(go.Scatter(x=np.asarray(x), y=np.asarray(y), name=label,
                                     mode="lines", line=dict(color=c, width=1.5),
                                     legendgroup=label, showlegend=label not in seen),
                          row=i // cols + 1, col=i % cols + 1)
            seen.add(label)
    fig.update_xaxes(exponentformat="power")
    fig.update_xaxes(title_text=xtitle, title_standoff=2, row=rows)
    fig.update_yaxes(exponentformat="power", type="log" if log_y else "linear")
    for r in range(1, rows + 1) if log_y else ():  # a row shares its y-axis: its own ticks
        ys = [np.asarray(t.y, dtype=float).ravel() for t in fig.select_traces(row=r)]
        ys = [y[np.isfinite(y) & (y > 0)] for y in ys]
        ys = [y for y in ys if y.size]
        if ys:
            fig.update_yaxes(row=r, **log_ticks(min(float(y.min()) for y in ys),
                                                 max(float(y.max()) for y in ys)))
    fig.update_yaxes(title_text=ytitle, col=1)
    fig.update_layout(title=dict(text=title, font_size=13), height=height,
                      legend=dict(orientation="h", y=-0.15), **_LAYOUT)
    return fig


def bars_figure(groups: Mapping[str, Mapping[str, float]], title: str, ytitle: str,
                height: int = 320) -> go.Figure:
    """Grouped bars: one bar group per outer key (e.g. scheme), one bar per inner key
    (e.g. frequency band)."""
    fig = go.Figure()
    inner = list(dict.fromkeys(k for g in groups.values() for k in g))
    for i, name in enumerate(inner):
        fig.add_trace(go.Bar(x=list(groups), y=[g.get(name, 0.0) for g in groups.values()],
                             name=name, marker_color=_color(i)))
    fig.update_yaxes(title_text=ytitle)
    fig.update_layout(title=dict(text=title, font_size=13), barmode="group", height=height,
                      legend=dict(orientation="h", y=-0.2), **_LAYOUT)
    return fig


def kernel_profile(k: Kernel) -> tuple[np.ndarray, np.ndarray]:
    """(x, centre row) of a spatial kernel, for :func:`lines_figure`."""
    prof = center_profile(k)
    return np.arange(prof.size) - prof.size // 2, prof

