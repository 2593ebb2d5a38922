"""Composable objectives: the algebra, the --objective grammar, the built-in terms against
the task objectives, diversity, and a new objective registered in a fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from viz_core.config import RunConfig
from viz_core.engine import run_to_end
from viz_core.errors import VizError
from viz_core.objectives import (
    OBJECTIVES,
    Target,
    channel,
    class_log_prob,
    class_logit,
    direction,
    diversity,
    inversion,
    leaf,
    make_objective,
    neuron,
    objective,
    parse_objective,
)
from viz_core.transforms import parse_octaves

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text,expected", [
    ("channel(block3,5) - 0.1*diversity(block3)", "channel(block3, 5) - 0.1*diversity(block3)"),
    ("2*(class_logit(3) + -class_log_prob(2))*0.5", "class_logit(3) - class_log_prob(2)"),
    ("direction(3, [1, -2.5, 1e-3])", "direction(3, [1, -2.5, 0.001])"),
    ("neuron(block2, 4, y=2, x=1)", "neuron(block2, 4, 2, 1)"),
    ("inversion(features.29, p=1) + 0.5 * channel('odd name', 0)",
     "inversion(features.29, 1) + 0.5*channel('odd name', 0)"),
    ("-channel(conv1, 1)", "-channel(conv1, 1)"),
])
def test_valid_strings_parse_and_render_back(text, expected):
    term = parse_objective(text)
    assert str(term) == expected
    assert parse_objective(str(term)) == term


def test_python_algebra_equals_the_grammar():
    term = channel("block3", 5) - 0.1 * diversity("block3")
    assert term == parse_objective("channel(block3, 5) - 0.1*diversity(block3)")
    assert [c for c, _ in term.parts] == [1.0, -0.1]
    assert (3 * class_logit(1)).parts[0][0] == 3.0
    with pytest.raises(TypeError):
        channel("a", 1) * channel("a", 2)
    with pytest.raises(TypeError):
        channel("a", 1) + 1.0


@pytest.mark.parametrize("text,words", [
    ("", ["empty"]),
    ("chanel(b, 1)", ["unknown objective 'chanel'", "did you mean channel"]),
    ("channel(b)", ["needs index"]),
    ("channel(b, x)", ["'index'", "integer", "'x'"]),
    ("channel(b, 1.5)", ["integer"]),
    ("channel(b, 1) +", ["found the end"]),
    ("0.5", ["number alone"]),
    ("channel(b, 1) * channel(b, 2)", ["cannot be multiplied"]),
    ("channel(b, 1) + 1", ["number cannot be added"]),
    ("channel(b, 1, 2, 3)", ["at most 2 arguments"]),
    ("channel(b, 1))", ["unexpected ')'"]),
    ("__import__('os').system('true')", ["unknown objective '__import__'"]),
    ("channel(b, index=1, foo=2)", ["no argument 'foo'"]),
    ("channel(b; 1)", ["unexpected character ';'"]),
    ("inversion(b, 3)", ["exponent p must be 1 or 2"]),
    ("direction(b, 3)", ["'vector'", "list"]),
    ("channel(index=1, b)", ["positional argument follows a keyword"]),
    ("(channel(b, 1)", ["expected ')'"]),
])
def test_invalid_strings_are_one_clear_error(text, words):
    with pytest.raises(VizError) as err:
        parse_objective(text)
    msg = str(err.value)
    assert "\n" not in msg and err.value.field == "objective"
    for w in words:
        assert w in msg, (w, msg)


def test_invalid_objective_fails_validation_not_the_run():
    with pytest.raises(VizError, match="unknown objective"):
        RunConfig(model="tiny", objective="chanel(conv1, 1)").validate()
    cfg = RunConfig(model="tiny", objective=channel("conv1", 1)).validate()
    assert cfg.objective == "channel(conv1, 1)"  # a Python term is kept as its text


def _grad(obj, x):
    x = x.clone().requires_grad_(True)
    d, act = obj(x)
    (g,) = torch.autograd.grad(d.sum(), x)
    return d.detach(), act, g


@pytest.mark.parametrize("term,target", [
    (class_logit(2), Target("am", "logits", 2)),
    (class_log_prob(2), Target("am", "logits", 2, score="log_prob")),
    (channel("conv2", 3), Target("am", "conv2", 3)),
    (neuron("conv2", 3, 4, 5), Target("am", "conv2", 3, (4, 5))),
])
def test_terms_equal_the_task_objectives(tiny_model, term, target):
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    new = _grad(term.bind(tiny_model), x)
    old = _grad(make_objective(tiny_model, [target] * 3), x)
    for a, b in zip(new, old):
        torch.testing.assert_close(a, b)


def test_inversion_term_equals_the_task_objective(tiny_model):
    ref = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    for p in (1, 2):
        new = _grad(inversion("conv2", p).bind(tiny_model, ref), x)
        old = _grad(make_objective(tiny_model, [Target("inversion", "conv2", p=p)] * 2, ref), x)
        for a, b in zip(new, old):
            torch.testing.assert_close(a, b)
    with pytest.raises(VizError, match="image"):
        inversion("conv2").bind(tiny_model)


def test_sum_is_linear_and_reports_the_first_term(tiny_model):
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    a = channel("conv2", 3).bind(tiny_model)(x)
    b = channel("conv1", 1).bind(tiny_model)(x)
    d, act = (channel("conv2", 3) - 0.5 * channel("conv1", 1)).bind(tiny_model)(x)
    torch.testing.assert_close(d, a[0] - 0.5 * b[0])
    torch.testing.assert_close(act, a[1])


def test_direction_along_a_basis_vector_is_the_channel(tiny_model):
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    e3 = [0.0] * 16
    e3[3] = 2.0
    torch.testing.assert_close(direction("conv2", e3).bind(tiny_model)(x)[0],
                               channel("conv2", 3).bind(tiny_model)(x)[0])
    with pytest.raises(VizError, match="16 numbers"):
        direction("conv2", [1.0, 2.0]).bind(tiny_model)


def test_bad_indices_name_the_range(tiny_model):
    with pytest.raises(VizError, match="0..15"):
        channel("conv2", 16).bind(tiny_model)
    with pytest.raises(VizError, match="0..4"):
        class_logit(5).bind(tiny_model)
    with pytest.raises(VizError, match="outside"):
        neuron("conv2", 1, 99, 0).bind(tiny_model)


def _gram_similarity(images: np.ndarray) -> float:
    """Mean pairwise cosine similarity of the samples' pixel Gram matrices."""
    x = torch.from_numpy(images).flatten(2)
    g = (x @ x.transpose(1, 2)).flatten(1)
    g = g / g.norm(dim=1, keepdim=True)
    s = g @ g.T
    n = len(images)
    return float((s.sum() - s.diagonal().sum()) / (n * (n - 1)))


