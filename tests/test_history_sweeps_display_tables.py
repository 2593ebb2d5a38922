"""The History's metrics table and report name whose floor is whose; the sweep heatmap puts
the judge's hit / miss and probability on fixed 0..1 scales (chance said, an inversion's
target named as the original's class); an inversion sweep's table names the class it is
judged against and shows its feature error once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dashboard import history_view as hv
from dashboard import sweeps_view as sv
from dashboard.sweep_heatmap import heatmap_figure
from viz_core.config import RunConfig
from viz_core.images import png_bytes
from viz_core.store import RunRecord
from viz_core.store.compare import metric_rows
from viz_core.store.report_html import html_report
from viz_core.sweeps import Axis, Sweep, run_sweep
from viz_core.sweeps.report import columns

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "samples" / "fmnist" / "0_ankle_boot.png"


def _inversion(i: int, psnr: float, floor: float) -> RunRecord:
    rng = np.random.default_rng(i)
    return RunRecord(config={"task": "inversion"}, model="fmnist_vgg", task="inversion",
                     scheme="tv", id=f"run{i:08d}", metrics={"psnr": psnr, "ssim": 0.2},
                     floors={"psnr": floor, "ssim": 0.05, "judge_target_prob": 0.1},
                     image=png_bytes(rng.random((1, 28, 28), dtype=np.float32)))


RUNS = [_inversion(0, 14.2, 11.78), _inversion(1, 15.0, 13.22), _inversion(2, 12.0, 9.863)]


def test_different_floors_stand_beside_each_runs_value():
    table = {row["metric"]: row for row in hv.metrics_table(RUNS)}
    psnr = table["PSNR dB"]  # the registry's label
    assert [psnr[r.id] for r in RUNS] == ["14.2 (floor 11.78)", "15 (floor 13.22)",
                                          "12 (floor 9.863)"]
    assert psnr["floor"] == "beside each value"  # was "11.78 / 13.22 / 9.863"
    assert table["SSIM"]["floor"] == "0.05" and table["SSIM"][RUNS[0].id] == "0.2"


def test_the_command_lines_table_names_each_floors_run():
    rows = {k: floor for k, _, floor in metric_rows(RUNS)}
    assert rows["psnr"] == "run00000000: 11.78; run00000001: 13.22; run00000002: 9.863"
    assert rows["judge_target_prob"] == "0.1"


def test_the_html_report_shows_each_runs_floor():
    html = html_report(RUNS)
    metrics = html.split("<h2>Metrics</h2>")[1].split("<h2>")[0]
    assert "<td>14.2 (floor 11.78)</td>" in metrics and "11.78 / 13.22" not in metrics


def _grid(metric: str, values: list, task: str = "am", chance: float | None = 0.1) -> dict:
    rows = [{"layer": f"l{i}", "task": task, metric: v, "judge_chance": chance}
            for i, v in enumerate(values)]
    return heatmap_figure(rows, ["layer"], metric).to_plotly_json()["data"][0]


def test_the_judges_hits_are_on_a_fixed_miss_hit_scale():
    trace = _grid("judge_hit", [True, True, True])  # all hits: was a 0.6-1.4 colour bar
    assert (trace["zmin"], trace["zmax"]) == (0, 1)
    assert list(trace["colorbar"]["ticktext"]) == ["miss", "hit"]
    assert [list(t) for t in trace["text"]] == [["hit"], ["hit"], ["hit"]]


def test_the_judges_probability_is_on_0_to_1_and_says_chance():
    trace = _grid("judge_target_prob", [0.8, 0.85])
    assert (trace["zmin"], trace["zmax"]) == (0, 1)
    # chance once in the hover, beside each cell's value (QA pass 7: the title line's
    # second copy is gone from the template)
    assert [list(c) for c in trace["customdata"]] == [["80% (chance 10%)"],
                                                      ["85% (chance 10%)"]]
    assert "chance" not in trace["hovertemplate"]
    assert "chance 10%" in trace["colorbar"]["ticktext"]


@pytest.mark.parametrize("metric", ["judge_target_prob", "judge_hit"])
def test_an_inversions_judge_metric_names_the_originals_class(metric):
    trace = _grid(metric, [0.4, 0.6], task="inversion")
    assert "the original's class" in trace["colorbar"]["title"]["text"]
    assert "the original's class" in trace["hovertemplate"]


def test_an_inversion_sweeps_table_names_the_judged_class_and_its_error_once(tmp_path):
    base = RunConfig(model="fmnist_vgg", task="inversion", image=str(SAMPLE), steps=3,
                     device="cpu", layer="block2")
    rows = run_sweep(Sweep(base, [Axis.parse("step_size=1,2")]), tmp_path / "inv").rows()
    assert {r["judge_target_class"] for r in rows} == {"Ankle boot"}  # the sample's label
    shown = sv.table_rows(rows)
    assert [r["target"] for r in shown] == ["Ankle boot (the original's class)"] * 2
    assert all("activation" not in r and r["feature_error"] is not None for r in shown)
    assert "judge_target_class" in columns(rows, ["step_size"])  # the CLI's table too
