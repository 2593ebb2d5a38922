"""Random and loaded weights for the user's own networks (viz_core.models.reinit and
file_source.own_weights): every source honours --weights, never silently keeps the trained
ones, and never changes the network passed in."""

from __future__ import annotations

import pytest
import torch

import viz_core
from tests.own_nets import branchy
from viz_core import models
from viz_core.errors import VizError
from viz_core.models.reinit import reinitialise


@pytest.fixture
def program(tmp_path):
    net = branchy().eval()
    file = tmp_path / "branchy.pt2"
    torch.export.save(torch.export.export(net, (torch.rand(1, 1, 32, 32),)), str(file))
    return net, file


def _logits(model, x):
    with torch.no_grad():
        return model.features("logits")(x)


def test_reinitialise_uses_pytorch_defaults_and_is_seeded():
    net = branchy()
    a = {k: v.clone() for k, v in reinitialise(net, seed=3).state_dict().items()}
    b = reinitialise(branchy(), seed=3).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = reinitialise(branchy(), seed=4).state_dict()
    assert not torch.equal(a["down.weight"], c["down.weight"])
    # torch's own Conv2d default: |w| <= 1/sqrt(fan_in) (kaiming uniform, a = sqrt(5))
    assert float(a["down.weight"].abs().max()) <= 1 / (8 * 9) ** 0.5 + 1e-6
    assert torch.equal(a["stem.1.running_var"], torch.ones(8))


def test_reinitialise_by_name_where_no_module_knows_how(program):
    """A torch.export program's parameters are plain tensors: initialised by name and
    shape like the layers they came from (bias bound from the weight's fan-in)."""
    _, file = program
    gm = torch.export.load(str(file)).module()
    reinitialise(gm, seed=0)
    sd = gm.state_dict()
    assert float(sd["head.bias"].abs().max()) <= 1 / 12 ** 0.5 + 1e-6
    assert float(sd["head.bias"].abs().max()) > 0
    assert torch.equal(sd["stem.1.weight"], torch.ones(8))
    assert torch.equal(sd["stem.1.bias"], torch.zeros(8))


def test_every_source_honours_random_weights(program, tmp_path):
    net, file = program
    before = {k: v.clone() for k, v in net.state_dict().items()}
    viz_core.from_module(net, input_size=32, channels=1, name="branchy_w")
    script = tmp_path / "branchy.ts"
    torch.jit.script(net).save(str(script))
    x = torch.rand(2, 1, 32, 32)
    try:
        for name, kw in (("branchy_w", {}), (str(file), {}),
                         (str(script), {"input_size": 32, "channels": 1}),
                         ("tests.own_nets:branchy", {"input_size": 32, "channels": 1})):
            trained = models.open_model(name, **kw)
            rand = models.open_model(name, weights="random", seed=1, **kw)
            again = models.open_model(name, weights="random", seed=1, **kw)
            assert not rand.pretrained and "RANDOM weights, seed 1" in rand.label, name
            assert not torch.allclose(_logits(trained, x), _logits(rand, x)), name
            torch.testing.assert_close(_logits(rand, x), _logits(again, x))
        assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
        assert models.open_model("branchy_w").pretrained  # the registered one is untouched
    finally:
        models.unregister("branchy_w")


def test_a_program_takes_a_state_dict_of_its_own_names(program, tmp_path):
    net, file = program
    other = branchy().eval()
    reinitialise(other, seed=9)
    sd = tmp_path / "other.pt"
    torch.save(other.state_dict(), sd)
    model = models.open_model(str(file), weights=str(sd))
    assert "weights from other.pt" in model.label
    x = torch.rand(2, 1, 32, 32)
    torch.testing.assert_close(_logits(model, x), other(x))
    with pytest.raises(VizError, match="is a TorchScript model, not a state_dict"):
        script = tmp_path / "n.ts"
        torch.jit.script(net).save(str(script))
        models.open_model(str(file), weights=str(script))
