"""The teaching pages' sentences follow their numbers (QA pass 8): the equal-size clause is
chosen from the widths and Nyquist gains, a kernel that filters nothing (size 3 with the
fit, Sec. 2.7) is said to be the identity and nothing contradicts it, small percentages keep
their digits, and turning the fit off starts the hand sliders at the fitted values."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from dashboard import teaching
from dashboard.navigation import page_path
from viz_core.kernels import KernelSpec, build

KX, LEARN = page_path("kernels"), page_path("learn")


def _text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def _reading(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Reading it"))


def _same_size(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Same size"))


# ----------------------------------------------------------------------------- wording helpers

def test_percent_keeps_small_gains_visible():
    assert teaching.percent(0.000193) == "0.019%"
    assert teaching.percent(0.0339) == "3.4%" and teaching.percent(0.962) == "96.2%"
    assert teaching.percent(0.0) == "0%"
    assert all("0.0%" != teaching.percent(x) for x in (1e-3, 1e-4, 1e-5, 1e-6))
    assert "e" not in teaching.percent(1e-12)


def test_gain_phrase_pairs_as_with_as_and_never_prints_scientific_ratios():
    same = teaching.gain_phrase(0.962, 1.0, "at Nyquist", "the Gaussian")
    assert same.startswith("about as much at Nyquist as the Gaussian") and "than" not in same
    more = teaching.gain_phrase(0.396, 0.000193, "at Nyquist", "the Gaussian")
    assert "than the Gaussian (39.6% vs 0.019%" in more and "1,000 times as much" in more
    assert "e+" not in more and "x2" not in more
    less = teaching.gain_phrase(0.034, 0.066, "at Nyquist", "the Gaussian")
    assert less.startswith("less at Nyquist than the Gaussian (3.4% vs 6.6%)")
    assert teaching.times_as_much(129.4) == "129 times as much"


def test_identity_like_is_the_fitted_size_3_kernel_only():
    for kind in ("gaussian", "sobolev"):
        assert teaching.is_identity_like(build(KernelSpec(kind, None, 3)))
        assert not teaching.is_identity_like(build(KernelSpec(kind, None, 5)))
    assert teaching.is_identity_like(build(KernelSpec("gaussian", 0.05, 11)))


@pytest.mark.parametrize("kind", ["gaussian", "sobolev"])
@pytest.mark.parametrize("size", [3, 11, 21, 31])
def test_start_value_is_the_fitted_parameter_within_the_slider(kind, size):
    k = build(KernelSpec(kind, None, size))
    lo, hi = 0.01, 10.0
    v = teaching.start_value(k, lo, hi)
    assert lo <= v <= hi
    if lo < k.param < hi:  # rounded down, so the fitting rule still holds
        assert v == pytest.approx(k.param, rel=1e-5) and v <= k.param
        assert not teaching.kernel_stats(build(KernelSpec(kind, v, size)), "k").truncated


# ----------------------------------------------------------------------------- Kernels & spectra

def test_same_size_does_not_claim_an_extra_gain_when_sobolev_passes_less(dash):
    at = dash.open(KX, fit=0, sigma=6, gamma=10)
    dash.no_exception(at)
    text = _text(at)
    assert "passes less of the highest frequency (Nyquist) than the Gaussian (3.4% vs 6.6%)" \
        in text
    same = _same_size(at)
    assert "extra high-frequency gain" not in same and "only that it is narrower" not in same
    assert "narrower kernel, the Sobolev filter passes less" in same
    # the equal-variance conclusion does not say "not only by its width" either
    assert "not only by its width" not in text
    assert "although at the same size it passes less at Nyquist" in text


def test_default_same_size_keeps_its_width_clause(dash):
    same = _same_size(dash.open(KX))
    assert "extra high-frequency gain (39.6% vs 0.019%) is only that it is narrower" in same


def test_size_3_says_the_kernels_are_the_identity_and_nothing_contradicts_it(dash):
    at = dash.open(KX, size=3)
    dash.no_exception(at)
    notes = " ".join(i.value for i in at.info)
    assert "identity" in notes and "size 5 or larger" in notes and "Nothing is filtered" in notes
    text = _text(at)
    for wrong in ("about as much", "passes more", "passes less", "mixes shape and width",
                  "0.00 px²", "centre tap is 1.000 against 1.000"):
        assert wrong not in text, wrong
    assert "no width or shape to compare" in _same_size(at)
    assert any("nothing compounds" in c.value for c in at.caption)
    # a size that filters gets no such note
    assert not any("identity" in i.value for i in dash.open(KX, size=5).info)


def test_default_texts_print_small_gains_and_ratios_plainly(dash):
    at = dash.open(KX)
    dash.no_exception(at)
    text = _text(at)
    assert ("passes more of the highest frequency (Nyquist) than the Gaussian "
            "(39.6% vs 0.019%, over 1,000 times as much)") in text
    assert "vs 0.0%" not in text and "e+0" not in text and not re.search(r"\bx\d", text)
    table = at.dataframe[0].value
    gauss = table[table["kernel"] == "Gaussian"]["|H| at Nyquist"].iloc[0]
    assert gauss == "0.019%"  # the table and the sentence show the same number


def test_about_as_much_reads_as_much_as(dash):
    at = dash.open(KX, fit=0, sigma=0.05, gamma=0.01)
    dash.no_exception(at)
    text = _text(at)
    assert "about as much of the highest frequency (Nyquist) as the Gaussian (96.2% vs " \
           "100.0%)" in text
    assert not re.search(r"as much [^.;()]*\([^)]*\) than", text)
    assert "practically the identity" in " ".join(i.value for i in at.info)


def _heat(dash, at) -> list[np.ndarray]:
    """The spatial heatmaps of the Gaussian and the Sobolev k=1 kernel."""
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [dash.arr(t["z"]) for t in spec["data"][:2]]


def test_fit_off_starts_the_sliders_at_the_fitted_values(dash):
    at = dash.open(KX, size=21)
    before, params = _heat(dash, at), list(at.dataframe[0].value["parameter"])
    at.toggle(key="kx_fit").set_value(False).run()
    dash.no_exception(at)
    sigma, gamma = at.slider(key="kx_sigma").value, at.slider(key="kx_gamma").value
    assert sigma == pytest.approx(build(KernelSpec("gaussian", None, 21)).param, rel=1e-5)
    assert gamma == pytest.approx(build(KernelSpec("sobolev", None, 21)).param, rel=1e-5)
    assert list(at.dataframe[0].value["parameter"])[:2] == params[:2]
    for a, b in zip(_heat(dash, at), before):
        assert a.shape == b.shape == (21, 21)
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert "set by hand" in _text(at) and not at.warning  # not truncated by the rounding
    assert float(at.query_params["sigma"]) == sigma  # the link keeps the hand values


def test_fit_off_keeps_a_large_fitted_gamma(dash):
    """Size 31 fits gamma = 28.04: the hand slider holds it (it ended at 10, so turning the
    fit off made the chart jump; teacher QA)."""
    at = dash.open(KX, size=31)
    at.toggle(key="kx_fit").set_value(False).run()
    dash.no_exception(at)
    assert at.slider(key="kx_gamma").value == pytest.approx(
        build(KernelSpec("sobolev", None, 31)).param, rel=1e-5)
    assert at.slider(key="kx_sigma").value == pytest.approx(5.2665, abs=1e-3)


# ----------------------------------------------------------------------------- Learn demons

def test_learn_size_3_says_identity_and_gives_no_slider_hint(dash):
    at = dash.open(LEARN, size=3, step=100)
    dash.no_exception(at)
    notes = " ".join(i.value for i in at.info)
    assert "identity" in notes and "size 5 or larger" in notes
    reading = _reading(at)
    assert "Show step t" not in reading and "hold back the fine ones" not in reading
    assert "the four schemes are the same plain gradient descent" in reading


def test_learn_last_step_does_not_ask_to_move_the_step_slider(dash):
    # step = Steps: at its end; tau 0.01 has not settled by then
    at = dash.open(LEARN, kind="sobolev", size=5, step=100, tau=0.01)
    dash.no_exception(at)
    reading = _reading(at)
    assert "step t = 100" in reading and "Show step t" not in reading
    assert "more *Steps*" in reading
    # settled by the last step (tau 0.3): nothing to run further
    settled = _reading(dash.open(LEARN, kind="sobolev", size=5, step=100))
    assert "have settled" in settled and "Steps" not in settled.split(":**")[1]
    at = dash.open(LEARN, kind="sobolev", size=5, step=500, steps=500)
    assert "Steps" not in _reading(at).split("(step t = 500):**")[1]
    # before the end the hint stays
    assert "Show step t" in _reading(dash.open(LEARN, kind="sobolev", size=5, step=5))


def test_learn_fit_off_starts_the_parameter_at_the_fitted_value(dash):
    at = dash.open(LEARN, kind="sobolev", size=21)
    at.toggle(key="learn_fit").set_value(False).run()
    dash.no_exception(at)
    assert at.slider(key="learn_param").value == pytest.approx(
        build(KernelSpec("sobolev", None, 21)).param, rel=1e-5)
