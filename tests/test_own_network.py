"""Bring your own network: from_module, exported programs (.pt2), import strings and the
CLI's model contract flags, on a small network with branches and a residual."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import viz_core
from tests.own_nets import Untraceable, branchy
from viz_core import models
from viz_core.config import RunConfig
from viz_core.engine import run_to_end
from viz_core.errors import VizError
from viz_core.transforms import Octave

ROOT = Path(__file__).resolve().parents[1]
def _env() -> dict:
    """The environment of a subprocess, read when it starts (the session's private store
    is set by conftest after this module is imported)."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture
def wrapped():
    net = branchy()  # left in train mode, parameters requiring grad, as a user has it
    model = viz_core.from_module(net, input_size=32, channels=1, name="branchy_test",
                                 classes=list("abcde"))
    yield net, model
    models.unregister("branchy_test")


def test_wraps_without_mutating(wrapped):
    net, model = wrapped
    before = {k: v.clone() for k, v in net.state_dict().items()}
    hooks = (dict(net._forward_hooks), dict(net.block._forward_hooks))
    run_to_end([RunConfig(model="branchy_test", layer="block", channel=2, steps=5),
                RunConfig(model="branchy_test", layer="block", channel=4, steps=5)],
               keep_frames=False)
    assert net.training and all(p.requires_grad for p in net.parameters())
    assert (dict(net._forward_hooks), dict(net.block._forward_hooks)) == hooks
    for k, v in net.state_dict().items():  # BatchNorm statistics included
        assert torch.equal(v, before[k]), k
    assert model.classes == list("abcde") and model.spec.family == "user"


def test_catalogue_lists_named_modules_and_logits(wrapped):
    net, model = wrapped
    assert model.layers == [n for n, _ in net.named_modules() if n] + ["logits"]
    assert "block.left.0" in model.layers and model.resolve_layer("block.mix") == "block.mix"
    with pytest.raises(VizError, match="Close matches: block"):
        model.resolve_layer("blok")


def test_layer_outputs_are_the_modules_outputs(wrapped):
    net, model = wrapped
    seen = {}
    eval_net = branchy().eval()
    handles = [eval_net.get_submodule(n).register_forward_hook(
        lambda m, i, o, n=n: seen.__setitem__(n, o)) for n in ("block", "block.left.0", "down")]
    x = torch.rand(2, 1, 32, 32)
    logits = eval_net(x)
    for h in handles:
        h.remove()
    for name in ("block", "block.left.0", "down"):
        torch.testing.assert_close(model.features(name)(x), seen[name])
    torch.testing.assert_close(model.features("logits")(x), logits)
    assert model.layer_channels("block") == 8 and model.layer_channels("logits") == 5


@pytest.mark.parametrize("kw", [
    dict(target=3),
    dict(target=3, class_score="log_prob"),
    dict(layer="block", channel=5),
    dict(layer="block.left.0", channel=1, unit=(4, 7)),
    dict(layer="down", channel=2, jitter=2,
         octaves=[Octave(1.0, 4, 5.0), Octave(1.2, 3, 3.0)]),
    dict(objective="channel(block, 1) - 0.2*diversity(block)"),
])
def test_every_task_runs_by_name(wrapped, kw):
    steps = {} if "octaves" in kw else {"steps": 8}  # an octave run's stages give its steps
    res = run_to_end(RunConfig(model="branchy_test", **steps, **kw), keep_frames=False)
    assert np.isfinite(res.final.images).all() and res.final.images.shape[1] == 1
    assert np.isfinite(res.final.activation).all()
    first, last = res.frames[0].images, res.final.images
    assert first.shape != last.shape or not np.allclose(first, last)


def test_inversion_and_validation_by_name(wrapped, tmp_path):
    img = tmp_path / "ref.png"
    Image.fromarray((np.random.default_rng(0).random((32, 32)) * 255).astype(np.uint8)).save(img)
    res = run_to_end(RunConfig(model="branchy_test", task="inversion", layer="block",
                               image=str(img), steps=30, step_size=1.0), keep_frames=False)
    first = run_to_end(RunConfig(model="branchy_test", task="inversion", layer="block",
                                 image=str(img), steps=1, step_size=1.0)).frames[-1]
    assert res.final.activation[0] < first.activation[0]  # the feature error falls
    with pytest.raises(VizError, match="channel 8 out of range 0..7"):
        run_to_end(RunConfig(model="branchy_test", layer="block", channel=8, steps=1))
    with pytest.raises(VizError, match="class index 5 out of range"):
        run_to_end(RunConfig(model="branchy_test", target=5, steps=1))


