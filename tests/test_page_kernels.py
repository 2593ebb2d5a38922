"""Kernels & spectra page (AppTest): texts follow the settings, truncation is flagged, one
visual vocabulary (colour = kernel, dotted = fluid), log axes in powers of ten."""

from __future__ import annotations

import json

from dashboard.navigation import page_path

KX = page_path('kernels')


def _markdown(at) -> str:
    return " ".join(m.value for m in at.markdown)


def _specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_kernels_page_size_slider_changes_the_heatmaps(dash):
    at = dash.open(KX)
    spec0 = _specs(at)[0]
    at.slider(key="kx_size").set_value(7).run()
    dash.no_exception(at)
    spec1 = _specs(at)[0]
    assert dash.arr(spec0["data"][0]["z"]).shape == (11, 11)
    assert dash.arr(spec1["data"][0]["z"]).shape == (7, 7)
    at.slider(key="kx_n").set_value(20).run()
    dash.no_exception(at)
    assert len(at.get("plotly_chart")) == 11


def test_default_texts_are_fitted_and_computed_without_warnings(dash):
    at = dash.open(KX)
    dash.no_exception(at)
    text = _markdown(at)
    assert "both fitted" in text and not at.warning
    # the fitting rule gives the size-11 kernels 0.75 px² (Sobolev) and 1.85 px² (Gaussian)
    assert "variance 0.75 px² and the Gaussian 1.85 px²" in text
    assert "Equal variance" in text and "sharper by its shape too" in text
    assert "2k\\gamma" in text and "k\\gamma$ held fixed" in text


def test_fit_off_and_truncated_kernel_changes_the_claims(dash):
    at = dash.open(KX)
    at.toggle(key="kx_fit").set_value(False).run()
    at.slider(key="kx_gamma").set_value(10.0).run()
    at.slider(key="kx_sigma").set_value(0.3).run()
    dash.no_exception(at)
    text = _markdown(at)
    assert "both fitted" not in text and "set by hand" in text
    # a wide truncated Sobolev kernel against a narrow Gaussian passes *less* at Nyquist
    assert "the Sobolev filter passes less" in text
    assert any("Truncated" in w.value and "Sobolev" in w.value for w in at.warning)
    table = at.dataframe[0].value
    assert table["outer ring"].str.contains("truncated").any()


def test_line_styles_mean_one_thing_and_log_axes_use_powers(dash):
    at = dash.open(KX)
    at.toggle(key="kx_log").set_value(True).run()
    dash.no_exception(at)
    for spec in _specs(at):
        for trace in spec["data"]:
            if trace.get("type") != "scatter":
                continue
            name, dash = trace["name"], trace["line"].get("dash")
            assert (dash == "dot") == ("fluid" in name), name  # dotted means fluid, only
            if name.startswith("Gaussian") and "equal" not in name and "K^" not in name:
                assert trace["line"]["color"] == "#1f77b4", name
        for ax in ("yaxis", "yaxis2", "xaxis"):
            if spec["layout"].get(ax, {}).get("type") == "log":
                assert spec["layout"][ax]["exponentformat"] == "power"


def test_no_equal_variance_conclusion_where_the_gaussian_cannot_match(dash):
    """At size 5 the fitted Sobolev kernel is narrower than a pixel: the equal-variance
    Gaussian samples to a delta, so the page says no comparison is possible instead of
    concluding one (at size 11 the variances match and the conclusion stands)."""
    small = dash.open("pages/3_Kernels_and_spectra.py", size=5)
    dash.no_exception(small)
    text = " ".join(m.value for m in small.markdown)
    assert "not possible at this size" in text and "At equal width" not in text
    assert "sharper by its shape" not in text
    big = dash.open("pages/3_Kernels_and_spectra.py", size=11)
    text = " ".join(m.value for m in big.markdown)
    assert "not possible at this size" not in text
    assert "sharper by its shape" in text or "At equal width" in text


def test_first_charts_compare_the_two_kernels_and_order_stays_a_control(dash):
    """The order k = 3 Sobolev kernel (the paper's future work) was on by default in the
    first charts; they now show the Gaussian and Sobolev k = 1, and the order slider adds
    one (teacher QA)."""
    at = dash.open(KX)
    dash.no_exception(at)
    assert at.slider(key="kx_order").value == 1
    names = {t.get("name") for t in _specs(at)[1]["data"]}  # the centre profiles
    assert names == {"Gaussian", "Sobolev k=1"}
    assert [r["kernel"] for r in at.dataframe[0].value.to_dict("records")] == [
        "Gaussian", "Sobolev k=1"]
    at.slider(key="kx_order").set_value(3).run()
    dash.no_exception(at)
    assert "Sobolev k=3" in {t.get("name") for t in _specs(at)[1]["data"]}
    assert at.query_params.get("order") in (["3"], "3")


def test_the_formulas_and_units_behind_the_responses_are_given(dash):
    """A teacher checking eq. 16's Fourier form (1 + gamma |omega|^2)^-1 got other values
    than the charts (the discrete Laplacian's symbol): the page gives both formulas, the
    Gaussian's transfer function, the units, and the numbers at Nyquist (teacher QA)."""
    at = dash.open(KX)
    dash.no_exception(at)
    text = _markdown(at)
    assert r"1 + 4\gamma" in text and r"(1 + \gamma |\omega|^2)" in text
    assert r"e^{-2\pi^2\sigma^2 |f|^2}" in text
    assert "px²" in text and "cycles / pixel" in text and r"\omega = 2\pi f" in text
    # the fitted size-11 Sobolev kernel at Nyquist: plotted 39.6%, symbol 39.5%, eq. 16 21.0%
    assert "plotted 39.6%, discrete formula 39.5%, continuous form 21.0%" in text
    assert any(e.label == "Formulas and units of these charts" for e in at.expander)
