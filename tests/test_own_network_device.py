"""Own networks on the device a run asks for (QA: a network registered with
``from_module`` ran where it was registered, whatever ``device`` said). A registered
network runs as a copy on the requested device, made once per device and remade when the
network changes; the user's module never moves. Without a GPU here the other device is
``meta`` (torch's device without data), let through the device resolver by a fixture."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

import viz_core
from tests.own_nets import branchy, three_class_program
from viz_core import devices, models
from viz_core.config import RunConfig
from viz_core.engine import prepare_model, run_to_end
from viz_core.errors import VizError
from viz_core.models import file_source, module_source

META = torch.device("meta")


@pytest.fixture
def meta(monkeypatch):
    """The model sources resolve ``"meta"`` as a device (a second device on any machine)."""
    real = devices.resolve_device

    def resolve(name="auto"):
        return META if str(name) == "meta" else real(name)

    for mod in (models, module_source, file_source):
        monkeypatch.setattr(mod, "resolve_device", resolve)



def _devices(model) -> set[torch.device]:
    return {t.device for t in (*model.net.parameters(), *model.net.buffers())}


def test_a_registered_network_opens_on_the_device_asked(meta, names):
    net = branchy()
    own = viz_core.from_module(net, input_size=32, channels=1, name="dev_net")
    names.append("dev_net")
    moved = models.open_model("dev_net", device="meta")
    assert moved.device == META and _devices(moved) == {META}
    assert _devices(own) == {torch.device("cpu")} and net.training  # the user's, unmoved
    assert models.registered("dev_net") is own
    assert (moved.label, moved.layers, moved.classes) == (own.label, own.layers, own.classes)
    # one copy per device: the next run on it takes the same; the model's device its own
    assert models.open_model("dev_net", device="meta") is moved
    assert prepare_model(RunConfig(model="dev_net"), META) is moved
    assert models.open_model("dev_net", device="cpu") is own
    # other weights on the device asked for, from a copy of the network
    rand = models.open_model("dev_net", weights="random", seed=3, device="meta")
    assert rand.device == META and _devices(rand) == {META} and not rand.pretrained
    assert _devices(own) == {torch.device("cpu")}


def test_the_copy_follows_the_network(meta, names):
    """New weights (an optimiser step, load_state_dict) or a new forward hook on the user's
    network: the next run copies it again, so a copy never runs stale weights."""
    net = branchy()
    viz_core.from_module(net, input_size=32, channels=1, name="dev_follow")
    names.append("dev_follow")
    first = models.open_model("dev_follow", device="meta")
    with torch.no_grad():
        net.head.bias.add_(1.0)
    second = models.open_model("dev_follow", device="meta")
    assert second is not first
    handle = net.block.register_forward_hook(lambda m, i, o: o * 0)
    third = models.open_model("dev_follow", device="meta")
    assert third is not second and third.net.block._forward_hooks
    handle.remove()


def test_a_run_on_the_copy_gives_the_networks_numbers(names):
    """The copy is a working model: a run on it equals a run on the network itself (here a
    model registered as if on another device, run on the CPU)."""
    net = branchy().eval()
    own = viz_core.from_module(net, input_size=32, channels=1, name="dev_run", keep=False)
    models.register(dataclasses.replace(own, device=META))
    names.append("dev_run")
    copy = models.open_model("dev_run", device="cpu")
    assert copy.device == torch.device("cpu") and copy.net is not net
    cfg = RunConfig(model="dev_run", target=2, steps=4, device="cpu")
    got = run_to_end(cfg, keep_frames=False).final
    want = run_to_end(cfg, own, keep_frames=False).final
    torch.testing.assert_close(torch.as_tensor(got.images), torch.as_tensor(want.images))


def test_a_network_that_cannot_be_copied_is_a_clear_error(names, tmp_path):
    """A network on ``meta`` has no data to copy; a program's graph layers cannot move."""
    ghost = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.LazyLinear(3)).eval()
    ghost(torch.zeros(1, 1, 8, 8))
    viz_core.from_module(ghost.to("meta"), input_size=8, channels=1, name="dev_ghost")
    names.append("dev_ghost")
    with pytest.raises(VizError, match="dev_ghost cannot be copied from meta to cpu") as err:
        models.open_model("dev_ghost", device="cpu")
    assert err.value.field == "device"
    program = models.open_model(str(three_class_program(tmp_path / "three.pt2")))
    models.register(dataclasses.replace(program, device=META))
    names.append(program.spec.name)
    with pytest.raises(VizError, match="cannot be copied to cpu") as err:
        models.open_model(program.spec.name, device="cpu")
    assert err.value.field == "device"


def test_cuda_is_refused_on_a_machine_without_one_and_used_where_there_is(names):
    net = branchy()
    viz_core.from_module(net, input_size=32, channels=1, name="dev_cuda")
    names.append("dev_cuda")
    cfg = RunConfig(model="dev_cuda", target=1, steps=2, device="cuda")
    if not torch.cuda.is_available():
        for open_it in (lambda: models.open_model("dev_cuda", device="cuda"),
                        lambda: prepare_model(cfg)):
            with pytest.raises(VizError, match="no CUDA GPU is available") as err:
                open_it()
            assert err.value.field == "device"
        return
    model = prepare_model(cfg)
    assert model.device.type == "cuda" and _devices(model) == {torch.device("cuda", 0)}
    assert {p.device.type for p in net.parameters()} == {"cpu"}
    assert run_to_end(cfg, keep_frames=False).final.images.shape[0] == 1


def test_every_other_source_opens_on_the_device_asked(meta, tmp_path):
    """A .pt2 program, an import string and timm (when installed) already did."""
    program = models.open_model(str(three_class_program(tmp_path / "three.pt2")),
                                device="meta")
    assert program.device == META
    assert {t.device for t in program.net._graph.parameters()} == {META}
    imported = models.open_model("tests.own_nets:branchy", input_size=32, channels=1,
                                 device="meta")
    assert imported.device == META and _devices(imported) == {META}
    pytest.importorskip("timm", reason="the optional [timm] extra is not installed")
    timm_model = models.open_model("timm:resnet18", weights="random", device="meta")
    assert timm_model.device == META and _devices(timm_model) == {META}


def test_a_registered_network_stays_where_it_is_without_a_device():
    """``open_model(name)`` without a device gives the registered network itself (its own
    device), not a copy on the CPU default of other sources."""
    import torch.nn as nn

    from viz_core import models

    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(2, 2)).eval()
    m = models.from_module(net, input_size=16, channels=1, name="stays_here_net")
    try:
        assert models.open_model("stays_here_net") is m
    finally:
        models.unregister("stays_here_net")
