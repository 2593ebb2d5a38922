"""The History page's QA fixes: a sweep's cells told apart (their varied values, the sweep
by what it swept), a run deleted in another tab, "settings that differ" (only the odd
values highlighted, a fitted sigma / gamma by its value, the judge's top-1 with its chance),
and the sort list's labels."""

from __future__ import annotations

import numpy as np
import pytest

from viz_core.images import png_bytes
from viz_core.store import RunRecord, RunStore
from viz_core.store.compare import differing_settings, metric_rows
from viz_core.store.report_html import html_report
from viz_core.store.settings_text import cell_label, odd_ones, origin, setting_text
from viz_core.store.sweep_runs import cell_run_id, sweep_group

HISTORY = "pages/7_History.py"
VERDICT = [{"role": "judge", "model": "lenet", "top": [["Sneaker", 0.8]], "target": "Sneaker",
            "target_prob": 0.8, "chance": 0.1}]


def _run(i: int, **cfg) -> RunRecord:
    config = {"model": "fmnist_vgg", "task": "am", "target": 7, "steps": 40, "step_size": 5.0,
              "fluid": {"kind": "sobolev", "param": None, "size": 21, "order": 1}, **cfg}
    rng = np.random.default_rng(i)
    return RunRecord(config=config, model="fmnist_vgg", task="am", scheme="fluid sobolev",
                     started=1e9 + i, ended=1e9 + i + 1, command="dashboard playground",
                     metrics={"activation": float(i), "judge_hit": 1.0}, verdicts=VERDICT,
                     image=png_bytes(rng.random((1, 28, 28), dtype=np.float32)))


def _cell(group: str, i: int, name: str) -> RunRecord:
    r = _run(i, name=name)
    r.group_id, r.command, r.id = group, "dashboard sweeps", cell_run_id(group, name)
    return r


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(path))
    return RunStore(path)


# ------------------------------------------------------------------ the shared helpers

def test_only_the_odd_values_stand_out():
    assert odd_ones([5, 5, 2]) == [False, False, True]  # two of three share 5
    assert odd_ones([2, 5, 5]) == [True, False, False]
    assert odd_ones([1, 2]) == [False, True]  # no majority: against the first run


def test_a_fitted_parameter_shows_its_value_marked_fitted():
    a, b = _run(0), _run(1, fluid={"kind": "sobolev", "param": None, "size": 11, "order": 1})
    diff = differing_settings([a, b])
    assert [setting_text("fluid.param", v) for v in diff["fluid.param"]] == \
        ["3.933 (fitted)", "0.3822 (fitted)"]
    single = html_report([a])  # one run's report lists the fitted gamma too
    assert "3.933 (fitted)" in single


def test_the_judges_top1_row_has_chance_as_its_floor():
    rows = {k: f for k, _, f in metric_rows([_run(0), _run(1)])}
    assert rows["judge_hit"] == "chance 10%"


def test_the_report_highlights_only_the_values_that_differ_from_the_majority():
    runs = [_run(0), _run(1), _run(2, step_size=2.0)]
    for r, i in zip(runs, "abc"):
        r.id = i * 12
    html = html_report(runs)
    assert '<tr class="diff"><td>step_size</td><td>5</td><td>5</td><td>2</td>' in html
    style = html.split("<style>.differ ")[1].split(" {")[0]
    assert style == "tr:nth-child(2) td:nth-child(4)"  # step_size of the third run only


def test_a_sweep_cell_by_its_varied_values_and_a_dashboard_sweep_by_its_axes():
    cell = _cell(sweep_group("/tmp/demons-viz-sweep-570pybjt"), 0, "gamma=0.1,step_size=5")
    assert cell_label(cell) == "gamma=0.1, step_size=5"
    assert origin(cell) == "Sweep gamma x step_size"
    assert cell_label(_run(0, name="Sobolev fluid")) == ""  # no sweep: no cell


# ------------------------------------------------------------------ the page

def test_sweep_cells_are_told_apart_and_the_sweep_named_by_what_it_swept(store, dash):
    group = sweep_group("/tmp/demons-viz-sweep-570pybjt")
    names = ["gamma=0.1,step_size=2", "gamma=0.1,step_size=5", "gamma=1,step_size=2"]
    for i, n in enumerate(names):
        store.add(_cell(group, i, n))
    store.add(_run(9))
    at = dash.open(HISTORY)
    dash.no_exception(at)
    df = at.dataframe[0].value
    assert sorted(v for v in df["cell"] if v) == sorted(n.replace(",", ", ") for n in names)
    made_by = at.selectbox(key="hi_group")
    shown = [o for o in made_by.options if o != "(any)"]  # as the box shows them
    assert len(shown) == 1 and shown[0].startswith("Sweep gamma x step_size, "), shown
    assert "demons-viz-sweep" not in " ".join(df["origin"])


