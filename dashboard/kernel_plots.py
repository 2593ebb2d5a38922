"""Plotly heatmaps of the Kernels & spectra page: kernels on their pixel grid and their 2D
frequency responses |H| (Secs. 2.2-2.4: the Gaussian of eqs. 6 and 8, the Sobolev filter of
eqs. 16-17), built from arrays; the numbers come from :mod:`viz_core.kernels`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.plots import KERNEL_SCALE, MAGMA

__all__ = ["heatmap_axis", "heatmaps_figure"]

_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), template="plotly_white")


def heatmap_axis(n: int, frequency: bool) -> np.ndarray:
    """Centre coordinates of the n cells of a heatmap's axis: pixels ``-(n//2) .. `` for a
    kernel, cycles / pixel ``-1/2 .. `` for a centred (fftshift) frequency response.

    >>> heatmap_axis(5, False).tolist(), heatmap_axis(4, True).tolist()
    ([-2, -1, 0, 1, 2], [-0.5, -0.25, 0.0, 0.25])
    """
    ax = np.arange(n) - n // 2
    return ax / n if frequency else ax


def heatmaps_figure(panels: Sequence[tuple[str, np.ndarray]], frequency: bool = False,
                    height: int = 300, shared_scale: bool = False) -> go.Figure:
    """Heatmaps side by side: kernels (centred pixel axes, colour = weight) or, with
    ``frequency``, centred frequency responses (cycles / pixel, colour = |H| on the magma
    scale from 0 to 1, shared: plotly ignores a lower bound given alone). Each axis spans
    exactly the cells (an 11 x 11 kernel runs -5..5, not wider: the square cells shrink
    the plot, not stretch the axis); the first panel's y-axis and the colour bar are
    titled."""
    fig = make_subplots(rows=1, cols=max(1, len(panels)), shared_yaxes=True,
                        subplot_titles=[t for t, _ in panels], horizontal_spacing=0.04)
    zmax = max((float(np.max(a)) for _, a in panels if np.size(a)), default=1.0)
    unit = "cycles / pixel" if frequency else "pixel"
    for i, (_, arr) in enumerate(panels, start=1):
        a = np.asarray(arr, dtype=float)
        ax = heatmap_axis(a.shape[0], frequency)
        half = (ax[1] - ax[0]) / 2 if ax.size > 1 else 0.5
        span = [float(ax[0] - half), float(ax[-1] + half)]
        fig.add_trace(go.Heatmap(z=a, x=ax, y=ax, colorscale=MAGMA if frequency else
                                 KERNEL_SCALE, showscale=i == len(panels),
                                 zmin=0 if (frequency or shared_scale) else None,
                                 zmax=(max(1.0, zmax) if frequency else
                                       zmax if shared_scale else None),
                                 colorbar=dict(thickness=10, title=dict(
                                     text="|H|" if frequency else "weight", side="top")),
                                 hovertemplate=(f"x=%{{x:.3g}}, y=%{{y:.3g}} {unit}: "
                                                "%{z:.4g}<extra></extra>")),
                      row=1, col=i)
        fig.update_xaxes(range=span, constrain="domain", row=1, col=i)
        fig.update_yaxes(range=span, constrain="domain", scaleanchor=f"x{i if i > 1 else ''}",
                         row=1, col=i)
        fig.update_xaxes(title_text="f_x (cycles/px)" if frequency else "x (px)",
                         title_standoff=2, row=1, col=i)
    fig.update_yaxes(title_text="f_y (cycles/px)" if frequency else "y (px)",
                     title_standoff=2, row=1, col=1)
    # one set of row labels (the panels share their pixel or frequency axis) and a few
    # ticks a panel: side by side in half a 1280 px page, they would run into each other
    fig.update_xaxes(nticks=5, title_font_size=11)
    fig.update_yaxes(nticks=5, title_font_size=11)
    fig.update_layout(height=height, **_LAYOUT)
    fig.update_annotations(font_size=12)
    return fig
