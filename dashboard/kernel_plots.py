"""Plotly heatmaps of kernels on their pixel grid and of their 2D frequency responses |H|
(Secs. 2.2-2.4: the Gaussian of eqs. 6 and 8, the Sobolev filter of eqs. 16-17), built from
arrays, for the Kernels & spectra page and the Playground's kernel panel; the numbers come
from :mod:`viz_core.kernels`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.plots import KERNEL_SCALE, MAGMA, PALETTE, kernel_title, kernel_weights
from viz_core.kernels import Kernel

__all__ = ["add_heatmap", "heatmap_axis", "heatmaps_figure", "kernel_panel"]

_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), template="plotly_white")


def heatmap_axis(n: int, frequency: bool) -> np.ndarray:
    """Centre coordinates of the n cells of a heatmap's axis: pixels ``-(n//2) .. `` for a
    kernel, cycles / pixel ``-1/2 .. `` for a centred (fftshift) frequency response.

    >>> heatmap_axis(5, False).tolist(), heatmap_axis(4, True).tolist()
    ([-2, -1, 0, 1, 2], [-0.5, -0.25, 0.0, 0.25])
    """
    ax = np.arange(n) - n // 2
    return ax / n if frequency else ax


def add_heatmap(fig: go.Figure, arr: np.ndarray, row: int = 1, col: int = 1, *,
                frequency: bool = False, zmin: float | None = None,
                zmax: float | None = None, showscale: bool = False,
                colorbar: dict | None = None, name: str | None = None,
                y_title: bool = True, scale_with: str | None = None) -> None:
    """One kernel (colour = weight) or, with ``frequency``, one centred frequency response
    (cycles / pixel, magma scale, colour bar titled |H|) as a heatmap in the subplot at
    ``row``, ``col`` of ``fig``: square cells, each axis spanning exactly the cells (an
    11 x 11 kernel runs -5..5, not wider: the cells shrink the plot, not stretch the axis),
    axes titled (the y-axis only with ``y_title``), a few ticks. ``scale_with``: the y-axis
    (e.g. "y") this panel's x-axis takes its scale from, for panels that share the first
    panel's y-axis (plotly leaves a shared y-axis's own scale anchor loose when the figure
    is height-bound: at 1920 px the second of two panels was 300 px wide, 200 px tall). The
    one way the dashboard draws a kernel heatmap (this page's rows, the Playground's kernel
    panel)."""
    a = np.asarray(arr, dtype=float)
    ax = heatmap_axis(a.shape[0], frequency)
    half = (ax[1] - ax[0]) / 2 if ax.size > 1 else 0.5
    span = [float(ax[0] - half), float(ax[-1] + half)]
    unit = "cycles / pixel" if frequency else "pixel"
    bar = dict(thickness=10, title=dict(text="|H|" if frequency else "weight", side="top"))
    fig.add_trace(go.Heatmap(z=a, x=ax, y=ax, colorscale=MAGMA if frequency else KERNEL_SCALE,
                             showscale=showscale, zmin=zmin, zmax=zmax,
                             colorbar={**bar, **(colorbar or {})}, name=name,
                             hovertemplate=(f"x=%{{x:.3g}}, y=%{{y:.3g}} {unit}: "
                                            "%{z:.4g}<extra></extra>")),
                  row=row, col=col)
    x_id = fig.get_subplot(row, col).xaxis.plotly_name.replace("axis", "")  # "x2"
    # a few ticks a panel: side by side in half a 1280 px page, more x labels run into
    # each other; the y-axis has room for frequencies every 1/4 cycle / pixel (nticks=5
    # left only -0.5 and 0 on it)
    ticks = dict(tick0=0, dtick=0.25) if frequency else dict(nticks=5)
    fig.update_xaxes(range=span, constrain="domain", title_font_size=11, nticks=5,
                     title_text="f_x (cycles/px)" if frequency else "x (px)",
                     title_standoff=2, row=row, col=col)
    if scale_with:
        fig.update_xaxes(scaleanchor=scale_with, row=row, col=col)
    fig.update_yaxes(range=span, constrain="domain", scaleanchor=None if scale_with else x_id,
                     **ticks, title_font_size=11, title_standoff=2, row=row, col=col,
                     title_text=("f_y (cycles/px)" if frequency else "y (px)") if y_title
                     else None)


def heatmaps_figure(panels: Sequence[tuple[str, np.ndarray]], frequency: bool = False,
                    height: int = 300, shared_scale: bool = False) -> go.Figure:
    """Heatmaps side by side (:func:`add_heatmap`): kernels or, with ``frequency``,
    centred frequency responses (colour = |H| from 0 to 1, shared: plotly ignores a lower
    bound given alone). The panels share their pixel or frequency axis: only the first
    panel's y-axis is labelled and titled; the last one carries the colour bar."""
    fig = make_subplots(rows=1, cols=max(1, len(panels)), shared_yaxes=True,
                        subplot_titles=[t for t, _ in panels], horizontal_spacing=0.04)
    zmax = max((float(np.max(a)) for _, a in panels if np.size(a)), default=1.0)
    for i, (_, arr) in enumerate(panels, start=1):
        add_heatmap(fig, arr, 1, i, frequency=frequency, showscale=i == len(panels),
                    zmin=0 if (frequency or shared_scale) else None,
                    zmax=(max(1.0, zmax) if frequency else zmax if shared_scale else None),
                    y_title=i == 1, scale_with="y" if i > 1 else None)
    fig.update_layout(height=height, **_LAYOUT)
    fig.update_annotations(font_size=12)
    return fig


