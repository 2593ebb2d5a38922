"""The Sweeps page: its settings module without Streamlit, and the page under AppTest (a
2 x 2 sweep, the sanity check's random-weights labels and verdict, opening a cell in the
Playground)."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import sweeps_view as sv
from dashboard.settings.playground import (
    PLAYGROUND_CHOICES,
    playground_defaults,
    settings_to_config,
)
from dashboard.sweep_heatmap import heatmap_figure
from dashboard.urlstate import decode
from viz_core import models
from viz_core.config import RunConfig

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGE = "pages/6_Sweeps.py"


# ----------------------------------------------------------------------------- settings

def test_default_settings_make_a_grid_sweep():
    sweep = sv.sweep_of(sv.sweep_defaults())
    assert [a.name for a in sweep.axes] == ["gamma", "step_size"]
    assert len(sweep) == 9
    assert {c.config.elastic.param for c in sweep.cells()} == {0.05, 0.2, 0.8}


@pytest.mark.parametrize("key,axes,task", [
    ("regularization_path", ["gamma", "step_size"], "am"),
    ("inversion_depth", ["layer", "scheme"], "inversion"),
    ("sanity_check", ["weights", "scheme"], "am"),
    ("seed_variance", ["seed"], "am"),
])
def test_ready_made_sweeps(key, axes, task):
    s = sv.ready_settings(key, sv.sweep_defaults())
    sweep = sv.sweep_of(s)
    assert [a.name for a in sweep.axes] == axes and s["task"] == task
    if key == "inversion_depth":  # every layer of the catalogue
        layers = models.load_model(s["model"]).layers  # the default model's catalogue
        assert sweep.axes[0].values == tuple(layers) and "logits" in sweep.axes[0].values
        assert all(c.config.image and Path(c.config.image).is_file() for c in sweep.cells())
        # "where does inversion stop being recognisable?": the judge's probability of the
        # original's class (Table 1's test), SSIM for a model without a judge here
        assert s["metric"] == "judge_target_prob"
        s = sv.ready_settings(key, {**sv.sweep_defaults(), "model": "resnet50"})
        assert s["metric"] == "ssim"
    if key == "seed_variance":
        assert sweep.axes[0].values == tuple(range(8))
    if key == "sanity_check":
        assert sum(c.random_weights for c in sweep.cells()) == len(sweep) // 2


def test_bad_values_name_the_control():
    with pytest.raises(sv.VizError) as err:
        sv.sweep_of({**sv.sweep_defaults(), "values2": "2,fast"})
    assert err.value.field == "values2"


def test_playground_setting_becomes_the_base():
    pg = {**playground_defaults(), "target": 4, "steps": 33, "seed": 5,
          "scheme": "elastic", "e_kind": "gaussian", "e_size": 7, "octaves_on": False}
    s = sv.from_playground(pg, sv.sweep_defaults())
    assert (s["target"], s["steps"], s["seed"], s["scheme"], s["size"]) == \
        (4, 33, 5, "elastic_gaussian", 7)


def test_cell_link_carries_its_settings():
    cell = sv.sweep_of({**sv.sweep_defaults(), "steps": 17}).cells()[4]
    params = sv.playground_params({"config": cell.config.to_json()})
    s, _ = decode(params, playground_defaults(), PLAYGROUND_CHOICES)
    back = settings_to_config(s)
    assert back.elastic.param == cell.config.elastic.param == 0.2
    assert back.step_size == cell.config.step_size == 5.0
    assert back.steps == 17 and back.target == 7


def test_heatmap_keeps_the_grid_while_streaming():
    rows = [{"gamma": 0.1, "step_size": 2.0, "activation": 3.0},
            {"gamma": 0.4, "step_size": 5.0, "activation": 1.0, "random_weights": True}]
    fig = heatmap_figure(rows, ["gamma", "step_size"], "activation",
                            ([0.1, 0.4], [2.0, 5.0]))
    z = fig.data[0].z
    assert z[0][0] == 3.0 and z[1][1] == 1.0 and math.isnan(z[0][1])
    assert fig.data[0].text[1][1].endswith("R")


# ----------------------------------------------------------------------------- AppTest

def _in_order(block) -> list:
    """The elements of an AppTest block, depth first, in page order."""
    out = []
    for child in getattr(block, "children", {}).values():
        out += [child] if not hasattr(child, "children") else _in_order(child)
    return out


def _page(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params.update({k: str(v) for k, v in params.items()})
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at: AppTest) -> list[str]:
    return [c for img in at.image for c in img.captions]


def test_page_runs_a_2x2_sweep():
    at = _page(steps=3, values1="0.1,0.4", values2="2,5")
    at.button(key="sw_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    res = at.session_state["sw_result"]
    assert [r["cell_id"] for r in res["rows"]] == [
        "gamma=0.1,step_size=2", "gamma=0.1,step_size=5", "gamma=0.4,step_size=2",
        "gamma=0.4,step_size=5"]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    z = spec["data"][0]["z"]  # a nested list, or plotly's binary encoding of an array
    z = (np.array(z, dtype=float) if isinstance(z, list) else
         np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(2, 2))
    assert np.isfinite(z).all()
    assert z[1, 1] == pytest.approx(res["rows"][3]["activation"])
    opens = [b.key for b in at.button if b.key and b.key.startswith("sw_open_")]
    assert len(opens) == 4
    assert len(_captions(at)) == 4
    # settings in the URL
    assert at.query_params.get("values1") in ("0.1,0.4", ["0.1,0.4"])


def test_page_labels_random_weights_and_gives_the_verdict():
    at = _page(steps=3, axis1="weights", values1="trained,random", axis2="scheme",
               values2="tv,fluid_sobolev")
    at.button(key="sw_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    captions = _captions(at)
    assert len(captions) == 4
    assert sum("RANDOM weights" in c for c in captions) == 2
    assert all(("RANDOM" in c) == ("weights=random" in c) for c in captions)
    verdict = [m.value for m in list(at.warning) + list(at.success)]
    assert any("trained vs random" in v and "coarse fraction" in v for v in verdict)
    cell = at.session_state["sw_result"]["rows"][2]
    assert cell["random_weights"] and "RANDOM" in cell["model_label"]


def test_open_in_playground_switches_with_the_cell_settings():
    at = _page(steps=3, values1="0.4", axis2="none")
    at.button(key="sw_run").click().run()
    at.button(key="sw_open_gamma=0.4").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["pg_e_gamma"] == 0.4 and at.session_state["pg_steps"] == 3
    assert at.session_state["pg_scheme"] == "elastic"
    cfg = RunConfig.from_json(at.session_state["sw_result"]["rows"][0]["config"])
    assert cfg.elastic.param == 0.4


def test_sanity_check_shows_the_committed_cascade():
    at = _page(ready="sanity_check", model="fmnist_vgg_robust")
    assert any("Model-randomisation test" in h.value for h in at.subheader)
    data, rows = sv.committed_sanity("fmnist_vgg_robust")
    assert [s for s, _ in rows] == data["schemes"]
    assert len(at.image) >= len(data["schemes"])        # one row of pictures per scheme
    text = " ".join(m.value for m in at.markdown)
    assert "5 of 5 schemes depend on the learned weights" in text
    assert any("all random, BN reset" in c.value for c in at.caption)
    at = _page(ready="sanity_check", model="fmnist_resnet")
    assert any("No committed test for fmnist_resnet" in m.value for m in at.info)


def test_a_sweep_ended_midway_keeps_its_cells_and_says_so(monkeypatch, tmp_path):
    """Stop (or a changed setting) ends the script at its next Streamlit call: here after
    the first of two batches. The finished batch is shown and stored whole, and the page
    says the sweep stopped after 1 of 2 cells rather than going blank."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    import viz_core.sweeps as sweeps
    from viz_core.store import RunStore

    monkeypatch.setenv("DEMONS_VIZ_STORE", str(tmp_path / "runs.sqlite"))
    real = sweeps.run_sweep

    def interrupted(sweep, out, executor, *, progress, **kw):
        def first_only(p):
            progress(p)
            if p.result is not None:
                raise StopException()  # what Streamlit raises at the next st call

        return real(sweep, out, executor, progress=first_only, **kw)

    monkeypatch.setattr(sweeps, "run_sweep", interrupted)
    at = _page(steps=3, axis1="weights", values1="trained,random", axis2="none")
    at.button(key="sw_run").click().run()
    at.run()  # the next script run, after the interruption
    assert not at.exception, [e.value for e in at.exception]
    res = at.session_state["sw_result"]
    assert res["status"] == "stopped" and len(res["rows"]) == 1 and res["total"] == 2
    assert any("stopped after 1 of 2 cells" in w.value for w in at.warning)
    assert len(_captions(at)) == 1
    # the message stands above the cells it speaks of (it came after the montage)
    order = [type(e).__name__ for e in _in_order(at.main)]
    assert order.index("Warning") < order.index("Image"), order
    stored = RunStore(tmp_path / "runs.sqlite").list()
    assert len(stored) == 1  # the finished batch, whole
    # the judge's target probability is stored with its floor, chance (10 classes)
    assert stored[0].floors == {"judge_target_prob": pytest.approx(0.1),
                                "model_target_prob": pytest.approx(0.1)}


