"""File names with bytes that are not UTF-8 (legal on Linux; Python keeps them as
surrogates): ``visualize`` writes the picture and stores the run (its command crashed the
store's insert), a sweep folder is refused in one line (pyarrow opens UTF-8 paths only;
it crashed before the first cell)."""

from __future__ import annotations

import os

from viz_core.cli import main
from viz_core.store import RunStore


def test_visualize_stores_a_run_written_under_an_undecodable_name(tmp_path, monkeypatch,
                                                                  capsys):
    store = tmp_path / "runs.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(store))
    out = os.path.join(str(tmp_path), os.fsdecode(b"bad\xffname.png"))
    assert main(["visualize", "--steps", "2", "--out", out]) == 0
    assert os.path.isfile(out)
    (run,) = RunStore(store).list()
    assert "bad\ufffdname.png" in run.command


def test_a_sweep_folder_that_is_not_utf8_is_one_line(tmp_path, capsys):
    out = os.path.join(str(tmp_path), os.fsdecode(b"sw\xffx"))
    assert main(["sweep", "--steps", "2", "--axis", "seed=0,1", "--out", out,
                 "--no-store"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "must be UTF-8 text" in err[0]
    assert not os.path.exists(out)