def kernel_panel(fluid: Kernel | None, elastic: Kernel | None, n_freq: int = 64,
                 height: int = 620) -> go.Figure:
    """The Playground's kernel panel: fluid (Kf) and elastic (Ke) kernels side by side
    (eq. 18), each as a heatmap, its centre profile and its 2D frequency response |H|
    (cycles / pixel), the heatmaps drawn by :func:`add_heatmap`. ``None`` is the Dirac
    delta."""
    titles = [f"<b>{name}</b><br>{kernel_title(k)}"
              for name, k in (("fluid Kf", fluid), ("elastic Ke", elastic))]
    titles += ["centre profile", "centre profile", "frequency response |H|",
               "frequency response |H|"]
    fig = make_subplots(rows=3, cols=2, subplot_titles=titles, vertical_spacing=0.13,
                        horizontal_spacing=0.14, row_heights=[0.37, 0.24, 0.39])
    for col, k in ((1, fluid), (2, elastic)):
        w = kernel_weights(k)
        if w.size:
            add_heatmap(fig, w, 1, col, name=f"kernel {col}")
            r = heatmap_axis(w.shape[0], False)
            fig.add_trace(go.Scatter(x=r, y=w[w.shape[0] // 2], mode="lines+markers",
                                     line_color=PALETTE[col % len(PALETTE)],
                                     name=f"profile {col}", showlegend=False), row=2, col=col)
            fig.update_xaxes(title_text="x (px)", title_standoff=2, title_font_size=11,
                             row=2, col=col)
            fig.update_yaxes(title_text="weight", title_standoff=2, title_font_size=11,
                             row=2, col=col)
        else:
            fig.add_annotation(text="acts in the Fourier domain<br>(no spatial kernel)",
                               showarrow=False, row=1, col=col, x=0, y=0)
            fig.add_annotation(text="-", showarrow=False, row=2, col=col, x=0, y=0)
        resp = k.frequency_response(n_freq) if k is not None else np.ones((n_freq, n_freq))
        add_heatmap(fig, resp, 3, col, frequency=True, zmin=0,
                    zmax=max(1.0, float(resp.max())), showscale=col == 2,
                    colorbar=dict(len=0.35, y=0.17), name=f"response {col}")
    fig.update_layout(height=height, showlegend=False,
                      **{**_LAYOUT, "margin": dict(l=10, r=10, t=60, b=10)})
    fig.update_annotations(font_size=12)
    return fig
