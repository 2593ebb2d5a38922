"""The run store: records, filters, concurrency (threads and processes), a killed writer,
damaged and foreign files, migrations, and what importing it pulls in."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from viz_core.errors import VizError
from viz_core.images import png_bytes
from viz_core.store import RunRecord, RunStore, default_path, schema

ROOT = Path(__file__).resolve().parents[1]
def _env() -> dict:
    """The environment of a subprocess, read when it starts (the session's private store
    is set by conftest after this module is imported)."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _png(seed: int = 0) -> bytes:
    return png_bytes(np.random.default_rng(seed).random((3, 16, 16), dtype=np.float32))


def _rec(i: int = 0, **kw) -> RunRecord:
    base = dict(config={"model": "fmnist_vgg", "step_size": float(i), "seed": 0},
                model="fmnist_vgg", task="am", scheme="fluid demons",
                metrics={"objective": -float(i), "total_variation": 0.1 * i},
                curves={"step": [0, 5], "objective": [0.0, -float(i)]}, image=_png(i))
    base.update(kw)
    return RunRecord(**base)


# the writer of the process tests: adds runs in a loop and prints each id once committed
WRITER = """
import sys, numpy as np
from viz_core.images import png_bytes
from viz_core.store import RunRecord, RunStore
s = RunStore(sys.argv[1])
png = png_bytes(np.zeros((1, 8, 8), np.float32))
for i in range(int(sys.argv[2])):
    r = RunRecord(config={"i": i}, model="proc", task="am", scheme="plain GD",
                  metrics={"objective": float(i)}, image=png, tags=[sys.argv[3]])
    s.add(r)
    print(r.id, flush=True)
"""


def test_round_trip_filters_sort_tags_note(tmp_path):
    s = RunStore(tmp_path / "runs.sqlite")
    ids = [s.add(_rec(i, tags=["good"] if i % 2 else [], task="am" if i < 3 else "inversion",
                      status="diverged" if i == 4 else "done")) for i in range(5)]
    got = s.get(ids[1][:6])
    assert got.id == ids[1] and got.config["step_size"] == 1.0 and got.tags == ["good"]
    assert got.curves == {"step": [0, 5], "objective": [0.0, -1.0]}
    assert got.image == _png(1) and got.thumb and got.version
    assert [r.id for r in s.list(tag="good")] == [ids[3], ids[1]]
    assert {r.id for r in s.list(task="inversion")} == {ids[3], ids[4]}
    assert [r.id for r in s.list(status="diverged")] == [ids[4]]
    assert [r.id for r in s.list(sort="total_variation")] == ids[::-1]  # metric, descending
    assert [r.id for r in s.list(sort="objective")] == ids            # -0 > -1 > ...
    assert s.count(tag="good") == 2 and s.metric_keys() == ["objective", "total_variation"]
    s.set_tags(ids[0], ["x", " y ", ""])
    s.set_note(ids[0], "the keeper")
    r0 = s.get(ids[0])
    assert r0.tags == ["x", "y"] and r0.note == "the keeper"
    s.delete([ids[0]])
    assert ids[0] not in [r.id for r in s.list()] and s.count() == 4
    s.restore([ids[0]])
    assert s.count() == 5
    s.purge([ids[0]])
    assert not s.has(ids[0])
    with pytest.raises(VizError, match="no run"):
        s.get(ids[0])
    with pytest.raises(VizError, match="sort"):
        s.list(sort="x'); DROP TABLE runs; --")


def test_nan_metrics_are_stored_as_missing(tmp_path):
    s = RunStore(tmp_path / "r.sqlite")
    rid = s.add(_rec(metrics={"objective": float("nan"), "psnr": float("inf"),
                              "total_variation": 1.0}))
    assert s.get(rid).metrics == {"objective": None, "psnr": None, "total_variation": 1.0}


def test_location_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(tmp_path / "env.sqlite"))
    assert default_path() == tmp_path / "env.sqlite"
    monkeypatch.delenv("DEMONS_VIZ_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "demons-viz" / "runs.sqlite"


def test_eight_threads_and_two_processes_write_at_once(tmp_path):
    path = tmp_path / "runs.sqlite"
    RunStore(path)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), "15", f"p{k}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env()) for k in range(2)]
    errors: list[BaseException] = []
    store = RunStore(path)  # one store object shared by the threads (a dashboard server)

    def session(k: int) -> None:
        try:
            for i in range(10):
                store.add(_rec(i, tags=[f"t{k}"]))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outs = [p.communicate(timeout=300) for p in procs]
    assert not errors, errors
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    fresh = RunStore(path)
    assert not fresh.notice, fresh.notice
    assert fresh.count() == 8 * 10 + 2 * 15
    for k in range(8):
        assert fresh.count(tag=f"t{k}") == 10
    for k, (out, _) in enumerate(outs):
        assert {r.id for r in fresh.list(tag=f"p{k}")} == set(out.split())
    assert fresh.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_killed_writer_loses_no_finished_run(tmp_path):
    path = tmp_path / "runs.sqlite"
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "100000", "k"],
                         stdout=subprocess.PIPE, text=True, env=_env())
    finished = []
    for line in p.stdout:  # ids arrive after their transaction committed
        finished.append(line.strip())
        if len(finished) >= 40:
            break
    os.kill(p.pid, signal.SIGKILL)  # in the middle of its next transactions
    p.wait(timeout=60)
    s = RunStore(path)
    assert not s.notice
    stored = {r.id for r in s.list(tag="k")}
    assert set(finished) <= stored
    assert s.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    s.add(_rec(1))  # and it takes new runs
    assert s.count() == len(stored) + 1


