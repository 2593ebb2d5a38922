"""RunPanel (dashboard.run_panel): the one run lifecycle of the Playground, Compare and
Paper presets pages, and its hooks - every run that ends is reported once, with its
status; registered actions are drawn under every page's downloads."""

from __future__ import annotations

import pytest
import streamlit as st

from dashboard import run_panel
from dashboard.navigation import page_path
from dashboard.runs import RunRecord
from dashboard.settings.playground import playground_defaults
from viz_core import zoo

PG, CMP, PP = page_path("playground"), page_path("compare"), page_path("presets")


@pytest.fixture
def hooks():
    """A finish hook that records (page prefix, status, step) and an "Export" action."""
    seen: list[tuple[str, str, int]] = []

    def hook(rec: RunRecord, panel: run_panel.RunPanel) -> None:
        seen.append((panel.prefix, rec.status, rec.step))

    def export(panel: run_panel.RunPanel, records: list[RunRecord], key: str) -> None:
        st.button(f"Export {len(records)}", key=panel.prefix + "export")

    run_panel.on_finish(hook)
    run_panel.run_action(export)
    try:
        yield seen
    finally:
        run_panel.FINISH_HOOKS.remove(hook)
        run_panel.RUN_ACTIONS.remove(export)


def test_playground_reports_a_finished_run_once_and_draws_the_actions(dash, hooks):
    at = dash.open(PG, steps=4, every=2)
    assert not any(b.key == "pg_export" for b in at.button)  # nothing run yet
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    assert hooks == [("pg_", "done", 4)]
    assert at.button(key="pg_export").label == "Export 1"
    at.run()  # a rerun shows the same run: not reported again
    assert hooks == [("pg_", "done", 4)]


def test_a_run_ended_by_a_rerun_is_reported_as_stopped(dash, hooks):
    at = dash.open(PG)
    rec = RunRecord(["plain"], ["{}"], "m", 100)  # a run whose script was ended mid-way
    at.session_state["pg_records"] = [rec]
    at.run()
    dash.no_exception(at)
    assert rec.status == "stopped" and hooks == [("pg_", "stopped", 0)]
    assert any("stopped at step 0 of 100" in w.value for w in at.warning)


def test_compare_reports_each_model_of_the_pair(dash, hooks):
    at = dash.open(CMP, task="am", layer="logits", steps=2, every=1, cells="tv,plain")
    at.toggle(key="cmp_robust").set_value(True).run()
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    assert hooks == [("cmp_", "done", 2), ("cmp_", "done", 2)]
    assert at.button(key="cmp_export").label == "Export 2"
    labels = [dash.shown(c.value) for c in at.caption
              if dash.shown(c.value).startswith("Downloads of the run shown")]
    model = playground_defaults()["model"]
    standard = zoo.twin_of(model, "standard")
    assert len(labels) == 2 and f"{model} " in labels[0] and f"{standard} " in labels[1]


def test_a_batch_whose_model_cannot_load_ends_with_its_error_and_the_next_runs(dash, hooks,
                                                                              monkeypatch):
    """Paper presets: each batch loads its model when it starts; one that fails is an error
    record (reported), and the following batches still run."""
    import dataclasses

    from viz_core import presets

    fig4 = presets.fig4()
    short = [presets.Batch(b.title, [dataclasses.replace(c, steps=2, octaves=None, every=1,
                                                         name=c.name) for c in b.configs])
             for b in fig4.offline[:2]]
    short[0] = presets.Batch(short[0].title, [dataclasses.replace(c, model="no_such_model",
                                                                  name=c.name)
                                              for c in short[0].configs])
    monkeypatch.setitem(presets._FACTORIES, "fig4",
                        lambda: dataclasses.replace(fig4, offline=short))
    at = dash.open(PP)
    at.button(key="pp_fig4_off").click().run(timeout=600)
    dash.no_exception(at)
    assert [h[:2] for h in hooks] == [("pp_fig4_", "error"), ("pp_fig4_", "done")]
    assert any("no_such_model" in e for e in dash.errors(at))
