"""The Sweeps page after a regularization researcher's QA pass: the spread over seeds
within each setting of the other axes, floors and the best cell beside the heatmap, the
steps of a ``steps`` axis, batches that stream and keep their pictures on Stop, downloads,
a metric box in the words of the sweep's task, and modules of at most 400 lines."""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from dashboard import sweep_export as sx
from dashboard import sweep_summary as sm
from dashboard import sweeps_view as sv
from dashboard.sweep_heatmap import heatmap_figure
from dashboard.sweep_stream import PageExecutor, keep_stopped, stream_batch
from viz_core.sweeps import run_sweep
from viz_core.sweeps.cells import run_batch
from viz_core.sweeps.executors import batch_tasks
from viz_core.sweeps.grouping import group_cells

ROOT = Path(__file__).resolve().parents[1]
APP, PAGE = str(ROOT / "app.py"), "pages/6_Sweeps.py"


def _page(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params.update({k: str(v) for k, v in params.items()})
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _one_batch(steps: int = 6):
    s = {**sv.sweep_defaults(), "steps": steps, "axis1": "kernel_size", "values1": "3,5",
         "axis2": "step_size", "values2": "2,5"}
    return sv.sweep_of(s)


def test_seed_spread_is_per_setting_of_the_other_axes():
    rows = [{"seed": s, "kernel_size": k, "activation": 10.0 * k + s}
            for k in (3, 5, 7) for s in (0, 1)]
    head, table = sm.seed_spread(rows, ["kernel_size", "seed"])
    assert head == "Spread over 2 seeds, per kernel_size"
    act = [t for t in table if t["metric"] == "activation"]
    assert [t["kernel_size"] for t in act] == ["3", "5", "7"]
    assert all(t["std"] == pytest.approx(0.7071, abs=1e-3) for t in act)  # not ~16 (pooled)
    assert sm.seed_spread(rows, ["kernel_size"]) == ("", [])


def test_best_cell_follows_the_metrics_direction_and_names_its_floor():
    am = [{"task": "am", "gamma": g, "activation": a, "judge_target_prob": p,
           "judge_chance": 0.1, "cell_id": f"g{g}"} for g, a, p in
          ((0.2, 1.0, 0.3), (1.6, 5.0, 0.95), (3.2, 9.0, 0.5))]
    assert sm.best_cell(am, "activation")["gamma"] == 3.2
    assert sm.best_line("judge_target_prob", am, ["gamma"]) == \
        "Best: gamma=1.6 - judge 95% (chance 10%)"
    start = {r["cell_id"]: {"activation": -1.0} for r in am}
    assert "start: -1" in sm.best_line("activation", am, ["gamma"], start)
    inv = [{"task": "inversion", "layer": x, "activation": e, "feature_error": e,
            "feature_error_floor": 0.9} for x, e in (("a", 0.5), ("b", 0.2))]
    assert sm.best_cell(inv, "feature_error")["layer"] == "b"  # lower is better
    assert "flat image: 0.9" in sm.best_line("feature_error", inv, ["layer"])
    fig = heatmap_figure(am, ["gamma"], "judge_target_prob", best=sm.best_cell(
        am, "judge_target_prob"))
    (shape,) = fig.layout.shapes
    assert (shape.y0, shape.y1) == (0.5, 1.5)  # the second row: gamma=1.6


def test_a_steps_axis_says_its_range():
    s = {**sv.sweep_defaults(), "axis1": "steps", "values1": "20,40,60",
         "axis2": "step_size", "values2": "2,5"}
    assert sv.cells_text(sv.sweep_of(s)) == "6 cells · 20-60 steps (per cell)"
    assert sv.cells_text(sv.sweep_of(sv.sweep_defaults())) == "9 cells · 60 steps each"


def test_the_metric_box_names_only_what_the_task_measures():
    assert sv.metric_option_label("activation", "am") == "target activation"
    at = _page()
    assert "target activation" in at.selectbox(key="sw_metric").options
    assert not any("/" in o for o in at.selectbox(key="sw_metric").options)


def test_a_streamed_batch_gives_the_rows_of_run_batch():
    sweep = _one_batch()
    (task,) = batch_tasks(sweep, group_cells(sweep.cells(), sweep.batch_size))
    frames = []
    streamed, alone = stream_batch(task, frames.append), run_batch(task)
    assert len(frames) > 2 and frames[-1].done
    for a, b in zip(alone.rows, streamed.rows):
        assert {k: v for k, v in a.items() if k != "seconds"} == \
            {k: v for k, v in b.items() if k != "seconds"}
    assert alone.pngs == streamed.pngs
    assert set(streamed.extra["start"]) == {r["cell_id"] for r in streamed.rows}


class _Stop(BaseException):
    """Streamlit's Stop, as the page's yield point raises it."""


def test_stop_in_a_one_batch_sweep_keeps_the_batchs_pictures(tmp_path):
    sweep = _one_batch(steps=400)
    seen, kept = [], []
    res = {"dir": str(tmp_path), "rows": [], "start": {}}

    def frame(i, n, task, f):
        seen.append((i, n, int(f.step), int(f.total)))

    def tick():
        if seen and seen[-1][2] > 0:
            raise _Stop

    def stopped(result):
        kept.append(result)
        keep_stopped(res, result)

    with pytest.raises(_Stop):
        run_sweep(sweep, tmp_path, PageExecutor(frame, tick, stopped))
    assert seen[0][:2] == (0, 1) and seen[-1][3] == 400  # "batch 1 of 1: step k / 400"
    (result,) = kept
    assert len(res["rows"]) == 4 and all(r["stopped"] for r in res["rows"])
    assert all(0 < r["steps_done"] < 400 for r in res["rows"])
    for r in res["rows"]:
        assert Image.open(tmp_path / r["png"]).size[0] > 0
    assert "stopped at step" in sm.cell_caption(res["rows"][0], ["kernel_size"])
    assert not threading.enumerate()[1:] or all(
        not t.name.startswith("demons-sweep-") or not t.is_alive()
        for t in threading.enumerate())


def test_downloads_of_montage_table_and_folder(tmp_path):
    sweep = _one_batch(steps=3)
    store = run_sweep(sweep, tmp_path)
    rows = store.rows()
    png = sx.montage_png(tmp_path, rows, ["kernel_size", "step_size"])
    assert Image.open(io.BytesIO(png)).format == "PNG"
    csv = sx.table_csv(rows).decode()
    assert csv.splitlines()[0].startswith("index,cell_id") and len(csv.splitlines()) == 5
    names = zipfile.ZipFile(io.BytesIO(sx.folder_zip(tmp_path, "s"))).namelist()
    assert sum(n.endswith(".png") for n in names) == 4 and all(n.startswith("s/") for n in names)


def test_the_page_shows_per_row_spread_best_values_and_downloads():
    at = _page(steps=3, axis1="kernel_size", values1="3,5", axis2="seed", values2="0,1")
    at.button(key="sw_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    md = [m.value for m in at.markdown]
    assert "**Spread over 2 seeds, per kernel_size**" in md, md
    caps = [c.value for c in at.caption]
    assert any(c.startswith("Best: kernel_size=") and "higher is better" in c
               and "start: " in c for c in caps), caps
    assert sum(c.startswith("target activation") for c in caps) == 4, caps
    downloads = at.get("download_button")
    assert len(downloads) == 3
    # a download reruns nothing: a rerun gives the zip a new file id, and a second click
    # while it runs is lost (MediaFileStorageError in the server's log, QA pass)
    assert all(d.proto.ignore_rerun for d in downloads), [d.proto.label for d in downloads]


@pytest.mark.parametrize("path", sorted(
    [ROOT / "pages/6_Sweeps.py", *(ROOT / "dashboard").glob("sweep*.py")]))
def test_sweeps_modules_stay_short(path):
    assert len(path.read_text().splitlines()) <= 400, path.name