def test_a_rerun_waits_for_the_stopped_sweep_of_the_previous_run():
    """Stop starts a new script run while the previous one still computes its batch (it
    ends at its next Streamlit call): the new run waits for it and then shows the final
    state ("stopped after k of n cells"), not a sweep that looks as if it still ran."""
    import threading

    at = _page(steps=3)
    res = {"rows": [], "axes": ["gamma", "step_size"], "total": 4, "status": "running",
           "grid": ([0.1, 0.4], [2, 5]), "dir": "/nonexistent"}
    at.session_state["sw_result"] = res
    timer = threading.Timer(0.5, lambda: res.update(status="stopped"))
    timer.start()
    at.run()
    timer.join()
    assert not at.exception, [e.value for e in at.exception]
    said = [w.value for w in at.warning if "stopped after 0 of 4 cells" in w.value]
    assert said, [w.value for w in at.warning]
    assert "kept in the History" not in said[0]  # none were done: nothing kept (QA pass)


@pytest.mark.parametrize("scheme", ["fluid_elastic_sobolev", "tv", "plain", "fluid_gaussian"])
def test_a_link_keeps_the_sweeps_scheme(scheme):
    """The Sweeps page's schemes are registry keys: a link (its own URL) that names one
    keeps it; before, every value went through the Playground's structure names and fell
    back to the default with a notice that listed the value it refused."""
    s, notices = decode({"scheme": scheme}, sv.sweep_defaults(), sv.SWEEP_CHOICES)
    assert s["scheme"] == scheme and notices == []


