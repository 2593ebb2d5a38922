"""The demons-viz command line: public spellings, outputs, one-line errors."""

import json
import subprocess
import sys

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


def test_visualize_writes_png_gif_json_and_config_reproduces(tmp_path, capsys):
    png, gif, js = tmp_path / "a.png", tmp_path / "a.gif", tmp_path / "a.json"
    argv = ["visualize", "--model", "fmnist_vgg", "--weights", "random", "--task", "am",
            "--target", "3", "--fluid", "sobolev", "--elastic", "gaussian:1.0",
            "--kernel-size", "7", "--tv", "0.01", "--step-size", "5", "--steps", "6",
            "--jitter", "2", "--seed", "1", "--device", "cpu", "--every", "2", "--quiet",
            "--out", str(png), "--gif", str(gif), "--json", str(js)]
    assert main(argv) == 0
    run = json.loads(js.read_text())
    for key in ("model", "device", "seconds", "final_objective", "target_activation"):
        assert key in run
    assert run["fluid"]["kind"] == "sobolev" and run["elastic"]["param"] == 1.0
    assert run["elastic"]["size"] == 7 and run["tv"] == 0.01 and run["steps"] == 6
    assert "RANDOM" in run["model_label"]
    from PIL import Image

    assert Image.open(png).size == (64, 64)
    assert "RANDOM" in Image.open(png).text["model"]  # labelled in every output
    assert Image.open(gif).n_frames >= 3
    png2 = tmp_path / "b.png"
    assert main(["visualize", "--config", str(js), "--out", str(png2), "--quiet"]) == 0
    assert png.read_bytes() == png2.read_bytes()


def test_models_lists_zoo(capsys):
    assert main(["models", "--json"]) == 0
    names = [r["name"] for r in json.loads(capsys.readouterr().out)]
    assert {"vgg19", "resnet50", "densenet121", "fmnist_vgg"} <= set(names)
    assert main(["models", "vgg19", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["aliases"]["block5_conv1"] == "features.29"


def test_python_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "viz_core", "kernels", "--kind", "gaussian",
                        "--size", "2", "--out", "x.npy"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "odd" in r.stderr


def test_visualize_torchscript_user_model(tmp_path, capsys):
    import torch

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(4, 3))
    path = tmp_path / "user.pt"
    torch.jit.script(net).save(str(path))
    out = tmp_path / "u.png"
    assert main(["visualize", "--model", str(path), "--input-size", "32", "--target", "1",
                 "--steps", "3", "--quiet", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    assert main(["visualize", "--model", str(path), "--input-size", "32", "--target", "9",
                 "--steps", "3", "--quiet", "--out", str(out)]) == 2
    assert "class index 9" in capsys.readouterr().err
