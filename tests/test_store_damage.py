"""A store damaged past its header (SQLite opens it and meets the damage only when a query
reaches a bad page): every command gets one warning line instead of a traceback, the file
is moved aside as at opening, and `demons-viz visualize` writes its files before it
stores, so a store that fails never costs the run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_store import _rec

from viz_core.cli import main
from viz_core.store import RunStore


def _damaged_store(path: Path, runs: int = 40) -> list[str]:
    """A store of ``runs`` runs, then 6000 bytes of garbage from offset 12288: the header
    and schema pages stay readable, later pages do not."""
    store = RunStore(path)
    ids = [store.add(_rec(i)) for i in range(runs)]
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with open(path, "r+b") as fh:
        fh.seek(12288)
        fh.write(bytes(range(256)) * 23 + b"\xff" * 112)
    with sqlite3.connect(path) as con:  # the premise: it opens, and a query fails
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        with pytest.raises(sqlite3.DatabaseError):
            con.execute("SELECT * FROM runs").fetchall()
    return ids


def _aside(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".damaged-" in p.name
            and not p.name.endswith(("-wal", "-shm"))]


@pytest.mark.parametrize("action", [["list"], ["list", "--json"], ["show", "0921"],
                                    ["rm", "485b"]])
def test_a_history_command_on_a_store_damaged_inside_is_one_warning(tmp_path, capsys,
                                                                    action):
    path = tmp_path / "runs.sqlite"
    _damaged_store(path)
    code = main(["history", "--store", str(path), *action])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "was found damaged" in err and "moved it aside" in err, err
    assert code in (0, 2)  # list: an empty new store; show / rm: no such run
    assert len(_aside(tmp_path)) == 1  # kept, never overwritten
    assert RunStore(path).count() == 0


def test_visualize_writes_its_files_when_the_store_is_damaged(tmp_path, capsys):
    path = tmp_path / "runs.sqlite"
    _damaged_store(path)
    out, js = tmp_path / "v.png", tmp_path / "v.json"
    code = main(["visualize", "--quiet", "--model", "fmnist_vgg", "--weights", "random",
                 "--steps", "3", "--out", str(out), "--json", str(js), "--store", str(path)])
    err = capsys.readouterr().err
    assert code == 0 and "Traceback" not in err, err
    assert out.read_bytes().startswith(b"\x89PNG") and js.is_file()
    assert "was found damaged" in err
    assert RunStore(path).count() == 1  # stored in the new store