def test_a_link_with_an_unknown_sweeps_scheme_says_so():
    s, notices = decode({"scheme": "zzz"}, sv.sweep_defaults(), sv.SWEEP_CHOICES)
    assert s["scheme"] == sv.sweep_defaults()["scheme"] and len(notices) == 1


def test_a_ready_made_depth_sweep_follows_a_new_model():
    """Inversion across depth lists the model's blocks; choosing another model lists its
    blocks (before, the ResNet's layers stayed and the run failed on the VGG)."""
    at = _page(ready="inversion_depth", model="fmnist_resnet_robust")
    resnet_layers = at.session_state["sw_values1"]
    at.selectbox(key="sw_model").set_value("fmnist_vgg").run()
    assert not at.exception, [e.value for e in at.exception]
    expected = sv.ready_settings("inversion_depth", {**sv.sweep_defaults(),
                                                     "model": "fmnist_vgg"})["values1"]
    assert at.session_state["sw_values1"] == expected != resnet_layers
    assert "stem" not in expected.split(",")


def test_a_failed_sweep_says_it_failed_not_that_it_stopped(monkeypatch):
    import viz_core.sweeps as sweeps

    def failing(sweep, out, executor, *, progress, **kw):
        raise sv.VizError("unknown layer 'stem' for fmnist_vgg", field="layer")

    monkeypatch.setattr(sweeps, "run_sweep", failing)
    at = _page(steps=3)
    at.button(key="sw_run").click().run()
    at.run()  # a later rerun (another heatmap metric, say) still says why
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["sw_result"]["status"] == "error"
    said = [e.value.replace("\\", "") for e in at.error]  # plain(): markdown escaped
    assert any("failed after 0 of 9 cells: unknown layer 'stem'" in e for e in said), said
    assert not any("stopped" in w.value for w in at.warning)


