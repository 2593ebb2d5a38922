"""Turning "Fit parameter to kernel size" off keeps the kernel the user sees (Sec. 2.7):
sigma / gamma take the fitted value, and the hand sliders' ranges hold every fitted value
the page can produce (teacher QA, session 8). A link that says ``fit = 0`` with its own
parameter (the Sweeps page's "Open in Playground") keeps that parameter exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard import teaching
from dashboard.navigation import page_path
from dashboard.settings.explainers import LEARN_CHOICES
from viz_core.kernel_fitting import fit_parameter
from viz_core.kernels import KernelSpec, build

PG, LEARN = page_path("playground"), page_path("learn")
#: Every kernel size a page's size slider can offer (kernel_controls caps it at 31; a
#: 28-pixel model stops at 27) and every Sobolev order of the Playground.
SIZES, ORDERS = range(3, 32, 2), range(1, 9)


def _panel(at) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if any("fluid Kf" in a.get("text", "") for a in spec["layout"].get("annotations", [])):
            return spec
    raise AssertionError("kernel panel not found")


def _titles(at) -> list[str]:
    """The two kernels' headers ("Gaussian 15x15, σ=2.03 fit"), without " fit"."""
    ann = [a["text"] for a in _panel(at)["layout"]["annotations"]]
    return [a.split("<br>")[1].replace(" fit", "") for a in ann if "Kf" in a or "Ke" in a]


def _weights(dash, at) -> list[np.ndarray]:
    spec = _panel(at)
    return [dash.arr(next(t for t in spec["data"] if t.get("name") == n)["z"])
            for n in ("kernel 1", "kernel 2")]


def _fitted(kind: str, size: int, order: int = 1) -> float:
    """The fitted parameter as a hand slider starts it (6 significant digits), unclamped."""
    return teaching.start_value(build(KernelSpec(kind, None, size, order)), 0.0, np.inf)


def _texts(at) -> str:
    return " ".join(e.value for kind in ("markdown", "info", "warning", "caption", "error")
                    for e in at.get(kind))


# ----------------------------------------------------------------------------- Playground

def test_playground_fit_off_keeps_both_kernels(dash):
    at = dash.open(PG, f_kind="gaussian", f_size=15, e_kind="sobolev", e_size=21)
    titles, weights = _titles(at), _weights(dash, at)
    assert titles == ["Gaussian 15x15, σ=2.03", "Sobolev 21x21, γ=3.93"]
    at.toggle(key="pg_f_fit").set_value(False).run()
    at.toggle(key="pg_e_fit").set_value(False).run()
    dash.no_exception(at)
    assert at.slider(key="pg_f_sigma").value == pytest.approx(fit_parameter("gaussian", 15),
                                                              rel=1e-5)
    assert at.slider(key="pg_e_gamma").value == pytest.approx(fit_parameter("sobolev", 21),
                                                              rel=1e-5)
    assert _titles(at) == titles  # was "σ=1" / "γ=0.2"
    for a, b in zip(_weights(dash, at), weights):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert float(at.query_params["e_gamma"]) == at.slider(key="pg_e_gamma").value


def test_playground_fit_off_keeps_the_smallest_and_largest_fitted_values(dash):
    """gamma 1.25e-5 (3x3, order 8) was clamped to 0.01, and a large fitted gamma to 10."""
    at = dash.open(PG, f_kind="sobolev", f_size=3, f_order=8, e_kind="sobolev", e_size=27)
    titles = _titles(at)
    at.toggle(key="pg_f_fit").set_value(False).run()
    at.toggle(key="pg_e_fit").set_value(False).run()
    dash.no_exception(at)
    assert at.slider(key="pg_f_gamma").value == _fitted("sobolev", 3, 8) < 0.01
    assert at.slider(key="pg_e_gamma").value == _fitted("sobolev", 27) > 10
    assert _titles(at) == titles
    assert "outside" not in _texts(at)


