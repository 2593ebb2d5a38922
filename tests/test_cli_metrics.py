"""``demons-viz metrics`` (viz_core.cli.metrics): tables, claims, written files."""

from __future__ import annotations

import csv
import io

from viz_core.cli import main
from viz_core.schemes import FIG1_SCHEMES, SCHEME_REGISTRY


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