def test_a_cell_opens_in_the_playground_with_its_own_cadence_of_frames():
    """A sweep cell keeps one frame (every = steps); the Playground run it opens streams
    and draws curves at the Playground's cadence (before: one point, 39-41 on the axis)."""
    cell = sv.base_config({**sv.sweep_defaults(), "steps": 40})
    assert cell.every == cell.total_steps == 40
    params = sv.playground_params({"config": cell.to_json()})
    s, _ = decode(params, playground_defaults(), PLAYGROUND_CHOICES)
    assert s["every"] == playground_defaults()["every"] and s["steps"] == 40


def test_the_heatmap_says_when_its_metric_has_no_value_and_labels_one_axis():
    rows = [{"layer": "block1", "ssim": 0.4}, {"layer": "block2", "ssim": 0.3}]
    fig = heatmap_figure(rows, ["layer"], "judge_target_prob")
    notes = [a.text for a in fig.layout.annotations]
    assert len(notes) == 1 and "no value in these cells" in notes[0]
    assert list(fig.data[0].x) == [""]  # one column, not "None"
    fig = heatmap_figure(rows, ["layer"], "ssim")
    assert not fig.layout.annotations


def test_a_sweep_from_earlier_settings_says_so(monkeypatch):
    """The page showed the last sweep beside changed settings (steps, class) without a
    word, also after Back / Forward; now a note says which settings it was run with. The
    heatmap metric is a view of the same cells: changing it marks nothing."""
    at = _page(steps=3, values1="0.1", values2="2")
    at.button(key="sw_run").click().run()
    assert not at.exception and at.session_state["sw_result"]["status"] == "done"
    assert not any("previous settings" in i.value for i in at.info)
    at.selectbox(key="sw_metric").set_value("total_variation").run()
    assert not any("previous settings" in i.value for i in at.info)
    at.number_input(key="sw_steps").set_value(5).run()
    notes = [i.value for i in at.info if "previous settings" in i.value]
    assert len(notes) == 1 and "steps 3" in notes[0], notes


def test_a_stale_note_shows_a_typed_value_as_text():
    """A setting the user typed (the Sweeps layer box, a file name) is shown as text in
    the 'from previous settings' note, never as markdown or a link."""
    from dashboard.results import stale_note

    note = stale_note({"layer": "[x](http://e.com) **b**"}, {"layer": "block2"})
    assert "[x](http://e.com)" not in note and "**b**" not in note
    assert "\\*\\*b\\*\\*" in note


def test_the_metric_box_offers_what_the_task_measures():
    """An inversion's target activation is its relative feature error: the box offered the
    same number twice. An AM sweep has no original, so PSNR, SSIM and the feature error
    said nothing there. Switching the task moves a choice that no longer applies to the
    task's own measure of its target, and keeps any other."""
    at = _page()
    box = at.selectbox(key="sw_metric")
    assert box.value == "activation"
    assert "PSNR (dB)" not in box.options and "rel. feature error" not in box.options
    assert "target activation" in box.options  # options: labels
    at.radio(key="sw_task").set_value("inversion").run()
    box = at.selectbox(key="sw_metric")
    assert box.value == "feature_error", box.value
    labels = list(box.options)
    # PSNR with its unit as the page's best line and heatmap name it (was "PSNR dB")
    assert "rel. feature error" in labels and "PSNR (dB)" in labels, labels
    assert "target activation / rel. feature error" not in labels, labels
    box.set_value("ssim").run()
    at.radio(key="sw_task").set_value("am").run()
    assert at.selectbox(key="sw_metric").value == "activation"
    at.selectbox(key="sw_metric").set_value("total_variation").run()
    at.radio(key="sw_task").set_value("inversion").run()
    assert at.selectbox(key="sw_metric").value == "total_variation"
    assert not at.exception
