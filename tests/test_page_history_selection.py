"""The History page's selection through AppTest: it is a set of run ids (never row positions),
so deleting, sorting and unticking select nothing the user did not pick (Undo selects again
what was selected before the delete); a run id from the link is shown as text, never as a
link."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest
from test_page_history import HISTORY, _fill

from viz_core.store import RunRecord, RunStore


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    """A fresh store for this test (the dashboard's cached store is per path)."""
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(path))
    return RunStore(path)


def _tick(at: AppTest, *rows: int) -> AppTest:
    """Tick these rows of the table (positions as shown), as a click in the browser does."""
    table = at.dataframe[0]
    assert table.key, "the History table has a key"
    at.session_state[table.key] = {"selection": {"rows": list(rows), "columns": [],
                                                 "cells": []}}
    return at.run()


def _shown_runs(at: AppTest) -> list[str]:
    """The run ids of the comparison under the table (one run: its subheader; several: the
    captions of their pre-images)."""
    heads = [h.value for h in at.subheader]
    if any(h.startswith("Run ") for h in heads):
        return [h.removeprefix("Run ") for h in heads if h.startswith("Run ")]
    return [i.proto.imgs[0].caption.split(" · ")[0] for i in at.image]


def _delete_label(at: AppTest) -> str | None:
    return next((b.label for b in at.button if b.label.startswith("Delete")), None)


def _ok(dash, at: AppTest) -> None:
    dash.no_exception(at)
    assert dash.errors(at) == []


def _open(dash) -> AppTest:
    at = dash.open(HISTORY)
    _ok(dash, at)
    return at


def test_deleting_a_ticked_run_leaves_no_other_run_selected(store: RunStore, dash):
    ids = _fill(store, 3)
    at = _tick(_open(dash), 0)  # the newest run
    assert _shown_runs(at) == [ids[2]] and _delete_label(at) == "Delete 1 run(s)"
    at.button(key="hi_delete").click().run()
    _ok(dash, at)
    assert store.count() == 2 and list(at.dataframe[0].value["id"]) == [ids[1], ids[0]]
    assert _shown_runs(at) == [] and _delete_label(at) is None  # no other run selected
    assert "runs" not in at.query_params
    at.button(key="hi_undo").click().run()  # the run comes back, selected as before
    _ok(dash, at)
    assert store.count() == 3 and list(at.dataframe[0].value["id"]) == ids[::-1]
    assert _shown_runs(at) == [ids[2]] and _delete_label(at) == "Delete 1 run(s)"
    assert at.query_params["runs"] == ids[2]


def test_deleting_the_last_row_is_no_error(store: RunStore, dash):
    ids = _fill(store, 3)
    at = _tick(_open(dash), 2)  # the oldest run, the table's last row
    assert _shown_runs(at) == [ids[0]]
    at.button(key="hi_delete").click().run()
    _ok(dash, at)
    assert store.count() == 2 and _shown_runs(at) == [] and _delete_label(at) is None


def test_a_run_deleted_from_the_link_leaves_the_selection(store: RunStore, dash):
    ids = _fill(store, 3)
    at = dash.open(HISTORY, runs=ids[0])
    _ok(dash, at)
    at.button(key="hi_delete").click().run()
    _ok(dash, at)
    assert _shown_runs(at) == [] and "runs" not in at.query_params
    at.button(key="hi_undo").click().run()  # Undo gives back the view before the delete
    _ok(dash, at)
    assert store.count() == 3 and _shown_runs(at) == [ids[0]]
    assert at.query_params["runs"] == ids[0]


