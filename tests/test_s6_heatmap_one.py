"""The Sweeps page's heatmap has one builder (QA pass 6 review): dashboard.sweep_heatmap's
heatmap_figure builds the figure in the page's words (sweep_labels.metric_name /
format_value / metric_title, the stopped marks) in one call. Before, it built a figure in
raw numbers (0.241, hover ``%{z:.4g}``, no stopped marks) that
dashboard.sweep_summary.heatmap then patched: two places for one figure."""

from __future__ import annotations

import math
from pathlib import Path

from dashboard import sweep_summary as sm
from dashboard.sweep_heatmap import heatmap_figure

ROOT = Path(__file__).resolve().parents[1]


def _judge_sweep() -> list[dict]:
    """A 2 x 2 judge sweep whose last cell a Stop ended at step 7 of 40."""
    rows = []
    for i, (g, s) in enumerate(((0.1, 2), (0.1, 5), (0.4, 2), (0.4, 5))):
        rows.append({"index": i, "cell_id": f"gamma={g},step_size={s}", "gamma": g,
                     "step_size": s, "task": "am", "activation": 1.0 + i, "steps": 40,
                     "judge_target_prob": (0.2412, 0.5, 0.9071, 0.3)[i],
                     "judge_chance": 0.1, **({"stopped": True, "steps_done": 7}
                                             if i == 3 else {})})
    return rows


def _cells(grid) -> list[str]:
    return [str(v) for row in grid for v in row]


def test_one_call_builds_the_labelled_figure_with_its_stopped_cell():
    rows = _judge_sweep()
    best = sm.best_cell(rows, "judge_target_prob")
    assert best["index"] == 2  # the stopped cell is not ranked
    fig = heatmap_figure(rows, ["gamma", "step_size"], "judge_target_prob",
                         ([0.1, 0.4], [2, 5]), best=best)
    (trace,) = fig.data
    # the cells in the captions' format, the stopped one says so under its number
    assert _cells(trace.text) == ["24%", "50%", "91%", "30%<br>stopped"]
    assert trace.z[1][1] == 0.3 and (trace.zmin, trace.zmax) == (0, 1)
    # the hover: the metric's short name, the value with the chance, the step reached;
    # the title line names the metric without a second copy of the chance (QA pass 7)
    assert trace.hovertemplate == (
        "gamma=%{y}, step_size=%{x}<br>judge %{customdata}<br>"
        "independent judge: target probability<extra></extra>")
    hover = _cells(trace.customdata)
    assert hover[0] == "24% (chance 10%)"
    assert hover[3] == ("30% (chance 10%)<br>stopped at step 7 / 40: the value of an "
                        "unfinished run")
    # the colour bar: the short name, percent ticks with chance marked
    assert trace.colorbar.title.text == "judge"
    assert list(trace.colorbar.tickvals) == [0.0, 0.1, 0.5, 1.0]
    assert list(trace.colorbar.ticktext) == ["0%", "chance 10%", "50%", "100%"]
    # the best cell's solid frame, the stopped cell's dashed one inside its cell
    solid, dashed = fig.layout.shapes
    assert (solid.x0, solid.y0, solid.line.dash) == (-0.5, 0.5, None)
    assert (dashed.x0, dashed.x1, dashed.y0, dashed.y1) == (0.55, 1.45, 0.55, 1.45)
    assert dashed.line.dash == "dash"
    assert fig.layout.title.text == "independent judge: target probability"
    assert not fig.layout.annotations


def test_an_inversions_judge_and_an_empty_metric_in_the_pages_words():
    inv = [{"task": "inversion", "layer": x, "judge_hit": h, "judge_chance": 0.1}
           for x, h in (("block1", 1.0), ("block2", 0.0))]
    trace = heatmap_figure(inv, ["layer"], "judge_hit").data[0]
    assert _cells(trace.text) == ["hit", "miss"]
    assert trace.colorbar.title.text == "judge (the original's class)"
    assert list(trace.colorbar.ticktext) == ["miss", "hit"]
    assert "<br>judge %{customdata}<br>independent judge: top-1 = the original's class" \
        in trace.hovertemplate
    # a metric with no value in these cells: the note names it as the chart's title does
    fig = heatmap_figure(inv, ["layer"], "psnr")
    assert all(math.isnan(v) for row in fig.data[0].z for v in row)
    (note,) = fig.layout.annotations
    assert note.text.startswith("PSNR (dB): no value in these cells")  # was "PSNR dB"


def test_the_page_calls_the_one_builder():
    assert not hasattr(sm, "heatmap") and "heatmap" not in sm.__all__
    page = (ROOT / "pages" / "6_Sweeps.py").read_text(encoding="utf-8")
    assert "from dashboard.sweep_heatmap import heatmap_figure" in page
    assert "heatmap_figure(" in page and "sm.heatmap(" not in page
    for module in ("sweep_heatmap.py", "sweep_summary.py"):
        lines = (ROOT / "dashboard" / module).read_text(encoding="utf-8").count("\n")
        assert lines <= 400, (module, lines)
