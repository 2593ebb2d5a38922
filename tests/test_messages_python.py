"""One rule for the library's words (notebook QA: messages raised in Python named CLI
flags): a core message names the RunConfig field or the function's argument (``target=``,
``executor='ray'``); ``demons-viz`` shows the flag instead, read from its own parser
(viz_core.cli.words); the dashboard shows neither (dashboard.messages.ui_message)."""

from __future__ import annotations

import re

import pytest

from dashboard.messages import ui_message
from viz_core.cli import build_parser, main
from viz_core.cli.visualize import _PLAIN_FIELDS
from viz_core.cli.words import cli_words, flag_map
from viz_core.config import RunConfig
from viz_core.errors import VizError

FLAG = re.compile(r"(?<![\w-])--[a-z]")


def _message(call) -> str:
    with pytest.raises(VizError) as err:
        call()
    return str(err.value)


def _python_messages(tmp_path) -> dict[str, str]:
    from viz_core.evaluation.imagesets import folder_images
    from viz_core.sweeps import Axis, Sweep
    from viz_core.sweeps.executors import get_executor
    from viz_core.sweeps.preflight import check_image, check_size
    from viz_core.sweeps.raycluster import check_ray_options, host_port

    sweep = Sweep(RunConfig(model="fmnist_vgg", target=1, steps=2), [Axis.parse("seed=1,2")])
    no_image = Sweep(RunConfig(model="fmnist_vgg", task="inversion", layer="block2", steps=2),
                     [Axis.parse("seed=1,2")])
    return {
        "class": _message(lambda: RunConfig(model="fmnist_vgg").validate()),
        "layer": _message(lambda: RunConfig(model="fmnist_vgg", layer="block3").validate()),
        "unit": _message(lambda: RunConfig(target=1, unit=(1, 1)).validate()),
        "objective": _message(lambda: RunConfig(objective="channel(block3,1)", target=2)
                              .validate()),
        "address": _message(lambda: get_executor("local", address="127.0.0.1:1")),
        "workers": _message(lambda: check_ray_options(num_workers=0)),
        "retries": _message(lambda: check_ray_options(max_retries=-1)),
        "timeout": _message(lambda: check_ray_options(timeout=0)),
        "bad_address": _message(lambda: host_port("nonsense")),
        "cells": _message(lambda: check_size(sweep, max_cells=1)),
        "image": _message(lambda: check_image(no_image)),
        "labels": _message(lambda: folder_images(tmp_path, ["a"])),
    }


def test_a_message_raised_in_python_names_no_flag(tmp_path):
    for name, msg in _python_messages(tmp_path).items():
        assert not FLAG.search(msg), (name, msg)
        assert "=" in msg, (name, msg)  # it names the field or argument


def test_the_same_message_through_the_cli_names_the_flag(tmp_path, capsys):
    out = ["--quiet", "--no-store", "--device", "cpu", "--out", str(tmp_path / "o.png")]
    cases = [
        (["visualize", "--model", "fmnist_vgg", "--layer", "block3", *out], "(--channel)"),
        (["visualize", "--target", "1", "--unit", "1,1", *out], "--unit is a unit"),
        (["visualize", "--objective", "channel(block3,1)", "--target", "2", *out],
         "--target is not used beside --objective"),
        (["sweep", "--axis", "seed=1,2", "--ray-address", "127.0.0.1:1", "--out",
          str(tmp_path / "s")], "--ray-address needs --executor ray"),
        (["sweep", "--axis", "seed=1,2", "--workers", "0", "--out", str(tmp_path / "s")],
         "--workers must be >= 1"),
        (["sweep", "--axis", "seed=1,2,3", "--max-cells", "2", "--target", "1", "--out",
          str(tmp_path / "s")], "raise --max-cells"),
        (["metrics", "--task", "inversion", "--image", "assets/samples/fmnist/"
          "0_ankle_boot.png", "--target", "3"], "--target does not apply to feature inversion"),
    ]
    for argv, says in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and says in err, (argv, err)
        assert not re.search(r"\b[a-z_]+=(?:\s|\)|,|$)", err), err  # no Python name left


def test_the_flag_map_is_read_from_the_parser():
    """Every run-configuration field the CLI sets has a flag in the map, and each flag of
    the map is one the parser accepts (the map cannot drift from the parser)."""
    parser = build_parser("visualize")
    flags = flag_map(parser)
    sub = next(a for a in parser._actions if a.dest == "command").choices["visualize"]
    known = {o for a in sub._actions for o in a.option_strings}
    assert all(flags[name] in known for name in _PLAIN_FIELDS)
    assert flags["step_size"] == "--step-size" and flags["unit"] == "--unit"
    assert flag_map(build_parser("sweep"))["address"] == "--ray-address"


def test_a_name_that_is_no_flag_or_a_quoted_value_stays():
    flags = flag_map(build_parser("visualize"))
    assert cli_words("got 'tv=0.1,steps=2' (adam_eps=)", flags) == \
        "got 'tv=0.1,steps=2' (adam_eps=)"
    assert cli_words("task='inversion' and target=3", flags) == "--task inversion and --target 3"


@pytest.mark.parametrize("msg, shown", [
    ("activation maximization needs a class (target=) or a layer channel (layer= and "
     "channel=)", "activation maximization needs a class or a layer channel"),
    ("this objective inverts an image: give one (image=)",
     "this objective inverts an image: give one"),
    ("target= is not used beside objective=, which says what is optimised: write it into "
     "the objective (e.g. class_logit(3)) and drop target=",
     "target is not used beside objective, which says what is optimised: write it into the "
     "objective (e.g. class_logit(3)) and drop target"),
    ("address= needs executor='ray'", "address needs executor 'ray'"),
    ('PDF reports need reportlab: pip install -e ".[reports]" (or write an HTML report: '
     'html_report())', 'PDF reports need reportlab: pip install -e ".[reports]" (or write the '
     'HTML report)'),
])
def test_the_dashboard_shows_neither_flags_nor_python_names(msg, shown):
    assert ui_message(msg) == shown
