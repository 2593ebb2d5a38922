"""The Sweeps page names a metric one way everywhere, and marks the cells a Stop ended on
its heatmap (QA pass 6).

1. The best line said "judge 24%", the picture captions "judge: target probability 24%",
   the heatmap's cells and colour bar 0.24; "PSNR dB 21.13" had no unit in parentheses.
   Now one place (dashboard.sweep_labels: metric_name, format_value) gives the name with
   unit and the value format for the best line, the captions and the heatmap's colour bar,
   cells and hover.
2. After Stop mid-sweep, the pictures said "stopped at step k / n" but the heatmap showed
   the stopped cells' values like any other. Now the heatmap marks them (the word under
   the value, a dashed frame, the step in the hover) and a line under it names them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from dashboard import sweep_labels as sl
from dashboard import sweep_summary as sm
from dashboard.sweep_heatmap import heatmap_figure
from viz_core.config import RunConfig

PAGE = "pages/6_Sweeps.py"


def _spec(at) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def _cells(values) -> list[str]:
    return [str(v) for row in values for v in row]


# ---------------------------------------------------------------- 1. one label per metric

def test_one_name_with_unit_and_one_value_format_per_metric():
    inv = [{"task": "inversion"}]
    assert sl.metric_name("psnr", inv) == "PSNR (dB)" == sl.metric_title("psnr", inv)
    assert sl.metric_name("judge_target_prob", inv) == "judge"
    assert sl.metric_name("judge_hit", []) == "judge"
    assert sl.metric_name("activation", inv) == "rel. feature error"
    assert sl.format_value("judge_target_prob", 0.2412) == "24%"
    assert sl.format_value("judge_hit", 0.0) == "miss"
    assert sl.format_value("psnr", 21.1312) == "21.13"
    assert sl.format_value("ssim", float("nan")) == ""


def test_best_line_captions_and_heatmap_say_a_value_the_same_way():
    rows = [{"task": "am", "gamma": g, "judge_target_prob": p, "judge_chance": 0.1,
             "cell_id": f"gamma={g}", "index": i}
            for i, (g, p) in enumerate(((0.1, 0.2412), (0.4, 0.9071)))]
    best = sm.best_cell(rows, "judge_target_prob")
    assert sm.best_line("judge_target_prob", rows, ["gamma"]) == \
        "Best: gamma=0.4 - judge 91% (chance 10%)"
    # was "judge: target probability 24%"
    assert sm.value_caption(rows[0], "judge_target_prob", rows) == "judge 24%"
    assert sm.value_caption(best, "judge_target_prob", rows, True) == "judge 91% · best"
    trace = heatmap_figure(rows, ["gamma"], "judge_target_prob", best=best).data[0]
    assert _cells(trace.text) == ["24%", "91%"]  # was 0.241, 0.907
    assert trace.colorbar.title.text == "judge"
    assert list(trace.colorbar.ticktext) == ["0%", "chance 10%", "50%", "100%"]
    assert "<br>judge %{customdata}" in trace.hovertemplate
    assert _cells(trace.customdata)[0].startswith("24% (chance 10%)")
    inv = [{"task": "inversion", "layer": "block1", "psnr": 21.1312, "psnr_floor": 11.5,
            "cell_id": "block1"}]
    assert sm.best_line("psnr", inv, ["layer"]).startswith(
        "Best: layer=block1 - PSNR (dB) 21.13 (flat image: 11.5)")  # was "PSNR dB 21.13"
    assert sm.value_caption(inv[0], "psnr", inv) == "PSNR (dB) 21.13"
    trace = heatmap_figure(inv, ["layer"], "psnr").data[0]
    assert trace.colorbar.title.text == "PSNR (dB)" and _cells(trace.text) == ["21.13"]
    assert "PSNR (dB) %{customdata}" in trace.hovertemplate


def test_the_page_writes_the_judges_probability_one_way(dash):
    at = dash.open(PAGE, steps=2, values1="0.1,0.4", axis2="none",
                   metric="judge_target_prob")
    at.button(key="sw_run").click().run()
    dash.no_exception(at)
    rows = at.session_state["sw_result"]["rows"]
    shown = [f"{p:.0%}" for p in (r["judge_target_prob"] for r in rows)]
    trace = _spec(at)["data"][0]
    assert _cells(trace["text"]) == shown, (trace["text"], shown)
    assert trace["colorbar"]["title"]["text"] == "judge"
    assert all(t.endswith("%") for t in trace["colorbar"]["ticktext"])
    caps = [c.value for c in at.caption]
    for value in shown:  # under each picture, as on the heatmap
        assert any(re.fullmatch(f"judge {value}( · best)?", c) for c in caps), caps
    best = [c for c in caps if c.startswith("Best: ")]
    assert len(best) == 1 and re.search(r" - judge \d+% \(chance 10%\)$", best[0]), best
    assert not any("target probability" in c for c in caps), caps


# ------------------------------------------------------- 2. stopped cells on the heatmap

def _stopped_result(tmp_path: Path) -> dict:
    """A 2 x 2 sweep that a Stop ended: the first batch (gamma=0.1) done, the second
    (gamma=0.4) at step 7 of 40, as :func:`dashboard.sweep_stream.keep_stopped` keeps it."""
    cfg = RunConfig(model="fmnist_resnet_robust", task="am", target=7, steps=40).to_json()
    rows = []
    for i, (g, s) in enumerate(((0.1, 2), (0.1, 5), (0.4, 2), (0.4, 5))):
        stopped = g == 0.4
        png = f"{'stopped/' if stopped else ''}c{i}.png"
        (tmp_path / png).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((28, 28), 40 * i, np.uint8)).save(tmp_path / png)
        rows.append({"index": i, "cell_id": f"gamma={g},step_size={s}", "gamma": g,
                     "step_size": s, "task": "am", "model": "fmnist_resnet_robust",
                     "target": 7, "config": cfg, "png": png, "activation": 1.0 + i,
                     "judge_target_prob": 0.2 + 0.2 * i, "judge_chance": 0.1, "steps": 40,
                     "batch_id": f"b{int(stopped)}",
                     **({"stopped": True, "steps_done": 7} if stopped else {})})
    return {"rows": rows, "axes": ["gamma", "step_size"], "total": 4,
            "grid": ([0.1, 0.4], [2, 5]), "keys": [[0.1, 2], [0.1, 5], [0.4, 2], [0.4, 5]],
            "start": {}, "dir": str(tmp_path), "status": "stopped"}


def test_the_heatmap_marks_the_cells_a_stop_ended(tmp_path):
    res = _stopped_result(tmp_path)
    trace = heatmap_figure(res["rows"], res["axes"], "activation", res["grid"]).data[0]
    text = [list(r) for r in trace.text]
    assert text[0] == ["1", "2"] and all("stopped" in t for t in text[1]), text
    hover = [list(r) for r in trace.customdata]
    assert all("stopped at step 7 / 40" in h for h in hover[1])
    assert not any("stopped" in h for h in hover[0])
    fig = heatmap_figure(res["rows"], res["axes"], "activation", res["grid"])
    dashed = [(s.x0, s.y0) for s in fig.layout.shapes if s.line.dash == "dash"]
    assert dashed == [(-0.45, 0.55), (0.55, 0.55)]  # row gamma=0.4, both columns
    assert sm.stopped_line(res["rows"], res["axes"]) == (
        "Stopped early (values of unfinished runs): gamma=0.4, step_size=2 | "
        "gamma=0.4, step_size=5 at step 7 / 40")
    assert sm.stopped_line(res["rows"][:2], res["axes"]) == ""


def test_the_page_marks_stopped_cells_on_its_heatmap_and_under_it(dash, tmp_path):
    at = dash.open(PAGE)
    dash.no_exception(at)
    at.session_state["sw_result"] = _stopped_result(tmp_path)
    at.run()
    dash.no_exception(at)
    assert any("stopped after 2 of 4 cells" in w.value for w in at.warning)
    trace = _spec(at)["data"][0]
    marked = ["stopped" in t for t in _cells(trace["text"])]
    assert marked == [False, False, True, True], trace["text"]
    assert sum("stopped at step 7 / 40" in h for h in _cells(trace["customdata"])) == 2
    shapes = _spec(at)["layout"].get("shapes", [])
    assert sum(s.get("line", {}).get("dash") == "dash" for s in shapes) == 2, shapes
    caps = [dash.shown(c.value) for c in at.caption]
    line = [c for c in caps if c.startswith("Stopped early")]
    assert line == ["Stopped early (values of unfinished runs): gamma=0.4, step_size=2 | "
                    "gamma=0.4, step_size=5 at step 7 / 40"], caps