def test_settings_that_differ_highlight_the_odd_one_and_do_not_scroll(store, dash):
    ids = [store.add(_run(i, steps=40 + 10 * (i == 1), step_size=2.0 if i == 0 else 5.0))
           for i in range(3)]
    at = dash.open(HISTORY, runs=",".join(ids))
    dash.no_exception(at)
    styles = at.dataframe[1].proto.arrow_data.styler.styles
    import re
    # steps of the second run (40, 50, 40), tau of the first (2, 5, 5); nothing else
    assert sorted(re.findall(r"_row(\d+)_col(\d+)", styles)) == [("0", "1"), ("1", "0")]


def test_settings_that_differ_get_the_height_of_all_their_rows():
    from dashboard.history_view import settings_styled

    runs = [_run(0), _run(1, **{f"extra_{i}": i for i in range(12)})]
    style, height = settings_styled(runs)
    assert len(style.data) == 12 and height == 35 * 13 + 3  # not Streamlit's ~10 rows


def test_a_note_on_a_run_deleted_in_another_tab_keeps_its_text(store, dash):
    rid = store.add(_run(0))
    at = dash.open(HISTORY, runs=rid)
    dash.no_exception(at)
    store.delete([rid])  # another tab deletes it
    at.text_area(key=f"hi_note_{rid}").set_value("keep me")
    at.button[[b.label for b in at.button].index("Save tags and note")].click().run()
    dash.no_exception(at)
    said = " ".join(dash.shown(w.value) for w in at.warning)
    assert f"Run {rid} was deleted (in another tab)" in said and "no run" not in said
    assert said.count(f"Run {rid} was deleted") == 1, said  # once, not again at the form
    assert at.text_area(key=f"hi_note_{rid}").value == "keep me"
    assert any("deleted" in str(c.value) for c in at.caption) or "deleted" in said
    store.restore([rid])  # Undo in the other tab; this tab saves again
    at.run()
    assert at.text_area(key=f"hi_note_{rid}").value == "keep me"
    at.button[[b.label for b in at.button].index("Save tags and note")].click().run()
    assert store.get(rid).note == "keep me"


def test_the_sort_list_names_an_inversions_error_once(store, dash):
    store.add(_run(0))
    inv = _run(1, task="inversion", layer="block2")
    inv.task, inv.metrics = "inversion", {"activation": 0.3, "feature_error": 0.3}
    store.add(inv)
    at = dash.open(HISTORY)
    sort = at.selectbox(key="hi_sort")
    labels = list(sort.options)  # as the box shows them
    assert sum("feature error" in lab for lab in labels) == 1, labels


def test_a_tab_says_when_the_store_changed_since_its_list():
    from dashboard.run_history import changes_text

    assert changes_text((3, 0, "a"), (5, 0, "b")) == "2 new runs since this list was drawn"
    assert changes_text((3, 0, "a"), (3, 0, "a")) == ""
    assert "deleted" in changes_text((3, 0, "a"), (2, 1, "a"))


def test_history_list_on_the_command_line_tells_sweep_cells_apart(store, capsys):
    """``demons-viz history list``: a "varied" column gives each sweep cell's values, as the
    page's does (the final QA pass found six identical rows); none without sweep cells."""
    from viz_core.cli import main

    group = sweep_group("/tmp/sw3")
    for i, n in enumerate(["gamma=0.1,step_size=2", "gamma=1,step_size=2"]):
        store.add(_cell(group, i, n))
    store.add(_run(9))
    assert main(["history", "list", "--store", str(store.path)]) == 0
    head, *rows = capsys.readouterr().out.strip().splitlines()
    col = head.split("\t").index("varied")
    assert sorted(r.split("\t")[col] for r in rows) == [
        "-", "gamma=0.1, step_size=2", "gamma=1, step_size=2"]
    assert main(["history", "list", "--store", str(store.path), "--group", "sw3",
                 "--sort", "ended"]) == 0
    assert "varied" in capsys.readouterr().out.splitlines()[0]
