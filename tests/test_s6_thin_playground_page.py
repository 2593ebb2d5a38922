"""The Playground page is thin (pages stay layout): the recipes, a restored run, the octave
schedule in words, the starts offered, the run the settings define (configurations, what
blocks Run, the panel's kernels), the header, the job and the captions live in
``dashboard.playground_page``. What the page shows is unchanged (the Playground page
tests); here the moved pieces work on their own, without a browser."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from dashboard import playground_page as pp
from dashboard import resources
from dashboard.runs import RunRecord
from dashboard.settings.playground import playground_defaults, settings_to_config
from viz_core.engine import Frame

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "pages" / "1_Playground.py"
MODULE = ROOT / "dashboard" / "playground_page.py"


class Slots:
    """Records what would go under each control (:class:`dashboard.widgets.Controls`)."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def error(self, name: str, message: str) -> None:
        self.errors.append((name, message))


def _settings(**changes) -> dict:
    return {**playground_defaults(), **changes}


def _model(family: str = "offline", channels: int = 1, classes=None):
    spec = SimpleNamespace(family=family, channels=channels, input_size=28,
                           default_layer="logits")
    return SimpleNamespace(spec=spec, classes=classes or [f"c{i}" for i in range(10)],
                           label="Tiny net")


def _record(n: int = 1, reference: np.ndarray | None = None) -> RunRecord:
    rec = RunRecord([f"s{i}" for i in range(n)], ['{"task": "am", "target": 1}'] * n, "m", 10)
    rec.reference = reference
    img = np.random.default_rng(0).random((n, 1, 28, 28)).astype(np.float32)
    rec.add(Frame(4, 10, 0, img, np.zeros(n), np.zeros(n), np.ones(n), 0.1,
                  rec.labels, [None] * n, False))
    return rec


def test_the_page_is_layout_and_the_module_fits_400_lines():
    page = PAGE.read_text(encoding="utf-8")
    assert len(page.splitlines()) <= 260  # was 372
    assert len(MODULE.read_text(encoding="utf-8").splitlines()) <= 400
    for logic in ("settings_to_config", "parse_octaves", "radial_power_spectrum", "Job(",
                  "presets_for", "check_size", "diversity_configs", "target_words"):
        assert logic not in page, logic


def test_recipes_come_offline_and_as_published_marked_without_weights(monkeypatch):
    monkeypatch.setattr(resources, "available", lambda names: False)
    out = pp.recipes()
    offline = [k for k in out if "· offline (" in k]
    published = [k for k in out if "· as published (" in k]
    assert offline and len(offline) == len(published) == len(out) // 2
    assert all(k.endswith(", weights to download)") for k in published)
    assert all(out[k].model.startswith("fmnist") for k in offline)
    monkeypatch.setattr(resources, "available", lambda names: True)
    assert not [k for k in pp.recipes() if "weights to download" in k]


def test_a_recipe_loads_as_settings_with_a_message():
    assert pp.recipe_settings(pp.NO_RECIPE) is None
    choice, cfg = next(iter(pp.recipes().items()))
    s, msg = pp.recipe_settings(choice)
    assert s["model"] == cfg.model and s["steps"] == cfg.steps
    assert msg.startswith(f"loaded '{choice}'. ")


def test_a_run_json_or_its_png_restores_and_a_bad_file_is_a_message():
    cfg = settings_to_config(_settings(seed=7, octaves_on=False, steps=33))
    s, msg = pp.restored_settings(cfg.to_json().encode(), "run.json")
    assert (s["seed"], s["steps"]) == (7, 33)
    assert msg[0] == "info" and msg[1].startswith("restored every setting from run.json. ")
    rec = _record()
    rec.configs = [cfg.to_json()]
    s, msg = pp.restored_settings(rec.png(), "pre-image.png")
    assert s is not None and s["seed"] == 7 and msg[0] == "info"
    for bad in (b"not json", b"\x89PNG\r\n\x1a\n", json.dumps([1, 2]).encode(),
                b" " * (50 << 20)):
        s, msg = pp.restored_settings(bad, "x.json")
        assert s is None and msg[0] == "error" and msg[1], bad[:10]


def test_the_octave_schedule_in_words():
    assert pp.schedule_text("1:100:5,1.1:50:2") == (
        "the octave schedule runs 150 steps: tau 5 for 100 steps → tau 2 for 50 steps at "
        "scale 1.1")
    assert pp.schedule_text("1:x") == "the octave schedule sets the steps and tau (fix it below)"


def test_the_data_prior_start_only_for_fashion_mnist_classes():
    choices = ("noise", "class_conditional")
    assert pp.init_choices(_model(), "logits", choices) == list(choices)
    for model, layer in ((_model(), "block2"), (_model(family="zoo"), "logits"),
                         (_model(channels=3), "logits"), (None, "logits")):
        assert pp.init_choices(model, layer, choices) == ["noise"]


def test_advanced_opens_only_for_an_advanced_setting_that_fails():
    assert pp.advanced_open(_settings()) is False
    assert pp.advanced_open(_settings(init_std=5.0)) is True
    assert pp.advanced_open(_settings(octaves_on=False, steps=0)) is False


