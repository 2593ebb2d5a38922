"""``demons-viz visualize`` (viz_core.cli.visualize): outputs, replay of run JSONs (also
those written before the CLI became a package), TorchScript models."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from viz_core.cli import main
from viz_core.errors import VizError

DATA = Path(__file__).parent / "data"


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


def test_visualize_replays_a_run_json_written_by_the_earlier_cli(tmp_path, capsys):
    """tests/data/run_v0.{json,png}: written by ``demons-viz visualize ... --json`` before
    the CLI became a package (pretrained fmnist_vgg, fluid Sobolev + elastic Gaussian + TV,
    8 steps, seed 3, no jitter)."""
    out = tmp_path / "replay.png"
    assert main(["visualize", "--config", str(DATA / "run_v0.json"), "--out", str(out),
                 "--quiet"]) == 0
    line = json.loads(capsys.readouterr().out)
    new_px = np.asarray(Image.open(out), dtype=np.float64)
    old_px = np.asarray(Image.open(DATA / "run_v0.png"), dtype=np.float64)
    assert new_px.shape == old_px.shape == (64, 64)
    assert np.abs(new_px - old_px).max() <= 1  # same pre-image up to 8-bit rounding
    # the target activation is the picture's own now (the earlier CLI wrote its last
    # step's, measured before that step's update): the network's, on the final picture
    from viz_core.config import RunConfig
    from viz_core.engine import prepare_model, run_to_end
    from viz_core.objectives import make_objective

    cfg = RunConfig.load(DATA / "run_v0.json")
    model = prepare_model(cfg)
    final = run_to_end(cfg, model).final
    objective = make_objective(model, [cfg.target_spec(model.spec.default_layer)])
    _, act = objective(torch.from_numpy(final.images))
    assert line["target_activation"] == pytest.approx(float(act[0]), rel=1e-4, abs=1e-6)
    old = json.loads((DATA / "run_v0.json").read_text())["target_activation"]
    assert line["target_activation"] != pytest.approx(old, rel=1e-3)  # one step later


def test_optimizer_flag_round_trips_through_the_json(tmp_path):
    """--optimizer adam reaches the run configuration and its JSON, and --config replays it."""
    from viz_core.cli import main
    from viz_core.config import RunConfig

    out, js = tmp_path / "a.png", tmp_path / "a.json"
    assert main(["visualize", "--model", "fmnist_vgg", "--target", "7", "--steps", "3",
                 "--optimizer", "adam", "--step-size", "20", "--out", str(out),
                 "--json", str(js), "--quiet"]) == 0
    cfg = RunConfig.load(js)
    assert cfg.optimizer == "adam"
    again = tmp_path / "b.png"
    assert main(["visualize", "--config", str(js), "--out", str(again), "--quiet"]) == 0
    from PIL import Image

    assert Image.open(out).tobytes() == Image.open(again).tobytes()


def test_class_score_flag_reaches_the_json_and_refuses_channels(tmp_path, capsys):
    from viz_core.cli import main
    from viz_core.config import RunConfig

    js = tmp_path / "a.json"
    assert main(["visualize", "--model", "fmnist_vgg", "--target", "4", "--steps", "3",
                 "--class-score", "log_prob", "--out", str(tmp_path / "a.png"),
                 "--json", str(js), "--quiet"]) == 0
    assert RunConfig.load(js).class_score == "log_prob"
    assert main(["visualize", "--model", "fmnist_vgg", "--layer", "block2", "--channel", "3",
                 "--steps", "3", "--class-score", "log_prob",
                 "--out", str(tmp_path / "b.png"), "--quiet"]) != 0
    assert "log-probability" in capsys.readouterr().err


@pytest.mark.parametrize("flags, says", [
    (["--order", "0"], "order k must be an integer in 1..8, got 0"),
    (["--kernel-size", "0"], "size 0) needs an explicit gamma"),
])
def test_a_zero_kernel_size_or_order_is_not_taken_for_unset(tmp_path, capsys, flags, says):
    """0 is a value (the untruncated operator's size; an impossible order), checked as the
    kernels command checks it, not silently replaced by the defaults 11 and 1."""
    code = main(["visualize", "--quiet", "--model", "fmnist_vgg", "--weights", "random",
                 "--steps", "2", "--fluid", "sobolev", *flags,
                 "--out", str(tmp_path / "x.png"), "--no-store"])
    assert code == 2 and says in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_an_inactive_unit_is_a_warning_not_done(tmp_path, capsys):
    """Channel 5 of fmnist_vgg's block3 is dead on the start image: no gradient, so the
    pre-image never changes; the run says so and exits 3 instead of reporting a result."""
    code = main(["visualize", "--quiet", "--model", "fmnist_vgg", "--layer", "block3",
                 "--channel", "5", "--steps", "10", "--out", str(tmp_path / "x.png"),
                 "--no-store"])
    assert code == 3
    assert "the target gave no gradient" in capsys.readouterr().err
    code = main(["visualize", "--quiet", "--model", "fmnist_vgg", "--layer", "block3",
                 "--channel", "7", "--steps", "10", "--out", str(tmp_path / "y.png"),
                 "--no-store"])
    assert code == 0  # a live channel


def test_a_saturated_picture_is_a_warning_after_its_files(tmp_path, capsys):
    """The CLI has the dashboard's image checks: a step far too large finishes (exit 0,
    the files written) with the picture called saturated; a good run has no warning."""
    base = ["visualize", "--model", "fmnist_vgg", "--weights", "random", "--target", "3",
            "--steps", "4", "--device", "cpu", "--quiet", "--no-store"]
    assert main([*base, "--step-size", "1e308", "--out", str(tmp_path / "a.png")]) == 0
    err = capsys.readouterr().err
    assert "warning: saturated: 100% of the pixels" in err and (tmp_path / "a.png").is_file()
    assert main([*base, "--out", str(tmp_path / "b.png")]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("flags, says", [
    (["--gif", "/proc/x.gif"], "error: --gif '/proc/x.gif' is not writable"),
    (["--json", "{tmp}/none/x.json"], "error: --json '{tmp}/none/x.json': its folder"),
    (["--task", "inversion", "--image", "{tmp}"], "error: image file '{tmp}' is a folder"),
    (["--weights", "{tmp}/text.txt"], "it is not a file written by torch.save"),
])
def test_a_bad_path_is_named_by_its_own_flag(tmp_path, capsys, flags, says):
    (tmp_path / "text.txt").write_text("not weights")
    flags = [f.format(tmp=tmp_path) for f in flags]
    assert main(["visualize", "--model", "fmnist_vgg", "--steps", "1", "--quiet",
                 "--no-store", "--out", str(tmp_path / "a.png"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert says.format(tmp=tmp_path) in err
    assert not (tmp_path / "a.png").exists()


@pytest.mark.parametrize("flags", [["--input-size", "0"], ["--input-size", "128"],
                                   ["--channels", "3"], ["--mean", "0.5"], ["--std", "0.2"]])
def test_contract_flags_are_refused_for_a_zoo_model(tmp_path, capsys, flags):
    """A zoo model has its own contract: the flags were stored in the run and ignored
    (a 64x64 grey picture for --input-size 0 or 100000)."""
    out = tmp_path / "x.png"
    assert main(["visualize", "--model", "fmnist_vgg", *flags, "--steps", "2",
                 "--out", str(out), "--no-store"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not apply to fmnist_vgg" in err[0] and not out.exists()


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_non_finite_normalisation_is_refused(value):
    from viz_core.models.module_source import check_contract

    with pytest.raises(VizError, match="finite"):
        check_contract(32, 1, [float(value)], None)
    with pytest.raises(VizError, match="finite"):
        check_contract(32, 1, None, [float(value)])
