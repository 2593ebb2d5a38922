"""QA pass 5 on the CLI's sweep and history commands: a resumed sweep keeps its run store
and tags, the Ray start hint names the right port, ``sweep --show`` gives the judge's
chance level, and ``history list`` shows its sort column, finds a sweep by its folder and
filters by date."""

from __future__ import annotations

import datetime as dt
import json
import socket

import pytest

from viz_core.cli import main
from viz_core.store import RunRecord, RunStore

SWEEP = ["sweep", "--task", "am", "--target", "3", "--fluid", "gaussian", "--steps", "5",
         "--axis", "sigma=0.5,0.8,1.2,1.6", "--judge", "none", "--batch-size", "1",
         "--quiet"]


def _interrupt_after(monkeypatch, cells: int) -> None:
    """Ctrl-C once ``cells`` cells are written (as a SIGINT between batches)."""
    import viz_core.cli.sweep as cli_sweep

    real = cli_sweep.run_sweep

    def interrupted(*a, progress, **kw):
        def wrapped(p):
            progress(p)
            if p.result is not None and p.done_cells >= cells:
                raise KeyboardInterrupt
        return real(*a, progress=wrapped, **kw)

    monkeypatch.setattr(cli_sweep, "run_sweep", interrupted)


def _runs(path) -> list[RunRecord]:
    return RunStore(str(path)).list(limit=None)


def test_a_resume_keeps_the_sweeps_store_and_tags(tmp_path, capsys, monkeypatch):
    env_store = tmp_path / "env.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(env_store))
    out, store = tmp_path / "sw3", tmp_path / "S.sqlite"
    with monkeypatch.context() as m:
        _interrupt_after(m, 2)
        assert main([*SWEEP, "--out", str(out), "--store", str(store),
                     "--tag", "cli3"]) == 130
    err = capsys.readouterr().err
    assert "2 of 4 cells done" in err
    assert f"--store {store}" in err and "--tag cli3" in err  # the hint repeats them
    assert len(_runs(store)) == 2
    assert main(["sweep", "--out", str(out), "--quiet"]) == 0  # the hinted resume, bare
    err = capsys.readouterr().err
    runs = _runs(store)
    assert len(runs) == 4 and all(r.tags == ["cli3"] for r in runs)
    assert len({r.group_id for r in runs}) == 1
    assert not env_store.exists()  # nothing went to the default store
    assert err.count("note:") == 1 and "the sweep's run store" in err \
        and "not $DEMONS_VIZ_STORE" in err  # said, as the variable names another store
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(store))
    assert main(["sweep", "--out", str(out), "--quiet"]) == 0
    assert "note:" not in capsys.readouterr().err  # the sweep's own: nothing to say


def test_a_resume_naming_another_store_or_tag_says_so(tmp_path, capsys, monkeypatch):
    out, store, other = tmp_path / "sw", tmp_path / "S.sqlite", tmp_path / "O.sqlite"
    with monkeypatch.context() as m:
        _interrupt_after(m, 1)
        assert main([*SWEEP, "--out", str(out), "--store", str(store),
                     "--tag", "a"]) == 130
    capsys.readouterr()
    assert main(["sweep", "--out", str(out), "--quiet", "--store", str(other),
                 "--tag", "b"]) == 0
    err = capsys.readouterr().err
    assert f"--store {other}: the cells this resume computes are recorded there, not in " \
           f"the sweep's run store {store.resolve()}" in err
    assert "--tag b: the cells this resume computes are tagged so; the sweep's earlier " \
           "cells have a" in err
    assert [r.tags for r in _runs(store)] == [["a"]]
    assert len(_runs(other)) == 3 and all(r.tags == ["b"] for r in _runs(other))


def test_a_no_store_sweep_stays_unrecorded_on_resume(tmp_path, capsys, monkeypatch):
    env_store = tmp_path / "env.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(env_store))
    out = tmp_path / "sw"
    with monkeypatch.context() as m:
        _interrupt_after(m, 1)
        assert main([*SWEEP, "--out", str(out), "--no-store"]) == 130
    assert "--no-store" in capsys.readouterr().err
    assert main(["sweep", "--out", str(out), "--quiet"]) == 0
    assert "ran with --no-store" in capsys.readouterr().err
    assert not env_store.exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_ray_client_address_hints_at_the_client_server_port():
    """``ray://HOST:PORT`` is Ray Client's server (10001 by default), not the head's GCS
    port (``ray start --head --port``, 6379 by default)."""
    from viz_core.errors import VizError
    from viz_core.sweeps.raycluster import _wait_for_port

    port = _closed_port()
    for address, hint in ((f"ray://127.0.0.1:{port}",
                           f"(ray start --head --ray-client-server-port {port})"),
                          ("ray://127.0.0.1:10001", "(ray start --head)"),
                          (f"127.0.0.1:{port}", f"(ray start --head --port {port})")):
        if address.endswith(":10001"):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", 10001)) == 0:
                    continue  # something listens there on this machine
        with pytest.raises(VizError) as e:
            _wait_for_port(address, float("inf"), 600)
        assert hint in str(e.value), str(e.value)
        assert "--port 10001" not in str(e.value)