def _diff(images: np.ndarray) -> float:
    return float(np.mean([np.abs(images[i] - images[j]).mean()
                          for i in range(len(images)) for j in range(i)]))


def test_diversity_gives_different_pre_images(tiny_model):
    def batch(expr):
        cfgs = [RunConfig(model="tiny", objective=expr, steps=60, step_size=4.0, seed=s,
                          init_std=0.02) for s in range(4)]
        return run_to_end(cfgs, tiny_model, keep_frames=False).final

    plain = batch("channel(conv1, 2)")
    diverse = batch("channel(conv1, 2) - 20*diversity(conv1)")
    # the Gram term of the first layer pulls the samples' features apart
    x_plain = torch.from_numpy(plain.images)
    x_div = torch.from_numpy(diverse.images)
    sim = [float(-diversity("conv1").bind(tiny_model)(x)[0].mean()) for x in (x_plain, x_div)]
    assert sim[1] < sim[0] - 0.01, sim
    assert _diff(diverse.images) > 1.2 * _diff(plain.images)
    assert np.isfinite(diverse.activation).all()


def test_batched_seeds_run_as_alone_when_nothing_moves(tiny_model):
    cfgs = [RunConfig(model="tiny", objective="class_logit(1)", steps=10, seed=s)
            for s in (0, 1)]
    both = run_to_end(cfgs, tiny_model, keep_frames=False).final
    alone = run_to_end(cfgs[1], tiny_model, keep_frames=False).final
    np.testing.assert_allclose(both.images[1], alone.images[0], atol=1e-6)
    with pytest.raises(VizError, match="seed"):  # jitter offsets follow one seed
        run_to_end([RunConfig(model="tiny", objective="class_logit(1)", jitter=2, seed=s)
                    for s in (0, 1)], tiny_model)
    # a task's batch (a plain class target: sweeps, visualize --samples) likewise
    task = [RunConfig(model="tiny", target=1, steps=10, seed=s) for s in (0, 1)]
    both = run_to_end(task, tiny_model, keep_frames=False).final
    alone = run_to_end(task[1], tiny_model, keep_frames=False).final
    np.testing.assert_allclose(both.images[1], alone.images[0], atol=1e-6)
    with pytest.raises(VizError, match="seed"):  # but not when the canvas moves
        run_to_end([RunConfig(model="tiny", target=1, jitter=2, seed=s) for s in (0, 1)],
                   tiny_model)