def test_a_damaged_file_is_moved_aside_not_overwritten(tmp_path):
    path = tmp_path / "runs.sqlite"
    junk = b"this is somebody's notes, not a database\n" * 100
    path.write_bytes(junk)
    s = RunStore(path)
    assert "not an SQLite database" in s.notice and "moved it aside" in s.notice
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("runs.sqlite.damaged-")]
    assert len(aside) == 1 and aside[0].read_bytes() == junk
    assert str(aside[0]) in s.notice
    s.add(_rec())
    assert RunStore(path).count() == 1 and not RunStore(path).notice


def test_a_truncated_store_is_moved_aside(tmp_path):
    path = tmp_path / "runs.sqlite"
    s = RunStore(path)
    for i in range(3):
        s.add(_rec(i))
    s.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\xff" * 200)  # header kept, schema page destroyed
    fresh = RunStore(path)
    assert "moved it aside" in fresh.notice and fresh.count() == 0
    aside = next(p for p in tmp_path.iterdir()
                 if ".damaged-" in p.name and not p.name.endswith(("-wal", "-shm")))
    assert aside.read_bytes() == data[:100] + b"\xff" * 200


def test_a_foreign_sqlite_database_is_moved_aside(tmp_path):
    path = tmp_path / "runs.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE recipes (name TEXT)")
    con.execute("INSERT INTO recipes VALUES ('bread')")
    con.commit()
    con.close()
    s = RunStore(path)
    assert "not a demons-viz run store" in s.notice
    aside = next(p for p in tmp_path.iterdir()
                 if ".foreign-" in p.name and not p.name.endswith(("-wal", "-shm")))
    assert sqlite3.connect(aside).execute("SELECT name FROM recipes").fetchall() == [("bread",)]


def test_a_store_with_an_unreadable_version_is_called_damaged_not_foreign(tmp_path):
    """Our own store whose schema_version was overwritten ('abc'): moved aside as damaged
    (it is a demons-viz store that went bad), with the value named; a new store starts."""
    path = tmp_path / "runs.sqlite"
    RunStore(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value='abc' WHERE key='schema_version'")
    con.commit()
    con.close()
    s = RunStore(path)
    assert "schema version ('abc') is not a number" in s.notice
    names = [p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))]
    assert any(".damaged-" in n for n in names) and not any(".foreign-" in n for n in names)
    assert s.count() == 0


def test_a_store_from_a_newer_version_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "runs.sqlite"
    RunStore(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(VizError, match="newer"):
        RunStore(path)
    assert not [p for p in tmp_path.iterdir() if ".damaged-" in p.name or ".foreign-" in p.name]


def test_migration_from_version_1_keeps_runs(tmp_path):
    path = tmp_path / "runs.sqlite"
    con = sqlite3.connect(path, isolation_level=None)
    schema.migrate(con, target=1)
    con.execute("INSERT INTO runs (id, started, ended, status, model, task, scheme, config, "
                "metrics) VALUES ('abcdef012345', 1.0, 2.0, 'done', 'm', 'am', 'plain GD', ?, "
                "?)", (json.dumps({"steps": 7}), json.dumps({"psnr": 20.5})))
    con.execute("INSERT INTO tags VALUES ('abcdef012345', 'old')")
    assert schema.version_of(con) == 1
    con.close()
    s = RunStore(path)
    assert schema.version_of(s.con) == schema.LATEST == 4
    r = s.get("abcdef")
    assert r.config == {"steps": 7} and r.tags == ["old"] and r.mlflow == "" and r.thumb is None
    assert r.batch_size is None  # version 4's column: not known for the old runs
    assert s.metric_keys() == ["psnr"]  # version 3's table, filled from the old runs
    assert s.list(sort="psnr")[0].metrics == {"psnr": 20.5}
    s.delete(["abcdef"])  # a column version 2 added
    assert s.count() == 0 and s.distinct("model") == []


def test_two_processes_creating_one_store_apply_migrations_once(tmp_path):
    path = tmp_path / "new.sqlite"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), "3", f"c{k}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env()) for k in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    assert RunStore(path).count() == 6


def test_importing_the_store_pulls_in_no_mlflow_torch_or_streamlit():
    code = ("import sys, viz_core.store, viz_core.store.compare, viz_core.cli.history; "
            "print(sorted(m for m in ('mlflow', 'torch', 'streamlit', 'plotly') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(), check=True).stdout
    assert out.strip() == "[]"


def test_a_wrong_status_is_refused():
    with pytest.raises(ValueError, match="status"):
        _rec(status="finished")


def test_store_path_that_is_a_folder(tmp_path):
    with pytest.raises(VizError, match="folder"):
        RunStore(tmp_path)


def test_busy_writer_waits_instead_of_failing(tmp_path):
    path = tmp_path / "runs.sqlite"
    a, b = RunStore(path), RunStore(path)
    held = a.con
    held.execute("BEGIN IMMEDIATE")  # another writer holds the lock for a while
    t = threading.Timer(0.5, lambda: held.execute("COMMIT"))
    t.start()
    start = time.monotonic()
    b.add(_rec())
    t.join()
    assert time.monotonic() - start >= 0.4 and b.count() == 1


@pytest.mark.parametrize("name", ["photo.png", "run.json", "notes"])
def test_a_file_not_named_like_a_store_is_refused_and_left_alone(tmp_path, name):
    """A mistyped ``--store`` (any read command, `history list` too) renamed the user's
    file to .damaged-<time> and made a database under its name: a file that is no store
    and not named like one is refused in one line and left as it is."""
    path = tmp_path / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n not a database")
    with pytest.raises(VizError, match="not an SQLite database.*left as it is"):
        RunStore(path)
    assert path.read_bytes() == b"\x89PNG\r\n\x1a\n not a database"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
