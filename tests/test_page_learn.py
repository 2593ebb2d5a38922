"""Learn demons page (AppTest): small multiples keep every curve visible, the reading
describes the step shown, rendered math, a reference list."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard.navigation import page_path

LEARN = page_path('learn')


def _signals(at) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def _reading(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Reading it"))


def test_learn_page_example_follows_the_sliders(dash):
    at = dash.open(LEARN)
    assert at.get("latex")
    spec = _signals(at)
    sig0 = dash.arr(spec["data"][1]["y"])
    at.slider(key="learn_step").set_value(40).run()
    dash.no_exception(at)
    sig1 = dash.arr(_signals(at)["data"][1]["y"])
    assert sig0.shape == sig1.shape == (256,) and not np.allclose(sig0, sig1)
    at.radio(key="learn_task").set_value("am").run()
    dash.no_exception(at)
    assert "at the bounds" in _reading(at)


def test_every_scheme_has_its_own_panel(dash):
    spec = _signals(dash.open(LEARN))
    axes = {(t["name"], t.get("xaxis", "x")) for t in spec["data"]}
    schemes = {"plain", "fluid", "elastic", "fluid-elastic"}
    # one panel per scheme, each with the target and that scheme only
    assert len({ax for _, ax in axes}) == 4
    for ax in {ax for _, ax in axes}:
        names = {n for n, a in axes if a == ax}
        assert len(names) == 2 and "target w" in names and len(names & schemes) == 1


def test_reading_describes_the_step_shown_and_defaults_show_it(dash):
    at = dash.open(LEARN)
    text = _reading(at)
    assert "step t = 10" in text
    assert "fine ones last" in text  # defaults: no start noise, fluid lags on fine scales
    at.slider(key="learn_noise").set_value(0.3).run()
    at.slider(key="learn_step").set_value(60).run()
    dash.no_exception(at)
    text = _reading(at)
    assert "step t = 60" in text and "noise of the start" in text
    at.slider(key="learn_step").set_value(0).run()
    assert "t = 0" in _reading(at)


def test_notation_is_rendered_and_citations_are_listed(dash):
    at = dash.open(LEARN)
    text = " ".join(m.value for m in at.markdown)
    assert "$K_f$" in text and "Kf =" not in text and "G_sigma" not in text
    assert "equivalent to" not in text and "corresponds to" in text
    assert all(f"[{n}" in text for n in (4, 16, 17, 26, 27))



def test_small_shares_in_the_reading_keep_a_digit(dash):
    """At step 1 the schemes hold a few percent of the target's energy: the reading gives
    them with a digit ("9.0%", "1.9%"), not "0%" for all of them, and makes its coarse /
    fine contrast only where the numbers show one."""
    import re

    at = dash.open(LEARN)
    at.slider(key="learn_step").set_value(1).run()
    dash.no_exception(at)
    text = _reading(at)
    shares = [float(x) for x in re.findall(r"(\d+(?:\.\d+)?)% ", text)]
    assert shares and all(x > 0 for x in shares), text
    assert re.search(r"\d\.\d% of the target's coarse energy but only", text), text


def test_a_fine_band_excess_without_start_noise_is_not_blamed_on_the_noise(dash):
    """Gaussian sigma 10 cut to 9 taps (nearly a box filter) at tau 1.5: the fluid scheme
    ends with far more fine-band energy than the target from a start without noise. The
    reading blamed "the fine noise of the start (std 0)"; it names the kernel's negative
    response instead (teacher QA)."""
    at = dash.open(LEARN, fit=False, param=10.0, size=9, tau=1.5, noise=0.0, step=100)
    dash.no_exception(at)
    text = _reading(at)
    assert "noise of the start" not in text, text
    assert "frequency response is negative" in text, text


def test_the_signals_title_calls_a_start_without_noise_zero(dash):
    """ "start: noise of std 0" read as noise (final QA): a start without noise is zero."""
    at = dash.open(LEARN, noise=0.0)
    title = _signals(at)["layout"]["title"]["text"]
    assert "start: zero, no noise" in title and "std 0)" not in title
    at = dash.open(LEARN, noise=0.3)
    assert "start: noise of std 0.3" in _signals(at)["layout"]["title"]["text"]


def test_regularized_solution_is_said_only_once_the_elastic_curves_settle(dash):
    """At t = 1 nothing has stopped (plain GD also holds ~9% of the coarse energy), yet the
    reading said the elastic schemes "stop at a *regularized* solution" (teacher QA). It says
    what they have so far until their curves settle, at step 1, mid-way and at the end."""
    at = dash.open(LEARN, kind="sobolev", steps=5, step=1)
    dash.no_exception(at)
    text = _reading(at)
    assert "regularized" not in text and "have so far" in text, text
    at = dash.open(LEARN, kind="sobolev", steps=5, step=5)  # the last step, still moving
    text = _reading(at)
    assert "regularized" not in text and "not settled by this last step" in text, text
    mid = _reading(dash.open(LEARN, step=10))
    assert "regularized" not in mid and "so far" in mid, mid
    end = _reading(dash.open(LEARN, step=100))
    assert "have settled" in end and "*regularized* solution" in end, end
    assert "caught up in every band" in end


def test_the_am_reading_says_copying_only_once_plain_gd_saturates(dash):
    """ "drives 0% of the samples to the bounds, copying the sign of every wiggle" at t = 1:
    the copying is said once most samples are at the bounds."""
    early = _reading(dash.open(LEARN, task="am", step=1))
    assert "copying" not in early and "so far" in early, early
    late = _reading(dash.open(LEARN, task="am", step=100))
    assert "copying the sign of every wiggle" in late, late


def test_fit_off_keeps_the_fitted_parameter_of_a_large_kernel(dash):
    """Sobolev at size 31 fits gamma = 28.04; the hand slider ended at 10 and clamped it."""
    from viz_core.kernels import KernelSpec, build

    at = dash.open(LEARN, kind="sobolev", size=31)
    at.toggle(key="learn_fit").set_value(False).run()
    dash.no_exception(at)
    assert at.slider(key="learn_param").value == pytest.approx(
        build(KernelSpec("sobolev", None, 31)).param, rel=1e-5)


def test_conventions_table2_tv_and_border_are_explained(dash):
    """The page says its tau is raw (the Playground's is normalised), why elastic Sobolev
    sits in Table 2's implicit column, that TV is not a setting of eq. 18, and the border
    mode behind the bends at both ends of the curves (teacher QA)."""
    at = dash.open(LEARN)
    dash.no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    captions = " ".join(c.value for c in at.caption)
    assert "Every regularizer in this tool is a setting" not in text
    assert "Total variation is not a setting of it" in text
    assert "proximal" in text and "keeps the paper's placement" in text
    assert "raw tau" in captions and "mean |g|" in captions
    assert "Border: periodic" in captions and "sample 255 wraps around" in captions
    assert "normalised tau" in at.slider(key="learn_tau").help
