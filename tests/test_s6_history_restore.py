"""``demons-viz history restore`` and ``history list --deleted``: the runs the History page
deleted (softly: Undo brings them back there) can be listed and brought back from the
command line, through the CLI's ``main()``; bad ids are one-line errors with exit code 2
and restore nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from viz_core.cli import main
from viz_core.images import png_bytes
from viz_core.store import RunRecord, RunStore

IDS = ("aa0000000001", "bb0000000002", "cc0000000003")


@pytest.fixture
def store(tmp_path) -> RunStore:
    """Three runs, the last two deleted as the History page deletes them."""
    s = RunStore(tmp_path / "runs.sqlite")
    for i, rid in enumerate(IDS):
        s.add(RunRecord(config={"model": "m", "task": "am", "target": 1}, model="m",
                        task="am", scheme="plain", id=rid, started=1e9 + i, ended=1e9 + i + 1,
                        metrics={"objective": -float(i)}, tags=["keep"] * (i == 2),
                        note="a note" if i == 2 else ""))
    assert s.delete(IDS[1:]) == list(IDS[1:])
    return s


def _history(store: RunStore, *args: str) -> int:
    return main(["history", "--store", str(store.path), *args])


def _listed(store: RunStore, capsys, *extra: str) -> list[str]:
    capsys.readouterr()
    assert _history(store, "list", "--json", *extra) == 0
    return [r["id"] for r in json.loads(capsys.readouterr().out)]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error:") and "Traceback" not in err, err
    return err


def test_list_shows_the_deleted_runs_only_when_asked(store, capsys):
    assert _listed(store, capsys) == [IDS[0]]  # as on the History page: hidden
    assert _listed(store, capsys, "--deleted") == [IDS[2], IDS[1]]  # newest first
    assert _listed(store, capsys, "--deleted", "--tag", "keep") == [IDS[2]]
    assert _history(store, "list", "--deleted", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(isinstance(r["deleted"], float) for r in rows)  # when it was deleted
    assert _history(store, "list", "--deleted") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("\t")[:3] == ["id", "started", "deleted"]
    assert [line.split("\t")[0] for line in out[1:]] == [IDS[2], IDS[1]]


def test_restore_lists_a_run_again_with_its_tags_and_note(store, capsys):
    capsys.readouterr()
    assert _history(store, "restore", IDS[2][:4], IDS[1], IDS[2]) == 0  # a prefix, twice
    assert json.loads(capsys.readouterr().out) == {"restored": [IDS[2], IDS[1]]}
    assert _listed(store, capsys) == list(IDS[::-1])
    assert _listed(store, capsys, "--deleted") == []
    run = RunStore(store.path).get(IDS[2])
    assert run.tags == ["keep"] and run.note == "a note" and not run.deleted


@pytest.mark.parametrize("ids, words", [
    (["beef"], "no run 'beef'"),
    (["zz"], "hexadecimal"),
    ([IDS[0]], f"run {IDS[0]} is not deleted"),
    ([IDS[1], "beef"], "no run 'beef'"),
    ([IDS[1], IDS[0][:3]], f"run {IDS[0]} is not deleted"),
    ([], "the following arguments are required: ID"),
])
def test_a_bad_id_is_one_line_exit_2_and_restores_nothing(store, capsys, ids, words):
    capsys.readouterr()
    assert _history(store, "restore", *ids) == 2
    err = _one_error_line(capsys)
    assert words in err
    if ids:
        assert "nothing restored" in err
    assert _listed(store, capsys, "--deleted") == [IDS[2], IDS[1]]  # still deleted


def test_an_ambiguous_prefix_is_refused(store, capsys):
    s = RunStore(store.path)
    s.add(RunRecord(config={}, model="m", task="am", scheme="plain", id="bb0000000009"))
    capsys.readouterr()
    assert _history(store, "restore", "bb") == 2
    assert "ambiguous" in _one_error_line(capsys)


def test_show_says_a_run_is_deleted_and_how_to_restore_it(store, capsys):
    capsys.readouterr()
    assert _history(store, "show", IDS[1]) == 0
    out = capsys.readouterr().out
    assert f"`history restore {IDS[1]}`" in out and "\ndeleted " in out
    assert _history(store, "show", IDS[0]) == 0
    assert "deleted" not in capsys.readouterr().out


def test_an_empty_listing_says_why(store, capsys):
    s = RunStore(store.path)
    s.delete([IDS[0]])
    capsys.readouterr()
    assert _history(store, "list") == 0
    assert "3 deleted runs" in capsys.readouterr().err  # not "no runs stored yet"
    s.restore(IDS)
    assert _history(store, "list", "--deleted") == 0
    assert capsys.readouterr().err == "note: no deleted runs (3 listed by `history list`)\n"
    s.delete([IDS[0]])
    assert _history(store, "list", "--deleted", "--model", "other") == 0
    assert "note: no deleted run matches --model other" in capsys.readouterr().err


def test_a_run_deleted_on_the_page_comes_back_from_the_cli(tmp_path, monkeypatch, dash,
                                                          capsys):
    """The page's Delete, then ``history restore``: the page lists the run again."""
    path = tmp_path / "page.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(path))
    s = RunStore(path)
    cfg = {"model": "fmnist_vgg", "task": "am", "target": 3, "steps": 10, "seed": 0}
    rid = s.add(RunRecord(config=cfg, model="fmnist_vgg", task="am", scheme="plain",
                          started=1e9, ended=1e9 + 1,
                          image=png_bytes(np.zeros((1, 28, 28), np.float32))))
    at = dash.open("pages/7_History.py", runs=rid)
    at.button(key="hi_delete").click().run()
    dash.no_exception(at)
    assert RunStore(path).list() == []
    capsys.readouterr()
    assert main(["history", "--store", str(path), "list", "--deleted"]) == 0
    assert rid in capsys.readouterr().out
    assert main(["history", "--store", str(path), "restore", rid[:6]]) == 0
    at = dash.open("pages/7_History.py")
    dash.no_exception(at)
    assert list(at.dataframe[0].value["id"]) == [rid]
