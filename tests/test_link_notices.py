"""What the pages say about the settings of a link (QA pass 8).

A value is named under "Some settings of this link were not usable" only when the link the
page was opened with gave it; a value that stops fitting because the user moved another
control is moved into range without blaming a link. Notices quote the value as the link
gave it, in words ("not a whole number"), and a link value that cannot run is replaced, so
that the URL carries what is used. Also: the Home page's Models table shows every column
and row, and the curves mark the stages of a step schedule.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard import plots
from dashboard.navigation import page_path
from dashboard.stages import stage_marks

LINK = "Some settings of this link were not usable"


def _warnings(dash, at) -> str:
    return " ".join(dash.shown(w.value) for w in at.warning)


def _toasts(dash, at) -> str:
    return " ".join(dash.shown(t.value) for t in at.toast)


def _query(at) -> dict[str, str]:
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}


# ----------------------------------------------------------------------------- item 1

def test_moving_a_slider_is_not_reported_as_a_broken_link(dash):
    """``/Learn_demons?step=100``, then Steps lowered twice: *Show step t* follows Steps
    down, and nothing says the link was broken (no warning, no toast)."""
    at = dash.open(page_path("learn"), step="100")
    dash.no_exception(at)
    assert at.session_state["learn_step"] == 100 and not at.warning
    for steps in (99, 98):
        at.slider(key="learn_steps").set_value(steps).run()
        dash.no_exception(at)
        assert at.session_state["learn_step"] == steps  # moved into the new range
        assert not at.warning, _warnings(dash, at)
        assert "step:" not in _toasts(dash, at)
    assert _query(at) == {"steps": "98", "step": "98"}  # the URL has the values in use


def test_only_values_of_the_link_are_named(dash):
    """``tau=100&steps=-3``: tau and steps are named; *Show step t* (10 by default, not in
    the link) is moved to fit Steps = 1 without a word."""
    at = dash.open(page_path("learn"), tau="100", steps="-3")
    dash.no_exception(at)
    said = _warnings(dash, at)
    assert LINK in said
    assert "tau: 100.0 outside 0.01..1.5; using 1.5" in said
    assert "steps: -3 outside 1..500; using 1" in said
    assert "step: 10" not in said and "step:" not in said.replace("steps:", "")
    assert at.session_state["learn_step"] == 1


def test_a_link_value_out_of_a_range_another_link_value_sets_is_named(dash):
    """Both from the link: ``step=500&steps=50`` names the step, and keeps naming it while
    the settings stay as the link left them; a change of a setting ends the warning, and
    later range changes stay silent."""
    at = dash.open(page_path("learn"), step="500", steps="50")
    dash.no_exception(at)
    assert "step: 500 outside 0..50; using 50" in _warnings(dash, at)
    at.run()
    assert "step: 500 outside 0..50" in _warnings(dash, at)
    at.slider(key="learn_steps").set_value(40).run()
    dash.no_exception(at)
    assert at.session_state["learn_step"] == 40
    assert not at.warning, _warnings(dash, at)


def _loading_page() -> None:
    """A page with two dependent sliders and a button that loads settings (as a run JSON
    or a recipe does, through ``apply_settings`` in a callback)."""
    import streamlit as st

    from dashboard.widgets import Controls, apply_settings, bind, commit, show_notices

    defaults = {"steps": 100, "step": 10}
    notices = bind("t_", defaults)
    st.button("load", key="load", on_click=apply_settings,
              args=("t_", {"steps": 5, "step": 80}))
    ctl = Controls("t_", st.container())
    steps = ctl.slider("steps", "Steps", 1, 500, 1)
    ctl.slider("step", "Show step t", 0, int(steps), 1)
    s = commit("t_", defaults)
    show_notices("t_", notices + ctl.notices, s)


def test_loaded_settings_are_named_as_loaded_not_as_a_link():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_loading_page, default_timeout=60).run()
    assert not at.exception and not at.warning
    at.slider(key="t_steps").set_value(20).run()  # the user's own change: silent
    assert not at.warning
    at.button(key="load").click().run()
    assert not at.exception
    said = " ".join(w.value for w in at.warning)
    assert "loaded settings were not usable" in said and "this link" not in said
    assert at.session_state["t_step"] == 5
    at.run()  # nothing loaded since: no new notice, the warning stays while nothing changed
    assert "loaded settings" in " ".join(w.value for w in at.warning)


# ----------------------------------------------------------------------------- item 2

@pytest.mark.parametrize("value", ["[x](http://e.com)", "[x](http://e.com/a/b)",
                                   "a/b", "http://e.com/x"])
def test_a_model_that_is_not_here_is_quoted_as_given(dash, value):
    """Not cut at its last slash (``'e.com)'``), not shortened as a server path, and without
    the hint about uploaded programs (the name is not a program file)."""
    from dashboard.settings.playground import playground_defaults

    default = playground_defaults()["model"]
    at = dash.open(page_path("playground"), weights="random", model=value)
    dash.no_exception(at)
    said = _warnings(dash, at)
    assert f"model: {value!r} is not available here; using {default!r}" in said, said
    assert "upload" not in said
    assert at.session_state["pg_model"] == default
    assert "model" not in _query(at)


def test_a_program_file_that_is_not_here_keeps_the_upload_hint(dash):
    at = dash.open(page_path("playground"), weights="random", model="gone.pt2")
    dash.no_exception(at)
    said = _warnings(dash, at)
    assert "'gone.pt2' is not available here" in said and "upload it again" in said


@pytest.mark.parametrize("key, params, says", [
    ("kernels", {"size": "abc"}, "size: 'abc' is not a whole number; using 11"),
    ("learn", {"size": "abc"}, "size: 'abc' is not a whole number; using 9"),
    ("learn", {"tau": "fast"}, "tau: 'fast' is not a number; using 0.3"),
    ("learn", {"tau": "inf"}, "tau: 'inf' is not a finite number; using 0.3"),
    ("learn", {"fit": "maybe"}, "fit: 'maybe' is not on or off (1 or 0, true or false); "
                                "using True"),
    ("learn", {"kind": "[x](http://e.com)"},
     "kind: '[x](http://e.com)' is not one of gaussian, sobolev; using 'gaussian'"),
])
def test_a_malformed_value_is_said_in_words(dash, key, params, says):
    at = dash.open(page_path(key), **params)
    dash.no_exception(at)
    said = _warnings(dash, at)
    assert says in said, said
    assert "invalid literal" not in said and "base 10" not in said
    assert "ignored URL parameter" not in said


def test_a_whole_number_written_as_a_decimal_is_taken(dash):
    at = dash.open(page_path("learn"), steps="50.0")
    dash.no_exception(at)
    assert at.session_state["learn_steps"] == 50 and not at.warning


@pytest.mark.parametrize("key, prefix", [("playground", "pg_"), ("compare", "cmp_")])
def test_an_unusable_schedule_is_said_once_and_leaves_the_url(dash, key, prefix):
    """``octaves=zzz``: one notice (not an error under the box and another beside Run), the
    page's schedule in use, and the URL without ``octaves=zzz``."""
    from dashboard.settings.compare import compare_defaults
    from dashboard.settings.playground import playground_defaults

    default = (playground_defaults() if key == "playground" else compare_defaults())["octaves"]
    at = dash.open(page_path(key), weights="random", octaves="zzz", octaves_on="1")
    dash.no_exception(at)
    said = _warnings(dash, at)
    assert said.count("'zzz'") == 1, said
    assert "octaves: 'zzz' is not a schedule SCALE:STEPS:TAU,...; using" in said
    assert f"using {default!r}" in said
    assert not [e for e in dash.errors(at) if "octave" in e], dash.errors(at)
    assert at.session_state[prefix + "octaves"] == default
    assert "octaves" not in _query(at)