def test_the_plan_of_the_defaults_runs_with_both_kernels(tiny_model):
    slots = Slots()
    plan = pp.plan_run(_settings(), tiny_model, None, None, slots)
    assert plan.cfg is not None and plan.cfgs == [plan.cfg] and not plan.errors
    assert plan.label == plan.cfg.scheme_label and not slots.errors
    fluid, elastic = plan.kernels
    assert fluid.spec.kind == elastic.spec.kind == "sobolev"
    assert pp.panel_key(fluid, elastic) != pp.panel_key(fluid, None)
    assert pp.panel_key(None, None) == "[None, None]"


def test_what_blocks_run_goes_under_its_control_and_into_the_errors():
    slots = Slots()
    plan = pp.plan_run(_settings(init_std=5.0), None, None, None, slots)
    assert plan.cfg is None and plan.label == "" and plan.cfgs == []
    assert slots.errors[0][0] == "init_std"
    assert plan.errors[1] == "the model could not be loaded (see the sidebar)"
    plan = pp.plan_run(_settings(task="inversion"), _model(), None, None, Slots())
    assert "no valid image to invert (see the sidebar)" in plan.errors


def test_a_kernel_that_cannot_be_built_blocks_run_unless_octaves_set_tau():
    bad = dict(octaves_on=False, scheme="fluid", f_kind="sobolev", f_fit=False,
               f_gamma=-1.0)
    slots, problems = Slots(), []
    assert pp.build_kernels(_settings(**bad), slots, problems)[1] is None
    assert slots.errors and slots.errors[0][0].startswith("f_") and problems
    plan = pp.plan_run(_settings(**{**bad, "octaves_on": True}), _model(), None, None,
                       Slots())
    assert plan.kernels == [None, None] and not any("gamma" in e for e in plan.errors[1:])


def test_the_header_names_the_target_the_scheme_and_the_model():
    cfg = settings_to_config(_settings())
    head = pp.header_markdown(cfg, _model(classes=[f"k{i}" for i in range(10)]),
                              "fmnist_resnet_robust", cfg.scheme_label)
    assert head.splitlines()[0] == "#### K1 (class 1)"
    assert head.endswith(f"**{cfg.scheme_label}** · Tiny net")
    no_model = pp.header_markdown(cfg, None, "fmnist_resnet_robust", cfg.scheme_label)
    assert "Trouser" in no_model.splitlines()[0] and " · " not in no_model.splitlines()[-1]
    assert pp.header_markdown(None, None, "x", "") == "**invalid settings**"


def test_the_job_labels_diversity_samples_and_asks_the_judges(monkeypatch):
    monkeypatch.setattr(resources, "verdict_models", lambda model, name: [model, name])
    cfg = settings_to_config(_settings())
    model = _model()
    job = pp.make_job("lbl", [cfg], model, None, "fmnist_resnet_robust")
    assert (job.title, job.labels, job.judges) == ("lbl", ["lbl"], [model,
                                                                    "fmnist_resnet_robust"])
    two = [dataclasses.replace(cfg, name=f"sample {i}") for i in (1, 2)]
    assert pp.make_job("lbl", two, model, None, "m").labels == ["sample 1", "sample 2"]


def test_captions_sizes_and_spectra_of_a_shown_record():
    one = _record()
    assert pp.preimage_caption(one, "class Trouser") == "class Trouser · pre-image · step 4 / 10"
    assert pp.preimage_caption(one, "") == "pre-image · step 4 / 10"
    three = _record(3)
    assert pp.sample_caption(three, 2) == "sample 3 · step 4 / 10"
    assert (pp.sample_size(2), pp.sample_size(3)) == (pp.IMAGE_SIZE, pp.SAMPLE_SIZE)
    assert [s[0] for s in pp.spectrum_series(one)] == ["pre-image"]
    ref = _record(reference=np.zeros((1, 1, 28, 28), np.float32))
    series = pp.spectrum_series(ref)
    assert [s[0] for s in series] == ["pre-image", "reference image"]
    assert len(series[0][1]) == len(series[0][2]) > 1


def test_the_moved_texts_read_as_before():
    """The page's words moved with the code, word for word."""
    assert pp.KERNELS_CAPTION == (
        "Kf filters the data gradient (fluid: implicit regularization, a change of the "
        "metric, Sec. 2.4), Ke the updated solution (elastic: with a Gaussian an explicit "
        "regularizer added to the energy, Sec. 2.2; elastic and fluid-elastic Sobolev count "
        "as implicit in the paper's Table 2). |H| < 1 damps that frequency.")
    assert pp.INIT_HELP == (
        "the paper's start is small noise around the mean image; the class-conditional start "
        "draws from a Gaussian fitted to the class's Fashion-MNIST training images (Santurkar "
        "et al. 2019): a data prior, so the picture shows the class before the network does "
        "anything")
    assert pp.RECIPE_HELP == ("Simonyan, Mahendran & Vedaldi, Yosinski, DeepDream, Distill "
                              "as settings of the one demons update")
    assert pp.SCHEME_HELP == ("fluid filters the update (eq. 8), elastic the solution "
                              "(eq. 6), fluid-elastic both (eq. 18)")
