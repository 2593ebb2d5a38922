"""Hardening of ``demons-viz sweep`` (issue 21): every bad input is one line and exit 2
before anything is written, a grid has a size limit, grouping is linear, and a sweep
directory's manifest catches corrupt, foreign and duplicate parts and missing or changed
PNGs (recomputed on resume, reported by ``--show``, never merged)."""

from __future__ import annotations

import os
import random
import shutil
import warnings
from pathlib import Path

import pytest

from viz_core.cli import main
from viz_core.config import RunConfig
from viz_core.kernels import KernelSpec
from viz_core.sweeps import Axis, Sweep, SweepStore
from viz_core.sweeps.grouping import group_cells, scan_groups

ROOT = Path(__file__).resolve().parents[1]
BASE = ["--model", "fmnist_vgg", "--task", "am", "--target", "3", "--steps", "2",
        "--elastic", "sobolev", "--judge", "none", "--quiet", "--threads", "1"]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["sweep", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


# ----------------------------------------------------------------- checks before writing

@pytest.mark.parametrize("axis, extra, says", [
    ("target=3,99", [], "class index 99 out of range"),
    ("target=3,9", ["--judge", "bogus"], "--judge bogus"),
    ("model=nope,fmnist_vgg", [], "unknown model 'nope'"),
    ("layer=block1,logits", ["--channel", "9999"], "channel 9999 out of range"),
    ("sigma=1,2", [], "--elastic gaussian"),
])
def test_a_typo_is_refused_before_the_folder_exists(tmp_path, capsys, axis, extra, says):
    out = tmp_path / "D"
    i = BASE.index("--target")  # a channel replaces the class (both are refused: two targets)
    base = BASE[:i] + BASE[i + 2:] if "--channel" in extra else BASE
    rc, _, err = cli(capsys, *base, *extra, "--axis", axis, "--out", str(out))
    assert rc == 2 and says in one_error_line(err)
    assert not out.exists()


def test_a_typo_does_not_poison_the_folder_for_the_corrected_command(tmp_path, capsys):
    out = str(tmp_path / "D")
    rc, _, _ = cli(capsys, *BASE, "--axis", "target=3,99", "--out", out)
    assert rc == 2
    rc, stdout, err = cli(capsys, *BASE, "--axis", "target=3,9", "--out", out)
    assert rc == 0, err
    assert '"cells": 2' in stdout


def test_a_folder_holding_a_spec_but_no_results_takes_the_new_sweep(tmp_path, capsys):
    """What an older version left after a typo (sweep.json written, nothing computed)."""
    out = tmp_path / "D"
    out.mkdir()
    (out / "sweep.json").write_text(Sweep(RunConfig(model="fmnist_vgg", target=1, steps=9),
                                          [Axis.parse("seed=1,2")]).to_json())
    rc, _, err = cli(capsys, *BASE, "--axis", "target=3,9", "--out", str(out))
    assert rc == 0 and "now holds this one" in err


def test_an_empty_image_is_refused_before_any_worker_starts(tmp_path, capsys):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    out = tmp_path / "D"
    rc, _, err = cli(capsys, "--model", "fmnist_vgg", "--task", "inversion", "--image",
                     str(empty), "--steps", "1", "--axis", "seed=1,2", "--out", str(out),
                     "--quiet")
    assert rc == 2 and "empty" in one_error_line(err)
    assert not out.exists()


@pytest.mark.parametrize("args, says", [
    (["--show", "X", "--out", "Y"], "--show"),
    (["--show", "X", "--axis", "seed=1"], "--show"),
    (["--axis", "seed=1,2", "--workers", "0"], "--workers must be >= 1"),
    (["--axis", "seed=1,2", "--workers", "-2", "--executor", "ray"], "--workers must be >= 1"),
    (["--axis", "seed=1,2", "--max-retries", "-5", "--executor", "ray"], "--max-retries"),
    (["--axis", "seed=1,2", "--max-retries", "-1"], "--max-retries"),
    (["--axis", "seed=1,2", "--max-cells", "0"], "--max-cells"),
    (["--axis", "seed=1,2", "--executor", "ray", "--ray-timeout", "nan"], "--ray-timeout"),
    (["--axis", "seed=1,2", "--executor", "ray", "--ray-address", "nonsense"],
     "--ray-address"),
    (["--axis", "seed=1,2", "--ray-address", "127.0.0.1:1"], "needs --executor ray"),
])
def test_flags_out_of_range_are_refused(tmp_path, capsys, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    if "--show" not in args:
        args = [*BASE, *args, "--out", "D"]
    rc, _, err = cli(capsys, *args)
    assert rc == 2 and says in one_error_line(err)
    assert not (tmp_path / "D").exists()


def test_a_huge_grid_is_refused_before_a_cell_is_built(tmp_path, capsys, monkeypatch):
    def never(self):
        raise AssertionError("cells were built")

    monkeypatch.setattr(Sweep, "cells", never)
    values = ",".join(str(i) for i in range(1000))
    rc, _, err = cli(capsys, *BASE, "--axis", f"seed={values}", "--axis", f"target={values}",
                     "--out", str(tmp_path / "D"))
    assert rc == 2 and "1,000,000 cells (1000 x 1000)" in one_error_line(err)
    assert "--max-cells" in err


def test_the_cell_limit_is_a_flag(tmp_path, capsys):
    args = [*BASE, "--axis", "seed=1,2,3", "--out", str(tmp_path / "D")]
    rc, _, err = cli(capsys, *args, "--max-cells", "2")
    assert rc == 2 and "3 cells" in one_error_line(err)
    rc, _, err = cli(capsys, *args, "--max-cells", "3")
    assert rc == 0, err


def _unwritable(tmp_path: Path) -> list[str]:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    return ["/proc/x", str(a_file / "sub"), str(a_file)]


@pytest.mark.parametrize("which", [0, 1, 2])
def test_an_unwritable_out_is_exit_2_up_front(tmp_path, capsys, monkeypatch, which):
    import viz_core.sweeps.executors as ex

    monkeypatch.setattr(ex, "preflight", lambda *a, **k: pytest.fail("work started"))
    out = _unwritable(tmp_path)[which]
    rc, _, err = cli(capsys, *BASE, "--axis", "seed=1,2", "--out", out)
    assert rc == 2 and "--out" in one_error_line(err)


def test_a_read_only_folder_is_exit_2(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; /proc and files cover the rest")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        rc, _, err = cli(capsys, *BASE, "--axis", "seed=1,2", "--out", str(ro / "D"))
    finally:
        ro.chmod(0o700)
    assert rc == 2 and "not writable" in one_error_line(err)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_evaluate_checks_its_output_before_computing(tmp_path, capsys, monkeypatch, which):
    from viz_core.evaluation import protocol as pr

    monkeypatch.setattr(pr, "run_table1", lambda *a, **k: pytest.fail("computed"))
    rc = main(["evaluate", "-n", "2", "--steps", "1", "--quiet", "--out",
               _unwritable(tmp_path)[which]])
    assert rc == 2 and "--out" in one_error_line(capsys.readouterr().err)


def test_a_bad_model_file_gives_one_line_without_the_torch_jit_warning(tmp_path, capsys):
    junk = tmp_path / "m.pt"
    junk.write_text("not a model")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        rc, _, err = cli(capsys, "--model", str(junk), "--task", "am", "--target", "1",
                         "--axis", "seed=1,2", "--out", str(tmp_path / "D"), "--quiet")
    assert rc == 2 and "cannot load TorchScript model" in one_error_line(err)
    assert not [w for w in seen if "torch.jit" in str(w.message)]


# ----------------------------------------------------------------- corrupt specifications

def test_a_garbage_sweep_json_is_a_message(tmp_path, capsys):
    out = tmp_path / "D"
    rc, _, err = cli(capsys, *BASE, "--axis", "seed=1,2", "--out", str(out))
    assert rc == 0, err
    (out / "sweep.json").write_text("garbage{")
    for args in (["--out", str(out)], ["--show", str(out)],
                 [*BASE, "--axis", "seed=1,2", "--out", str(out)]):
        rc, _, err = cli(capsys, *args)
        assert rc == 2 and "sweep" in one_error_line(err), args
    (out / "sweep.json").write_bytes(b"\xff\xfe\x00binary")
    rc, _, err = cli(capsys, "--show", str(out))
    assert rc == 2 and "does not read" in one_error_line(err)
    (out / "sweep.json").write_text("[1, 2]")
    rc, _, err = cli(capsys, "--out", str(out))
    assert rc == 2 and "not a sweep" in one_error_line(err)


# ----------------------------------------------------------------- grouping

def _quadratic_grouping(cells, batch_size):
    """The grouping before issue 21 (each cell scans every batch): the oracle."""
    return [[c.id for c in g] for g in scan_groups(cells, batch_size)]


@pytest.mark.parametrize("seed", range(6))
def test_linear_grouping_gives_the_batches_of_the_quadratic_one(seed):
    rng = random.Random(seed)
    pool = {"seed": ["0", "1", "2"], "layer": ["block3", "block4"],
            "gamma": ["0.1", "0.2", "0.4"], "steps": ["2", "3"], "target": ["1", "2", "5"],
            "step_size": ["1", "5"]}
    names = rng.sample(sorted(pool), rng.randint(1, 4))
    axes = [Axis.parse(f"{n}={','.join(rng.sample(pool[n], rng.randint(1, len(pool[n]))))}")
            for n in names]
    base = RunConfig(model="fmnist_vgg", task="am", target=2, channel=1 if "layer" in names
                     else None, steps=2, elastic=KernelSpec("sobolev", None, 11))
    sweep = Sweep(base, axes, batch_size=rng.randint(1, 5))
    cells = sweep.cells()
    got = [[c.id for c in b.cells] for b in group_cells(cells, sweep.batch_size)]
    assert got == _quadratic_grouping(cells, sweep.batch_size)


# ----------------------------------------------------------------- store integrity

@pytest.fixture
def done_sweep(tmp_path, capsys):
    """A finished sweep of 3 batches (one cell each), and a way to run its command."""
    out = tmp_path / "S"
    args = [*BASE, "--axis", "seed=1,2,3", "--batch-size", "1", "--out", str(out)]
    rc, _, err = cli(capsys, *args)
    assert rc == 0, err
    return out


def _table(capsys, out: Path) -> tuple[int, str, str]:
    return cli(capsys, "--show", str(out))


def _part(out: Path, i: int) -> Path:
    return sorted((out / "parts").glob("*.parquet"))[i]


def _resume_and_check(capsys, out: Path, clean: str) -> str:
    rc, _, err = cli(capsys, "--out", str(out), "--quiet")
    assert rc == 0, err
    rc, table, err2 = _table(capsys, out)
    assert rc == 0 and err2 == "", err2
    assert table == clean
    return err


def test_a_finished_sweep_has_a_manifest_and_shows_clean(done_sweep, capsys):
    import json

    m = json.loads((done_sweep / "manifest.json").read_text())
    assert len(m["parts"]) == 3
    entry = next(iter(m["parts"].values()))
    assert entry["rows"] == 1 and len(entry["cells"]) == 1 and len(entry["sha256"]) == 64
    assert list(entry["pngs"]) == entry["cells"]
    rc, table, err = _table(capsys, done_sweep)
    assert rc == 0 and err == "" and len(table.splitlines()) == 4


@pytest.mark.parametrize("damage", ["truncated", "random", "empty"])
def test_a_damaged_part_is_reported_then_recomputed(done_sweep, capsys, damage):
    _, clean, _ = _table(capsys, done_sweep)
    part = _part(done_sweep, 1)
    data = part.read_bytes()
    part.write_bytes({"truncated": data[: len(data) // 2],
                      "random": random.Random(0).randbytes(len(data)), "empty": b""}[damage])
    rc, table, err = _table(capsys, done_sweep)
    assert rc == 2 and part.name in one_error_line(err) and "ArrowInvalid" not in table
    assert "demons-viz sweep --out" in err and len(table.splitlines()) == 3  # 2 good rows
    note = _resume_and_check(capsys, done_sweep, clean)
    assert "recomputing 1 batch" in note
    assert (done_sweep / "rejected" / part.name).is_file()


def test_parts_of_another_sweep_are_not_merged(tmp_path, done_sweep, capsys):
    """A 60-step sweep must not show the rows of a 200-step one with the same axes."""
    _, clean, _ = _table(capsys, done_sweep)
    other = tmp_path / "other"
    args = [a if a != "2" else "4" for a in BASE]  # --steps 4
    rc, _, err = cli(capsys, *args, "--axis", "seed=1,2,3", "--batch-size", "1",
                     "--out", str(other))
    assert rc == 0, err
    foreign = _part(other, 0)
    shutil.copyfile(foreign, done_sweep / "parts" / foreign.name)
    rc, _, err = _table(capsys, done_sweep)
    assert rc == 2 and "differs from the one recorded" in one_error_line(err)
    (done_sweep / "manifest.json").unlink()  # and without a manifest: by content
    rc, _, err = _table(capsys, done_sweep)
    assert rc == 2 and "another configuration" in err
    _resume_and_check(capsys, done_sweep, clean)


def test_duplicate_and_stray_parts_are_not_merged(done_sweep, capsys):
    _, clean, _ = _table(capsys, done_sweep)
    part = _part(done_sweep, 0)
    shutil.copyfile(part, part.with_name(part.stem + " (copy).parquet"))
    shutil.copyfile(part, part.with_suffix(".csv"))
    rc, table, err = _table(capsys, done_sweep)
    assert rc == 2 and len(table.splitlines()) == 4  # 3 rows, no 5
    line = one_error_line(err)
    assert "not a batch of this sweep" in line and "duplicates batch" in line
    _resume_and_check(capsys, done_sweep, clean)
    assert sorted(p.name for p in (done_sweep / "parts").iterdir()) == \
        sorted(p.name for p in (done_sweep / "parts").glob("*.parquet"))


@pytest.mark.parametrize("damage", ["deleted", "garbage"])
def test_a_missing_or_changed_png_is_reported_then_recomputed(done_sweep, capsys, damage):
    _, clean, _ = _table(capsys, done_sweep)
    png = sorted((done_sweep / "cells").glob("*.png"))[2]
    good = png.read_bytes()
    if damage == "deleted":
        png.unlink()
    else:
        png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage")
    rc, _, err = _table(capsys, done_sweep)
    word = "missing" if damage == "deleted" else "has changed"
    assert rc == 2 and word in one_error_line(err)
    _resume_and_check(capsys, done_sweep, clean)
    assert png.read_bytes()[:8] == good[:8] and len(png.read_bytes()) > 100


def test_an_older_sweep_without_a_manifest_loads_and_gets_one(done_sweep, capsys):
    _, clean, _ = _table(capsys, done_sweep)
    (done_sweep / "manifest.json").unlink()
    mtimes = {p: p.stat().st_mtime_ns for p in (done_sweep / "parts").iterdir()}
    rc, table, err = _table(capsys, done_sweep)
    assert rc == 0 and table == clean and "no manifest" in err
    note = _resume_and_check(capsys, done_sweep, clean)
    assert "checked by content and recorded" in note
    assert (done_sweep / "manifest.json").is_file()
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes  # nothing recomputed


def test_a_corrupt_manifest_falls_back_to_content_checks(done_sweep, capsys):
    _, clean, _ = _table(capsys, done_sweep)
    (done_sweep / "manifest.json").write_text("{not json")
    rc, _, err = _table(capsys, done_sweep)
    assert rc == 2 and "manifest.json does not read" in one_error_line(err)
    _resume_and_check(capsys, done_sweep, clean)


@pytest.mark.parametrize("name", ["inversion_depth", "regularization_path", "sanity_check"])
def test_the_committed_sweeps_still_load(name, capsys):
    d = ROOT / "results" / "sweeps" / name
    store = SweepStore(d)
    checked = store.check()
    assert checked.problems == []
    assert len(checked.all_rows()) == len(store.load_sweep())


def test_rows_never_include_a_part_that_fails(done_sweep):
    store = SweepStore(done_sweep)
    _part(done_sweep, 0).write_bytes(b"PAR1 nonsense")
    rows = store.rows()
    assert len(rows) == 2 and len({r["cell_id"] for r in rows}) == 2

