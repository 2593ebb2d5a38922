"""Each thing said once (QA pass s6): the Compare page's TV stability warning (under Run
all, not in the sidebar as well), a link's or loaded settings' notices (the warning box
under the title, without a toast of the same words), and the Ray cluster module split by
job so that each module stays within 400 lines."""

from __future__ import annotations

from pathlib import Path

from dashboard.navigation import page_path

ROOT = Path(__file__).resolve().parents[1]
UNSTABLE = "unstable TV step"


def _said(dash, at, text: str) -> list[str]:
    """Every warning box and toast whose words contain ``text``."""
    boxes = [dash.shown(e.value) for e in [*at.warning, *at.toast]]
    return [b for b in boxes if text in b]


# ----------------------------------------------------------------------------- TV warning

def test_compare_says_an_unstable_tv_weight_once_before_and_after_a_run(dash):
    """``tv=3`` with the default schedule (tau up to 5): tau lambda / eps = 1.18 > 1/4. The
    warning stands under Run all (in view at 1280x720, where the TV weight in the sidebar
    is a screen below the fold) before the run, and after it the run's status says it,
    alone: not a second time in the sidebar."""
    at = dash.open(page_path("compare"), task="am", layer="logits", tv="3.0", steps=2,
                   every=1, cells="tv,plain")
    dash.no_exception(at)
    before = _said(dash, at, UNSTABLE)
    assert len(before) == 1, before
    assert not [w for w in at.sidebar.warning if UNSTABLE in dash.shown(w.value)]
    assert before[0].startswith("TV: unstable TV step: tau lambda / eps = 1.18")
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    after = _said(dash, at, UNSTABLE)
    assert after == before, after  # once, in the words the run's status uses
    assert not [w for w in at.sidebar.warning if UNSTABLE in dash.shown(w.value)]
    assert any("with the warnings above" in c.value for c in at.caption)  # the run said it
    at.run()  # a rerun of the finished run: still once
    assert len(_said(dash, at, UNSTABLE)) == 1


def test_compare_says_nothing_about_a_stable_tv_weight_or_a_grid_without_tv(dash):
    at = dash.open(page_path("compare"), task="am", layer="logits", steps=2, every=1,
                   cells="tv,plain")
    dash.no_exception(at)
    assert not _said(dash, at, UNSTABLE)
    at = dash.open(page_path("compare"), task="am", layer="logits", tv="3.0", steps=2,
                   every=1, cells="plain")
    dash.no_exception(at)
    assert not _said(dash, at, UNSTABLE)  # no TV cell runs: nothing to warn about


# ----------------------------------------------------------------------------- notices

def test_a_link_notice_is_said_once(dash):
    """``/Learn_demons?tau=100``: the box under the title names it; no toast repeats it."""
    at = dash.open(page_path("learn"), tau="100")
    dash.no_exception(at)
    said = _said(dash, at, "tau: 100.0 outside 0.01..1.5; using 1.5")
    assert len(said) == 1, said
    assert "Some settings of this link were not usable" in said[0]
    assert not at.toast, [t.value for t in at.toast]


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


def test_loaded_settings_name_each_value_once_and_toast_only_a_summary(dash):
    from streamlit.testing.v1 import AppTest

    from dashboard.widgets import notice_toast

    at = AppTest.from_function(_loading_page, default_timeout=60).run()
    at.button(key="load").click().run()
    assert not at.exception
    said = _said(dash, at, "step: 80 outside 0..5; using 5")
    assert len(said) == 1 and "loaded settings were not usable" in said[0], said
    assert [t.value for t in at.toast] == [notice_toast(1)]
    assert "step: 80" not in notice_toast(1)
    at.run()  # nothing loaded since: the box stays, no new toast
    assert len(_said(dash, at, "step: 80 outside")) == 1 and not at.toast


# ----------------------------------------------------------------------------- Ray modules

def test_ray_modules_stay_short_and_keep_their_names():
    from viz_core.sweeps import ray_hints, raycluster

    for mod in (raycluster, ray_hints):
        path = Path(mod.__file__)
        assert len(path.read_text().splitlines()) <= 400, path.name
    # what other modules, the CLI and the claims check read from raycluster
    for name in ("CONNECT_TIMEOUT", "REFUSED_GRACE", "check_ray_options", "check_ray_timeout",
                 "connect_ray", "start_local_ray", "failure_reason", "host_port",
                 "_wait_for_port", "abandoned_connect", "ItemFailed", "own_processes",
                 "end_processes", "driver_logs", "keep_sigterm", "import_ray", "RAY_MISSING"):
        assert hasattr(raycluster, name), name
    assert raycluster.failure_reason is ray_hints.failure_reason
    assert raycluster.host_port("ray://h:7") == ("h", 7)
