"""Inversion keeps a middle block when the model changes (Sec. 3.2: inversion from the
middle stays recognisable, from the logits it does not): before, a layer the new model
lacks fell back to the first option, ``logits``."""

from __future__ import annotations

import pytest

PAGES = {"pages/1_Playground.py": "pg_", "pages/2_Compare_schemes.py": "cmp_"}


@pytest.mark.parametrize("page", PAGES)
def test_a_new_model_inverts_its_middle_block(dash, page):
    p = PAGES[page]
    at = dash.open(page, task="inversion")
    dash.no_exception(at)
    assert at.session_state[p + "layer"] == "layer2"
    at.selectbox(key=p + "model").set_value("fmnist_vgg").run()
    dash.no_exception(at)
    assert at.session_state[p + "layer"] == "block2"


def test_missing_weights_offer_random_weights_once(dash):
    """The loader's message already offers random weights (weights='random', shown as
    'random' weights): no second "Choose another model or 'random' weights" after it."""
    at = dash.open("pages/1_Playground.py", model="vgg19")
    dash.no_exception(at)
    said = " ".join(dash.errors(at))
    assert "not available offline" in said and said.count("random") == 1, said


def test_the_class_conditional_start_is_offered_only_where_it_applies(dash):
    """The data prior exists for the Fashion-MNIST classes only: a channel target (or an own
    network) is offered the noise start alone, instead of a choice refused after Run."""
    at = dash.open("pages/1_Playground.py")
    dash.no_exception(at)
    assert len(at.radio(key="pg_init").options) == 2
    at = dash.open("pages/1_Playground.py", layer="layer2", init="class_conditional")
    dash.no_exception(at)
    assert at.radio(key="pg_init").value == "noise"
    assert len(at.radio(key="pg_init").options) == 1
