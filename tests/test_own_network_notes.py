"""What an own network's messages and label say (QA): the channel count a network takes
(not torch's guard text, not filed as an input size), what a program returned that is not
one tensor, "1 value each", and a network left in train mode, which runs as in eval mode."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import viz_core
from dashboard.messages import ui_message
from tests.own_nets import Branchy, ThreeClasses, branchy
from viz_core import models
from viz_core.cli import main
from viz_core.cli.words import cli_words
from viz_core.errors import VizError
from viz_core.models.module_source import check_contract


def _rgb() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 2)).eval()


@pytest.mark.parametrize("make,takes,given", [(branchy, 1, 3), (_rgb, 3, 1)])
def test_from_module_names_the_channels_a_network_takes(make, takes, given):
    with pytest.raises(VizError) as err:
        viz_core.from_module(make(), input_size=32, channels=given, name="ch", keep=False)
    assert err.value.field == "channels"
    said = str(err.value)
    assert f"takes {takes}-channel inputs, not {given}: set channels={takes}" in said
    # each surface in its own words: the CLI's flag, the dashboard's control
    assert cli_words(said, {"channels": "--channels"}).endswith(f"set --channels {takes}")
    assert ui_message(said).endswith(f"set channels to {takes}")


def test_a_failure_that_is_not_the_channels_stays_an_input_size_error():
    fixed = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 30 * 30, 3)).eval()
    with pytest.raises(VizError, match=r"fails on a \(1, 1, 16, 16\) input") as err:
        viz_core.from_module(fixed, input_size=16, channels=1, name="fx", keep=False)
    assert err.value.field == "input_size"


def test_a_program_names_the_channels_it_takes(tmp_path, capsys):
    path = tmp_path / "gray.pt2"
    program = torch.export.export(ThreeClasses().eval(), (torch.rand(1, 1, 16, 16),))
    torch.export.save(program, str(path))
    with pytest.raises(VizError) as err:
        models.open_model(str(path), channels=3)
    assert err.value.field == "channels"
    assert str(err.value) == ("gray.pt2 takes 1-channel inputs, not 3: use 1 channel or "
                              "export the program for 3-channel inputs")
    assert main(["visualize", "--model", str(path), "--channels", "3", "--target", "1",
                 "--steps", "2", "--out", str(tmp_path / "x.png")]) == 2
    said = capsys.readouterr().err
    assert "takes 1-channel inputs, not 3" in said and "Guard failed" not in said


def test_a_torchscript_file_names_the_channels_it_takes(tmp_path):
    path = tmp_path / "gray.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(ThreeClasses().eval()), str(path))
    with pytest.raises(VizError, match="takes 1-channel inputs, not 3") as err:
        models.open_model(str(path), input_size=16)  # the legacy default: 3 channels
    assert err.value.field == "channels"


class _Pair(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.conv = nn.Conv2d(1, 3, 3)

    def forward(self, x):
        y = self.conv(x).mean(dim=(2, 3))
        return (y, x.mean()) if self.kind == "tuple" else {"a": y, "b": y * 2}


@pytest.mark.parametrize("kind,said", [("tuple", "a tuple of 2 tensors"),
                                       ("dict", "a dict of 2 tensors (keys 'a', 'b')")])
def test_a_program_that_returns_more_than_logits_says_what_it_returned(tmp_path, kind, said):
    path = tmp_path / f"{kind}.pt2"
    program = torch.export.export(_Pair(kind).eval(), (torch.rand(1, 1, 16, 16),))
    torch.export.save(program, str(path))
    with pytest.raises(VizError) as err:
        models.open_model(str(path))
    assert str(err.value).startswith(f"{kind}.pt2 must return one tensor (the logits), but "
                                     f"returned {said}")
    assert err.value.field == "model"


def test_one_channel_needs_one_value_each():
    with pytest.raises(VizError, match=r"mean and std need 1 value each \(std > 0\)"):
        check_contract(32, 1, [0.1, 0.2], None)
    with pytest.raises(VizError, match="mean and std need 3 values each"):
        check_contract(32, 3, [0.1, 0.2], None)


def test_a_network_in_train_mode_says_it_runs_as_in_eval(names):
    """A BatchNorm network left in train mode runs with its running statistics (as the
    README says); its label says so, and the network stays in train mode."""
    net = Branchy()  # nn.Module's default: train mode
    model = viz_core.from_module(net, input_size=32, channels=1, name="bn_train")
    names.append("bn_train")
    assert model.label == "bn_train (run in eval mode: BatchNorm running statistics)"
    assert net.training
    drop = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout(0.5), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(2, 2))
    assert viz_core.from_module(drop, input_size=16, channels=1, name="drop",
                                keep=False).label.endswith("(run in eval mode: "
                                                           "dropout off)")
    assert viz_core.from_module(Branchy().eval(), input_size=32, channels=1, name="bn_eval",
                                keep=False).label == "bn_eval"
    plain = ThreeClasses()  # in train mode, but nothing acts otherwise in eval mode
    assert viz_core.from_module(plain, input_size=16, channels=1, name="plain",
                                keep=False).label == "plain"
