"""dashboard.state: scheme names from the registry, older spellings in links and run JSONs."""

from __future__ import annotations

import json

import pytest

from dashboard.scheme_names import CELLS, SCHEMES, parse_cells
from dashboard.settings.compare import COMPARE_CHOICES, compare_configs, compare_defaults
from dashboard.settings.labels import activation_label
from dashboard.settings.playground import (
    PLAYGROUND_CHOICES,
    TASK_CHOICES,
    config_to_settings,
    kernel_spec,
    playground_defaults,
    settings_from_json,
    settings_to_config,
)
from dashboard.urlstate import decode, encode
from viz_core import config, objectives, schemes
from viz_core.errors import VizError


def test_choice_lists_are_the_cores():
    assert PLAYGROUND_CHOICES["border"] is schemes.BORDERS
    assert PLAYGROUND_CHOICES["device"] is config.DEVICES
    assert PLAYGROUND_CHOICES["grad_norm"] is config.GRAD_NORMS
    assert TASK_CHOICES is objectives.TASKS
    assert CELLS == schemes.FIG1_SCHEMES
    assert set(SCHEMES) == set(schemes.STRUCTURES) - {"tv"}


@pytest.mark.parametrize("old, new", [("none", "plain"), ("plain", "plain"),
                                      ("fluid-elastic", "fluid-elastic"),
                                      ("fluid_sobolev", "fluid")])
def test_old_scheme_spellings_in_a_link_still_parse(old, new):
    s, notes = decode({"scheme": old}, playground_defaults(),
                            PLAYGROUND_CHOICES)
    assert s["scheme"] == new and not notes


def test_unknown_scheme_in_a_link_keeps_the_default_with_a_notice():
    s, notes = decode({"scheme": "warp"}, playground_defaults(),
                            PLAYGROUND_CHOICES)
    assert s["scheme"] == playground_defaults()["scheme"] and "warp" in notes[0]


def test_old_compare_cells_parse_to_registry_keys():
    s, notes = decode({"cells": "sobolev-fluid,gaussian-fluid-elastic,tv"},
                            compare_defaults(), COMPARE_CHOICES)
    assert not notes
    assert s["cells"] == "fluid_sobolev,fluid_elastic_gaussian,tv"
    configs = compare_configs(s)
    assert [schemes.scheme_of(c) for c in configs] == s["cells"].split(",")
    with pytest.raises(VizError):
        parse_cells("fluid_spectral")  # a registry scheme, but not a Fig. 1 cell


def test_old_run_json_with_scheme_none_restores():
    cfg = settings_to_config({**playground_defaults(), "scheme": "plain"})
    d = json.loads(cfg.to_json())
    d["extra"]["ui"]["scheme"] = "none"  # as written before the registry
    s, _ = settings_from_json(json.dumps(d))
    assert s["scheme"] == "plain"
    assert kernel_spec({**s, "scheme": "none"}, "f") is None


def test_class_score_round_trips_through_url_and_config_and_applies_to_classes_only():
    s = {**playground_defaults(), "task": "am", "layer": "logits", "class_score": "log_prob"}
    q = encode(s, playground_defaults())
    back, _ = decode(q, playground_defaults(), PLAYGROUND_CHOICES)
    cfg = settings_to_config(back)
    assert cfg.class_score == "log_prob" and cfg.target_spec().score == "log_prob"
    again, _ = config_to_settings(cfg, dict(playground_defaults()))
    assert again["class_score"] == "log_prob"
    # a channel of a hidden layer has no class probability: the setting does not apply
    chan = settings_to_config({**back, "layer": "block2", "channel": 3})
    assert chan.class_score == "logit"
    assert compare_configs({**compare_defaults(), "task": "am", "layer": "logits",
                                  "class_score": "log_prob"})[0].class_score == "log_prob"


def test_optimizer_setting_round_trips_through_url_and_config():
    """The optimiser is a Playground setting: in the URL, and in the run configuration."""
    s = {**playground_defaults(), "optimizer": "adam"}
    q = encode(s, playground_defaults())
    assert q["optimizer"] == "adam"
    back, _ = decode(q, playground_defaults(), PLAYGROUND_CHOICES)
    assert back["optimizer"] == "adam"
    cfg = settings_to_config(back)
    assert cfg.optimizer == "adam"
    again, _ = config_to_settings(cfg, dict(playground_defaults()))
    assert again["optimizer"] == "adam"
    bad, notices = decode({"optimizer": "sgd"}, playground_defaults(),
                                PLAYGROUND_CHOICES)
    assert bad["optimizer"] == "demons" and notices


def test_activation_label_names_what_the_numbers_are():
    s = {**playground_defaults(), "task": "am", "layer": "logits"}
    assert activation_label({**s, "class_score": "logit"}) == "target activation (logit)"
    assert activation_label({**s, "class_score": "log_prob"}) == "target log-probability"
    assert "channel" in activation_label({**s, "layer": "block2", "unit_on": False})
    assert activation_label({**s, "task": "inversion"}) == "relative feature error"
