"""The Sweeps page's labels, heatmap hover and montage download (QA pass 7, s7-sweeps).

1. The heatmap-metric box said "PSNR dB" (the registry's label) where the best line, the
   captions and the heatmap say "PSNR (dB)": the box now names each metric as the rest of
   the page does (dashboard.sweep_labels.option_name); the registry's label is unchanged
   (result files and claims use it).
2. A judge sweep's hover said chance twice: "24% (chance 10%)" after the value and
   "(chance 10%: a guess among the judge's classes)" in the title line. It says it once,
   beside the value (as the best line does); the colour bar keeps its chance tick.
3. The montage PNG download did not mark the cells a Stop ended, which the heatmap does:
   it now frames them dashed and writes "stopped at step k / n" under the picture."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from dashboard import sweep_export as sx
from dashboard import sweep_labels as sl
from dashboard import sweeps_view as sv
from dashboard.sweep_heatmap import heatmap_figure
from viz_core.metrics import metric_label
from viz_core.sweeps.report import montage

PAGE = "pages/6_Sweeps.py"


# ------------------------------------------------------------ 1. the metric box's names

def test_the_metric_box_names_psnr_as_the_rest_of_the_page():
    assert sv.metric_option_label("psnr", "inversion") == "PSNR (dB)"  # was "PSNR dB"
    assert metric_label("psnr") == "PSNR dB"  # the registry's label stays (result files)
    inv = [{"task": "inversion"}]
    for key in sv.metric_choices("inversion"):
        option = sv.metric_option_label(key, "inversion")
        if not key.startswith("judge"):  # the judge's two metrics share "judge" there
            assert option == sl.metric_name(key, inv), key
    for task in ("am", "inversion"):  # one option per metric
        options = [sv.metric_option_label(k, task) for k in sv.metric_choices(task)]
        assert len(set(options)) == len(options), options


def test_the_judges_words_in_the_box_follow_the_task():
    """As the chart's title does: an inversion's judge tests the original's class."""
    both = set(sv.metric_choices("am")) & set(sv.metric_choices("inversion"))
    assert {"judge_hit", "judge_target_prob", "total_variation"} <= both
    for key in both:
        am, inv = sv.metric_option_label(key, "am"), sv.metric_option_label(key, "inversion")
        if key.startswith("judge"):
            assert inv == sl.metric_title(key, [{"task": "inversion"}]) != am
            assert "the original's class" in inv
        else:
            assert am == inv, key


def test_the_page_box_says_psnr_with_its_unit_and_keeps_a_judge_choice(dash):
    at = dash.open(PAGE, task="inversion")
    dash.no_exception(at)
    box = at.selectbox(key="sw_metric")
    assert "PSNR (dB)" in box.options and "PSNR dB" not in box.options, box.options
    box.set_value("psnr").run()
    dash.no_exception(at)
    assert at.selectbox(key="sw_metric").value == "psnr"
    at.selectbox(key="sw_metric").set_value("judge_hit").run()
    at.radio(key="sw_task").set_value("am").run()
    dash.no_exception(at)
    assert at.selectbox(key="sw_metric").value == "judge_hit"


# ------------------------------------------------------ 2. chance once in the hover

def _judge_rows() -> list[dict]:
    return [{"task": "am", "gamma": g, "judge_target_prob": p, "judge_chance": 0.1,
             "cell_id": f"gamma={g}", "index": i}
            for i, (g, p) in enumerate(((0.1, 0.2412), (0.4, 0.9071)))]


@pytest.mark.parametrize("task", ["am", "inversion"])
def test_a_judge_hover_says_chance_once_beside_the_value(task):
    rows = [{**r, "task": task} for r in _judge_rows()]
    trace = heatmap_figure(rows, ["gamma"], "judge_target_prob").data[0]
    for cell in (c for row in trace.customdata for c in row):
        hover = trace.hovertemplate.replace("%{customdata}", cell)
        assert hover.count("chance") == 1, hover  # was 2
        assert "judge 24% (chance 10%)" in hover or "judge 91% (chance 10%)" in hover
    assert "guess" not in trace.hovertemplate
    assert sl.metric_title("judge_target_prob", rows) in trace.hovertemplate  # still named
    assert "chance 10%" in list(trace.colorbar.ticktext)  # the colour bar keeps its tick


# -------------------------------------------------------- 3. stopped cells on the montage

_SIDE, _PAD, _LABEL_H = 56, 4, 14  # 28-pixel pictures at twice their size
_GREY = (136, 136, 136)


def _rows(root: Path, stopped: set[int]) -> list[dict]:
    """A 2 x 2 sweep of flat 28-pixel pictures; the cells ``stopped`` a Stop ended at
    step 7 of 40."""
    rows = []
    for i, (g, s) in enumerate(((0.1, 2), (0.1, 5), (0.4, 2), (0.4, 5))):
        png = f"c{i}.png"
        Image.fromarray(np.full((28, 28), 40 + 40 * i, np.uint8)).save(root / png)
        rows.append({"index": i, "gamma": g, "step_size": s, "png": png, "steps": 40,
                     **({"stopped": True, "steps_done": 7} if i in stopped else {})})
    return rows


