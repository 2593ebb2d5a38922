"""The History page and the pages that write to the store, through AppTest."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.navigation import page_path
from viz_core.images import png_bytes
from viz_core.store import RunRecord, RunStore

HISTORY = "pages/7_History.py"
PG, CMP = page_path("playground"), page_path("compare")


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    """A fresh store for this test (the dashboard's cached store is per path)."""
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(path))
    return RunStore(path)


def _fill(store: RunStore, n: int = 5) -> list[str]:
    rng = np.random.default_rng(0)
    ids = []
    for i in range(n):
        cfg = {"model": "fmnist_vgg", "task": "am", "target": 3, "step_size": 1.0 + i,
               "steps": 10, "fluid": None, "elastic": None, "seed": 0}
        ids.append(store.add(RunRecord(
            config=cfg, model="fmnist_vgg", task="am", scheme="plain GD", started=1e9 + i,
            ended=1e9 + i + 1, status="stopped" if i == 4 else "done",
            metrics={"objective": -1.0 - i, "total_variation": 0.1 * (5 - i)},
            curves={"step": [0, 5, 10], "objective": [0.0, -0.5 * i, -float(i)]},
            verdicts=[{"role": "judge", "model": "fmnist_resnet", "top": [["Dress", 0.5]],
                       "target": "Dress", "target_prob": 0.5, "chance": 0.1}],
            floors={"judge_target_prob": 0.1}, tags=["best"] if i == 2 else [],
            image=png_bytes(rng.random((1, 28, 28), dtype=np.float32)))))
    return ids


def _history(dash, **params) -> AppTest:
    return dash.open(HISTORY, **params)


def test_the_table_says_what_each_runs_activation_measures(store, dash):
    """Runs whose "activation" measures different things (a class logit, a log-probability,
    a channel mean, an inversion's feature error) say so in a target column."""
    rng = np.random.default_rng(1)
    configs = [({"task": "am", "target": 3, "class_score": "logit"}, "3 · Dress, logit"),
               ({"task": "am", "target": 1, "class_score": "log_prob"},
                "1 · Trouser, log-probability"),
               ({"task": "am", "target": 0, "channel": 5, "layer": "block3"},
                "channel 5 of block3, mean"),
               ({"task": "inversion", "layer": "block4"}, "inversion of block4")]
    for i, (cfg, _) in enumerate(configs):
        store.add(RunRecord(
            config={"model": "fmnist_vgg", **cfg}, model="fmnist_vgg", task=cfg["task"],
            scheme="plain GD", started=1e9 + i, ended=1e9 + i + 1,
            metrics={"activation": float(i)},
            image=png_bytes(rng.random((1, 28, 28), dtype=np.float32))))
    at = _history(dash)
    dash.no_exception(at)
    df = at.dataframe[0].value
    assert list(df["target"]) == [text for _, text in configs][::-1]  # newest first
    assert list(df["activation"]) == [3.0, 2.0, 1.0, 0.0]


def test_table_with_thumbnails_filters_and_sort(store, dash):
    ids = _fill(store)
    at = _history(dash)
    dash.no_exception(at)
    df = at.dataframe[0].value
    assert list(df["id"]) == ids[::-1]  # newest first
    assert all(t.startswith("data:image/png;base64,") for t in df["thumb"])
    assert {"objective", "total_variation", "status", "model", "scheme"} <= set(df.columns)
    at.selectbox(key="hi_tag").set_value("best").run()
    assert list(at.dataframe[0].value["id"]) == [ids[2]]
    at.selectbox(key="hi_tag").set_value("").run()
    at.selectbox(key="hi_status").set_value("stopped").run()
    assert list(at.dataframe[0].value["id"]) == [ids[4]]
    at.selectbox(key="hi_status").set_value("").run()
    at.selectbox(key="hi_sort").set_value("total_variation").run()
    assert list(at.dataframe[0].value["id"]) == ids  # total variation falls with i
    at.toggle(key="hi_desc").set_value(False).run()
    assert list(at.dataframe[0].value["id"]) == ids[::-1]


def test_runs_in_the_link_are_compared_side_by_side(store, dash):
    ids = _fill(store)
    at = _history(dash, runs=f"{ids[0]},{ids[3]}")
    dash.no_exception(at)
    assert len(at.image) == 2
    assert [i.proto.imgs[0].caption for i in at.image] == [f"{ids[0]} · done",
                                                            f"{ids[3]} · done"]
    tables = [t.value for t in at.dataframe[1:]]
    diff, metrics = tables[0], tables[1]
    assert list(diff.index) == ["step_size"]  # the only setting that differs
    assert list(diff.loc["step_size"]) == ["1", "4"]
    assert "floor" in metrics.columns
    obj = metrics[metrics["metric"] == "final objective"].iloc[0]  # the registry's label
    assert obj[ids[0]] == "-1" and obj[ids[3]] == "-4"
    assert [d.label for d in at.get("download_button")] == ["Export report (HTML)",
                                                          "Export report (PDF)"]
    assert len(at.get("plotly_chart")) == 1  # the objective curves overlaid