def test_a_diversity_batch_may_differ_in_seeds_with_jitter_and_octaves(tiny_model):
    """The Playground's diversity samples keep the page's jitter and octaves: the
    diversity term couples the batch, so its members may start from different seeds."""
    expr = "channel(conv1, 2) - 1*diversity(conv1)"
    cfgs = [RunConfig(model="tiny", objective=expr, jitter=2, steps=4, seed=s,
                      octaves=parse_octaves("1.0:2:4,1.2:2:2")) for s in (0, 1, 2)]
    images = run_to_end(cfgs, tiny_model, keep_frames=False).final.images
    assert images.shape[0] == 3 and np.isfinite(images).all()
    assert min(np.abs(images[i] - images[j]).mean() for i in range(3) for j in range(i)) > 0


@pytest.fixture
def brightness_objective():
    """A new objective, registered the way a contributor adds one: one function."""
    @objective
    def mean_input(layer: str, weight: float = 1.0) -> object:
        """Minus the mean of the layer's output (all channels), times ``weight``."""
        def make(b):
            return lambda phi: -weight * phi.flatten(1).mean(dim=1)
        return leaf(layer, make)

    yield mean_input
    OBJECTIVES.pop("mean_input")


def test_a_new_objective_is_one_function(brightness_objective, tiny_model):
    term = parse_objective("mean_input(conv1, weight=2) - 0.1*diversity(conv1)")
    assert str(term) == "mean_input(conv1, 2) - 0.1*diversity(conv1)"
    res = run_to_end(RunConfig(model="tiny", objective=str(term), steps=20, step_size=4.0),
                     tiny_model)
    acts = [float(f.activation[0]) for f in res.frames[1:]]  # frame 0: before any step
    assert acts[-1] > acts[0]  # the pre-image raises the mean response it asks for


def test_cli_objective_end_to_end_and_replay(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out, js = tmp_path / "o.png", tmp_path / "o.json"
    cmd = [sys.executable, "-m", "viz_core", "visualize", "--model", "fmnist_vgg",
           "--objective", "channel(block2, 3) - 0.1*diversity(block2)", "--steps", "6",
           "--out", str(out), "--json", str(js), "--quiet", "--device", "cpu"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rec = json.loads(js.read_text())
    assert rec["objective"] == "channel(block2, 3) - 0.1*diversity(block2)"
    again = subprocess.run([sys.executable, "-m", "viz_core", "visualize", "--config", str(js),
                            "--out", str(tmp_path / "a.png"), "--quiet"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["final_objective"] == rec["final_objective"]
    bad = subprocess.run(cmd[:7] + ["channel(block2, 3) - 0.1*divrsity(block2)"] + cmd[8:],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "did you mean diversity" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_an_objective_defined_in_a_notebook_gets_typed_arguments(tiny_model):
    """A notebook cell keeps annotations as types (no ``from __future__ import
    annotations``): ``index: int`` must still give an int, from Python and from text
    (before: the index arrived as a string and the forward pass failed with a TypeError)."""
    code = '''
from viz_core.objectives import leaf, objective

@objective
def sq_channel_nb(layer: str, index: int, weight: float = 1.0):
    return leaf(layer, lambda b: (lambda phi: -weight * phi[:, index].pow(2).mean((-2, -1))))
'''
    ns: dict = {}
    exec(compile(code, "<notebook cell>", "exec", dont_inherit=True), ns)  # no future import
    try:
        assert ns["sq_channel_nb"].__wrapped__.__annotations__["index"] is int
        for obj in (ns["sq_channel_nb"]("conv1", 2, weight=0.5), "sq_channel_nb(conv1, 2)"):
            res = run_to_end(RunConfig(model="tiny", objective=obj, steps=2), tiny_model)
            assert np.isfinite(res.final.activation).all()
        with pytest.raises(VizError, match="must be an integer"):
            parse_objective("sq_channel_nb(conv1, two)")
    finally:
        OBJECTIVES.pop("sq_channel_nb", None)


def test_a_bare_leaf_says_to_register_it():
    """A leaf(...) term outside an @objective function has no text to run by (QA: the
    message was "expected a number or an objective, found ')'")."""
    raw = leaf("conv1", lambda b: (lambda phi: -phi[:, 0].mean((-2, -1))))
    with pytest.raises(VizError, match="bare leaf.*@objective"):
        RunConfig(model="tiny", objective=raw).validate()


def test_an_unknown_objective_says_where_before_its_list():
    with pytest.raises(VizError) as err:
        parse_objective("nerve(conv1, 2)")
    msg = str(err.value)
    assert msg.startswith("objective 'nerve(conv1, 2)' at character 1: unknown objective"), msg
