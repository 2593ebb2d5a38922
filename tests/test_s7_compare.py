"""QA pass s7 on Compare and Paper presets: the TV stability warning (eqs. 19-20) said
once with the standard / robust pair side by side, naming both models; a Table 1 chart
that Streamlit cannot draw leaves a warning and the table (never a traceback); the
pages' logic modules import without Streamlit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dashboard import compare_page as cp
from dashboard import presets_page as pp
from dashboard.navigation import page_path
from dashboard.runs import RunRecord
from dashboard.settings.compare import compare_defaults
from dashboard.text import plain

ROOT = Path(__file__).resolve().parents[1]
UNSTABLE = "unstable TV step"
T1 = ROOT / "results" / "table1_offline.csv"  # committed: a missing file fails


def _warned() -> dict[str, str]:
    s = dict(compare_defaults(), task="am", octaves_on=False, tv=3.0, step_size=5.0,
             cells="tv,plain")
    configs, exc = cp.grid_configs(s, None, None)
    assert exc is None
    warned = cp.tv_warnings(configs)
    assert len(warned) == 1
    return warned


def _record(model: str, warnings: list[list[str]]) -> RunRecord:
    return RunRecord(labels=["TV", "no regularization"], configs=[], total=2,
                     model_label=f"{model} (offline)", steps=[0, 2], status="done",
                     images=np.zeros((2, 1, 8, 8), np.float32), warnings=warnings)


# ----------------------------------------------------------------------------- TV warning

def test_one_model_keeps_the_warning_under_run_all_until_its_status_says_it():
    warned = _warned()
    (warn, words), = warned.items()
    assert cp.tv_notes(warned, [], ["fmnist_resnet_robust (offline)"]) == ([words], [])
    rec = _record("fmnist_resnet_robust", [[warn], []])
    lines, shown = cp.tv_notes(warned, [rec], ["fmnist_resnet_robust (offline)"])
    assert lines == [] and shown[0] is rec  # its status says it, in the same words
    assert cp.tv_notes({}, [rec], ["m"]) == ([], [rec])


def test_the_pair_hears_each_tv_warning_once_naming_the_models():
    warned = _warned()
    (warn, words), = warned.items()
    pair = ["fmnist_resnet_robust (offline)", "fmnist_resnet (offline)"]
    assert cp.tv_notes(warned, [], pair)[0] == [f"{words} (for both models)"]  # before
    other = "saturated: 60% of the pixels at 0 or 255"
    recs = [_record("fmnist_resnet_robust", [[other, warn], []]),
            _record("fmnist_resnet", [[warn], []])]
    lines, shown = cp.tv_notes(warned, recs, pair)
    assert lines == [f"{words} (for both models)"]
    assert [r.warnings for r in shown] == [[[other], []], [[], []]]  # the rest stays
    assert recs[0].warnings == [[other, warn], []]  # the kept records are untouched
    assert [r.model_label for r in shown] == [r.model_label for r in recs]
    # only one model's run said it (the other ended before its checks): that one named
    recs[1].warnings = [[], []]
    assert cp.tv_notes(warned, recs, pair)[0] == [f"{words} (for fmnist_resnet_robust)"]
    assert cp.tv_notes({}, recs, pair) == ([], list(recs))


def test_compare_says_the_tv_warning_once_for_the_pair_before_and_after_a_run(dash):
    at = dash.open(page_path("compare"), task="am", layer="logits", tv="3.0", steps=2,
                   every=1, cells="tv,plain")
    at.toggle(key="cmp_robust").set_value(True).run()
    dash.no_exception(at)
    said = [dash.shown(w.value) for w in at.warning if UNSTABLE in dash.shown(w.value)]
    assert len(said) == 1 and said[0].startswith("TV: unstable TV step"), said
    assert said[0].endswith("(for both models)")
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    assert not dash.errors(at)
    recs = at.session_state["cmp_records"]
    assert len(recs) == 2 and all(any(UNSTABLE in w for w in r.warnings[0]) for r in recs)
    after = [dash.shown(w.value) for w in at.warning if UNSTABLE in dash.shown(w.value)]
    assert after == said, after  # once, not once per model's status
    titles = [dash.shown(m.value) for m in at.markdown
              if dash.shown(m.value) in {f"**{r.model_label}**" for r in recs}]
    assert len(titles) == 2  # each model's status is still there, under its name
    # a run with an unstable TV step is never "done": it finished, with the warning above
    assert not [s for s in at.success if "done:" in dash.shown(s.value)]
    assert len([c for c in at.caption if "with the warning above" in dash.shown(c.value)]) == 2
    at.run()  # a rerun of the finished pair: still once
    assert len([w for w in at.warning if UNSTABLE in dash.shown(w.value)]) == 1


# ----------------------------------------------------------------------------- Table 1 chart

def test_a_table1_chart_that_streamlit_cannot_draw_leaves_a_warning_and_the_table(
        dash, tmp_path, monkeypatch):
    import streamlit

    (tmp_path / "table1_offline.csv").write_text(T1.read_text())
    monkeypatch.setenv("DEMONS_VIZ_RESULTS", str(tmp_path))

    def broken(*args, **kwargs):
        raise ValueError("the chart cannot be sent")

    monkeypatch.setattr(streamlit, "plotly_chart", broken)
    at = dash.open(page_path("presets"))
    dash.no_exception(at)
    assert not dash.errors(at), dash.errors(at)  # not the page guard's "Something went wrong"
    said = [dash.shown(w.value) for w in at.warning]
    assert ("no chart for table1_offline.csv: the chart cannot be sent; the table is below"
            in said), said
    assert [f for f in at.dataframe if "method" in f.value.columns]  # the table still shows
    assert at.toggle(key="pp_cols_table1_offline")  # and everything after the chart


def test_no_chart_words_are_plain_text():
    assert pp.no_chart("t_*x*.csv", ValueError("bad")) == plain(
        "no chart for t_*x*.csv: bad; the table is below")


# ----------------------------------------------------------------------------- no Streamlit

@pytest.mark.parametrize("module", ["dashboard.compare_page", "dashboard.playground_page",
                                    "dashboard.jobs", "dashboard.presets_page"])
def test_the_pages_logic_imports_without_streamlit(module):
    code = ("import sys\nsys.modules['streamlit'] = None\n"
            f"import {module}\n"
            "print(sorted(m for m in sys.modules if m.startswith('streamlit.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().replace("'", '"')) == []


def test_run_panel_runs_the_same_job():
    from dashboard import jobs, run_panel

    assert run_panel.Job is jobs.Job and cp.Job is jobs.Job
