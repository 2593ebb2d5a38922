"""``demons-viz history`` and the writers: visualize and sweep record runs in the store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from viz_core.cli import main
from viz_core.store import RunRecord, RunStore

ROOT = Path(__file__).resolve().parents[1]
RUN = ["visualize", "--model", "fmnist_vgg", "--target", "3", "--steps", "4", "--every", "2",
       "--quiet"]


def _err_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error:") and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A store with two visualize runs (different tau) and a 2-cell sweep."""
    d = tmp_path_factory.mktemp("hist")
    store = str(d / "runs.sqlite")
    assert main([*RUN, "--step-size", "2", "--fluid", "gaussian:1", "--out", str(d / "a.png"),
                 "--store", store, "--tag", "keep"]) == 0
    assert main([*RUN, "--step-size", "9", "--fluid", "gaussian:1", "--out", str(d / "b.png"),
                 "--store", store]) == 0
    assert main(["sweep", "--task", "am", "--target", "3", "--fluid", "gaussian", "--steps",
                 "3", "--axis", "sigma=0.8,1.6", "--judge", "none", "--quiet",
                 "--out", str(d / "sw"), "--store", store]) == 0
    return d, store


def _list(store: str, capsys, *extra) -> list[dict]:
    capsys.readouterr()
    assert main(["history", "--store", store, "list", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_visualize_records_its_run(filled, capsys):
    d, store = filled
    runs = _list(store, capsys, "--tag", "keep")
    assert len(runs) == 1
    r = RunStore(store).get(runs[0]["id"])
    assert r.status == "done" and r.model == "fmnist_vgg" and r.scheme == "fluid_gaussian"
    assert r.config["step_size"] == 2.0 and r.config["steps"] == 4
    assert r.image == (d / "a.png").read_bytes()  # the PNG the CLI wrote
    assert r.curves["step"] == [0, 2, 4] and len(r.curves["objective"]) == 3
    assert r.metrics["objective"] == pytest.approx(r.curves["objective"][-1])
    assert r.weights_hash and r.version and r.command.startswith("demons-viz visualize")
    assert [v["role"] for v in r.verdicts][0] == "model"
    assert r.floors.get("model_target_prob") == pytest.approx(0.1)


def test_sweep_cells_are_grouped_and_not_stored_twice(filled, capsys):
    d, store = filled
    cells = _list(store, capsys, "--model", "fmnist_vgg", "--limit", "0")
    groups = {r["group_id"] for r in cells if r["group_id"]}
    assert len(groups) == 1 and next(iter(groups)).startswith("sweep sw ")
    group = next(iter(groups))
    assert len(_list(store, capsys, "--group", group)) == 2
    assert main(["sweep", "--out", str(d / "sw"), "--quiet", "--store", store]) == 0  # resume
    cells = _list(store, capsys, "--group", group)
    assert len(cells) == 2
    # as a visualize run: the weights hash, the curves to the last step (3), the judge's
    # target by class name
    for c in cells:
        r = RunStore(store).get(c["id"])
        assert r.weights_hash == RunStore(store).get(
            _list(store, capsys, "--tag", "keep")[0]["id"]).weights_hash
        assert r.curves["step"][0] == 0 and r.curves["step"][-1] == 3
        assert r.metrics["objective"] == pytest.approx(r.curves["objective"][-1])


def test_show_compare_export_rm(filled, capsys, tmp_path):
    _, store = filled
    a, b = [r["id"] for r in _list(store, capsys, "--sort", "started", "--ascending")][:2]
    assert main(["history", "--store", store, "show", a[:6]]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"run {a}  done") and "reproduce: demons-viz" in out
    assert main(["history", "--store", store, "compare", a, b, "--json"]) == 0
    cmp = json.loads(capsys.readouterr().out)
    assert cmp["differing"]["step_size"] == [2.0, 9.0] and "seed" not in cmp["differing"]
    assert cmp["metrics"]["objective"]["values"][0] != "-"
    js = tmp_path / "run.json"
    assert main(["history", "--store", store, "export", a, "--format", "json",
                 "--out", str(js)]) == 0
    # the exported JSON replays the run
    assert main(["visualize", "--config", str(js), "--out", str(tmp_path / "again.png"),
                 "--no-store", "--quiet"]) == 0
    assert (tmp_path / "again.png").read_bytes() == RunStore(store).get(a).image
    html = tmp_path / "r.html"
    assert main(["history", "--store", store, "export", a, b, "--out", str(html)]) == 0
    assert "demons-viz comparison of 2 runs" in html.read_text()
    n = len(_list(store, capsys, "--limit", "0"))
    assert main(["history", "--store", store, "rm", b]) == 0
    assert len(_list(store, capsys, "--limit", "0")) == n - 1


def test_no_store_writes_nothing(tmp_path, capsys):
    store = tmp_path / "none.sqlite"
    assert main([*RUN, "--out", str(tmp_path / "x.png"), "--no-store",
                 "--store", str(store)]) == 0
    assert not store.exists()
    assert json.loads(capsys.readouterr().out)["run_id"] is None


@pytest.mark.parametrize("args, words", [
    (["show", "beef"], "no run 'beef'"),
    (["show", "xyz"], "hexadecimal"),
    (["list", "--sort", "a;b"], "cannot sort"),
    (["export", "0", "--out", "/nonexistent/dir/r.html"], "does not exist"),
    (["export", "0", "--format", "docx", "--out", "r.docx"], "invalid choice"),
    (["rm"], "required"),
])
def test_errors_are_one_line_exit_2(filled, capsys, args, words):
    _, store = filled
    assert main(["history", "--store", store, *args]) == 2
    assert words in _err_line(capsys)


def test_an_ambiguous_prefix_is_refused(tmp_path, capsys):
    from viz_core.store import RunRecord

    s = RunStore(tmp_path / "r.sqlite")
    for rid in ("ab0000000001", "ab0000000002"):
        s.add(RunRecord(config={}, model="m", task="am", scheme="plain GD", id=rid))
    assert main(["history", "--store", str(s.path), "compare", "ab", "ab00000000"]) == 2
    assert "ambiguous" in _err_line(capsys)
    assert main(["history", "--store", str(s.path), "compare", "ab0000000001",
                 "ab0000000002"]) == 0


def test_a_damaged_store_is_reported_and_moved_aside(tmp_path, capsys):
    bad = tmp_path / "runs.sqlite"
    bad.write_text("not a database")
    assert main(["history", "--store", str(bad), "list"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: run store") and "moved it aside" in err
    assert [p.read_text() for p in tmp_path.glob("runs.sqlite.damaged-*")] == ["not a database"]


def test_history_list_starts_without_torch(tmp_path):
    code = ("import sys; from viz_core.cli import main; "
            f"main(['history', '--store', {str(tmp_path / 's.sqlite')!r}, 'list']); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_a_mistyped_store_path_is_an_error_not_a_new_store(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DEMONS_VIZ_STORE", raising=False)
    typo = tmp_path / "nonexist" / "x.sqlite"
    assert main(["history", "--store", str(typo), "list"]) == 2
    assert "no run store at" in capsys.readouterr().err
    assert not typo.parent.exists()


@pytest.mark.parametrize("flags, says", [
    (["--status", "bogus"], "--status must be one of done, stopped, diverged, error"),
    (["--sort", "nosuch"], "cannot sort by 'nosuch'"),
])
def test_a_typo_in_a_list_filter_is_an_error_not_an_empty_or_unsorted_list(
        tmp_path, capsys, flags, says):
    path = tmp_path / "runs.sqlite"
    RunStore(path).add(RunRecord(config={}, model="m", task="am", scheme="plain GD",
                                 metrics={"objective": -1.0}))
    assert main(["history", "--store", str(path), "list", *flags]) == 2
    assert says in capsys.readouterr().err
    assert main(["history", "--store", str(path), "list", "--sort", "objective"]) == 0


def test_a_closed_pipe_ends_a_listing_quietly(tmp_path):
    """``demons-viz history list | head -1``: no "Broken pipe" error once head has read."""
    import os

    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    for _ in range(300):
        store.add(RunRecord(config={}, model="m", task="am", scheme="plain GD"))
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        f"{sys.executable} -m viz_core history --store {path} list --limit 0 | head -1",
        shell=True, capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, "PYTHONPATH": str(root)})
    assert out.stdout.startswith("id\t")
    assert "Broken pipe" not in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_every_writer_stores_the_scheme_by_its_registry_key(filled, capsys):
    """One vocabulary in the store (visualize and sweep cells alike): registry keys, which
    the History page and the reports show by the registry's labels."""
    from viz_core.schemes import SCHEME_REGISTRY, scheme_label

    _, store = filled
    schemes = {r["scheme"] for r in _list(store, capsys, "--limit", "0")}
    assert schemes and schemes <= set(SCHEME_REGISTRY), schemes
    assert scheme_label("fluid_gaussian") == SCHEME_REGISTRY["fluid_gaussian"].label


def test_a_cut_list_says_so(tmp_path, capsys):
    """history list shows 50 runs by default: with more stored, stderr says how many of
    how many and how to see all (59 stored runs showed 50 without a word)."""
    store = tmp_path / "runs.sqlite"
    s = RunStore(store)
    for i in range(5):
        s.add(RunRecord(config={"model": "m"}, model="m", task="am", scheme="plain",
                        started=1e9 + i, ended=1e9 + i + 1))
    assert main(["history", "--store", str(store), "list", "--limit", "3"]) == 0
    out, err = capsys.readouterr()
    assert len(out.strip().splitlines()) == 1 + 3
    assert err.strip() == "note: 3 of 5 runs shown; --limit 0 lists all"
    assert main(["history", "--store", str(store), "list", "--limit", "5"]) == 0
    assert capsys.readouterr().err == ""


def test_export_takes_its_format_from_the_file_name(filled, capsys, tmp_path):
    """--out r.pdf writes a PDF (it wrote HTML bytes into the .pdf); a --format that
    contradicts the extension is refused in one line."""
    _, store = filled
    rid = RunStore(store).list()[0].id
    pdf = tmp_path / "r.pdf"
    assert main(["history", "--store", store, "export", rid, "--out", str(pdf)]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    assert json.loads(capsys.readouterr().out)["format"] == "pdf"
    bad = tmp_path / "s.pdf"
    assert main(["history", "--store", store, "export", rid, "--format", "html",
                 "--out", str(bad)]) == 2
    assert "does not fit --out s.pdf" in _err_line(capsys) and not bad.exists()


@pytest.mark.parametrize("name", ["fluid_gaussian", "Gaussian fluid", "gaussian-fluid",
                                  "GAUSSIAN FLUID"])
def test_list_filters_a_scheme_by_its_label_or_alias(filled, capsys, name):
    """``--scheme`` takes the scheme as the dashboard and the paper name it ("Gaussian
    fluid"), not only the stored key: a label matched nothing and said nothing."""
    _, store = filled
    runs = _list(store, capsys, "--scheme", name)
    assert runs and {r["scheme"] for r in runs} == {"fluid_gaussian"}
    assert runs == _list(store, capsys, "--scheme", "fluid_gaussian")
    assert _list(store, capsys, "--scheme", "Sobolev fluid") == []


def test_an_empty_list_says_that_nothing_matches(filled, capsys):
    """An empty list names the filters that matched nothing (it printed only the header);
    an unknown scheme or task is an error, not an empty list; --store also after the
    action."""
    _, store = filled
    assert main(["history", "list", "--store", store, "--scheme", "tv", "--task",
                 "inversion"]) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and err == (
        "note: no stored run matches --task inversion, --scheme tv\n")
    for flag, value in (("--scheme", "sobolv fluid"), ("--task", "foo")):
        assert main(["history", "--store", store, "list", flag, value]) == 2
        assert value in _err_line(capsys)


@pytest.mark.parametrize("outside", [False, True])
def test_an_inversion_sweep_cell_replays_from_the_history(tmp_path, capsys, outside):
    """``history show``'s reproduce line works for an inversion sweep cell: the sweep keeps
    a shipped sample by its name and any other image as a copy in its folder, and the
    stored run pointed at neither ('image file ... does not exist')."""
    import shutil

    sample = ROOT / "assets" / "samples" / "fmnist" / "0_ankle_boot.png"
    image = sample
    if outside:
        image = tmp_path / "elsewhere" / "boot.png"
        image.parent.mkdir()
        shutil.copy(sample, image)
    store = str(tmp_path / "runs.sqlite")
    assert main(["sweep", "--model", "fmnist_vgg", "--task", "inversion", "--image", str(image),
                 "--steps", "2", "--axis", "layer=block1,block2", "--quiet",
                 "--out", str(tmp_path / "sw"), "--store", store]) == 0
    if outside:
        image.unlink()  # the sweep folder's copy is what the cell uses
    rid = _list(store, capsys, "--task", "inversion")[0]["id"]
    js = tmp_path / "cell.json"
    assert main(["history", "--store", store, "export", rid, "--out", str(js)]) == 0
    capsys.readouterr()
    assert main(["visualize", "--config", str(js), "--out", str(tmp_path / "again.png"),
                 "--no-store", "--quiet"]) == 0, capsys.readouterr().err


def test_the_run_json_holds_the_run_id_and_the_verdicts(tmp_path, capsys):
    """A single run's --json names its stored run and the verdicts printed (the --samples
    JSON had them per sample, a single run's had neither), and still replays."""
    store = str(tmp_path / "s.sqlite")
    js = tmp_path / "r.json"
    assert main([*RUN, "--out", str(tmp_path / "r.png"), "--json", str(js),
                 "--store", store]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    d = json.loads(js.read_text())
    assert d["run_id"] == line["run_id"] and d["verdicts"] == line["verdicts"]
    assert [v["role"] for v in d["verdicts"]] == ["model", "judge"]
    assert main(["visualize", "--config", str(js), "--out", str(tmp_path / "again.png"),
                 "--no-store", "--quiet"]) == 0
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "r.png").read_bytes()


@pytest.mark.parametrize("how,judged", [(["--objective", "class_logit(3)"], True),
                                        (["--target", "3"], True),
                                        (["--objective", "channel(block3,7)"], False),
                                        (["--layer", "block3", "--channel", "7"], False)])
def test_verdicts_follow_what_is_maximised_not_how_it_is_written(tmp_path, capsys, how,
                                                                  judged):
    """A class written as an objective gets the same verdicts as --target (it had no
    target and no judge); a channel gets the model's top-3 only, however written."""
    argv = ["visualize", "--model", "fmnist_vgg", "--steps", "2", "--quiet", "--no-store",
            "--out", str(tmp_path / "o.png"), *how]
    assert main(argv) == 0
    v = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["verdicts"]
    assert [x["role"] for x in v] == (["model", "judge"] if judged else ["model"])
    assert v[0]["target"] == ("Dress" if judged else None)


def test_one_sample_stored_two_ways_is_no_difference():
    """A Playground run stores the sample's path on the server, a sweep cell its name: the
    comparison saw a difference in 'image' for the same ankle boot."""
    from viz_core.store.compare import differing_settings

    path = str(ROOT / "assets" / "samples" / "fmnist" / "0_ankle_boot.png")
    runs = [RunRecord(config={"task": "inversion", "image": img, "seed": s}, model="m",
                      task="inversion", scheme="tv")
            for img, s in ((path, 0), ("fmnist/0_ankle_boot.png", 1))]
    assert differing_settings(runs) == {"seed": [0, 1]}
    runs[1].config["image"] = "fmnist/10_coat.png"
    assert differing_settings(runs)["image"] == ["fmnist/0_ankle_boot.png",
                                                 "fmnist/10_coat.png"]


def test_a_visualize_run_that_warned_keeps_the_warning(tmp_path, capsys):
    """The warning printed instead of a plain result (saturated) is the stored message."""
    store = str(tmp_path / "s.sqlite")
    assert main([*RUN, "--step-size", "100000", "--out", str(tmp_path / "w.png"),
                 "--store", store]) == 0
    assert "warning: saturated" in capsys.readouterr().err
    (r,) = _list(store, capsys)
    assert RunStore(store).get(r["id"]).message.startswith("saturated: ")


def test_show_and_export_say_a_batched_run_can_differ_alone(tmp_path, capsys):
    """A Compare cell was computed with the other cells of its model: `history show` and
    the exported report say that its reproduce command runs it alone, where it can differ
    (QA: 0.055 in a batch vs 0.113 alone); a run computed alone says nothing of the kind."""
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    cells = [store.add(RunRecord(config={"model": "fmnist_vgg", "scheme": s}, model="fmnist_vgg",
                                 task="inversion", scheme=s, group_id="compare 1a2b"))
             for s in ("tv", "fluid_sobolev", "plain")]
    alone = store.add(RunRecord(config={"model": "fmnist_vgg"}, model="fmnist_vgg",
                                task="am", scheme="plain"))
    assert main(["history", "--store", str(path), "show", cells[0]]) == 0
    out = capsys.readouterr().out
    assert "note: Computed in a batch of 3 runs: run alone" in out
    assert main(["history", "--store", str(path), "show", alone]) == 0
    assert "note:" not in capsys.readouterr().out
    report = tmp_path / "r.html"
    assert main(["history", "--store", str(path), "export", cells[1], alone,
                 "--out", str(report)]) == 0
    html = report.read_text(encoding="utf-8")
    assert html.count("Computed in a batch of 3 runs") == 1
