"""The ``demons-viz`` entry points (viz_core.cli): subcommand table, one-line errors,
``python -m viz_core``."""

import subprocess
import sys

import pytest

from viz_core import cli
from viz_core.cli import main


@pytest.mark.parametrize("argv", [
    ["kernels", "--kind", "gaussian", "--size", "4", "--out", "k.npy"],
    ["kernels", "--kind", "sobolev", "--size", "11", "--param", "-1", "--out", "k.npy"],
    ["kernels", "--kind", "cubic", "--size", "11", "--out", "k.npy"],
    ["visualize", "--model", "alexnet", "--out", "a.png"],
    ["visualize", "--model", "fmnist_vgg", "--weights", "random", "--step-size", "nan",
     "--out", "a.png"],
    ["visualize", "--model", "fmnist_vgg", "--weights", "/no/such/file.pt", "--out", "a.png"],
    ["visualize", "--model", "fmnist_vgg", "--weights", "random", "--task", "inversion",
     "--image", "/no/such.png", "--out", "a.png"],
    ["visualize", "--model", "fmnist_vgg", "--weights", "random", "--octaves", "1.0:x",
     "--out", "a.png"],
    ["visualize", "--config", "/no/such.json", "--out", "a.png"],
])
def test_errors_are_one_line_and_nonzero(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1 and err.startswith("error:"), err
    assert "Traceback" not in err


def test_python_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "viz_core", "kernels", "--kind", "gaussian",
                        "--size", "2", "--out", "x.npy"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "odd" in r.stderr


def test_every_subcommand_module_is_registered(capsys):
    core = ["models", "kernels", "visualize", "evaluate", "metrics"]
    assert list(cli.COMMANDS)[:len(core)] == core  # later ones (sweep) are appended
    for name, module in cli.COMMANDS.items():
        assert callable(module.run) and callable(module.add_arguments) and module.HELP
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "usage: demons-viz " + name in capsys.readouterr().out


@pytest.mark.parametrize("cmd", ["evaluate", "sanity"])
@pytest.mark.parametrize("name", ["../../escape", "", "a/b"])
def test_a_name_with_a_folder_is_refused(tmp_path, capsys, cmd, name):
    """--name is a file stem inside --out: '../../escape' wrote the report outside it."""
    assert main([cmd, "--name", name, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is no file stem" in err[0]
    assert not (tmp_path / "o").exists()


def test_ctrl_c_on_a_sweep_says_how_to_resume(tmp_path, capsys, monkeypatch):
    """An interrupted sweep printed only "interrupted": it now says how many cells are
    kept and the command that resumes it (exit 130 as before)."""
    import viz_core.cli.sweep as cli_sweep

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_sweep, "run_sweep", interrupted)
    out = tmp_path / "sw"
    assert main(["sweep", "--steps", "2", "--axis", "seed=0,1", "--out", str(out),
                 "--no-store", "--quiet"]) == 130
    err = capsys.readouterr().err
    assert f"0 of 2 cells done and kept in {out}; resume with: demons-viz sweep --out {out}" \
        in err and err.rstrip().endswith("interrupted")
