"""Numbers in a link that the controls cannot show (below a minimum with no maximum, off a
slider's steps) are changed to the nearest usable value, the page draws in full, and a
warning under the title says what was changed for as long as the settings stay as the link
left them (a toast alone is gone after a few seconds)."""

from __future__ import annotations

import pytest

from dashboard.navigation import page_path


def _open(dash, key: str, **params):
    return dash.open(page_path(key), weights="random", **params)


def _warnings(dash, at) -> str:
    return " ".join(dash.shown(w.value) for w in at.warning)


@pytest.mark.parametrize("key, params, widget, fixed, says", [
    ("playground", {"jitter": "-1"}, "pg_jitter", 0.0, "jitter: -1.0 is out of range"),
    ("playground", {"step_size": "-3", "octaves_on": "0"}, "pg_step_size", 1e-6,
     "step_size: -3.0 is out of range"),
    ("playground", {"f_size": "4"}, "pg_f_size", 5, "f_size: 4 not one of"),
    ("compare", {"jitter": "-1"}, "cmp_jitter", 0.0, "jitter: -1.0 is out of range"),
    ("kernels", {"size": "4"}, "kx_size", 5, "size: 4 not one of 3, 5, ..., 31"),
    ("kernels", {"size": "40"}, "kx_size", 31, "size: 40 outside 3..31"),
])
def test_an_unusable_number_in_a_link_is_fixed_and_said(dash, key, params, widget, fixed,
                                                        says):
    at = _open(dash, key, **params)
    dash.no_exception(at)
    assert not dash.errors(at), dash.errors(at)
    assert at.session_state[widget] == pytest.approx(fixed)
    assert says in _warnings(dash, at)
    at.run()  # a rerun with the same settings: still said
    assert says in _warnings(dash, at)


def test_the_warning_goes_once_a_setting_changes(dash):
    at = _open(dash, "kernels", size="4")
    assert "size: 4" in _warnings(dash, at)
    at.slider(key="kx_n").set_value(5).run()
    dash.no_exception(at)
    assert "size: 4" not in _warnings(dash, at)


def test_an_unknown_choice_in_a_link_falls_back_to_the_page_default(dash):
    """Not to the first option: ``model=nonexistent`` opens the default model, as does
    an impossible class, and the warning names what is used."""
    from dashboard.settings.playground import DEFAULT_CLASS, playground_defaults

    d = playground_defaults()
    at = _open(dash, "playground", model="nonexistent.pt2", target="999")
    dash.no_exception(at)
    assert at.session_state["pg_model"] == d["model"]
    assert at.session_state["pg_target"] == DEFAULT_CLASS == d["target"]
    assert f"using {d['model']!r}" in _warnings(dash, at)


def test_an_inversion_link_without_a_layer_opens_on_the_middle_block(dash):
    """``task=inversion`` without a layer means what the task control picks (the middle
    block), not the logits default of activation maximization; the link then carries
    its layer, so that a deliberate inversion from the logits survives a reload."""
    from dashboard.settings.layers import middle_layer
    from viz_core import models

    m = models.open_model("fmnist_resnet_robust", weights="random")
    mid = middle_layer(m.layers, m.spec.default_layer)
    at = _open(dash, "playground", model="fmnist_resnet_robust", task="inversion")
    dash.no_exception(at)
    assert at.session_state["pg_layer"] == mid != "logits"
    assert at.query_params.get("layer") in (mid, [mid])
    at = _open(dash, "playground", model="fmnist_resnet_robust", task="inversion",
               layer="logits")  # asked for: kept
    assert at.session_state["pg_layer"] == "logits"
    assert at.query_params.get("layer") in ("logits", ["logits"])
    at = _open(dash, "playground")  # activation maximization: no layer in the link
    assert "layer" not in at.query_params
    at = _open(dash, "compare")  # a page that opens on inversion: its default link is bare
    assert "layer" not in at.query_params


def test_a_class_link_on_compare_opens_the_class_and_keeps_the_side_by_side_view(dash):
    """Compare opens on inversion: ``task=am&target=3`` means class 3 (the logits), not
    channel 0 of the inversion layer; the standard / robust toggle is part of the link."""
    at = _open(dash, "compare", task="am", target="3")
    dash.no_exception(at)
    assert at.session_state["cmp_layer"] == "logits"
    assert at.session_state["cmp_target"] == 3
    assert at.query_params.get("layer") in ("logits", ["logits"])  # not the default task
    at = _open(dash, "compare", robust="1")
    assert at.session_state["cmp_robust"] is True
    assert at.query_params.get("robust") in ("1", ["1"])
