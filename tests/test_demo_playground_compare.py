"""The Playground and Compare schemes as a demo person meets them (QA): the Playground names
its target where the picture is, Compare ends its grid with one line on what the
independent judge recognises (chance beside it) and which picture is best (an inversion's
feature error beside a flat image's), the grid says its columns once with short captions,
a run that a settings change ended says so and names the class, and the downloads are
named after the run, with an enlarged PNG for slides that restores the run too."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest

from dashboard import run_panel
from dashboard.file_names import file_stem
from dashboard.navigation import page_path
from dashboard.results import Verdict, grid_summary, stale_note
from dashboard.runs import RunRecord, run_json_from_png
from viz_core.config import RunConfig

PG, CMP = page_path("playground"), page_path("compare")


def _captions(at) -> list[str]:
    return [c for i in at.main.image for c in i.captions]


def _markdown(dash, at) -> list[str]:
    return [dash.shown(m.value) for m in at.markdown]


# ----------------------------------------------------------------------------- 1: target

def test_the_playground_names_its_class_in_the_header_and_under_the_picture(dash):
    at = dash.open(PG, steps=4, every=2)  # the default: Trouser, class 1
    head = next(m for m in _markdown(dash, at) if "Kf=" in m)
    assert head.startswith("#### Trouser (class 1)"), head
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    (caption,) = _captions(at)
    assert caption == "Trouser (class 1) · pre-image · step 4 / 4", caption


def test_a_result_keeps_the_name_of_the_class_it_was_made_for(dash):
    at = dash.open(PG, steps=2, every=1, target=7)
    at.button(key="pg_run").click().run()
    at.selectbox(key="pg_target").set_value(9).run()
    dash.no_exception(at)
    head = next(m for m in _markdown(dash, at) if "Kf=" in m)
    assert head.startswith("#### Ankle boot (class 9)")  # what Run computes now
    assert _captions(at)[0].startswith("Sneaker (class 7) · pre-image")  # what is shown
    notes = [dash.shown(i.value) for i in at.info]
    assert any("from previous settings: class 7 (Sneaker)" in n for n in notes), notes


# ----------------------------------------------------------------------------- 4: stopped

def test_a_run_ended_by_a_change_says_which_setting_ended_it(dash):
    at = dash.open(PG, target=9)
    settings = {**at.session_state["pg_records"][0].settings} if at.session_state.get(
        "pg_records") else None
    assert settings is None
    rec = RunRecord(["plain"], ['{"model": "fmnist_resnet_robust", "target": 7}'],
                    "fmnist_resnet_robust", 100, settings={"target": 7, "steps": 100})
    at.session_state["pg_records"] = [rec]  # a run that the change to class 9 ended
    at.run()
    dash.no_exception(at)
    assert rec.status == "stopped"
    warnings = [dash.shown(w.value) for w in at.warning]
    assert any("stopped at step 0 of 100" in w and "by the change of class" in w
               for w in warnings), warnings
    notes = [dash.shown(i.value) for i in at.info]
    assert any("class 7 (Sneaker)" in n for n in notes), notes


def test_a_stop_click_is_not_called_a_change():
    rec = RunRecord(["plain"], ["{}"], "m", 10, settings={"target": 7})
    rec.mark_interrupted("")
    assert rec.status == "stopped" and "by the change" not in rec.message
    rec = RunRecord(["plain"], ["{}"], "m", 10, settings={"target": 7})
    rec.mark_interrupted("tau")
    assert "by the change of tau" in rec.message


def test_the_stale_note_names_a_class_by_the_models_names():
    classes = ["T-shirt/top", "Trouser"]
    assert stale_note({"target": 1}, {"target": 0}, classes=classes) == \
        "from previous settings: class 1 (Trouser)"
    assert stale_note({"target": 5}, {"target": 0}, classes=classes) == \
        "from previous settings: class 5"  # no name: the index alone


# ----------------------------------------------------------------------------- 2: summary

def _record(task: str, judge_probs: list[float], tops: list[str], act: list[float]):
    cfg = RunConfig(task=task, image="fmnist/0_ankle_boot.png" if task == "inversion"
                    else None, target=9 if task == "am" else None)
    rec = RunRecord(["Sobolev fluid", "TV"], [cfg.to_json()] * 2, "m", 4)
    rec.activation = [np.asarray(act)]
    base = {"target": "Ankle boot", "chance": 0.1}
    if task == "inversion":
        base.update(original=["Ankle boot", 0.9], target_from="label")
    rec.verdicts = [[Verdict("net", [(t, 0.7)], 0.5, {**base, "role": "model"}),
                     Verdict("lenet", [(t, p)], p if t == "Ankle boot" else 0.1,
                             {**base, "role": "judge"})]
                    for t, p in zip(tops, judge_probs)]
    return rec


def test_the_grid_summary_of_a_class_says_recognised_chance_and_the_best():
    line = grid_summary(_record("am", [0.6, 0.8], ["Bag", "Ankle boot"], [3.0, 2.0]))
    assert line.startswith("Ankle boot: 1 of 2 recognised by the independent judge")
    assert "chance: 1 of 10" in line
    assert "Most surely recognised: TV (judge: Ankle boot 80%)" in line


def test_the_grid_summary_of_an_inversion_puts_the_flat_image_beside_the_best():
    rec = _record("inversion", [0.9, 0.2], ["Ankle boot", "Sneaker"], [0.3, 0.2])
    rec.floors["feature_error"] = 0.93
    line = grid_summary(rec)
    assert "1 of 2 recognised by the independent judge" in line and "chance" in line
    assert "Best relative feature error: TV 0.2 (a flat image: 0.93)" in line


def test_compare_says_under_the_grid_what_the_judge_recognises_and_the_floor(dash):
    at = dash.open(CMP, steps=4, every=2, cells="sobolev-fluid-elastic,tv")
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    rec = at.session_state["cmp_records"][0]
    from dashboard.resources import get_model
    from viz_core.evaluation.floors import flat_feature_error

    model = get_model("fmnist_resnet_robust")
    floor = flat_feature_error(RunConfig.from_json(rec.configs[0]), model, rec.reference)
    assert rec.floors["feature_error"] == pytest.approx(floor) and 0 < floor < 2
    line = next(m for m in _markdown(dash, at) if "recognised by" in m)
    assert "of 2 recognised by the independent judge (fmnist_lenet_judge; chance: 1 of 10)" \
        in line
    assert "Best relative feature error: " in line and f"(a flat image: {floor:.3g})" in line
    table = at.dataframe[0].value
    flat = table[table["scheme"] == "a flat image (floor)"]
    assert len(flat) == 1 and flat["relative feature error"].iloc[0] == pytest.approx(floor)
    assert {"model sees", "judge sees"} <= set(table.columns)


def test_compare_on_a_class_names_the_best_picture_by_the_judge(dash):
    at = dash.open(CMP, task="am", layer="logits", target=9, steps=3, every=3,
                   cells="tv,plain")
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    line = next(m for m in _markdown(dash, at) if "recognised by" in m)
    assert line.startswith("Ankle boot: ") and "chance: 1 of 10" in line
    assert "Most surely recognised: TV (judge: Ankle boot" in line or \
        "Most surely recognised: no regularization (judge: Ankle boot" in line, line


# ----------------------------------------------------------------------------- 3: grid

def test_the_grid_names_its_columns_once_and_keeps_captions_short(dash):
    at = dash.open(CMP, steps=2, every=2)  # the eight cells of Fig. 1
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    md = [m.value for m in at.main.markdown]
    for column in ("fluid", "elastic", "fluid-elastic"):
        assert md.count(f"**{column}**") == 1, (column, md)
    captions = _captions(at)
    assert captions[0] == "reference image" and len(captions) == 9
    cells = captions[1:]
    assert all(len(c) <= 70 for c in cells), cells  # two or three lines at 1280 px
    assert all(re.search(r"(^| · )error \d", c) and "judge: " in c for c in cells), cells
    demons, baselines = cells[:6], cells[6:]
    assert not [c for c in demons if "fluid" in c or "elastic" in c or "Sobolev" in c]
    assert baselines[0].startswith("TV · ") and baselines[1].startswith("no regularization")


# ----------------------------------------------------------------------------- 5: files

def test_downloads_are_named_after_the_run(dash, monkeypatch):
    stems = []
    real = run_panel.downloads
    monkeypatch.setattr(run_panel, "downloads",
                        lambda rec, i, key, stem: stems.append(stem) or real(rec, i, key, stem))
    at = dash.open(PG, steps=2, every=1)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    assert stems[-1] == "fmnist_resnet_robust_trouser_fluid-elastic-sobolev"
    at = dash.open(CMP, steps=2, every=2, cells="sobolev-fluid,tv")
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    assert stems[-1] == "fmnist_resnet_robust_inv-0_ankle_boot-layer2_fluid-sobolev"


def test_file_names_are_ascii_and_short():
    stem = file_stem(["réseau été", "T-shirt/top", "x" * 80])
    assert stem.isascii() and stem.startswith("reseau-ete_t-shirt-top_") and len(stem) < 100


def test_the_slides_png_is_enlarged_crisp_and_restores_the_run(dash):
    from PIL import Image

    at = dash.open(PG, steps=3, every=1, scheme="elastic", e_kind="gaussian", seed=4)
    at.button(key="pg_run").click().run()
    rec = at.session_state["pg_records"][0]
    big = rec.png_large()
    img = Image.open(io.BytesIO(big))
    assert img.size == (512, 512) and "64x64" in img.text["native size"]
    small = np.asarray(Image.open(io.BytesIO(rec.png())))
    assert np.array_equal(np.asarray(img)[::8, ::8], small)  # nearest neighbour x8
    assert json.loads(run_json_from_png(big))["seed"] == 4
    fresh = dash.open(PG)
    fresh.file_uploader(key="pg_json_file").upload("slide.png", big, "image/png").run()
    dash.no_exception(fresh)
    assert fresh.radio(key="pg_scheme").value == "elastic"
    assert fresh.number_input(key="pg_seed").value == 4
