"""Reports and the store as a demo person meets them: each setting once in a report (the
dashboard's copy of the settings apart, the run's defining settings first), the curves'
last tick inside the picture, and the engine batch a run shared stored with it (a sweep's
cells, a page's batch), so that History says its size; old stores still open."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from types import SimpleNamespace

import numpy as np
from PIL import Image

from viz_core.store import RunRecord, RunStore, schema
from viz_core.store.compare import batch_mates, batch_note, batch_size
from viz_core.store.figures import line_chart
from viz_core.store.report_html import html_report
from viz_core.store.sweep_runs import batch_sizes, cell_record

UI = {"ui": {"target": 1, "steps": 200, "octaves_on": True, "f_kind": "sobolev"}}


def _config(**kw) -> dict:
    base = {"model": "fmnist_vgg", "task": "am", "target": 1, "class_score": "logit",
            "layer": None, "channel": None, "image": None, "p": 2, "tv": 0.0,
            "tv_eps": 0.05, "fluid": {"kind": "sobolev", "size": 7}, "elastic": None,
            "step_size": 5.0, "steps": 200, "octaves": None, "optimizer": "demons",
            "adam_betas": [0.9, 0.999], "adam_eps": 1e-8, "device": "auto", "every": 10,
            "name": "", "extra": UI}
    return {**base, **kw}


def _rows(html: str, section: str) -> list[str]:
    """The setting names of the rows in ``section`` of the report's settings."""
    return re.findall(r"<tr(?: class=\"diff\")?><td>([^<]+)</td>", section)


def test_a_single_runs_report_shows_what_defines_it_and_each_setting_once():
    """QA: a single run's report listed ~60 settings including extra.ui.*."""
    run = RunRecord(config=_config(), model="fmnist_vgg", task="am", scheme="fluid_sobolev",
                    id="aaaaaaaaaaaa")
    html = html_report([run])
    settings = html.split("<h2>Settings</h2>", 1)[1].split("<h2>Reproduce</h2>")[0]
    main, *folded = settings.split("<details>")
    shown = _rows(html, main)
    assert "target" in shown and "fluid.kind" in shown and "step_size" in shown
    assert not [k for k in shown if k.startswith("extra") or k in (
        "channel", "image", "layer", "adam_betas", "tv_eps", "p", "every", "device")]
    assert re.search(r"<td>target</td><td>1 · Trouser</td>", main)
    other = next(p for p in folded if "other stored settings" in p)
    ui = next(p for p in folded if "the dashboard's copy" in p)
    assert not set(shown) & set(_rows(html, other))  # each setting in one place
    assert set(_rows(html, other)) >= {"p", "tv_eps", "adam_betas", "device", "every"}
    assert _rows(html, ui) == ["target", "steps", "octaves_on", "f_kind"]  # the ui copy
    assert "extra.ui" not in html and len(shown) == len(set(shown)) <= 20


def test_a_comparison_report_says_the_ui_copy_once_in_its_own_section():
    """QA: the report repeated extra.ui.target, steps and octaves_on right after saying
    they do not change the computation."""
    a = RunRecord(config=_config(octaves=[[1.0, 120, 10.0], [1.0, 80, 5.0]]), model="fmnist_vgg",
                  task="am", scheme="fluid_sobolev", id="aaaaaaaaaaaa")
    b = RunRecord(config=_config(target=7, steps=3000, extra={"ui": {
        "target": 7, "steps": 3000, "octaves_on": False, "f_kind": "sobolev"}}),
        model="fmnist_vgg", task="am", scheme="fluid_sobolev", id="bbbbbbbbbbbb")
    html = html_report([a, b])
    assert "extra.ui" not in html
    # the octave run's stages decide its steps (200 in all) and taus: its step_size is
    # unused ("-"), beside the other run's 5
    assert "4 setting(s) differ (highlighted)." in html
    assert re.search(r'<tr class="diff"><td>step_size</td><td>-</td><td>5</td>', html)
    assert re.search(r'<tr class="diff"><td>target</td><td>1 · Trouser</td>'
                     r'<td>7 · Sneaker</td>', html)
    assert re.search(r'<tr class="diff"><td>octaves</td><td>x1.0 120 steps tau 10; x1.0 80 '
                     r'steps tau 5</td><td>-</td>', html)
    ui = html.split("the dashboard's copy of the settings", 1)[1].split("</details>")[0]
    assert _rows(html, ui) == ["target", "steps", "octaves_on", "f_kind"]
    assert html.count("<td>octaves_on</td>") == 1