def _image(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _picture_top(img: np.ndarray, column: int) -> list[int]:
    """The rows where a picture starts in ``column``'s middle (a run of non-white pixels
    after white or a label)."""
    x = _PAD + column * (_SIDE + _PAD) + _SIDE // 2
    tops, y = [], 0
    while y < img.shape[0]:
        if (img[y: y + _SIDE, x] == img[y, x]).all() and (img[y, x] < 250).all():
            tops.append(y)
            y += _SIDE
        else:
            y += 1
    return tops


def test_the_montage_frames_a_stopped_cell_dashed_and_says_its_step(tmp_path):
    rows = _rows(tmp_path, {1})  # gamma=0.1, step_size=5
    img = _image(sx.montage_png(tmp_path, rows, ["gamma", "step_size"]))
    tops = _picture_top(img, 1)
    assert len(tops) == 2, tops
    top, x = tops[0], _PAD + _SIDE + _PAD  # the stopped picture's corner
    # the picture itself is untouched, the dashed grey frame lies in the gap around it
    assert (img[top: top + _SIDE, x: x + _SIDE] == 80).all()
    left = img[top - 2: top + _SIDE + 2, x - 2]
    grey = (left == _GREY).all(axis=1)
    assert 0.3 < grey.mean() < 0.7, grey.mean()  # dashes and gaps, not a solid line
    assert (img[top + _SIDE + 1, x: x + _SIDE] == _GREY).all(axis=1).any()  # bottom
    # the unfinished cell's note under it: "stopped at" / "step 7 / 40" in the default font
    font = ImageDraw.Draw(Image.new("RGB", (1, 1))).getfont()
    line_h = int(font.getbbox("Stopped 0/9 gy")[3]) + 1
    note = Image.new("RGB", (_SIDE, 2 * line_h), "white")
    for k, line in enumerate(("stopped at", "step 7 / 40")):
        ImageDraw.Draw(note).text((0, k * line_h), line, fill="black", font=font)
    y = top + _SIDE + 3
    shown = img[y: y + 2 * line_h, x: x + _SIDE]
    assert (shown == np.asarray(note)).all()
    # the cell beside it (finished) has no frame and no note
    x0 = _PAD
    assert not (img[top - 2: top + _SIDE + 2, x0 - 2] == _GREY).all(axis=1).any()
    assert (img[y: y + 2 * line_h, x0: x0 + _SIDE] == 255).all()


def test_the_montage_of_a_sweep_without_a_stop_is_the_cores(tmp_path):
    rows = _rows(tmp_path, set())
    png = sx.montage_png(tmp_path, rows, ["gamma", "step_size"])
    core = np.asarray(montage(tmp_path, rows, ["gamma", "step_size"]))
    assert np.array_equal(_image(png), core)
    stopped = _image(sx.montage_png(tmp_path, _rows(tmp_path, {2, 3}), ["gamma",
                                                                        "step_size"]))
    assert stopped.shape[0] > core.shape[0]  # room for the notes under the second row
    assert np.array_equal(stopped[: core.shape[0] // 2], core[: core.shape[0] // 2])
    assert (stopped == _GREY).all(axis=2).sum() > 100


def test_a_one_axis_montage_marks_its_stopped_cell(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "step_size"}
            for r in _rows(tmp_path, {1})[:2]]
    rows[1]["gamma"] = 0.4
    img = _image(sx.montage_png(tmp_path, rows, ["gamma"]))
    assert img.shape[1] == _SIDE + 2 * _PAD
    assert len(_picture_top(img, 0)) == 2
    assert (img == _GREY).all(axis=2).sum() > 100


def test_the_sweeps_sidebar_names_tasks_and_schemes_in_words(dash):
    """As every other page does: "feature inversion", "Sobolev elastic", not the keys."""
    at = dash.open(PAGE, task="inversion", scheme="elastic_sobolev")
    dash.no_exception(at)
    task = at.radio(key="sw_task")
    assert task.value == "inversion"
    assert list(task.options) == ["activation maximization", "feature inversion"]
    scheme = at.selectbox(key="sw_scheme")
    assert scheme.value == "elastic_sobolev" and "Sobolev elastic" in scheme.options
    assert not any("_" in o for o in scheme.options), scheme.options


def test_the_hf_fraction_reads_the_same_on_every_page():
    """Sweeps wrote 0.0008358 where the Playground wrote 0.0% and Compare 0.084%."""
    from dashboard.text import percent_text

    assert sl.format_value("hf_fraction", 0.000836) == percent_text(0.000836) == "0.084%"


def test_the_montage_names_its_axes_above_the_grid(tmp_path):
    """A montage handed to someone else says what its rows and columns are (it captioned
    each picture with bare values: "0.05,2")."""
    rows = _rows(tmp_path, set())
    img = np.asarray(montage(tmp_path, rows, ["gamma", "step_size"]))
    font = ImageDraw.Draw(Image.new("RGB", (1, 1))).getfont()
    line_h = int(font.getbbox("Stopped 0/9 gy")[3]) + 1
    lines = ["rows: gamma; columns:", "step_size"]  # wrapped to the montage's width
    want = Image.new("RGB", (img.shape[1], 2 * line_h), "white")
    for k, line in enumerate(lines):
        ImageDraw.Draw(want).text((_PAD, k * line_h), line, fill="black", font=font)
    assert img.shape[1] < 2 * font.getlength(" ".join(lines))  # a narrow, 2-cell montage
    assert (img[_PAD: _PAD + 2 * line_h] == np.asarray(want)).all()
