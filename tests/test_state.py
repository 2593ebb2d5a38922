"""dashboard.state: scheme names from the registry, older spellings in links and run JSONs."""

from __future__ import annotations

import json

import pytest

from dashboard import state
from viz_core import config, objectives, schemes
from viz_core.errors import VizError


def test_choice_lists_are_the_cores():
    assert state.PLAYGROUND_CHOICES["border"] is schemes.BORDERS
    assert state.PLAYGROUND_CHOICES["device"] is config.DEVICES
    assert state.PLAYGROUND_CHOICES["grad_norm"] is config.GRAD_NORMS
    assert state.TASK_CHOICES is objectives.TASKS
    assert state.CELLS == schemes.FIG1_SCHEMES
    assert set(state.SCHEMES) == set(schemes.STRUCTURES) - {"tv"}


@pytest.mark.parametrize("old, new", [("none", "plain"), ("plain", "plain"),
                                      ("fluid-elastic", "fluid-elastic"),
                                      ("fluid_sobolev", "fluid")])
def test_old_scheme_spellings_in_a_link_still_parse(old, new):
    s, notes = state.decode({"scheme": old}, state.PLAYGROUND_DEFAULTS,
                            state.PLAYGROUND_CHOICES)
    assert s["scheme"] == new and not notes


def test_unknown_scheme_in_a_link_keeps_the_default_with_a_notice():
    s, notes = state.decode({"scheme": "warp"}, state.PLAYGROUND_DEFAULTS,
                            state.PLAYGROUND_CHOICES)
    assert s["scheme"] == state.PLAYGROUND_DEFAULTS["scheme"] and "warp" in notes[0]


def test_old_compare_cells_parse_to_registry_keys():
    s, notes = state.decode({"cells": "sobolev-fluid,gaussian-fluid-elastic,tv"},
                            state.COMPARE_DEFAULTS, state.COMPARE_CHOICES)
    assert not notes
    assert s["cells"] == "fluid_sobolev,fluid_elastic_gaussian,tv"
    configs = state.compare_configs(s)
    assert [state.cell_of(c) for c in configs] == s["cells"].split(",")
    with pytest.raises(VizError):
        state.parse_cells("fluid_spectral")  # a registry scheme, but not a Fig. 1 cell


def test_old_run_json_with_scheme_none_restores():
    cfg = state.settings_to_config({**state.PLAYGROUND_DEFAULTS, "scheme": "plain"})
    d = json.loads(cfg.to_json())
    d["extra"]["ui"]["scheme"] = "none"  # as written before the registry
    s, _ = state.settings_from_json(json.dumps(d))
    assert s["scheme"] == "plain"
    assert state.kernel_spec({**s, "scheme": "none"}, "f") is None


def test_class_score_round_trips_through_url_and_config_and_applies_to_classes_only():
    s = {**state.PLAYGROUND_DEFAULTS, "task": "am", "layer": "logits", "class_score": "log_prob"}
    q = state.encode(s, state.PLAYGROUND_DEFAULTS)
    back, _ = state.decode(q, state.PLAYGROUND_DEFAULTS, state.PLAYGROUND_CHOICES)
    cfg = state.settings_to_config(back)
    assert cfg.class_score == "log_prob" and cfg.target_spec().score == "log_prob"
    again, _ = state.config_to_settings(cfg, dict(state.PLAYGROUND_DEFAULTS))
    assert again["class_score"] == "log_prob"
    # a channel of a hidden layer has no class probability: the setting does not apply
    chan = state.settings_to_config({**back, "layer": "block2", "channel": 3})
    assert chan.class_score == "logit"
    assert state.compare_configs({**state.COMPARE_DEFAULTS, "task": "am", "layer": "logits",
                                  "class_score": "log_prob"})[0].class_score == "log_prob"


def test_optimizer_setting_round_trips_through_url_and_config():
    """The optimiser is a Playground setting: in the URL, and in the run configuration."""
    s = {**state.PLAYGROUND_DEFAULTS, "optimizer": "adam"}
    q = state.encode(s, state.PLAYGROUND_DEFAULTS)
    assert q["optimizer"] == "adam"
    back, _ = state.decode(q, state.PLAYGROUND_DEFAULTS, state.PLAYGROUND_CHOICES)
    assert back["optimizer"] == "adam"
    cfg = state.settings_to_config(back)
    assert cfg.optimizer == "adam"
    again, _ = state.config_to_settings(cfg, dict(state.PLAYGROUND_DEFAULTS))
    assert again["optimizer"] == "adam"
    bad, notices = state.decode({"optimizer": "sgd"}, state.PLAYGROUND_DEFAULTS,
                                state.PLAYGROUND_CHOICES)
    assert bad["optimizer"] == "demons" and notices


def test_activation_label_names_what_the_numbers_are():
    s = {**state.PLAYGROUND_DEFAULTS, "task": "am", "layer": "logits"}
    assert state.activation_label({**s, "class_score": "logit"}) == "target activation (logit)"
    assert state.activation_label({**s, "class_score": "log_prob"}) == "target log-probability"
    assert "channel" in state.activation_label({**s, "layer": "block2", "unit_on": False})
    assert state.activation_label({**s, "task": "inversion"}) == "relative feature error"