def test_playground_ranges_hold_every_fitted_value(dash):
    at = dash.open(PG, scheme="fluid-elastic", f_kind="gaussian", f_fit=0, e_kind="sobolev",
                   e_fit=0)
    dash.no_exception(at)
    sigma, gamma, order = (at.slider(key=k) for k in ("pg_f_sigma", "pg_e_gamma", "pg_e_order"))
    assert int(at.slider(key="pg_e_size").max) <= max(SIZES)
    assert (int(order.min), int(order.max)) == (min(ORDERS), max(ORDERS))
    for size in SIZES:
        assert sigma.min <= _fitted("gaussian", size) <= sigma.max, size
        for k in ORDERS:
            assert gamma.min <= _fitted("sobolev", size, k) <= gamma.max, (size, k)


@pytest.mark.parametrize("gamma", [0.4, 25.0, 3e-5])
def test_a_link_with_fit_off_keeps_its_gamma_exactly(dash, gamma):
    """The Sweeps page's links say e_fit=0&e_gamma=X: X stays, fitted or not."""
    at = dash.open(PG, scheme="elastic", e_kind="sobolev", e_size=9, e_fit=0, e_gamma=gamma)
    dash.no_exception(at)
    assert at.toggle(key="pg_e_fit").value is False
    assert at.session_state["pg_e_gamma"] == gamma
    assert _titles(at)[1] == f"Sobolev 9x9, γ={gamma:.3g}"
    assert "outside" not in _texts(at)


# ----------------------------------------------------------------------------- Learn demons

def test_learn_range_holds_every_fitted_value(dash):
    at = dash.open(LEARN, fit=0)
    dash.no_exception(at)
    param, size = at.slider(key="learn_param"), at.slider(key="learn_size")
    sizes = range(int(size.min), int(size.max) + 1, int(size.step))
    assert list(sizes) == list(SIZES)
    for kind in LEARN_CHOICES["kind"]:
        for s in sizes:
            p = teaching.start_value(teaching.toy_kernel(kind, s), param.min, param.max)
            assert p == _fitted(kind, s), (kind, s)  # not clamped
            np.testing.assert_allclose(teaching.toy_kernel(kind, s, p).weights,
                                       teaching.toy_kernel(kind, s).weights, rtol=1e-4,
                                       atol=1e-8)  # 6 significant digits of the parameter


def test_learn_fit_off_keeps_a_small_sobolev_kernel(dash):
    """Size 5: gamma 0.0106 became 0.05 (Nyquist gain 95.9% -> 83.4%)."""
    at = dash.open(LEARN, kind="sobolev", size=5)
    bands = json.loads(at.get("plotly_chart")[1].proto.spec)["data"]
    at.toggle(key="learn_fit").set_value(False).run()
    dash.no_exception(at)
    assert at.slider(key="learn_param").value == _fitted("sobolev", 5)
    for a, b in zip(json.loads(at.get("plotly_chart")[1].proto.spec)["data"], bands):
        np.testing.assert_allclose(dash.arr(a["y"]), dash.arr(b["y"]), rtol=1e-4)


def test_learn_fit_off_at_size_3_stays_the_identity(dash):
    at = dash.open(LEARN, kind="sobolev", size=3)
    assert "Nothing is filtered here" in _texts(at)
    at.toggle(key="learn_fit").set_value(False).run()
    dash.no_exception(at)
    assert at.slider(key="learn_param").value == _fitted("sobolev", 3)
    assert "Nothing is filtered here" in _texts(at)


def test_kernels_page_fit_off_at_size_3_keeps_gamma(dash):
    """Kernels & spectra shares the Playground's ranges: at size 3 the fitted gamma (about
    1e-4) was clamped to the old minimum 0.01 when the fit was turned off."""
    at = dash.open(page_path("kernels"), size=3)
    at.toggle(key="kx_fit").set_value(False).run()
    dash.no_exception(at)
    assert at.slider(key="kx_gamma").value == _fitted("sobolev", 3) < 0.01
    assert at.slider(key="kx_sigma").value == _fitted("gaussian", 3)
