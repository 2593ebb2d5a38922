"""Three defects of the Sweeps page and its stored cells: an inversion sweep's heatmap named
its metric "activation" (it is the relative feature error of eqs. 2-3); a class target was
shown as a bare index ("class 7") where the rest of the dashboard names the class; a sweep
cell in the History had no weights hash and no curves, so comparing it with a Playground
run showed neither."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import history_view as hv
from dashboard import sweeps_view as sv
from dashboard.run_history import remember_sweep_batch
from dashboard.sweep_heatmap import heatmap_figure
from viz_core import engine, models
from viz_core.config import RunConfig
from viz_core.store import RunStore
from viz_core.store.records import weights_hash
from viz_core.store.verdict_words import verdict_text
from viz_core.sweeps import run_sweep

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGE = "pages/6_Sweeps.py"


def _page(dash, **params) -> AppTest:
    at = dash.open(PAGE, **params)
    assert not at.exception, [e.value for e in at.exception]
    return at


def _heatmap(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]


def _batches(settings: dict, tmp_path) -> list:
    out: list = []
    sweep = sv.sweep_of({**sv.sweep_defaults(), **settings})
    run_sweep(sweep, tmp_path / "sweep", "local",
              progress=lambda p: p.result is not None and out.append(p.result))
    return out


# ------------------------------------------------- 1. the heatmap names what is measured

def test_an_inversion_heatmap_is_titled_with_the_relative_feature_error():
    rows = [{"layer": "layer1", "task": "inversion", "activation": 0.4},
            {"layer": "layer2", "task": "inversion", "activation": 0.7}]
    trace = heatmap_figure(rows, ["layer"], "activation").to_plotly_json()["data"][0]
    fig = heatmap_figure(rows, ["layer"], "activation")
    assert trace["colorbar"]["title"]["text"] == "rel. feature error"  # was "activation"
    assert fig.layout.title.text == "rel. feature error"  # was "target activation / rel. ..."
    assert "rel. feature error" in trace["hovertemplate"]
    assert "activation" not in trace["hovertemplate"] + trace["colorbar"]["title"]["text"]


def test_an_am_heatmap_names_the_class_score_and_other_metrics_their_label():
    cfg = RunConfig(model="fmnist_resnet_robust", task="am", target=7)
    rows = [{"gamma": 0.1, "task": "am", "config": cfg.to_json(), "activation": 3.0,
             "hf_fraction": 0.2}]
    fig = heatmap_figure(rows, ["gamma"], "activation")
    assert fig.data[0].colorbar.title.text == "target activation (logit)"
    fig = heatmap_figure(rows, ["gamma"], "hf_fraction")
    assert fig.data[0].colorbar.title.text == "HF fraction"  # was the key "hf_fraction"


def test_the_page_titles_an_inversion_sweeps_heatmap_by_its_metric(dash):
    at = _page(dash, task="inversion", axis1="layer", values1="layer1,layer2", axis2="none",
               steps=2, metric="activation")
    at.button(key="sw_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    trace = _heatmap(at)
    assert trace["colorbar"]["title"]["text"] == "rel. feature error"
    assert "rel. feature error" in trace["hovertemplate"]


# ------------------------------------------------------ 2. a class target by its name

def test_target_text_follows_the_playgrounds_class_box():
    assert sv.target_text({"target": 7, "target_class": "Sneaker"}) == "7 · Sneaker"
    assert sv.target_text({"target": 2, "target_class": "class 2"}) == "class 2"
    assert sv.value_text("target", {"target": 7, "target_class": "Sneaker"}) == "7 · Sneaker"
    assert sv.value_text("gamma", {"gamma": 0.5}) == "0.5"


def test_the_page_names_class_targets_in_captions_heatmap_and_table(dash):
    at = _page(dash, axis1="target", values1="7,3", axis2="none", steps=2)
    at.button(key="sw_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c for img in at.image for c in img.captions]
    assert captions == ["target=7 · Sneaker", "target=3 · Dress"]  # were "target=7", ...
    assert list(_heatmap(at)["y"]) == ["7 · Sneaker", "3 · Dress"]
    table = at.dataframe[-1].value
    assert list(table["target"]) == ["7 · Sneaker", "3 · Dress"]


def test_a_stored_sweep_cell_names_the_judges_target_by_its_class(tmp_path):
    batches = _batches({"axis1": "target", "values1": "7", "axis2": "none", "steps": 2},
                       tmp_path)
    store = RunStore(str(tmp_path / "runs.sqlite"))
    ids = remember_sweep_batch(batches[0], str(tmp_path / "sweep"), store)
    assert isinstance(ids, list) and len(ids) == 1
    run = store.get(ids[0])
    judge = [v for v in run.verdicts if v["role"] == "judge"]
    assert judge and judge[0]["target"] == "Sneaker"  # the Playground's way; was "7"
    assert "target Sneaker:" in verdict_text(judge[0])  # was "target class 7:"
    # as a Playground run's: the model's verdict too, top-3 with probabilities, chance
    assert [v["role"] for v in run.verdicts] == ["model", "judge"]
    assert all(len(v["top"]) == 3 and v["top"][0][1] is not None and v["chance"] == 0.1
               for v in run.verdicts)
    assert run.floors == {"judge_target_prob": 0.1, "model_target_prob": 0.1}


# --------------------------------- 3. a stored sweep cell has weights hash and curves

def test_a_stored_sweep_cell_has_the_weights_hash_and_curves(tmp_path):
    steps = 12
    batches = _batches({"values1": "0.2", "values2": "5", "steps": steps}, tmp_path)
    store = RunStore(str(tmp_path / "runs.sqlite"))
    ids = remember_sweep_batch(batches[0], str(tmp_path / "sweep"), store)
    run = store.get(ids[0])
    net = models.load_model(run.model).net
    assert run.weights_hash and run.weights_hash == weights_hash(net)  # a Playground run's
    curves = run.curves
    assert curves["step"][0] == 0 and curves["step"][-1] == steps
    assert len(curves["step"]) == len(curves["objective"]) == len(curves["activation"])
    assert len(curves["step"]) >= 3  # the History draws from step 1 on
    assert curves["objective"][-1] == pytest.approx(run.metrics["objective"])
    assert curves["activation"][-1] == pytest.approx(run.metrics["activation"])
    assert hv.without_curves([run]) == ""  # was "No curves stored for ..."
    line = hv.curves_figure([run], "objective").data[0]
    assert len(line.x) == len(curves["step"]) - 1


def test_the_curves_change_no_cells_result():
    """The frames that carry the curves read numbers the engine keeps: a cell's picture and
    metrics are those of a run with one frame at the end, bit for bit."""
    from viz_core.metrics import run_rows
    from viz_core.sweeps.cells import BatchTask, cached_model, curve_every, run_batch

    cells = sv.sweep_of({**sv.sweep_defaults(), "steps": 9}).cells()[:3]
    configs = [c.config for c in cells]
    res = run_batch(BatchTask("b", [{"index": c.index, "id": c.id, "values": c.values,
                                     "config": c.config.to_dict()} for c in cells]))
    assert curve_every(9) < 9 and len(res.curves(cells[0].id)["step"]) > 2
    model = cached_model(configs[0])
    one = engine.run_to_end(configs, model, keep_frames=False, every=9).final
    many = engine.run_to_end(configs, model, keep_frames=False, every=curve_every(9)).final
    assert np.array_equal(one.images, many.images)
    for row, want in zip(res.rows, run_rows(one, configs)):
        for key in ("objective", "activation", "hf_fraction", "total_variation"):
            assert row[key] == want[key], key


def test_the_cli_heatmap_names_the_metric_for_the_task():
    """The CLI's HTML heatmap (viz_core.figures) titles its colour bar with the metric's
    label, an inversion's activation as the relative feature error (it said 'activation')."""
    from viz_core.figures import heatmap_figure
    from viz_core.metrics import metric_label

    inv = [{"task": "inversion", "layer": "block2", "activation": 0.4}]
    fig = heatmap_figure(inv, ["layer"], "activation")
    assert fig["data"][0]["colorbar"]["title"]["text"] == metric_label("feature_error")
    assert fig["layout"]["title"]["text"] == metric_label("feature_error")
    am = [{"task": "am", "gamma": 0.1, "hf_fraction": 0.3}]
    assert heatmap_figure(am, ["gamma"], "hf_fraction")["data"][0]["colorbar"]["title"][
        "text"] == metric_label("hf_fraction")