def test_sorting_keeps_the_same_runs_selected(store: RunStore, dash):
    ids = _fill(store, 4)
    at = _tick(_open(dash), 0, 3)  # the newest and the oldest
    assert sorted(_shown_runs(at)) == sorted([ids[3], ids[0]])
    assert sorted(at.query_params["runs"].split(",")) == sorted([ids[3], ids[0]])
    at = _tick(at, 0)  # untick the oldest: only the newest stays
    assert _shown_runs(at) == [ids[3]] and at.query_params["runs"] == ids[3]
    at.toggle(key="hi_desc").set_value(False).run()  # oldest first: the newest is row 3
    _ok(dash, at)
    assert list(at.dataframe[0].value["id"]) == ids
    assert _shown_runs(at) == [ids[3]] and at.query_params["runs"] == ids[3]
    at.selectbox(key="hi_sort").set_value("total_variation").run()  # falls with i
    _ok(dash, at)
    assert _shown_runs(at) == [ids[3]] and at.query_params["runs"] == ids[3]
    at = _tick(at, 0, 1)  # ascending total variation: ids[3], ids[2]
    assert sorted(_shown_runs(at)) == sorted([ids[3], ids[2]])
    at.selectbox(key="hi_sort").set_value("started").run()  # back to the first order
    at.toggle(key="hi_desc").set_value(True).run()
    _ok(dash, at)
    assert list(at.dataframe[0].value["id"]) == ids[::-1]
    assert sorted(_shown_runs(at)) == sorted([ids[3], ids[2]])
    at = _tick(at, 1)  # row 1 is ids[2] again: ids[3] is unticked
    assert _shown_runs(at) == [ids[2]] and at.query_params["runs"] == ids[2]


def test_filtering_keeps_the_selection_by_id(store: RunStore, dash):
    ids = _fill(store, 5)
    at = _tick(_open(dash), 2)  # ids[2], the one tagged "best"
    assert _shown_runs(at) == [ids[2]]
    at.selectbox(key="hi_status").set_value("stopped").run()  # only ids[4] is shown
    _ok(dash, at)
    assert list(at.dataframe[0].value["id"]) == [ids[4]]
    at.selectbox(key="hi_status").set_value("").run()
    _ok(dash, at)
    assert _shown_runs(at) == [ids[2]] and at.query_params["runs"] == ids[2]


def test_unticking_every_row_clears_the_selection(store: RunStore, dash):
    ids = _fill(store, 3)
    at = _tick(_open(dash), 0, 1)
    assert sorted(_shown_runs(at)) == sorted(ids[1:])
    at = _tick(at)  # untick both
    _ok(dash, at)
    assert _shown_runs(at) == [] and _delete_label(at) is None
    assert "runs" not in at.query_params


def test_unticking_the_run_of_the_link_clears_it(store: RunStore, dash):
    ids = _fill(store, 3)
    at = dash.open(HISTORY, runs=ids[1])
    assert _shown_runs(at) == [ids[1]]
    at = _tick(at)
    _ok(dash, at)
    assert _shown_runs(at) == [] and "runs" not in at.query_params


@pytest.mark.parametrize("bad", ["[click me](http://evil.example/phish)",
                                 "**bold** http://evil.example"])
@pytest.mark.parametrize("with_good", [False, True])
def test_a_bad_run_id_in_the_link_is_shown_as_text(store: RunStore, dash, bad, with_good):
    ids = _fill(store, 2)
    at = dash.open(HISTORY, runs=f"{bad},{ids[0]}" if with_good else bad)
    _ok(dash, at)
    warnings = [w.value for w in at.warning]
    assert warnings and all("](" not in w and "**" not in w and "http://" not in w
                            for w in warnings), warnings
    shown = bad.split("(")[0].strip()  # "[click me]", "**bold**": literal characters
    assert any(shown in dash.shown(w) for w in warnings), warnings
    assert _shown_runs(at) == ([ids[0]] if with_good else [])


def test_an_empty_store_says_where_runs_come_from(store: RunStore, dash):
    at = _open(dash)
    assert any("No runs yet" in i.value for i in at.info), [i.value for i in at.info]


def test_an_uploaded_program_shows_by_its_file_name(store: RunStore, dash):
    from dashboard.programs import upload_dir

    ids = _fill(store, 1)
    path = str(upload_dir() / "0123456789abcdef" / "tiny.pt2")
    store.add(RunRecord(config={"model": path, "task": "am", "target": 0}, model=path,
                        task="am", scheme="plain GD", started=2e9, ended=2e9 + 1))
    other = str(upload_dir() / "fedcba9876543210" / "tiny.pt2")  # another file, same name
    store.add(RunRecord(config={"model": other, "task": "am", "target": 0,
                                "weights": "random"}, model=other, task="am",
                        scheme="plain GD", started=2e9 + 2, ended=2e9 + 3))
    at = _open(dash)
    assert list(at.dataframe[0].value["model"]) == [
        "tiny.pt2 (uploaded fedcba) · RANDOM weights", "tiny.pt2 (uploaded 012345)",
        "fmnist_vgg"]
    assert str(upload_dir()) not in " ".join(at.selectbox(key="hi_model").options)
    assert len(ids) == 1
