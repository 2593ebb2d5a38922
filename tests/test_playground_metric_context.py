"""The Playground's image metrics come with something to read them against: the run's
start (its first frame, the initial noise) and, for an inversion, the original image."""

from __future__ import annotations

import numpy as np

from dashboard.playground_view import metrics_table
from dashboard.runs import RunRecord
from viz_core.engine import Frame
from viz_core.metrics import image_metrics


def _record(task: str, reference: np.ndarray | None = None) -> RunRecord:
    rec = RunRecord(["x"], [f'{{"task": "{task}", "target": 1}}'], "m", 10)
    rec.reference = reference
    rng = np.random.default_rng(0)
    noise = rng.random((1, 1, 64, 64)).astype(np.float32)
    smooth = np.full((1, 1, 64, 64), 0.5, np.float32) + 0.01 * noise
    for step, img in ((0, noise), (10, smooth)):
        rec.add(Frame(step, 10, 0, img, np.zeros(1), np.zeros(1), np.ones(1), 0.1, ["x"],
                      [None], step == 10))
    return rec


def _row(table: str, label: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(f"| {label} |"))


def test_image_metrics_show_the_start_beside_them():
    rec = _record("am")
    table = metrics_table(rec, "logit", [])
    start_tv = image_metrics(rec.frames[0][1][0] / 255.0)["total_variation"][0]
    row = _row(table, "total variation")
    assert f"(start {start_tv:.4f})" in row and "original" not in row
    assert "(start " in _row(table, "HF fraction")


def test_an_inversion_also_shows_the_original():
    ref = np.zeros((1, 1, 64, 64), np.float32)
    ref[..., 16:48, 16:48] = 1.0
    table = metrics_table(_record("inversion", ref), "feature error", [])
    orig_tv = image_metrics(ref[0])["total_variation"][0]
    assert f"original {orig_tv:.4f})" in _row(table, "total variation")