def test_zoo_names_cannot_be_taken():
    with pytest.raises(VizError, match="zoo model"):
        viz_core.from_module(branchy(), input_size=32, channels=1, name="fmnist_vgg")
    with pytest.raises(VizError, match="mean and std need 1"):
        viz_core.from_module(branchy(), input_size=32, channels=1, mean=(0.1, 0.2), name="x")
    with pytest.raises(VizError, match="takes 1-channel inputs, not 3"):
        viz_core.from_module(branchy(), input_size=32, channels=3, name="x")
    with pytest.raises(VizError, match="nn.Module"):
        viz_core.from_module("resnet", input_size=32)


def test_untraceable_network_works_with_hooks():
    net = Untraceable()
    model = viz_core.from_module(net, input_size=32, channels=1, name="untraceable_test")
    try:
        with pytest.raises(torch.fx.proxy.TraceError):  # fx cannot trace it
            torch.fx.symbolic_trace(net)
        res = run_to_end(RunConfig(model="untraceable_test", layer="block", channel=1, steps=6),
                         keep_frames=False)
        assert np.isfinite(res.final.activation).all()
        ref = net.eval().block(net.stem(torch.zeros(1, 1, 32, 32)))
        torch.testing.assert_close(model.features("block")(torch.zeros(1, 1, 32, 32)), ref)
        with pytest.raises(VizError, match="'spare'.*not reached by the forward pass"):
            run_to_end(RunConfig(model="untraceable_test", layer="spare", channel=1, steps=1))
    finally:
        models.unregister("untraceable_test")


def _export(path: Path, batch_dim: bool = True) -> None:
    net = branchy().eval()
    shapes = ({0: torch.export.Dim("batch")},) if batch_dim else None
    program = torch.export.export(net, (torch.rand(2 if batch_dim else 1, 1, 32, 32),),
                                  dynamic_shapes=shapes)
    torch.export.save(program, str(path))


@pytest.mark.parametrize("batch_dim", [True, False])
def test_exported_program_matches_from_module(tmp_path, wrapped, batch_dim):
    _, ref = wrapped
    file = tmp_path / "branchy.pt2"
    _export(file, batch_dim)
    model = models.load_exported(file, input_size=32, channels=1)
    assert {"block", "block.left.0", "stem", "down", "logits"} <= set(model.layers)
    x = torch.rand(3, 1, 32, 32)
    for layer in ("block", "block.left.0", "down", "logits"):
        torch.testing.assert_close(model.features(layer)(x), ref.features(layer)(x))
    both = model.feature_dict(["block", "logits"])(x)
    torch.testing.assert_close(both["logits"], ref.features("logits")(x))
    a = run_to_end(RunConfig(model=str(file), layer="block", channel=3, steps=5,
                             extra={"input_size": 32, "channels": 1}), keep_frames=False)
    b = run_to_end(RunConfig(model="branchy_test", layer="block", channel=3, steps=5),
                   keep_frames=False)
    np.testing.assert_allclose(a.final.images, b.final.images, atol=1e-5)


def test_import_string_matches_from_module(wrapped, tmp_path):
    _, ref = wrapped
    model = models.open_model("tests.own_nets:branchy", input_size=32, channels=1)
    x = torch.rand(2, 1, 32, 32)
    for layer in ("block", "logits"):
        torch.testing.assert_close(model.features(layer)(x), ref.features(layer)(x))
    other = branchy()
    torch.nn.init.normal_(other.down.weight)
    torch.save(other.state_dict(), tmp_path / "w.pt")
    trained = models.open_model("tests.own_nets:branchy", input_size=32, channels=1,
                                weights=tmp_path / "w.pt")
    assert "w.pt" in trained.label
    torch.testing.assert_close(trained.features("logits")(x), other.eval()(x))
    for bad, words in [("tests.own_nets:nothing", "has no 'nothing'"),
                       ("tests.no_such_module:f", "cannot import"),
                       ("tests.own_nets:Block", "failed"),
                       ("a b:c", "neither")]:
        with pytest.raises(VizError, match=words):
            models.open_model(bad, input_size=32, channels=1)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "viz_core", "visualize", *args, "--quiet",
                           "--device", "cpu"], capture_output=True, text=True, env=_env(), cwd=cwd)


