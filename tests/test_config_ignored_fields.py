"""The reference image and the inversion exponent p are refused where nothing reads them
(notebook QA: ``RunConfig(objective="class_logit(3)", image=...)`` ran an AM and the image
did nothing): ``image`` beside an AM or beside an objective without an inversion term, ``p``
other than the default beside an AM or beside any objective (its inversion term takes its
own exponent). Stored runs still load without them; the CLI names its flags; the
dashboard's builders and ``--config RUN --objective/--task`` never write them."""

from __future__ import annotations

import json

import pytest

from viz_core.cli import main
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.samples import default_sample

IMAGE = "fmnist/0_ankle_boot.png"

REFUSED = [  # (fields, the refused field, a phrase of the message)
    (dict(objective="class_logit(3)", image=IMAGE), "image", "no inversion term"),
    (dict(objective="channel(block3, 5) - 0.1*diversity(block3)", image=IMAGE), "image",
     "+ inversion(LAYER)"),
    (dict(target=3, image=IMAGE), "image", "does not read it: drop image="),
    (dict(layer="block3", channel=2, image=IMAGE), "image", "task='inversion'"),
    (dict(target=3, p=1), "p", "p=1 is the exponent of feature inversion"),
    (dict(objective="class_logit(3)", p=1), "p", "no inversion term: drop p="),
    (dict(objective="inversion(block2)", task="inversion", image=IMAGE, p=1), "p",
     "inversion(block2, 1)"),
]


@pytest.mark.parametrize("kw, field, says", REFUSED)
def test_an_unread_image_or_exponent_is_refused_naming_it(kw, field, says):
    with pytest.raises(VizError) as err:
        RunConfig(model="fmnist_vgg", **kw).validate()
    assert err.value.field == field and says in str(err.value)
    assert f"{field}=" in str(err.value) and "--" not in str(err.value)
    with pytest.raises(VizError, match=f"{field}="):
        RunConfig.from_dict({**RunConfig(model="fmnist_vgg").to_dict(), **kw}, strict=True)


@pytest.mark.parametrize("kw", [
    dict(task="inversion", image=IMAGE, layer="block2", p=1),
    dict(objective="inversion(block2, 1)", task="inversion", image=IMAGE),
    dict(objective="inversion(block2) + 0.1*channel(block3, 2)", image=IMAGE),  # task am
    dict(target=3, p=2),  # the default exponent is no choice
    dict(objective="class_logit(3)", image=None),
])
def test_an_image_or_exponent_that_is_read_passes(kw):
    RunConfig(model="fmnist_vgg", **kw).validate()


def test_a_stored_run_with_an_unread_image_or_exponent_loads_without_them():
    base = RunConfig(model="fmnist_vgg", target=3).to_dict()
    obj = RunConfig(model="fmnist_vgg", objective="class_logit(3)").to_dict()
    inv = RunConfig(model="fmnist_vgg", objective="inversion(block2)", task="inversion",
                    image=IMAGE).to_dict()
    old = [{**base, "image": IMAGE, "p": 1}, {**obj, "image": IMAGE, "p": 1},
           {**inv, "p": 1}]
    a, b, c = RunConfig.all_from_json(json.dumps(old))
    assert (a.image, a.p, a.target) == (None, 2, 3)
    assert (b.image, b.p, b.objective) == (None, 2, "class_logit(3)")
    assert (c.image, c.p, c.task) == (IMAGE, 2, "inversion")


def _visualize(tmp_path, *extra: str) -> list[str]:
    return ["visualize", "--model", "fmnist_vgg", "--steps", "2", "--device", "cpu",
            "--quiet", "--no-store", "--out", str(tmp_path / "o.png"), *extra]


@pytest.mark.parametrize("extra, flags", [
    (["--target", "3", "--image", default_sample()], ["--image", "--task inversion"]),
    (["--objective", "class_logit(3)", "--image", default_sample()], ["--image", "--objective"]),
    (["--target", "3", "--p", "1"], ["--p 1"]),
])
def test_the_cli_refuses_an_unread_image_or_exponent_by_its_flags(tmp_path, capsys, extra,
                                                                  flags):
    assert main(_visualize(tmp_path, *extra)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and all(f in err for f in flags)
    assert "image=" not in err and "p=" not in err and not (tmp_path / "o.png").exists()


def test_a_flag_that_replaces_an_inversion_drops_its_image_and_exponent(tmp_path, capsys):
    js = tmp_path / "inv.json"
    assert main(_visualize(tmp_path, "--task", "inversion", "--layer", "block2", "--image",
                           default_sample(), "--p", "1", "--json", str(js))) == 0
    js2, js3 = tmp_path / "obj.json", tmp_path / "am.json"
    assert main(_visualize(tmp_path, "--config", str(js), "--objective", "class_logit(3)",
                           "--json", str(js2))) == 0
    run = json.loads(js2.read_text())
    assert (run["task"], run["image"], run["p"]) == ("am", None, 2)
    assert main(_visualize(tmp_path, "--config", str(js), "--task", "am", "--target", "3",
                           "--json", str(js3))) == 0
    run = json.loads(js3.read_text())
    assert (run["task"], run["image"], run["p"], run["target"]) == ("am", None, 2, 3)
    js4 = tmp_path / "inv2.json"  # an objective that inverts keeps the image
    assert main(_visualize(tmp_path, "--config", str(js), "--objective",
                           "inversion(block2, 1)", "--json", str(js4))) == 0
    run = json.loads(js4.read_text())
    assert (run["image"], run["p"]) == (str(default_sample()), 2)
    capsys.readouterr()


def test_the_dashboard_builders_write_no_exponent_for_an_am():
    """The Playground's p control (kept for an inversion) goes into no AM, channel,
    diversity batch or Compare cell; "open in the Playground" keeps the control's value."""
    from dashboard.settings.compare import compare_configs
    from dashboard.settings.diversity import diversity_configs
    from dashboard.settings.playground import config_to_settings, settings_to_config

    s = {"model": "fmnist_vgg", "task": "am", "target": 3, "p": 1}
    cfg = settings_to_config(s)
    assert (cfg.p, cfg.image) == (2, None) and config_to_settings(cfg)[0]["p"] == 1
    d = {**s, "layer": "block3", "channel": 5, "div_weight": 0.1, "samples": 2}
    assert [c.p for c in diversity_configs(settings_to_config(d), d)] == [2, 2]
    assert {c.p for c in compare_configs({**s, "task": "am", "image": IMAGE})} == {2}
    inv = settings_to_config({**s, "task": "inversion", "layer": "block2", "image": IMAGE})
    assert inv.p == 1 and config_to_settings(inv)[0]["p"] == 1
