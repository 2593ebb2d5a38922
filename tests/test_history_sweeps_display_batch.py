"""A run computed in a batch (a Compare cell, a sweep cell) can come out visibly different
when run alone (QA: feature error 0.055 in a batch of 3, 0.113 alone): every place that
opens or reproduces such a run says so, with the batch's size where the store knows it."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import history_view as hv
from dashboard import sweeps_view as sv
from viz_core.images import png_bytes
from viz_core.store import RunRecord, RunStore
from viz_core.store.compare import batch_mates, batch_note, batch_size
from viz_core.store.report_html import html_report

HISTORY = "pages/7_History.py"


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(path))
    return RunStore(path)


def _cfg(**kw) -> dict:
    return {"model": "fmnist_vgg", "task": "inversion", "layer": "block2", "steps": 30,
            "step_size": 1.0, "seed": 0, "image": "0_ankle_boot.png", **kw}


def _run(group: str, command: str, i: int, model: str = "fmnist_vgg", **cfg) -> RunRecord:
    rng = np.random.default_rng(i)
    return RunRecord(config=_cfg(model=model, **cfg), model=model, task="inversion",
                     scheme="tv", group_id=group, command=command, started=1e9 + i,
                     ended=1e9 + i + 1, metrics={"feature_error": 0.05 + i / 100},
                     image=png_bytes(rng.random((1, 28, 28), dtype=np.float32)))


def _compare_click(store: RunStore) -> list[str]:
    """One Compare click with the standard / robust toggle: 3 cells of each model."""
    ids = [store.add(_run("compare 1a2b", "dashboard compare", i, tv=0.01 * i))
           for i in range(3)]
    ids += [store.add(_run("compare 1a2b", "dashboard compare", 3 + i,
                           model="fmnist_resnet", tv=0.01 * i)) for i in range(3)]
    return ids


def test_a_compare_cell_names_the_size_of_its_batch(store):
    ids = _compare_click(store)
    run = store.get(ids[0])
    assert batch_size(run, batch_mates(store, run)) == 3  # its model's cells, not the pair's
    note = batch_note(run, batch_mates(store, run))
    assert note.startswith("Computed in a batch of 3 runs:")
    assert "alone" in note and "last digits" in note
    store.delete(ids[1:2])  # a deleted cell was computed with it all the same
    assert batch_size(run, batch_mates(store, run)) == 3


def test_sweep_cells_say_a_batch_only_when_another_cell_could_share_it(store):
    group, cmd = "sweep s1 abcdef", "demons-viz sweep ..."
    same = [store.add(_run(group, cmd, i, step_size=1.0 + i)) for i in range(2)]
    alone = store.add(_run(group, cmd, 5, layer="block4"))  # another layer: its own batch
    run = store.get(same[0])
    # the sweep table's batch id is not stored with the run: no number is claimed
    assert batch_size(run, batch_mates(store, run)) is None
    assert batch_note(run, batch_mates(store, run)).startswith(
        "Computed in a batch of cells:")
    lone = store.get(alone)
    assert batch_note(lone, batch_mates(store, lone)) == ""


def test_runs_computed_alone_get_no_note(store):
    single = store.get(store.add(_run("", "dashboard playground", 0)))
    assert batch_note(single, batch_mates(store, single)) == ""
    # the CLI's --samples without a diversity term run one after another
    cli = [store.add(_run("visualize 0abc", "demons-viz visualize", i, seed=i))
           for i in range(3)]
    r = store.get(cli[0])
    assert batch_note(r, batch_mates(store, r)) == ""


def test_the_history_run_view_says_it_was_computed_in_a_batch(store, dash):
    ids = _compare_click(store)
    at = dash.open(HISTORY, runs=ids[0])
    dash.no_exception(at)
    captions = [c.value for c in at.caption]
    assert any("Computed in a batch of 3 runs" in c and "run alone" in c for c in captions)
    # side by side: a short note per run and one explanation
    at = dash.open(HISTORY, runs=",".join(ids[:2]))
    dash.no_exception(at)
    captions = [dash.shown(c.value) for c in at.caption]
    assert sum(c.startswith("⚠ Computed in a batch of 3 runs") for c in captions) == 2
    assert any(c.startswith(f"⚠ {ids[0]}, {ids[1]}: computed in a batch") for c in captions)


def test_the_report_says_which_runs_were_computed_in_a_batch(store):
    ids = _compare_click(store)
    alone = store.add(_run("", "dashboard playground", 9))
    runs = [store.get(i) for i in (ids[0], alone)]
    html = hv.report_html(runs, store).decode()
    reproduce = html.split("<h2>Reproduce</h2>")[1]
    assert reproduce.count("Computed in a batch of 3 runs") == 1
    assert "last digits" in reproduce
    # without the store (the CLI's export): a run of a group may have shared a batch
    sweep = _run("sweep s1 abcdef", "demons-viz sweep ...", 7)
    assert "May have been computed in a batch" in html_report([sweep])


def test_the_sweeps_page_says_each_cells_batch_when_it_opens_in_the_playground():
    rows = [{"cell_id": "a", "batch_id": "b0"}, {"cell_id": "b", "batch_id": "b0"},
            {"cell_id": "c", "batch_id": "b1"}]
    sizes = sv.batch_sizes(rows)
    assert sizes == {"b0": 2, "b1": 1}
    assert "batch of 2 cells" in sv.open_help(rows[0], sizes)
    assert "differ visibly" in sv.open_help(rows[0], sizes)
    assert "alone" in sv.open_help(rows[2], sizes) and "differ" not in sv.open_help(
        rows[2], sizes)


def test_the_sweeps_page_shows_the_batch_note_above_its_cells(dash):
    at = dash.open("pages/6_Sweeps.py", steps=3, values1="0.1,0.4", axis2="none")
    at.button(key="sw_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value == sv.BATCH_NOTE for c in at.caption)
    opens = [b for b in at.button if b.key and b.key.startswith("sw_open_")]
    assert opens and all("a batch of 2 cells" in b.help for b in opens)
