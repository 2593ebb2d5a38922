"""The Sweeps page is layout (QA pass 6): what it computed itself (the result it fills while
batches stream, the progress bar's words, the notes of a stopped or failed sweep, the
sidebar's loaders, a link's values, the trained-vs-random verdict, the committed cascade)
lives in dashboard/ modules without Streamlit, unit-tested here."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

from dashboard import sweep_export as sx
from dashboard import sweep_stream as ss
from dashboard import sweep_summary as sm
from dashboard import sweeps_view as sv
from dashboard.sweep_links import page_link_values

ROOT = Path(__file__).resolve().parents[1]


def _sweep():
    return sv.sweep_of({**sv.sweep_defaults(), "steps": 3, "values1": "0.1,0.4",
                        "values2": "2,5"})


def test_the_page_only_lays_out():
    src = (ROOT / "pages/6_Sweeps.py").read_text()
    imports = set(re.findall(r"^(?:import|from) (\S+)", src, re.M))
    assert not imports & {"tempfile", "time", "numpy", "PIL"}, imports  # work, not layout
    assert "randomization_verdict" not in src and "grid_of" not in src
    assert len(src.splitlines()) <= 320  # was 378


def test_a_new_result_and_its_batches():
    sweep = _sweep()
    res = ss.new_result(sweep, {"steps": 3, "metric": "ssim"})
    assert res["status"] == "running" and res["total"] == 4 and res["rows"] == []
    assert res["grid"] == ([0.1, 0.4], [2.0, 5.0]) and res["axes"] == ["gamma", "step_size"]
    assert res["keys"] == [[0.1, 2.0], [0.1, 5.0], [0.4, 2.0], [0.4, 5.0]]
    assert res["settings"] == {"steps": 3} and Path(res["dir"]).is_dir()  # metric: a view
    second = SimpleNamespace(rows=[{"index": 3}, {"index": 2}], extra={"start": {"c": {}}})
    ss.add_batch(res, second)
    ss.add_batch(res, SimpleNamespace(rows=[{"index": 0}], extra={}))
    assert [r["index"] for r in res["rows"]] == [0, 2, 3] and res["start"] == {"c": {}}
    task = SimpleNamespace(cells=[{"index": 1}])
    frame = SimpleNamespace(step=2, total=3, images=["pic"])
    ss.live_frame(res, 1, 2, task, frame)
    assert res["live"]["cells"] == {(0.1, 5.0): "pic"}
    assert ss.progress(res) == (3 / 4 + 2 / 3 / 4, "batch 2 of 2: step 2 / 3 · 3 / 4 cells")
    ss.end_status(res)
    assert res["status"] == "stopped"
    full = {"rows": [{}, {}], "total": 2, "status": "running"}
    ss.end_status(full)
    assert full["status"] == "done"
    assert ss.wait_while_running(full, 0.0)


def test_what_a_stopped_or_failed_sweep_says():
    cut = {"stopped": True, "steps_done": 7}
    res = {"rows": [{}, cut, cut], "total": 4, "status": "stopped"}
    ((kind, text),) = ss.result_notes(res)
    assert kind == "warning" and text.startswith("The sweep stopped after 1 of 4 cells")
    assert "its 2 cells at step 7, marked stopped" in text
    failed = {"rows": [{}], "total": 4, "status": "error", "message": "boom"}
    assert ss.result_notes(failed) == [("error", "The sweep failed after 1 of 4 cells: boom")]
    assert ss.result_notes({"rows": [], "status": "done"}) == []
    assert ss.not_run_text("error") == "not run (the sweep failed)"


def test_the_sidebars_loaders_say_what_they_did():
    s = dict(sv.sweep_defaults())
    assert sv.take_playground(None, s)[0] is None
    assert "no setting yet" in sv.take_playground(None, s)[1]
    got, msg = sv.take_playground({"steps": 33, "octaves_on": False}, s)
    assert got["steps"] == 33 and msg == "took the Playground's current setting as the base"
    assert sv.ready_change(sv.CUSTOM, s) == (None, "")
    got, msg = sv.ready_change("seed_variance", s)
    assert got["axis1"] == "seed" and msg == ""


def test_a_links_values_are_cleaned_only_when_a_link_gave_them():
    s = {**sv.sweep_defaults(), "axis1": "gamma", "values1": "0.1,nan"}
    assert page_link_values(None, "values1", s) is None
    assert page_link_values(("link", frozenset({"values2"})), "values1", s) is None
    text, notices = page_link_values(("link", frozenset({"values1"})), "values1", s)
    assert text == "0.1" and len(notices) == 1


def test_randomization_cascade_and_a_cells_picture(tmp_path):
    rows = [{"weights": w, "scheme": "tv", "coarse_fraction": c, "random_weights": w == "random"}
            for w, c in (("trained", 0.6), ("random", 0.2))]
    res = {"rows": rows, "axes": ["weights", "scheme"], "total": 2, "status": "done"}
    verdict, items = sm.randomization(res)
    assert "trained vs random" in verdict and items
    assert sm.randomization({**res, "status": "stopped"}) is None
    assert sm.randomization({**res, "axes": ["scheme"]}) is None
    verdict, captions, schemes = sv.cascade_view("fmnist_resnet")  # none committed
    assert verdict.startswith("No committed test for fmnist_resnet") and not schemes
    Image.fromarray(np.full((4, 5), 255, np.uint8)).save(tmp_path / "g.png")
    a = sx.png_array(tmp_path / "g.png")
    assert a.shape == (1, 4, 5) and a.dtype == np.float32 and a.max() == 1.0