def test_one_run_opens_in_the_playground_and_takes_tags_and_notes(store, dash):
    ids = _fill(store, 2)
    at = _history(dash, runs=ids[1])
    dash.no_exception(at)
    link = next(p for p in at.get("page_link") if "Playground" in p.proto.label)
    assert link.proto.page == "Playground"
    assert "step_size=2.0" in link.proto.query_string and "steps=10" in link.proto.query_string
    from urllib.parse import parse_qsl

    pg = dash.open(PG, **dict(parse_qsl(link.proto.query_string)))  # following the link
    dash.no_exception(pg)
    assert pg.title[0].value == "Playground"
    assert pg.session_state["pg_step_size"] == 2.0 and pg.session_state["pg_steps"] == 10
    assert pg.session_state["pg_target"] == 3
    at.text_input[0].set_value("keep, paper")
    at.text_area[0].set_value("the one for the slides")
    next(b for b in at.button if b.label == "Save tags and note").click().run()
    r = store.get(ids[1])
    assert r.tags == ["keep", "paper"] and r.note == "the one for the slides"


def test_delete_and_undo(store, dash):
    ids = _fill(store, 3)
    at = _history(dash, runs=ids[0])
    at.button(key="hi_delete").click().run()
    dash.no_exception(at)
    assert store.count() == 2 and ids[0] not in list(at.dataframe[0].value["id"])
    at.button(key="hi_undo").click().run()
    assert store.count() == 3 and ids[0] in list(at.dataframe[0].value["id"])


def test_a_playground_run_is_stored_and_linked(store, dash):
    at = dash.open(PG, steps=4, every=2)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    runs = store.list()
    assert len(runs) == 1 and runs[0].status == "done"
    r = store.get(runs[0].id)
    assert r.curves["step"] == [0, 2, 4] and r.image.startswith(b"\x89PNG")
    assert r.config["steps"] == 4 and r.command == "dashboard playground"
    links = [p.proto.label for p in at.get("page_link")]
    assert f"In the history: {r.id}" in links
    at.run()  # a rerun does not store it twice
    assert store.count() == 1


def test_compare_stores_one_run_per_cell_in_one_group(store, dash):

    at = dash.open(CMP, steps=4, every=2, cells="sobolev-fluid,sobolev-elastic,tv")
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    runs = [store.get(r.id) for r in store.list()]
    assert len(runs) == 3 and len({r.group_id for r in runs}) == 1
    assert runs[0].group_id.startswith("compare ")
    assert {r.config["name"] for r in runs} == {"Sobolev fluid", "Sobolev elastic", "TV"}
    links = [p.proto for p in at.get("page_link")]
    (link,) = [p for p in links if p.label.startswith("In the history")]
    assert link.label == "In the history: 3 runs"  # a short label; the ids in its help
    assert all(r.id in link.help for r in runs)
    assert [d.label for d in at.get("download_button")][-2:] == ["Export report (HTML)",
                                                                 "Export report (PDF)"]


def test_a_sweep_on_the_page_stores_its_cells_in_one_group(store, dash):
    from test_sweeps_page import _page

    at = _page(steps=3, values1="0.1,0.4", values2="2,5")
    at.button(key="sw_run").click().run()
    dash.no_exception(at)
    runs = store.list()
    assert len(runs) == 4 and len({r.group_id for r in runs}) == 1
    assert runs[0].group_id.startswith("sweep ")
    assert {store.get(r.id).config["step_size"] for r in runs} == {2.0, 5.0}


def test_the_table_shows_the_registry_metrics_in_its_order(store, dash):
    """With many metric keys stored (inversion and class runs, gradient norms), the table
    shows the registry's metrics in its order, PSNR and SSIM among them (the first 8 keys
    alphabetically left them out once feature_error and the judge's were stored)."""
    keys = {"activation": 1.0, "coarse_fraction": 0.1, "feature_error": 0.5, "grad_norm": 2.0,
            "hf_fraction": 0.2, "judge_hit": 1.0, "judge_target_prob": 0.9,
            "model_target_prob": 0.9, "objective": -1.0, "psnr": 20.0, "ssim": 0.5,
            "total_variation": 0.1}
    store.add(RunRecord(config={"model": "fmnist_vgg", "task": "am", "target": 3},
                        model="fmnist_vgg", task="am", scheme="plain", started=1e9,
                        ended=1e9 + 1, metrics=keys))
    cols = list(_history(dash).dataframe[0].value.columns)
    shown = [c for c in cols if c in keys]
    assert shown == ["objective", "activation", "hf_fraction", "coarse_fraction",
                     "total_variation", "psnr", "ssim", "feature_error", "judge_target_prob",
                     "judge_hit"]


def test_a_run_that_warned_instead_of_done_keeps_the_warning(store, dash):
    """A saturated picture gets a warning instead of "done" on the page; its stored run
    keeps that warning as its message (it was stored as a plain done run)."""
    at = dash.open(PG, steps=3, every=3, step_size=100000)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    assert any("saturated" in w.value for w in at.warning)
    (r,) = store.list()
    assert store.get(r.id).message.startswith("saturated: ")


def test_compared_runs_name_their_weights_and_scheme_label(store, dash):
    """Each compared run's caption gives its weights hash (shown only in reports before)
    and its scheme's label."""
    ids = [store.add(RunRecord(
        config={"model": "fmnist_vgg", "task": "am", "target": 3, "seed": i},
        model="fmnist_vgg", task="am", scheme="plain", started=1e9 + i, ended=1e9 + i + 1,
        weights_hash="0123456789abcdef", metrics={"objective": -1.0},
        image=png_bytes(np.zeros((1, 28, 28), np.float32)))) for i in range(2)]
    at = _history(dash, runs=",".join(ids))
    dash.no_exception(at)
    caps = [dash.shown(c.value) for c in at.caption]
    assert sum("weights 0123456789ab · no regularization" in c for c in caps) == 2, caps
