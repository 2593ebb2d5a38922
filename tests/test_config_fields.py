"""A field the run would not use is refused, not dropped without a word (notebook QA): a
``unit`` beside a class, a ``target`` beside a channel or in an inversion, and ``task`` /
``target`` / ``class_score`` / ``layer`` / ``channel`` / ``unit`` beside an ``objective``
unless they repeat one of its terms. Everything the tool builds itself still passes, a
stored run of an earlier version still loads (the field dropped, as the run dropped it), and
``demons-viz visualize --config RUN --objective ...`` replaces the run's target."""

from __future__ import annotations

import json

import pytest

from viz_core.cli import main
from viz_core.config import RunConfig
from viz_core.errors import VizError

REFUSED = [  # (fields, the refused field, a phrase of the message)
    (dict(target=3, unit=(1, 2)), "unit", "unit= is a unit of a channel"),
    (dict(target=3, layer="block3", channel=2), "target", "two targets"),
    (dict(task="inversion", image="x.png", target=3), "target", "does not apply to feature"),
    (dict(task="inversion", image="x.png", layer="block2", channel=1), "channel", "drop chan"),
    (dict(objective="channel(block3, 5)", target=3), "target", "class_logit(3)"),
    (dict(objective="channel(block3, 5)", task="inversion"), "task", "task='inversion'"),
    (dict(objective="channel(block3, 5)", layer="block2"), "layer", "drop layer="),
    (dict(objective="channel(block3, 5)", layer="block3", channel=4), "channel", "(block3, 4)"),
    (dict(objective="neuron(block3, 5)", layer="block3", channel=5, unit=(2, 3)), "unit",
     "neuron(block3, 5, 2, 3)"),
    (dict(objective="class_logit(3)", target=3, class_score="log_prob"), "class_score",
     "class_log_prob(3)"),
]


@pytest.mark.parametrize("kw, field, says", REFUSED)
def test_an_unused_field_is_refused_naming_it(kw, field, says):
    with pytest.raises(VizError) as err:
        RunConfig(model="fmnist_vgg", **kw).validate()
    assert err.value.field == field and says in str(err.value)
    assert f"{field}=" in str(err.value) and "--" not in str(err.value)


@pytest.mark.parametrize("kw", [
    dict(objective="channel(block3, 5)", layer="block3", channel=5),  # the same channel
    dict(objective="neuron(block3, 5, 2, 3) - 0.1*diversity(block3)", layer="block3",
         channel=5, unit=(2, 3)),
    dict(objective="class_logit(3)", target=3),
    dict(objective="class_log_prob(3)", target=3, class_score="log_prob"),
    dict(objective="inversion(block3)", task="inversion", image="x.png", layer="block3"),
    dict(objective="channel(block3, 5)", target=3, init="class_conditional"),  # its start
    dict(layer="block3", channel=2, unit=(1, 1)),
    dict(task="inversion", image="x.png", layer="block2"),
])
def test_fields_the_run_uses_pass(kw):
    RunConfig(model="fmnist_vgg", **kw).validate()


def test_the_playground_s_diversity_batch_passes_and_restores():
    """The Playground writes a channel (and unit) into the objective and keeps ``layer``,
    ``channel``, ``unit`` beside it, which "open in the Playground" reads back."""
    from dashboard.settings.diversity import diversity_configs
    from dashboard.settings.playground import config_to_settings, settings_to_config

    s = {"model": "fmnist_vgg", "task": "am", "layer": "block3", "channel": 5,
         "unit_on": True, "unit_y": 2, "unit_x": 3, "div_weight": 0.1, "samples": 2}
    cfgs = diversity_configs(settings_to_config(s), s)
    assert cfgs[0].objective == "neuron(block3, 5, 2, 3) - 0.1*diversity(block3)"
    back = RunConfig.from_json(cfgs[1].to_json())
    assert (back.layer, back.channel, back.unit) == ("block3", 5, (2, 3))
    restored, notes = config_to_settings(back)
    assert notes == [] and restored["div_weight"] == 0.1 and restored["unit_on"]


