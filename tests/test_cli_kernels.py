"""``demons-viz kernels`` (viz_core.cli.kernels): fitted kernels written as .npy."""

import json
from pathlib import Path

import numpy as np
import pytest

from viz_core.cli import main


def test_kernels_fits_and_writes_npy(tmp_path, capsys):
    out = tmp_path / "k.npy"
    assert main(["kernels", "--kind", "sobolev", "--size", "11", "--out", str(out)]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["kind"] == "sobolev" and line["size"] == 11 and line["order"] == 1
    assert line["param"] == pytest.approx(0.38, rel=0.02)
    k = np.load(out)
    assert k.shape == (11, 11) and k.sum() == pytest.approx(1.0)
    assert main(["kernels", "--kind", "gaussian", "--size", "9", "--param", "2.5",
                 "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["param"] == 2.5


def test_kernels_writes_the_file_it_names(tmp_path, capsys):
    """``--out k.txt`` writes k.txt (an .npy array), the path the line reports; np.save
    of a path would have written k.txt.npy."""
    out = tmp_path / "k.txt"
    assert main(["kernels", "--kind", "gaussian", "--size", "5", "--out", str(out)]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert Path(line["out"]) == out and out.is_file()
    assert not (tmp_path / "k.txt.npy").exists()
    assert np.load(out).shape == (5, 5)


@pytest.mark.parametrize("kind", ["sobolev", "gaussian"])
def test_an_untruncated_kernel_is_one_line_not_a_traceback(tmp_path, capsys, kind):
    """Size 0 (an untruncated kernel, applied in the Fourier domain) has no array: with a
    parameter it crashed with AttributeError in .double()."""
    out = tmp_path / "k.npy"
    assert main(["kernels", "--kind", kind, "--size", "0", "--param", "1",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "untruncated kernel (size 0) has no array" in err[0]
    assert not out.exists()