def test_cli_pt2_inner_layer_and_import_string_agree(tmp_path):
    file = tmp_path / "branchy.pt2"
    _export(file)
    classes = tmp_path / "classes.txt"
    classes.write_text("a\nb\nc\nd\ne\n")
    common = ["--input-size", "32", "--channels", "1", "--mean", "0.5", "--std", "0.25",
              "--classes", str(classes), "--layer", "block", "--channel", "5", "--steps", "6"]
    runs = []
    for model in (str(file), "tests.own_nets:branchy"):
        out = tmp_path / f"{len(runs)}.png"
        r = _cli("--model", model, *common, "--out", str(out), "--json",
                 str(out.with_suffix(".json")), cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        runs.append(json.loads(out.with_suffix(".json").read_text()))
    assert runs[0]["extra"] == runs[1]["extra"] == {
        "input_size": 32, "channels": 1, "mean": [0.5], "std": [0.25],
        "classes": list("abcde")}
    assert runs[0]["final_objective"] == pytest.approx(runs[1]["final_objective"], rel=1e-5)
    bad = _cli("--model", str(file), *common[:-6], "--layer", "blok", "--channel", "5",
               "--out", str(tmp_path / "x.png"), cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Close matches" in bad.stderr
    bad = _cli("--model", str(file), "--input-size", "32", "--channels", "1", "--mean", "x",
               "--out", str(tmp_path / "x.png"), cwd=tmp_path)
    assert bad.returncode == 2 and "--mean must be numbers" in bad.stderr


def test_torchscript_is_legacy_and_quiet(tmp_path):
    net = branchy().eval()
    file = tmp_path / "branchy.pt"
    with pytest.warns(FutureWarning):
        torch.jit.script(net).save(str(file))
    r = _cli("--model", str(file), "--input-size", "32", "--channels", "1", "--layer",
             "block", "--channel", "1", "--out", str(tmp_path / "x.png"), cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "deprecated" not in r.stderr and "only support the layer 'logits'" in r.stderr
    r = _cli("--model", str(file), "--input-size", "32", "--channels", "1", "--target", "1",
             "--steps", "3", "--out", str(tmp_path / "x.png"), cwd=tmp_path)
    assert r.returncode == 0 and "deprecated" not in r.stderr, r.stderr


def test_team_models_from_demons_viz_toml(tmp_path, monkeypatch, wrapped):
    _, ref = wrapped
    (tmp_path / "nets").mkdir()
    _export(tmp_path / "nets" / "branchy.pt2")
    (tmp_path / "names.txt").write_text("a\nb\nc\nd\ne\n")
    toml = tmp_path / "demons-viz.toml"
    toml.write_text('''
[[model]]
name = "team_import"
source = "tests.own_nets:branchy"
input_size = 32
channels = 1
classes_file = "names.txt"

[[model]]
name = "team_file"
source = "nets/branchy.pt2"
mean = [0.0]
std = [1.0]
''')
    monkeypatch.setenv(models.TEAM_ENV, str(toml))
    assert list(models.team_models()) == ["team_import", "team_file"]
    x = torch.rand(2, 1, 32, 32)
    for name in ("team_import", "team_file"):
        m = models.open_model(name)
        torch.testing.assert_close(m.features("block")(x), ref.features("block")(x))
    assert models.open_model("team_import").classes == list("abcde")
    assert models.open_model("team_file").spec.input_size == 32  # recorded in the program
    res = run_to_end(RunConfig(model="team_file", layer="block", channel=2, steps=3),
                     keep_frames=False)
    assert np.isfinite(res.final.activation).all()
    toml.write_text('[[model]]\nname = "x"\nsource = "a:b"\nsizes = 3\n')
    with pytest.raises(VizError, match="unknown key 'sizes'"):
        models.team_models()


def test_a_program_with_a_dynamic_size_opens_at_its_example_size(tmp_path):
    """A program exported with dynamic height and width records no size; the example
    input it was exported with gives it (not the 224 fallback), and a size outside its
    range is refused naming the program's own bound."""
    net = branchy().eval()
    side = torch.export.Dim("side", min=16, max=64)
    program = torch.export.export(net, (torch.rand(1, 1, 48, 48),),
                                  dynamic_shapes=({2: side, 3: side},))
    file = tmp_path / "dyn.pt2"
    torch.export.save(program, str(file))
    model = models.load_exported(file)
    assert (model.spec.input_size, model.spec.channels) == (48, 1)
    assert models.load_exported(file, input_size=32).spec.input_size == 32
    with pytest.raises(VizError, match=r"dyn.pt2 takes sizes 16 to 64 \(exported with a "
                                       r"dynamic size\), not 96x96"):
        models.load_exported(file, input_size=96)
