"""The Playground's classic recipes as published: a recipe whose network's weights are not
on this machine says so in the recipe box, and its target is named by the network's class
name even before the weights are there."""

from __future__ import annotations

import dashboard.resources
from dashboard.navigation import page_path

PG = page_path("playground")


def _offline_only(monkeypatch) -> None:
    """A machine with the shipped offline models only (no ImageNet weights cached)."""
    monkeypatch.setattr(dashboard.resources, "available",
                        lambda names: all(n.startswith("fmnist") for n in names))


def test_published_recipes_say_when_their_weights_must_be_downloaded(dash, monkeypatch):
    _offline_only(monkeypatch)
    at = dash.open(PG)
    options = at.selectbox(key="pg_recipe").options
    published = [o for o in options if "· as published (" in o]
    assert published and not [o for o in options if "· paper (" in o]
    for o in published:
        model = o.split("· as published (")[1].split(",")[0].rstrip(")")
        assert ("weights to download" in o) == (not model.startswith("fmnist")), o


def test_a_recipe_on_a_network_without_weights_names_its_class(dash, monkeypatch):
    _offline_only(monkeypatch)
    at = dash.open(PG)
    box = at.selectbox(key="pg_recipe")
    choice = next(o for o in box.options if "weights to download" in o and "vgg" in o)
    box.set_value(choice).run()
    dash.no_exception(at)
    heads = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert heads and "(class " in heads[0], heads
    assert not heads[0].startswith("#### Class "), heads  # a name, not "Class 121"


def test_compare_names_its_target_and_says_what_the_paper_found(dash):
    """Compare says above the grid what it runs (as the Playground does) and, under it,
    what the paper's Fig. 1 found and what its "best" means (the judge, not sharpness)."""
    at = dash.open(page_path("compare"))
    dash.no_exception(at)
    heads = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert heads and heads[0].startswith("#### Inversion of 0_ankle_boot.png at "), heads
    assert "king crab" in heads[0] and "VGG19" in heads[0]
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Paper: Sobolev filters give crisper details") and
               "not the sharpest" in c for c in captions), captions