def test_notices_keep_the_value_as_given_through_ui_message():
    from dashboard.messages import Notice, ui_message
    from dashboard.urlstate import decode

    _, notices = decode({"model": "http://e.com/a/b", "steps": "--lots"},
                        {"model": "fmnist_vgg", "steps": 100})
    shown = [ui_message(n) for n in notices]
    assert "model: 'http://e.com/a/b' is not available here; using 'fmnist_vgg'" in shown
    assert "steps: '--lots' is not a whole number; using 100" in shown
    assert all(isinstance(n, Notice) for n in notices)


# ----------------------------------------------------------------------------- item 3

def test_home_models_table_shows_every_column_and_row(dash, monkeypatch):
    """Columns as wide as their longest cell, within the page at 1280 px, and a table as
    tall as its rows (no inner scroll)."""
    import streamlit as st

    calls: list[dict] = []
    real = st.dataframe

    def spy(data=None, *args, **kwargs):
        calls.append({"data": data, **kwargs})
        return real(data, *args, **kwargs)

    monkeypatch.setattr(st, "dataframe", spy)
    at = dash.open()
    dash.no_exception(at)
    (call,) = [c for c in calls if c["data"] and "note" in c["data"][0]]
    assert call.get("height") == "content"
    cols = json.loads(at.dataframe[0].proto.columns)
    widths = {k: v.get("width") for k, v in cols.items() if k != "_index"}
    assert all(isinstance(w, int) for w in widths.values()), widths
    assert sum(widths.values()) <= 760  # the page's content is ~820 px wide at 1280 px
    for name, w in widths.items():  # ~7.5 px a character at 14 px, 16 px of padding
        longest = max(len(name), *(len(str(r[name])) for r in call["data"]))
        assert w >= 7.5 * longest + 16, (name, w, longest)


