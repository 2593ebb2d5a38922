"""Link values that no run takes (hostile-input QA pass 5): a huge step size or jitter on
Compare, nan / inf / -0 / -5 / 1e309 in a sweep's axis values, a kernel size past what the
chosen kernel can be fitted to; each is said once in the link notice with the value the
page uses instead, and nothing reaches the run checks. A stale note names an uploaded
program as the model box does, never by the server's path."""

from __future__ import annotations

from dashboard.navigation import page_path

HUGE = "9" * 40


def _warnings(dash, at) -> str:
    return " ".join(dash.shown(w.value) for w in at.warning)


def _query(at) -> dict[str, str]:
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def test_compare_clamps_a_huge_step_size_and_jitter_once(dash):
    at = dash.open(page_path("compare"), weights="random", step_size=HUGE, jitter=HUGE)
    dash.no_exception(at)
    said = _warnings(dash, at)
    assert said.count("step_size: 1e+40 is out of range; using 1000.0") == 1, said
    assert said.count("jitter: 1e+40 is out of range; using 63.0") == 1, said
    assert "1e+40" not in said.replace("step_size: 1e+40", "").replace("jitter: 1e+40", "")
    assert not dash.errors(at), dash.errors(at)
    assert at.session_state["cmp_step_size"] == 1000.0
    assert at.session_state["cmp_jitter"] == 63.0
    assert _query(at)["step_size"] == "1000.0" and _query(at)["jitter"] == "63.0"


def test_sweeps_axis_values_that_cannot_run_are_named_and_left_out(dash):
    at = dash.open(page_path("sweeps"), values1="0.05,inf,-0,-5,1e309", values2="nan,5")
    dash.no_exception(at)
    said = _warnings(dash, at)
    for v, why in (("inf", "is not a finite number"), ("1e309", "is not a finite number"),
                   ("-5", "cannot run (gamma must be"), ("-0", "cannot run (gamma must be")):
        assert said.count(f"values1: '{v}' {why}") == 1, said
    assert "values2: 'nan' is not a finite number; using '5'" in said
    assert not dash.errors(at), dash.errors(at)  # no "cell 'gamma=nan...'" under the box
    assert at.session_state["sw_values1"] == "0.05"
    assert at.session_state["sw_values2"] == "5"
    assert at.button(key="sw_run").disabled is False


def test_sweeps_all_bad_values_fall_back_to_the_pages_values(dash):
    at = dash.open(page_path("sweeps"), values1="nan", values2="nan")
    dash.no_exception(at)
    said = _warnings(dash, at)
    assert said.count("values1: 'nan' is not a finite number; using '0.05,0.2,0.8'") == 1
    assert said.count("values2: 'nan' is not a finite number; using '2,5,10'") == 1
    assert not dash.errors(at), dash.errors(at)


def test_sweeps_kernel_size_is_clamped_to_what_the_kernel_fits(dash):
    """A Sobolev kernel is fitted up to size 37 (Sec. 2.7): 63 would be refused."""
    at = dash.open(page_path("sweeps"), size=HUGE, step_size=HUGE, jitter=HUGE)
    dash.no_exception(at)
    said = _warnings(dash, at)
    assert f"size: {HUGE} is out of range; using 37" in said, said
    assert "step_size: 1e+40 is out of range; using 1000.0" in said
    assert "jitter: 1e+40 is out of range; using 63.0" in said
    assert not dash.errors(at), dash.errors(at)
    assert at.session_state["sw_size"] == 37


def test_sweeps_stale_note_names_an_uploaded_program_not_its_path(dash):
    path = "/tmp/demons-viz-uploads/1fb1b6a8eb27a170/ok3.pt2"
    at = dash.open(page_path("sweeps"))
    dash.no_exception(at)
    settings = {k: at.session_state["sw_" + k] for k in ("model", "task", "scheme", "size")}
    at.session_state["sw_result"] = {
        "rows": [], "axes": ["gamma"], "total": 3, "grid": ([], []), "dir": "/nonexistent",
        "status": "done", "settings": {**settings, "model": path}}
    at.run()
    dash.no_exception(at)
    said = " ".join(dash.shown(i.value) for i in at.info)
    assert "from previous settings: ok3.pt2 (uploaded program 1fb1b6)" in said, said
    assert "/tmp/" not in said and "1fb1b6a8eb27a170" not in said



def test_the_playground_clamps_jitter_and_keeps_a_divergent_step_size(dash):
    """The Playground's jitter box takes the same largest jitter as Compare's (one notice
    for a link of 40 nines); its step size has no largest value: a step too large diverges,
    and the page says so (tests/test_pages.py)."""
    nines = "9" * 40
    at = dash.open(page_path("playground"), step_size="1e30", jitter=nines)
    dash.no_exception(at)
    said = " ".join(dash.shown(w.value) for w in at.warning)
    assert "jitter: 1e+40 is out of range; using 63.0" in said, said
    assert at.session_state["pg_jitter"] == 63.0
    assert at.session_state["pg_step_size"] == 1e30 and "step_size" not in said