def test_a_stored_run_of_an_earlier_version_loads_without_the_unused_field():
    old = [{**RunConfig(model="fmnist_vgg", target=3).to_dict(), "unit": [1, 2]},
           {**RunConfig(model="fmnist_vgg", objective="channel(block3, 5)").to_dict(),
            "target": 7, "task": "inversion", "layer": "block2", "class_score": "log_prob"},
           {**RunConfig(model="fmnist_vgg", task="inversion", image="x.png").to_dict(),
            "target": 4, "channel": 1}]
    a, b, c = RunConfig.all_from_json(json.dumps(old))  # a history export of three runs
    assert a.unit is None and a.target == 3
    assert (b.target, b.task, b.layer, b.class_score) == (None, "am", None, "logit")
    assert b.objective == "channel(block3, 5)"
    assert (c.target, c.channel, c.task) == (None, None, "inversion")
    with pytest.raises(VizError, match="unit= is a unit of a channel"):
        RunConfig.from_dict(old[0], strict=True)


def test_a_stored_record_with_an_unused_field_replays_from_the_history(tmp_path):
    from viz_core.store import RunStore
    from viz_core.store.records import RunRecord

    store = RunStore(tmp_path / "runs.sqlite")
    cfg = {**RunConfig(model="fmnist_vgg", target=3).to_dict(), "unit": [0, 0]}
    rid = store.add(RunRecord(config=cfg, model="fmnist_vgg", task="am", scheme="none"))
    assert RunConfig.from_dict(store.get(rid).config).unit is None


def test_a_sweep_axis_that_the_objective_ignores_is_refused():
    from viz_core.sweeps import Axis, Sweep

    base = RunConfig(model="fmnist_vgg", objective="channel(block3, 5)", steps=2)
    with pytest.raises(VizError, match="target= is not used beside objective="):
        Sweep(base, [Axis.parse("target=1,2")]).validate()


def _visualize(tmp_path, *extra: str) -> list[str]:
    return ["visualize", "--model", "fmnist_vgg", "--steps", "2", "--device", "cpu",
            "--quiet", "--no-store", "--out", str(tmp_path / "o.png"), *extra]


@pytest.mark.parametrize("extra, flags", [
    (["--target", "3", "--unit", "1,2"], ["--unit", "--channel", "--target"]),
    (["--target", "3", "--objective", "channel(block3,3)"], ["--target", "--objective"]),
    (["--layer", "block3", "--channel", "1", "--target", "2"], ["--target", "--channel"]),
])
def test_the_cli_refuses_two_targets_in_its_flags(tmp_path, capsys, extra, flags):
    assert main(_visualize(tmp_path, *extra)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and all(f in err for f in flags)
    assert "target=" not in err and "unit=" not in err and not (tmp_path / "o.png").exists()


def test_a_flag_replaces_what_the_config_run_maximised(tmp_path, capsys):
    """``--config class.json --objective ...`` runs the objective (the run's target went
    into the new run beside it and was ignored); ``--target`` replaces a channel run's."""
    js = tmp_path / "class.json"
    assert main(_visualize(tmp_path, "--target", "3", "--json", str(js))) == 0
    js2 = tmp_path / "obj.json"
    assert main(_visualize(tmp_path, "--config", str(js), "--objective",
                           "channel(block3,3)", "--json", str(js2))) == 0
    run = json.loads(js2.read_text())
    assert run["objective"] == "channel(block3,3)" and run["target"] is None
    js3 = tmp_path / "chan.json"
    assert main(_visualize(tmp_path, "--config", str(js), "--layer", "block3", "--channel",
                           "2", "--json", str(js3))) == 0
    assert (json.loads(js3.read_text())["target"], json.loads(js3.read_text())["channel"]) \
        == (None, 2)
    js4 = tmp_path / "back.json"
    assert main(_visualize(tmp_path, "--config", str(js3), "--target", "5", "--json",
                           str(js4))) == 0
    back = json.loads(js4.read_text())
    assert (back["target"], back["layer"], back["channel"]) == (5, None, None)
    capsys.readouterr()