def test_the_last_tick_of_a_curve_stays_inside_the_picture():
    """QA: the "3000" tick was cut at the report's curve's right edge."""
    steps = list(range(0, 3001, 10))
    png = line_chart([("a", steps, [float(np.exp(-s / 300)) for s in steps])], "D")
    img = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    h, w = img.shape
    band = img[h - 60 + 4:h - 60 + 22]  # the x tick labels' row, below the axis
    assert (band[:, w - 3:] > 200).all()  # nothing drawn against the right edge
    assert (band[:, w - 60:w - 3] < 128).any()  # the last label is there


def _row(cell: str, batch: str) -> dict:
    cfg = {"model": "fmnist_vgg", "task": "am", "target": 1, "steps": 3}
    return {"cell_id": cell, "batch_id": batch, "model": "fmnist_vgg", "task": "am",
            "scheme": "plain", "config": json.dumps(cfg), "objective": -1.0}


def test_sweep_cells_keep_their_batch_size(tmp_path):
    """QA: History said "computed in a batch of cells" without the size."""
    rows = [_row("c0", "b0"), _row("c1", "b0"), _row("c2", "b0"), _row("c3", "b1")]
    sizes = batch_sizes(rows)
    assert sizes == {"b0": 3, "b1": 1}
    store = RunStore(tmp_path / "runs.sqlite")
    group = "sweep path 0a1b2c"
    ids = [store.add(cell_record(r, None, group, batch_size=sizes[r["batch_id"]]))
           for r in rows]
    got = [store.get(i) for i in ids]
    assert [r.batch_size for r in got] == [3, 3, 3, 1]
    assert sorted(r.batch_size for r in store.list(group=group)) == [1, 3, 3, 3]
    note = batch_note(got[0], batch_mates(store, got[0]))
    assert note.startswith("Computed in a batch of 3 cells:")
    assert batch_note(got[3], batch_mates(store, got[3])) == ""  # alone in its batch
    assert batch_size(got[0], None) == 3  # without looking its group up


def test_the_dashboards_sweep_cells_keep_their_batch_size(tmp_path):
    from dashboard.run_history import remember_sweep_batch

    rows = [_row("c0", "b7"), _row("c1", "b7")]
    result = SimpleNamespace(rows=rows, pngs={}, curves=lambda cid: {},
                             verdicts=lambda cid: [])
    store = RunStore(tmp_path / "runs.sqlite")
    ids = remember_sweep_batch(result, str(tmp_path / "sw"), store)
    assert isinstance(ids, list) and [store.get(i).batch_size for i in ids] == [2, 2]


def test_the_cli_sweep_stores_each_cells_batch(tmp_path, capsys):
    from viz_core.cli import main

    store = tmp_path / "runs.sqlite"
    assert main(["sweep", "--model", "fmnist_vgg", "--task", "am", "--target", "3",
                 "--steps", "2", "--axis", "target=1,3,7", "--batch-size", "2",
                 "--judge", "none", "--quiet", "--out", str(tmp_path / "sw"),
                 "--store", str(store)]) == 0
    assert sorted(r.batch_size for r in RunStore(store).list()) == [1, 2, 2]


def test_a_store_from_before_batch_sizes_opens_and_takes_them(tmp_path):
    path = tmp_path / "runs.sqlite"
    con = sqlite3.connect(path, isolation_level=None)
    schema.migrate(con, target=3)
    con.execute("INSERT INTO runs (id, started, ended, status, model, task, scheme, config, "
                "group_id) VALUES ('abcdef012345', 1.0, 2.0, 'done', 'm', 'am', 'plain', "
                "'{}', 'presets 1234')")
    con.close()
    store = RunStore(path)
    old = store.get("abcdef")
    assert old.batch_size is None and batch_size(old, None) is None
    new = store.add(RunRecord(config={}, model="m", task="am", scheme="plain",
                              group_id="presets 99", batch_size=8))
    assert store.get(new).batch_size == 8 and store.get(new).summary()["batch_size"] == 8
    assert batch_note(store.get(new), None).startswith("Computed in a batch of 8 runs")