def test_a_scheme_axis_reads_as_the_schemes_labels():
    """Captions and heatmap ticks of a scheme axis name the schemes as the other pages do
    ('Sobolev fluid', not the key fluid_sobolev, which broke mid-word at 1280x720)."""
    assert sv.value_text("scheme", {"scheme": "fluid_sobolev"}) == "Sobolev fluid"
    rows = [{"scheme": k, "activation": 1.0, "task": "am"} for k in ("tv", "fluid_sobolev")]
    fig = heatmap_figure(rows, ["scheme"], "activation")
    assert list(fig.data[0].y) == ["TV", "Sobolev fluid"]


def test_the_metric_box_keeps_its_metric_when_the_task_changes(dash):
    """The metric box has one label per metric whatever the task: with labels that followed
    the task, inversion showed 'rel. feature error' twice and a switch to AM moved the
    selection (Streamlit keeps a selection by label). The task leaves out only what says
    nothing for it (an inversion's activation is its feature error), and the target's own
    measure follows the task, as do the judge's words (an inversion's judge tests the
    original's class; Controls.select keeps the choice when words change)."""
    at = _page(dash, task="inversion")
    opts = at.selectbox(key="sw_metric").options
    assert len(set(opts)) == len(opts)
    assert at.selectbox(key="sw_metric").value == "feature_error"
    at.radio(key="sw_task").set_value("am").run()
    assert at.selectbox(key="sw_metric").value == "activation"
    am_opts = at.selectbox(key="sw_metric").options
    assert len(set(am_opts)) == len(am_opts)
    am_only = set(am_opts) - set(opts)
    assert {o for o in am_only if not o.startswith("independent judge")} == {"target activation"}
    assert {o for o in opts if o.startswith("independent judge")} == {
        "independent judge: probability of the original's class",
        "independent judge: top-1 = the original's class"}


def test_a_cell_without_a_layer_opens_in_the_playground_at_the_layer_it_ran():
    """An inversion run stored without a layer ran at the model's default layer; the
    Playground opened it at its own middle block (another picture: feature error 0.082
    against the cell's 0.171)."""
    from dashboard.settings.playground import config_to_settings
    from viz_core.config import RunConfig

    cfg = RunConfig(model="fmnist_resnet_robust", task="inversion", layer=None,
                    image="fmnist/0_ankle_boot.png")
    s, _ = config_to_settings(cfg)
    assert s["layer"] == "layer4"  # the engine's default for this model
