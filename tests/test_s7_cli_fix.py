"""CLI and Python-API fixes of a README QA pass: a run refused whenever its configuration
names another known model (zoo, from_module, team list), the kernel kinds in ``visualize
--help``, the random-weights hint in the flags of the command that prints it, help texts
without reST markup, and a fixed-size network given the wrong input size."""

from __future__ import annotations

import argparse
import re

import pytest
import torch
from torch import nn

import viz_core
from viz_core import models
from viz_core.cli import COMMANDS, build_parser, main
from viz_core.cli.words import cli_words, flag_map
from viz_core.config import RunConfig
from viz_core.engine import run_to_end
from viz_core.errors import VizError
from viz_core.schemes import ELASTIC_KINDS, FLUID_KINDS


class _Pooled(nn.Module):
    """1 x any size -> 10 logits (global pooling: every input size runs)."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(x))


class _Fixed28(nn.Module):
    """1 x 28 x 28 -> 10 logits, and nothing else (a flattening classifier)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 28 * 28, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).flatten(1))


class _Broken(nn.Module):
    """Fails on every input, for a reason that is not its size."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("no forward yet")


@pytest.fixture
def mine():
    """A network registered with from_module as "mine" (forgotten afterwards)."""
    lm = viz_core.from_module(_Pooled().eval(), input_size=32, channels=1, name="mine")
    yield lm
    models.unregister("mine")


# 1. a configuration naming another known model than the one it runs on --------------------

@pytest.mark.parametrize("extra", [{"target": 1}, {"layer": "block", "channel": 0}])
def test_a_registered_name_on_a_zoo_model_is_refused(mine, extra):
    """QA: run_to_end(RunConfig(model="mine"), fmnist_vgg) ran (and with layer="block" said
    "unknown layer 'block' for fmnist_vgg" instead of the mismatch)."""
    vgg = models.open_model("fmnist_vgg")
    with pytest.raises(VizError, match="the configuration names model 'mine' but runs on "
                                       "'fmnist_vgg'") as err:
        run_to_end(RunConfig(model="mine", steps=1, **extra), vgg)
    assert err.value.field == "model"


def test_a_registered_name_on_another_registered_network_is_refused(mine):
    other = viz_core.from_module(_Pooled().eval(), input_size=32, channels=1, name="other")
    try:
        with pytest.raises(VizError, match="names model 'mine' but runs on 'other'"):
            run_to_end(RunConfig(model="mine", target=1, steps=1), other)
    finally:
        models.unregister("other")


def test_a_team_name_on_another_model_is_refused(tmp_path, monkeypatch):
    toml = tmp_path / "demons-viz.toml"
    toml.write_text('[[model]]\nname = "team_net"\nsource = "tests.own_nets:branchy"\n'
                    "input_size = 32\nchannels = 1\n", encoding="utf-8")
    monkeypatch.setenv(models.TEAM_ENV, str(toml))
    vgg = models.open_model("fmnist_vgg")
    with pytest.raises(VizError, match="names model 'team_net' but runs on 'fmnist_vgg'"):
        run_to_end(RunConfig(model="team_net", target=1, steps=1), vgg)
    team = models.open_model("team_net")  # the team's own model runs under its name
    assert run_to_end(RunConfig(model="team_net", target=1, steps=1), team).final.step == 1


def test_the_legitimate_runs_still_run(mine, tmp_path, monkeypatch):
    """The run's own name, a random-weights copy of a registered network, a name no
    registry knows (a file's, an import string's), and a broken team file beside a zoo
    run (reported where a team model is opened, not here)."""
    assert run_to_end(RunConfig(model="mine", target=1, steps=1), mine).final.step == 1
    rand = models.open_model("mine", weights="random")
    assert run_to_end(RunConfig(model="mine", weights="random", target=1, steps=1),
                      rand).final.step == 1
    assert run_to_end(RunConfig(model="nets/mine.pt2", target=1, steps=1),
                      mine).final.step == 1
    vgg = models.open_model("fmnist_vgg")  # (opening a model reads the team file)
    bad = tmp_path / "bad.toml"
    bad.write_text("[[model\n", encoding="utf-8")
    monkeypatch.setenv(models.TEAM_ENV, str(bad))
    assert run_to_end(RunConfig(model="fmnist_vgg", target=1, steps=1), vgg).final.step == 1
    with pytest.raises(VizError, match="not valid TOML"):
        models.open_model("team_net")


def test_is_known_name():
    assert models.is_known_name("fmnist_vgg")
    assert not models.is_known_name("mine_not_registered")
    lm = viz_core.from_module(_Pooled().eval(), input_size=32, channels=1, name="known_now")
    try:
        assert models.is_known_name(lm.spec.name)
    finally:
        models.unregister("known_now")
    assert not models.is_known_name("known_now")


# 2. every kernel kind in visualize --help -------------------------------------------------

def test_visualize_help_lists_every_kernel_kind(capsys):
    with pytest.raises(SystemExit):
        main(["visualize", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert f"fluid kernel KIND[:PARAM]: {', '.join(FLUID_KINDS)}" in out
    assert f"elastic kernel KIND[:PARAM]: {', '.join(ELASTIC_KINDS)}" in out
    assert "identity" in FLUID_KINDS and "identity" in ELASTIC_KINDS


# 3. the random-weights hint names the flags of the command that prints it ------------------

MISSING = ("pretrained weights for vgg19 are not available offline. Download URL and put it "
           "at PATH, or pass allow_download=True, or use weights='random'. The command "
           "`demons-viz models download vgg19` fetches it.")


@pytest.mark.parametrize("command,hint", [
    ("visualize", "or use --weights random."),
    ("metrics", "or use --weights random."),
    ("sweep", "or use --weights random."),
    ("evaluate", "or use --weights-a random or --weights-b random."),
])
def test_the_random_weights_hint_names_this_commands_flags(command, hint):
    said = cli_words(MISSING, flag_map(build_parser(command)))
    assert hint in said
    assert "allow_download" not in said and "weights=" not in said
    if command == "evaluate":
        assert not re.search(r"--weights(?!-)", said)


def test_a_command_without_a_weights_flag_gets_no_hint():
    said = cli_words(MISSING, flag_map(build_parser("sanity")))
    assert "weights" not in said.split("vgg19 are")[1].split("The command")[0]
    assert said.startswith("pretrained weights for vgg19 are not available offline.")


def test_evaluate_prints_its_own_flags(capsys):
    """QA: `demons-viz evaluate --pair imagenet -n 2` said "or use --weights random"."""
    from viz_core.zoo import weights_status

    if weights_status("vgg19") == "offline":
        pytest.skip("vgg19's weights are here: nothing is missing")
    code = main(["evaluate", "--pair", "imagenet", "-n", "2", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "not available offline" in err
    assert "--weights-a random" in err and not re.search(r"--weights(?!-)", err)


# 4. help texts without reST markup --------------------------------------------------------

def _parsers(p: argparse.ArgumentParser):
    yield p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


MARKUP = re.compile(r"``|:(?:mod|func|class|meth|data|attr):`")


def test_no_help_text_shows_rest_markup():
    """QA: ``demons-viz`` in `python -m viz_core --help`, sweep and history; sanity's
    :mod:`viz_core.evaluation.sanity`."""
    seen = 0
    for name in [None, *COMMANDS]:
        for p in _parsers(build_parser(name)):
            text = p.format_help()
            assert not MARKUP.search(text), (p.prog, MARKUP.search(text).group(0))
            seen += 1
    assert seen > len(COMMANDS) + 5  # history's actions too
    text = next(p for p in _parsers(build_parser("sanity")) if p.prog.endswith("sanity")
                ).format_help()
    assert "demons-viz sanity:" in " ".join(text.split())
    assert "viz_core.evaluation.sanity" in text


def test_help_as_printed(capsys):
    for argv in (["--help"], ["sweep", "--help"], ["history", "list", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert not MARKUP.search(capsys.readouterr().out), argv


# 5. a fixed-size network given the wrong input size ---------------------------------------

def test_the_wrong_input_size_says_which_size_runs():
    """QA: from_module(fixed 28 x 28 net, input_size=64) said only torch's "mat1 and mat2
    shapes cannot be multiplied (1x16384 and 3136x10)"."""
    with pytest.raises(VizError) as err:
        viz_core.from_module(_Fixed28().eval(), input_size=64, channels=1, name="fx",
                             keep=False)
    said = str(err.value)
    assert "mat1 and mat2" in said  # torch's reason stays
    assert said.endswith("the network does not take 64x64 inputs but runs on 28x28: set "
                         "input_size=28")
    assert err.value.field == "input_size"
    assert cli_words(said, {"input_size": "--input-size"}).endswith("set --input-size 28")
    assert models.registered("fx") is None


def test_a_failure_at_every_size_asks_for_the_size_it_was_built_for():
    with pytest.raises(VizError) as err:
        viz_core.from_module(_Broken().eval(), input_size=64, channels=1, name="br",
                             keep=False)
    said = str(err.value)
    assert "no forward yet" in said
    assert said.endswith("if the network does not take 64x64 inputs, give the size it was "
                         "built for (input_size=)")
    assert cli_words(said, {"input_size": "--input-size"}).endswith("(--input-size)")


def test_the_wrong_channels_still_say_channels():
    with pytest.raises(VizError, match="takes 1-channel inputs, not 3: set channels=1"):
        viz_core.from_module(_Fixed28().eval(), input_size=28, channels=3, name="fx",
                             keep=False)


def test_a_torchscript_file_of_the_wrong_size_says_which_size_runs(tmp_path):
    import warnings

    path = tmp_path / "fixed28.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script is deprecated
        torch.jit.script(_Fixed28().eval()).save(str(path))
    with pytest.raises(VizError) as err:
        models.open_model(str(path), input_size=64, channels=1)
    assert str(err.value).endswith("the network does not take 64x64 inputs but runs on "
                                   "28x28: set input_size=28")
