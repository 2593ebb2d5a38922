"""A shown result's "target activation" is named by the settings it was run with (the data
term of eqs. 3-4: a logit or log-probability for activation maximisation, the relative
feature error of eq. 2 for an inversion), not by the sidebar's current task: switching
the task without running keeps the old result under its own label (marked "from previous
settings")."""

from __future__ import annotations

import json

from dashboard.navigation import page_path
from dashboard.results import short_figure
from dashboard.settings.labels import run_activation_label
from dashboard.settings.playground import playground_defaults
from viz_core import zoo
from viz_core.config import RunConfig
from viz_core.offline_nets import offline_layers

PG, CMP = page_path("playground"), page_path("compare")
INVERSION = "relative feature error"
LOG_PROB = "target log-probability"
_BLOCKS = [lay for lay in offline_layers(zoo.get_spec(playground_defaults()["model"])
                                         .architecture) if "." not in lay and lay != "logits"]
MID = _BLOCKS[(len(_BLOCKS) - 1) // 2]


def _table(dash, at) -> str:
    return next(dash.shown(m.value) for m in at.markdown if m.value.startswith("| quantity"))


def _curves_titles(at) -> list[str]:
    """The subplot titles of the curves figure (data term D, then the activation's label)."""
    for chart in at.get("plotly_chart"):
        titles = [a.get("text", "") for a in
                  json.loads(chart.proto.spec)["layout"].get("annotations", [])]
        if titles and titles[0].startswith("data term D"):
            return titles
    return []


def test_run_activation_label_reads_the_stored_configuration():
    assert run_activation_label([RunConfig(task="inversion", layer="x").to_json()]) == INVERSION
    assert run_activation_label([RunConfig(class_score="log_prob").to_json()]) == LOG_PROB
    assert run_activation_label([RunConfig(layer="c", channel=1, unit=(0, 0)).to_json()]) \
        == "target activation (unit)"
    assert run_activation_label([]) == "target activation"  # nothing stored: no task claimed
    assert run_activation_label(["not json"]) == "target activation"


def test_playground_am_result_keeps_its_label_after_switching_to_inversion(dash):
    at = dash.open(PG, task="am", class_score="log_prob", steps=4, every=2)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    assert f"| {LOG_PROB} |" in _table(dash, at)
    at.radio(key="pg_task").set_value("inversion").run()  # no new run
    dash.no_exception(at)
    assert any("from previous settings" in dash.shown(w.value)
               for w in list(at.warning) + list(at.info) + list(at.caption))
    table = _table(dash, at)
    assert f"| {LOG_PROB} |" in table and INVERSION not in table
    assert _curves_titles(at)[1] == LOG_PROB


def test_playground_inversion_result_keeps_its_label_after_switching_to_am(dash):
    at = dash.open(PG, task="inversion", layer=MID, steps=4, every=2)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    assert f"| {INVERSION} |" in _table(dash, at)
    at.radio(key="pg_task").set_value("am").run()
    dash.no_exception(at)
    table = _table(dash, at)
    assert f"| {INVERSION} |" in table and "target" not in table.split("\n")[2]


def test_compare_am_result_keeps_its_label_after_switching_to_inversion(dash):
    at = dash.open(CMP, task="am", layer="logits", class_score="log_prob", steps=2, every=1,
                   cells="tv,plain")
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    at.radio(key="cmp_task").set_value("inversion").run()
    dash.no_exception(at)
    captions = [c for i in at.main.image for c in i.captions if "·" in c]
    # the captions' short form of the run's figure (results.short_figure): "log-probability"
    assert captions and all(short_figure(LOG_PROB) in c and "error" not in c
                            for c in captions), captions
    columns = list(at.dataframe[0].value.columns)
    assert LOG_PROB in columns and INVERSION not in columns
