"""The command line and RunConfig as a researcher meets them (QA findings): steps and
step size beside octaves, one's own network's contract in ``models`` and ``metrics``, a
file model in ``history list``, a ``--store`` named like an image, zoo-only commands given
a file, a from_module name replayed from a run JSON, and the seed rule's reason."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from viz_core.cli import build_parser, main
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.store import RunRecord, RunStore
from viz_core.transforms import parse_octaves

OCT = "1.0:4:5,1.2:3:2"  # 7 steps in all, first tau 5


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error:") and "Traceback" not in err, err
    return err


# ------------------------------------------------------------------ steps beside octaves

@pytest.mark.parametrize("kw, field", [(dict(steps=50), "steps"),
                                       (dict(step_size=9.0), "step_size"),
                                       (dict(steps=50, step_size=9.0), "steps")])
def test_steps_or_step_size_beside_octaves_are_refused(kw, field):
    with pytest.raises(VizError) as err:
        RunConfig(target=3, octaves=parse_octaves(OCT), **kw).validate()
    assert err.value.field == field and f"{field}=" in str(err.value)
    assert "stages give the steps and tau" in str(err.value) and "7 steps in all" in str(err.value)
    with pytest.raises(VizError, match="stages give"):
        RunConfig.from_dict({**RunConfig(target=3).to_dict(), "octaves": [[1, 4, 5]], **kw},
                            strict=True)


@pytest.mark.parametrize("kw", [dict(), dict(steps=7, step_size=5.0), dict(steps=100),
                                dict(step_size=5)])
def test_the_defaults_or_what_the_stages_say_pass(kw):
    cfg = RunConfig(target=3, octaves=parse_octaves(OCT), **kw).validate()
    assert cfg.total_steps == 7


def test_a_stored_run_with_unused_steps_loads_at_the_defaults():
    d = {**RunConfig(target=3).to_dict(), "octaves": [[1.0, 30, 5.0], [1.2, 20, 3.0]],
         "steps": 60, "step_size": 9.0}
    cfg = RunConfig.from_dict(d)
    assert (cfg.steps, cfg.step_size, cfg.total_steps) == (100, 5.0, 50)


def test_every_builder_with_octaves_writes_what_its_stages_say():
    """Presets, offline presets, classic recipes: their octave configurations validate."""
    from viz_core import classic_recipes
    from viz_core.presets import all_presets

    presets = all_presets() + [getattr(classic_recipes, f)() for f in ("deepdream",)]
    cfgs = [c for p in presets for b in [*p.batches, *p.offline] for c in b.configs
            if c.octaves]
    assert cfgs
    for c in cfgs:
        c.validate()
        assert c.steps == c.total_steps and c.step_size == c.octaves[0].tau


def _cli_config(*argv: str) -> RunConfig:
    from viz_core.cli.visualize import config_from_args

    return config_from_args(build_parser("visualize").parse_args(
        ["visualize", *argv, "--out", "x.png"]))


def test_cli_refuses_steps_beside_octaves_in_its_flags(tmp_path, capsys):
    out = tmp_path / "o.png"
    assert main(["visualize", "--model", "fmnist_vgg", "--target", "3", "--octaves", OCT,
                 "--steps", "50", "--step-size", "9", "--out", str(out), "--no-store"]) == 2
    err = _err(capsys)
    assert "--steps 50 is not used beside --octaves" in err and "drop --steps" in err
    assert "stages give the steps and tau" in err and not out.exists()


def test_cli_octaves_replace_a_config_runs_schedule(tmp_path):
    plain = tmp_path / "plain.json"
    plain.write_text(RunConfig(target=3, steps=30, step_size=2.0).to_json())
    cfg = _cli_config("--config", str(plain), "--octaves", OCT)
    assert (cfg.steps, cfg.step_size, cfg.total_steps) == (7, 5.0, 7)  # what the stages do
    octv = tmp_path / "oct.json"
    octv.write_text(cfg.to_json())
    again = _cli_config("--config", str(octv), "--octaves", "none", "--steps", "3")
    assert again.octaves is None and again.total_steps == 3
    with pytest.raises(VizError, match="stages give"):
        _cli_config("--config", str(octv), "--steps", "3")


def test_history_show_prints_the_stages_total_steps(tmp_path, capsys):
    store = tmp_path / "runs.sqlite"
    cfg = RunConfig(target=3, octaves=parse_octaves(OCT)).to_dict()
    run_id = RunStore(store).add(RunRecord(config=cfg, model="fmnist_vgg", task="am",
                                           scheme="plain"))
    capsys.readouterr()
    assert main(["history", "--store", str(store), "show", run_id]) == 0
    settings = next(x for x in capsys.readouterr().out.splitlines()
                    if x.startswith("settings:"))
    assert "steps=7" in settings and "step_size=" not in settings


def test_playground_settings_with_octaves_say_what_the_stages_do():
    from dashboard.settings.playground import (
        config_to_settings,
        playground_defaults,
        settings_to_config,
    )

    s = {**playground_defaults(), "octaves_on": True, "octaves": OCT, "steps": 333,
         "step_size": 0.5}
    cfg = settings_to_config(s)
    assert (cfg.steps, cfg.step_size) == (7, 5.0)
    back, _ = config_to_settings(RunConfig.from_json(cfg.to_json()))
    assert (back["steps"], back["step_size"]) == (333, 0.5)  # the disabled controls' values


def test_a_steps_axis_on_an_octave_base_is_refused():
    from viz_core.sweeps import Axis, Sweep

    base = RunConfig(target=3, octaves=parse_octaves(OCT))
    with pytest.raises(VizError, match="steps axis needs a base without octaves"):
        Sweep(base, [Axis.parse("steps=5,10")]).validate()


# ------------------------------------------------------------------ own networks' contract

def test_models_takes_an_import_strings_contract(capsys):
    capsys.readouterr()
    assert main(["models", "tests.own_nets:branchy", "--input-size", "32", "--channels", "1",
                 "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["input_size"], info["channels"]) == (32, 1) and "logits" in info["layers"]
    assert main(["models", "fmnist_vgg", "--input-size", "64"]) == 2
    assert "--input-size does not apply to fmnist_vgg" in _err(capsys)
    assert main(["models", "--channels", "1"]) == 2
    assert "give it with its name" in _err(capsys)


def test_metrics_takes_a_files_contract(tmp_path, capsys, monkeypatch):
    from viz_core.cli.metrics import _configs

    (tmp_path / "small.pt2").write_bytes(b"")  # not opened to build the configurations
    monkeypatch.chdir(tmp_path)
    args = build_parser("metrics").parse_args(
        ["metrics", "--model", "small.pt2", "--input-size", "64", "--channels", "1",
         "--mean", "0.29", "--std", "0.34"])
    cfgs = _configs(args)
    assert len(cfgs) > 1
    for c in cfgs:
        assert c.model == str(tmp_path / "small.pt2")
        assert c.extra == {"input_size": 64, "channels": 1, "mean": [0.29], "std": [0.34]}
    run = tmp_path / "run.json"
    run.write_text(RunConfig(target=3).to_json())
    assert main(["metrics", str(run), "--mean", "0.3"]) == 2
    assert "--mean applies to --model, not to run JSON files" in _err(capsys)


# ------------------------------------------------------------------ history list --model

def test_history_list_finds_a_file_model_by_path_name_or_label(tmp_path, capsys,
                                                               monkeypatch):
    store = tmp_path / "runs.sqlite"
    s = RunStore(store)
    small = tmp_path / "nets" / "small.pt2"
    for model, label in ((str(small), "small (exported program)"),
                         ("fmnist_vgg", "fmnist_vgg (Fashion-MNIST weights)")):
        s.add(RunRecord(config={}, model=model, model_label=label, task="am", scheme="plain"))
    monkeypatch.chdir(tmp_path)
    for name in ("small.pt2", "small", "nets/small.pt2", str(small),
                 "small (exported program)"):
        capsys.readouterr()
        assert main(["history", "--store", str(store), "list", "--json", "--model", name]) == 0
        assert [r["model"] for r in json.loads(capsys.readouterr().out)] == [str(small)], name
    other = tmp_path / "other" / "small.pt2"
    s.add(RunRecord(config={}, model=str(other), model_label="small (exported program)",
                    task="am", scheme="plain"))
    assert main(["history", "--store", str(store), "list", "--model", "small.pt2"]) == 2
    err = _err(capsys)
    assert "matches several stored models" in err and str(other) in err


# ------------------------------------------------------------------ --store named otherwise

@pytest.mark.parametrize("name", ["photo.png", "run.json", "net.pt2", "notes.txt"])
def test_a_new_store_named_like_another_file_is_refused(tmp_path, capsys, name):
    path = tmp_path / name
    assert main(["visualize", "--model", "fmnist_vgg", "--target", "3", "--steps", "2",
                 "--out", str(tmp_path / "o.png"), "--store", str(path), "--quiet"]) == 2
    err = _err(capsys)
    assert f"--store {str(path)!r} does not exist" in err and ".sqlite" in err
    assert not path.exists() and not (tmp_path / "o.png").exists()
    with pytest.raises(VizError, match="named like a"):
        RunStore(path)


def test_the_store_variable_is_named_when_it_names_an_image(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(tmp_path / "photo.png"))
    assert main(["visualize", "--model", "fmnist_vgg", "--target", "3", "--steps", "2",
                 "--out", str(tmp_path / "o.png"), "--quiet"]) == 2
    assert "$DEMONS_VIZ_STORE" in _err(capsys) and not (tmp_path / "photo.png").exists()


# ------------------------------------------------------------------ zoo-only commands

@pytest.mark.parametrize("argv, says", [
    (["evaluate", "--models", "small.pt2", "fmnist_vgg"], "evaluate takes zoo models ("),
    (["evaluate", "--benchmark", "recognisability", "--models", "fmnist_vgg",
      "tests.own_nets:branchy"], "not an import string"),
    (["sanity", "--model", "small.pt2"], "sanity takes zoo models (fmnist_vgg, "),
])
def test_zoo_only_commands_say_so_for_ones_own_network(tmp_path, capsys, argv, says):
    assert main([*argv, "--out", str(tmp_path / "res")]) == 2
    err = _err(capsys)
    assert says in err and "unknown model" not in err and "visualize" in err
    assert not (tmp_path / "res").exists()


def test_a_replayed_from_module_name_gets_the_hint(tmp_path, capsys):
    run = tmp_path / "mine.json"
    run.write_text(RunConfig(model="mine", target=3, steps=2).to_json())
    assert main(["visualize", "--config", str(run), "--out", str(tmp_path / "o.png"),
                 "--no-store", "--quiet"]) == 2
    err = _err(capsys)
    assert "unknown model 'mine'" in err and "from_module" in err and ".pt2" in err
    assert "demons-viz.toml" in err


# ------------------------------------------------------------------ engine words

def test_the_seed_rule_says_why(tiny_model):
    from viz_core.engine import check_batchable

    with pytest.raises(VizError, match="jitter and octaves move the batch's canvas"):
        check_batchable([RunConfig(target=1, jitter=2.0, seed=s) for s in (0, 1)])
    with pytest.raises(VizError, match="the seed draws the random network"):
        check_batchable([RunConfig(target=1, weights="random", seed=s) for s in (0, 1)])


def test_the_step_0_frame_holds_no_measurement_yet(tiny_model):
    """What Frame.activation's docstring says: NaN at step 0, measured from step 1."""
    from viz_core.engine import run

    frames = list(run(RunConfig(model="tiny", target=1, steps=2, every=1), tiny_model))
    assert frames[0].step == 0 and math.isnan(frames[0].activation[0])
    assert math.isnan(frames[0].objective[0]) and frames[0].grad_norm[0] == 0
    assert all(math.isfinite(f.activation[0]) for f in frames[1:])


def test_the_shared_contract_flags_are_defined_once():
    src = Path(__file__).resolve().parents[1] / "viz_core" / "cli"
    hits = [p.name for p in src.glob("*.py") if '"--input-size"' in p.read_text()]
    assert hits == ["contract.py"]
