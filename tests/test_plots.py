"""Plotly figures of dashboard.plots: they show the arrays they are given."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import kernel_plots, plots
from viz_core import spectra
from viz_core.kernels import KernelSpec, build


def _data(fig, name):
    return next(t for t in fig.data if t.name == name)


def test_kernel_panel_shows_weights_profiles_and_responses():
    g = build(KernelSpec("gaussian", None, 9))
    s = build(KernelSpec("sobolev", None, 11))
    fig = kernel_plots.kernel_panel(g, s, n_freq=32)
    np.testing.assert_allclose(_data(fig, "kernel 1").z, g.weights.double().numpy())
    np.testing.assert_allclose(_data(fig, "kernel 2").z, s.weights.double().numpy())
    np.testing.assert_allclose(_data(fig, "profile 2").y, s.weights.double().numpy()[5])
    np.testing.assert_allclose(_data(fig, "response 1").z, g.frequency_response(32))
    assert list(_data(fig, "kernel 1").x) == list(range(-4, 5))
    titles = " ".join(a.text for a in fig.layout.annotations)
    assert "Gaussian 9x9" in titles and "σ=1.05 fit" in titles and "Sobolev 11x11" in titles


def test_kernel_panel_handles_delta_spectral_and_decay():
    fig = kernel_plots.kernel_panel(build(KernelSpec("spectral", 2.0)),
                             build(KernelSpec("decay", 1.0), tau=5 / 255), n_freq=16)
    names = [t.name for t in fig.data]
    assert "kernel 1" not in names  # the spectral kernel has no spatial weights
    assert _data(fig, "kernel 2").z[0][0] == pytest.approx(1 - 5 / 255)
    assert "Fourier domain" in " ".join(a.text for a in fig.layout.annotations)
    none = kernel_plots.kernel_panel(None, None, n_freq=8)
    np.testing.assert_allclose(_data(none, "response 1").z, np.ones((8, 8)))


def test_kernel_title_names_fitted_and_explicit_parameters():
    assert plots.kernel_title(None) == "delta (no filter)"
    assert plots.kernel_title(build(KernelSpec("gaussian", 2.0, 7))) == "Gaussian 7x7, σ=2"
    t = plots.kernel_title(build(KernelSpec("sobolev", None, 9, 3)))
    assert t.startswith("Sobolev 9x9, γ=") and t.endswith("fit, k=3")


def test_curves_figure_has_one_line_per_configuration_and_panel():
    steps = [1, 2, 3]
    obj = np.array([[3.0, 2.0], [2.0, 1.0], [1.0, 0.5]])
    fig = plots.curves_figure(steps, obj, -obj, ["a", "b"])
    assert len(fig.data) == 4
    np.testing.assert_allclose(fig.data[0].y, obj[:, 0])
    np.testing.assert_allclose(fig.data[3].y, -obj[:, 1])
    assert fig.layout.showlegend


def test_spectrum_figure_is_log_log_without_dc():
    img = np.random.default_rng(0).random((1, 32, 32))
    freq, power = spectra.radial_power_spectrum(img)
    fig = plots.spectrum_figure([("x", freq, power)])
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert min(fig.data[0].x) > 0 and len(fig.data[0].x) == len(freq) - 1


def test_run_figures_start_with_the_margins_their_labels_need():
    """The browser draws them once (tests/e2e/test_dashboard.py): margins preset, tick
    labels not measured for overflow."""
    img = np.random.default_rng(0).random((1, 32, 32))
    freq, power = spectra.radial_power_spectrum(img)
    figs = {"curves": plots.curves_figure([1, 2], np.ones((2, 1)), np.ones((2, 1)), ["a"]),
            "spectrum": plots.spectrum_figure([("x", freq, power)])}
    for name, fig in figs.items():
        want = plots.CURVES_MARGIN if name == "curves" else plots.SPECTRUM_MARGIN
        assert {k: getattr(fig.layout.margin, k) for k in "lrtb"} == want, name
        axes = [a for a in dir(fig.layout) if a.startswith(("xaxis", "yaxis"))]
        assert axes and all(fig.layout[a].ticklabeloverflow == "allow" for a in axes), name


def test_magma_starts_at_black():
    # Streamlit rewrites near-black #000001..#000004 (streamlit-notes.md)
    assert plots.MAGMA[0] == "#000000" and len(plots.MAGMA) > 5


def test_lines_heatmaps_and_bars():
    fig = plots.lines_figure({"a": ([0, 1], [1, 2]), "b": ([0, 1], [2, 1])}, "t", "x", "y",
                             log_y=True, dash={"b": "dot"}, colors={"a": 3, "b": "#000000"},
                             x_range=(-1, 2))
    assert fig.data[1].line.dash == "dot" and fig.data[1].line.color == "#000000"
    assert fig.data[0].line.color == plots.PALETTE[3] and fig.layout.yaxis.type == "log"
    assert tuple(fig.layout.xaxis.range) == (-1, 2)
    h = kernel_plots.heatmaps_figure([("k", np.eye(3)), ("r", np.ones((4, 4)))],
                                     frequency=True)
    assert len(h.data) == 2 and list(h.data[1].x) == [-0.5, -0.25, 0.0, 0.25]
    # one set of row labels: the panels share their axis (no labels crowding the next panel)
    assert h.layout.yaxis2.matches == "y" and h.layout.yaxis2.showticklabels is False
    assert h.layout.xaxis.nticks == 5
    b = plots.bars_figure({"s1": {"coarse": 1.0, "fine": 0.5}, "s2": {"coarse": 0.2}}, "t", "y")
    assert [t.name for t in b.data] == ["coarse", "fine"]
    assert list(b.data[1].y) == [0.5, 0.0]


def test_set_curves_and_spectra_replace_the_data_in_place():
    steps = [1, 2]
    fig = plots.curves_figure(steps, np.array([[1.0], [0.5]]), np.array([[0.1], [0.2]]), ["a"])
    layout = fig.layout.to_plotly_json()
    same = plots.set_curves(fig, [1, 2, 3], np.array([[1.0], [0.5], [0.25]]),
                            np.array([[0.1], [0.2], [0.3]]))
    assert same is fig and fig.layout.to_plotly_json() == layout
    np.testing.assert_allclose(fig.data[0].y, [1.0, 0.5, 0.25])
    np.testing.assert_allclose(fig.data[1].y, [0.1, 0.2, 0.3])
    spec = plots.spectrum_figure([("x", np.array([0.0, 0.1, 0.2]), np.array([5.0, 2.0, 1.0]))])
    plots.set_spectra(spec, [("x", np.array([0.0, 0.1, 0.2]), np.array([5.0, 3.0, 0.0]))])
    np.testing.assert_allclose(spec.data[0].x, [0.1, 0.2])
    np.testing.assert_allclose(spec.data[0].y, [3.0, 1e-16])


def test_the_spectrum_frequency_axis_writes_its_ticks_in_full():
    """plotly labelled 0.02 and 0.05 on a log axis "2" and "5" ("5 cycles / pixel" to a
    class; teacher QA): the ticks are written out."""
    import numpy as np

    from dashboard.plots import spectrum_figure

    f = np.linspace(0, 0.5, 33)
    fig = spectrum_figure([("a", f, 1.0 / (1e-3 + f ** 2))])
    ax = fig.layout.xaxis
    assert ax.type == "log" and list(ax.ticktext) == ["0.02", "0.05", "0.1", "0.2", "0.5"]
    assert list(ax.tickvals) == [0.02, 0.05, 0.1, 0.2, 0.5]


def test_kernel_heatmaps_span_their_cells_and_say_what_they_show():
    """An 11 x 11 kernel's axes ran -10..10 (square cells stretched the axis to fill the
    panel); they span the cells, -5.5..5.5, and the colour bar and the y-axis are titled
    (teacher QA)."""
    k = np.ones((11, 11)) / 121
    fig = kernel_plots.heatmaps_figure([("a", k), ("b", k)], shared_scale=True)
    for ax in ("xaxis", "yaxis", "xaxis2", "yaxis2"):
        axis = fig.layout[ax]
        assert tuple(axis.range) == (-5.5, 5.5) and axis.constrain == "domain", ax
    assert list(fig.data[0].x) == list(range(-5, 6))
    assert fig.layout.yaxis.title.text == "y (px)"
    assert fig.data[-1].showscale and fig.data[-1].colorbar.title.text == "weight"
    freq = kernel_plots.heatmaps_figure([("a", np.ones((64, 64)))], frequency=True)
    assert freq.data[0].colorbar.title.text == "|H|"
    assert (freq.data[0].zmin, freq.data[0].zmax) == (0, 1.0)  # a zmin alone is ignored
    assert "cycles/px" in freq.layout.yaxis.title.text
    assert tuple(freq.layout.xaxis.range) == (-0.5 - 1 / 128, 0.5 - 1 / 128)
