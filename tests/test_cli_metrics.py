"""``demons-viz metrics`` (viz_core.cli.metrics): tables, claims, written files."""

from __future__ import annotations

from viz_core.cli import main


def test_cli_metrics_random_weights(capsys, tmp_path):
    rc = main(["metrics", "--weights", "random", "--steps", "3", "--quiet", "--threads", "1",
               "--md", str(tmp_path / "m.md"), "--csv", str(tmp_path / "m.csv")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "fluid_elastic_sobolev" in out and "Sobolev sharper than Gaussian" in out
    assert "Command: `demons-viz" in (tmp_path / "m.md").read_text()
    assert (tmp_path / "m.csv").read_text().startswith("label,scheme,")


def test_cli_metrics_inversion_needs_an_image(capsys, tmp_path):
    assert main(["metrics", "--task", "inversion"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--image" in err
    assert main(["metrics", "--csv", str(tmp_path / "nofolder" / "m.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