def test_show_gives_the_judges_chance_beside_its_target_probability(tmp_path, capsys):
    from viz_core.sweeps.report import columns

    cols = columns([{"cell_id": "a", "judge_target_prob": 0.3, "judge_chance": 0.1,
                     "judge_top1_class": "Bag"}])
    assert cols[cols.index("judge_target_prob") + 1] == "judge_chance"
    assert "judge_chance" not in columns([{"cell_id": "a", "judge_chance": 0.1}])
    out = tmp_path / "sj"
    assert main(["sweep", "--task", "am", "--target", "3", "--fluid", "gaussian", "--steps",
                 "3", "--axis", "sigma=0.8", "--quiet", "--no-store", "--out",
                 str(out)]) == 0
    capsys.readouterr()
    assert main(["sweep", "--show", str(out)]) == 0
    head, row = capsys.readouterr().out.splitlines()
    names = head.split()
    i = names.index("judge_target_prob")
    assert names[i + 1] == "judge_chance" and row.split()[i + 1] == "0.1"


@pytest.fixture
def history(tmp_path):
    """A store with three sweep groups (two folders named sw3) and runs on three days."""
    path = tmp_path / "runs.sqlite"
    store = RunStore(str(path))
    day = dt.datetime(2024, 5, 1, 12).timestamp()
    groups = ["sweep sw3 ca007b", "sweep sw3x 01ab23", "sweep other 99ff00", ""]
    for i, g in enumerate(groups):
        store.add(RunRecord(config={}, model="m", task="am", scheme="fluid_gaussian",
                            started=day + i * 86400, ended=day + i * 86400 + 5,
                            id=f"run{i:08d}", group_id=g,
                            metrics={"objective": -1.0, "judge_target_prob": 0.1 * (i + 1)}))
    return str(path), store


def _ids(capsys, store: str, *extra) -> list[str]:
    capsys.readouterr()
    assert main(["history", "--store", store, "list", "--json", *extra]) == 0
    return [r["id"] for r in json.loads(capsys.readouterr().out)]


def test_list_shows_the_metric_it_sorts_by(history, capsys):
    path, _ = history
    capsys.readouterr()
    assert main(["history", "--store", path, "list", "--sort", "judge_target_prob"]) == 0
    head, *rows = capsys.readouterr().out.splitlines()
    col = head.split("\t").index("judge_target_prob")
    assert [r.split("\t")[col] for r in rows] == ["0.4", "0.3", "0.2", "0.1"]
    assert main(["history", "--store", path, "list", "--sort", "ended"]) == 0
    assert "ended" in capsys.readouterr().out.splitlines()[0].split("\t")


def test_group_by_folder_name_prefix_or_path(history, capsys, tmp_path):
    path, store = history
    assert _ids(capsys, path, "--group", "sw3") == ["run00000000"]  # the folder's name
    assert _ids(capsys, path, "--group", "sweep oth") == ["run00000002"]  # a unique prefix
    assert _ids(capsys, path, "--group", "sweep sw3 ca007b") == ["run00000000"]
    from viz_core.store.sweep_runs import sweep_group

    folder = tmp_path / "deep" / "sw3"
    folder.mkdir(parents=True)
    store.add(RunRecord(config={}, model="m", task="am", scheme="fluid_gaussian",
                        id="run00000009", group_id=sweep_group(folder)))
    assert _ids(capsys, path, "--group", str(folder)) == ["run00000009"]  # its path
    assert main(["history", "--store", path, "list", "--group", "sw3"]) == 2  # two now
    err = capsys.readouterr().err
    assert "matches several stored groups" in err and "ca007b" in err
    assert main(["history", "--store", path, "list", "--group", "sweep"]) == 2
    with pytest.raises(SystemExit):
        main(["history", "--store", path, "list", "--help"])
    assert "or the sweep's --out folder" in " ".join(capsys.readouterr().out.split())


def test_list_filters_by_date(history, capsys):
    path, _ = history
    assert _ids(capsys, path, "--since", "2024-05-02") == ["run00000003", "run00000002",
                                                           "run00000001"]
    assert _ids(capsys, path, "--until", "2024-05-02") == ["run00000001", "run00000000"]
    assert _ids(capsys, path, "--since", "2024-05-02", "--until", "2024-05-02") == \
        ["run00000001"]
    assert _ids(capsys, path, "--since", "2024-05-03T13:00") == ["run00000003"]
    capsys.readouterr()
    assert main(["history", "--store", path, "list", "--since", "today"]) == 0
    assert "no stored run matches --since today" in capsys.readouterr().err
    for bad, flag in (("2024-13-01", "--since"), ("soon", "--until")):
        assert main(["history", "--store", path, "list", flag, bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {flag} '{bad}' is not a date") and "today" in err
    assert main(["history", "--store", path, "list", "--since", "2024-05-03",
                 "--until", "2024-05-01"]) == 2
    assert "is not before --until" in capsys.readouterr().err


def test_a_finished_sweep_resumed_with_another_store_says_nothing_is_recorded_there(
        tmp_path, capsys):
    """A resume of a complete sweep computes no cell, so a different --store or --tag
    records nothing: no note claims it would (final QA pass)."""
    out, store, other = tmp_path / "sw", tmp_path / "S.sqlite", tmp_path / "O.sqlite"
    assert main([*SWEEP, "--out", str(out), "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["sweep", "--out", str(out), "--store", str(other), "--tag", "zz",
                 "--quiet"]) == 0
    assert "recorded there" not in capsys.readouterr().err
    assert len(_runs(store)) == 4 and not _runs(other)