@pytest.mark.e2e
def test_home_models_table_fits_in_a_browser(tmp_path):
    """In Chromium at 1280x720 and 1920x1080: every row without an inner scroll and every
    column without a horizontal one."""
    from pathlib import Path

    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    from dashboard import serve
    from viz_core.models import available_models

    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage"]
    proc, url = serve.start(tmp_path / "server.log",
                            {"DEMONS_VIZ_STORE": str(tmp_path / "runs.sqlite")})
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=args)
            try:
                for w, h in ((1280, 720), (1920, 1080)):
                    page = browser.new_page(viewport={"width": w, "height": h})
                    page.goto(url + "/")
                    table = page.get_by_test_id("stDataFrame").first
                    table.wait_for(timeout=120_000)
                    page.wait_for_timeout(1500)
                    table.scroll_into_view_if_needed()
                    box = page.evaluate("""() => {
                        const s = document.querySelector(
                            '[data-testid=stDataFrame] .dvn-scroller');
                        return [s.scrollHeight, s.clientHeight, s.scrollWidth,
                                s.clientWidth];}""")
                    sh, ch, sw, cw = box
                    assert sh <= ch + 1 and sw <= cw + 1, (w, box)
                    assert ch >= 35 * (len(available_models()) + 1), (w, box)
                    page.close()
            finally:
                browser.close()
    finally:
        serve.stop(proc)


# ----------------------------------------------------------------------------- item 4

def test_compare_default_schedule_is_marked_at_its_stage_switches():
    """Compare's default schedule 1:100:5,1:60:2.5,1:40:1 switches tau at steps 100 and
    160: the curves say so there."""
    from dashboard.settings.compare import compare_configs, compare_defaults

    configs = [c.to_json() for c in compare_configs(compare_defaults(), image_path=None)]
    marks = stage_marks(configs)
    assert [(m.step, m.label) for m in marks] == [(100, "tau 2.5"), (160, "tau 1")]
    steps = list(range(5, 201, 5))
    obj = np.linspace(1, 0, len(steps))[:, None].repeat(len(configs), 1)
    fig = plots.curves_figure(steps, obj, -obj, [f"c{i}" for i in range(len(configs))],
                              marks=marks)
    lines = [s for s in fig.layout.shapes if (s.name or "").startswith("stage")]
    assert sorted((s.x0, s.xref) for s in lines) == [(100, "x"), (100, "x2"), (160, "x"),
                                                     (160, "x2")]
    assert all(s.line.width == 1 and s.visible for s in lines)
    labels = [a for a in fig.layout.annotations if (a.name or "").startswith("stage")]
    assert sorted(a.text for a in labels) == ["tau 1", "tau 1", "tau 2.5", "tau 2.5"]
    assert "from step 100" in labels[0].hovertext


def test_octave_boundaries_are_labelled_by_octave_and_shown_once_reached():
    cfg = json.dumps({"octaves": [[1.0, 60, 5], [1.1, 30, 2], [1.2, 10, 1]]})
    marks = stage_marks([cfg])
    assert [(m.step, m.label) for m in marks] == [(60, "octave 2"), (90, "octave 3")]
    fig = plots.curves_figure([10, 20], np.ones((2, 1)), np.ones((2, 1)), ["a"],
                              marks=marks)
    shapes = [s for s in fig.layout.shapes if (s.name or "").startswith("stage")]
    assert shapes and not any(s.visible for s in shapes)  # not reached yet: no wider axis
    plots.set_curves(fig, [10, 20, 70], np.ones((3, 1)), np.ones((3, 1)))
    assert [s.visible for s in shapes] == [True, True, False, False]
    plots.set_curves(fig, [10, 20, 70, 100], np.ones((4, 1)), np.ones((4, 1)))
    assert all(s.visible for s in shapes)


def test_a_one_stage_run_has_no_marks():
    single = json.dumps({"steps": 100, "step_size": 5.0, "octaves": None})
    assert stage_marks([single]) == ()
    assert stage_marks([json.dumps({"octaves": [[1, 100, 5], [1, 0, 2]]})]) == ()
    fig = plots.curves_figure([1, 2], np.ones((2, 1)), np.ones((2, 1)), ["a"])
    assert not fig.layout.shapes


def test_a_name_that_is_no_setting_of_the_page_is_said_once(dash):
    """`/Playground?size=abc`: the Playground's kernel sizes are f_size and e_size, so
    `size` is ignored, and the page says so (it was dropped without a word)."""
    at = dash.open(page_path("playground"), size="abc")
    dash.no_exception(at)
    said = " ".join(dash.shown(w.value) for w in at.warning)
    assert "'size' is not a setting of this page; ignored (value 'abc')" in said
    at = dash.open(page_path("playground"), f_size=9, embed="true")
    assert "not a setting" not in " ".join(dash.shown(w.value) for w in at.warning)


def test_a_negative_zero_in_a_link_is_zero(dash):
    """``/Learn_demons?noise=-0`` (hostile-input QA): -0 is within 0..1 and runs as 0, not as
    NumPy's refused scale of -0.0 behind the page's error guard."""
    at = dash.open(page_path("learn"), noise="-0")
    dash.no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["learn_noise"] == 0.0
    assert str(at.session_state["learn_noise"]) == "0.0"  # not -0.0
