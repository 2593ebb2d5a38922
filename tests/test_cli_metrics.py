"""``demons-viz metrics`` (viz_core.cli.metrics): tables, claims, written files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from viz_core.cli import main
from viz_core.schemes import FIG1_SCHEMES, SCHEME_REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def test_cli_metrics_random_weights(capsys, tmp_path):
    rc = main(["metrics", "--weights", "random", "--steps", "3", "--quiet", "--threads", "1",
               "--md", str(tmp_path / "m.md"), "--csv", str(tmp_path / "m.csv")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "| Sobolev fluid-elastic |" in out and "Sobolev sharper than Gaussian" in out
    assert "Command: `demons-viz" in (tmp_path / "m.md").read_text()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "m.csv").read_text())))
    # the scheme column holds registry keys, the label column the registry's labels
    assert [r["scheme"] for r in rows] == list(FIG1_SCHEMES)
    assert [r["label"] for r in rows] == [SCHEME_REGISTRY[k].label for k in FIG1_SCHEMES]
    assert "total_variation" in rows[0] and "tv" not in rows[0]


def test_cli_metrics_inversion_needs_an_image(capsys, tmp_path):
    assert main(["metrics", "--task", "inversion"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--image" in err
    assert main(["metrics", "--csv", str(tmp_path / "nofolder" / "m.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_history_export_of_several_runs_is_one_metrics_set(tmp_path, capsys):
    """history export --format json of several runs writes their run JSONs as a list:
    `metrics` reads it as a set, `visualize --config` names the runs and how to pick one;
    runs of different problems are compared with a warning and no paper claims."""
    import json

    store = str(tmp_path / "s.sqlite")
    base = ["visualize", "--model", "fmnist_vgg", "--weights", "random", "--steps", "2",
            "--device", "cpu", "--quiet", "--store", store]
    for target, name in ((3, "a"), (3, "b"), (5, "c")):
        assert main([*base, "--target", str(target), "--seed", name == "b" and "1" or "0",
                     "--out", str(tmp_path / f"{name}.png")]) == 0
    ids = [json.loads(line)["run_id"] for line in capsys.readouterr().out.splitlines()]
    js = tmp_path / "two.json"
    assert main(["history", "--store", store, "export", *ids[:2], "--format", "json",
                 "--out", str(js)]) == 0
    capsys.readouterr()
    assert [r["stored_run"]["id"] for r in json.loads(js.read_text())] == ids[:2]
    assert main(["visualize", "--config", str(js), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert f"holds 2 runs ({ids[0]}, {ids[1]})" in err and "history export" in err
    assert main(["metrics", str(js), "--quiet", "--threads", "1"]) == 0
    out, err = capsys.readouterr()
    assert f"| no regularization ({ids[0]}) |" in out and f"({ids[1]}) |" in out
    assert "warning" not in err
    js3 = tmp_path / "three.json"
    assert main(["history", "--store", store, "export", *ids, "--format", "json",
                 "--out", str(js3)]) == 0
    capsys.readouterr()
    assert main(["metrics", str(js3), "--quiet", "--threads", "1"]) == 0
    out, err = capsys.readouterr()
    assert "warning: these runs differ in target" in err and "sharper" not in out


def test_run_json_files_are_named_by_scheme_and_file(tmp_path, capsys):
    """``metrics a.json b.json``: the scheme column names each run's scheme, with the file
    it came from (it showed only the file names, ``a`` and ``b``)."""
    base = ["visualize", "--model", "fmnist_vgg", "--weights", "random", "--steps", "2",
            "--device", "cpu", "--quiet", "--no-store", "--target", "3"]
    for name, extra in (("a", []), ("b", ["--fluid", "sobolev"])):
        assert main([*base, *extra, "--out", str(tmp_path / f"{name}.png"),
                     "--json", str(tmp_path / f"{name}.json")]) == 0
    capsys.readouterr()
    assert main(["metrics", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--quiet",
                 "--threads", "1", "--csv", str(tmp_path / "m.csv")]) == 0
    out = capsys.readouterr().out
    assert "| no regularization (a) |" in out and "| Sobolev fluid (b) |" in out
    import csv

    rows = list(csv.DictReader((tmp_path / "m.csv").open()))
    assert [r["diverged"] for r in rows] == ["", ""]  # it said "None"


def test_samples_files_and_mixed_tasks_are_named_for_what_they_hold(tmp_path, capsys):
    """A ``--samples`` run JSON gives rows named by its scheme and file ('Sobolev fluid (s)
    sample 2': two such files were indistinguishable), each with the numbers visualize
    printed for that seed (run apart, as visualize runs them), in the order given; a table
    of class runs and an inversion heads the activation column with the registry's label
    for both (it said 'rel. feature error' over the class runs' logits)."""
    import json

    base = ["visualize", "--model", "fmnist_vgg", "--steps", "20", "--device", "cpu",
            "--quiet", "--no-store"]
    assert main([*base, "--target", "2", "--fluid", "sobolev", "--samples", "2",
                 "--out", str(tmp_path / "s.png"), "--json", str(tmp_path / "s.json")]) == 0
    seen = [r["final_objective"] for r in
            json.loads(capsys.readouterr().out.strip().splitlines()[-1])["sample_results"]]
    image = ROOT / "assets" / "samples" / "fmnist" / "0_ankle_boot.png"
    assert main([*base, "--task", "inversion", "--image", str(image), "--layer", "block2",
                 "--out", str(tmp_path / "i.png"), "--json", str(tmp_path / "i.json")]) == 0
    capsys.readouterr()
    assert main(["metrics", str(tmp_path / "s.json"), str(tmp_path / "i.json"), "--quiet",
                 "--threads", "1", "--json", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    rows = json.loads((tmp_path / "m.json").read_text())["rows"]
    assert [r["label"] for r in rows] == ["Sobolev fluid (s) sample 1",
                                          "Sobolev fluid (s) sample 2", "no regularization (i)"]
    assert [r["objective"] for r in rows[:2]] == pytest.approx(seen, abs=1e-6)
    assert "| target activation / rel. feature error |" in out
