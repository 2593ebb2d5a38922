"""A network whose output is NaN or Inf is the network's fault, not the step size's: the
divergence message says so (the objective D, eqs. 1-4, is non-finite for a finite image),
its verdict is "no verdict" instead of NaN percentages, the Playground's caption names the
step of the pre-image it keeps, and right-to-left class names are isolated from the
percentages beside them (U+2068 ... U+2069)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from dashboard.playground_view import metrics_table
from dashboard.results import Verdict
from dashboard.runs import RunRecord
from viz_core.config import RunConfig
from viz_core.engine import Frame, run
from viz_core.judging import verdicts
from viz_core.models import from_module
from viz_core.store.settings_text import target_label
from viz_core.store.verdict_words import verdict_short, verdict_text

FSI, PDI = "\u2068", "\u2069"
HEBREW = ["דוד שלום", "שרה", "משה"]


class Net(nn.Module):
    """A tiny 1-channel classifier; ``bad``: its logits times NaN (or Inf)."""

    def __init__(self, bad: float | None = None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)
        self.bad = bad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc(torch.relu(self.conv(x)).mean((2, 3)))
        return out if self.bad is None else out * self.bad


def _model(bad: float | None, classes=None):
    return from_module(Net(bad).eval(), input_size=16, channels=1, classes=classes,
                       name="poisoned", keep=False)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("static", [False, True])
def test_a_non_finite_output_is_the_network_not_the_step_size(bad, static):
    model = _model(bad)
    cfg = RunConfig(model="poisoned", target=0, steps=20, every=10)
    frames = list(run(cfg, model, static_step=static))
    msg = frames[-1].diverged[0]
    assert msg is not None and msg.startswith("diverged at step 1:")
    assert "network's output is NaN or Inf for the start image" in msg
    assert "not the step size" in msg and "step size is probably too large" not in msg
    np.testing.assert_array_equal(frames[-1].images, frames[0].images)  # the kept start


def test_a_real_divergence_keeps_the_step_size_hint(monkeypatch):
    import viz_core.engine as engine

    real = engine.SchemeBank.step

    def poisoned(self, u, g, step, *a):
        out = real(self, u, g, step, *a)
        if step >= 4:  # the update (not the network's output) goes NaN from step 5 on
            out[:] = float("nan")
        return out

    monkeypatch.setattr(engine.SchemeBank, "step", poisoned)
    cfg = RunConfig(model="poisoned", target=0, steps=20, every=10)
    msg = list(run(cfg, _model(None)))[-1].diverged[0]
    assert "diverged at step 5" in msg and "the step size is probably too large" in msg
    assert "network's output" not in msg


def test_no_verdict_from_non_finite_probabilities():
    images = np.random.default_rng(0).random((1, 1, 16, 16)).astype(np.float32)
    v = verdicts(_model(float("nan")), images, [0], "model")[0]
    assert v["top"] == [] and v["target_prob"] is None and v["not_finite"] is True
    assert v["target"] == "class 0" or v["target"] == "0"
    json.dumps(v, allow_nan=False)  # nothing NaN to store
    line = verdict_text(v)
    assert "nan" not in line.lower().replace("nan or inf", "") and "%" not in line
    assert "no verdict" in line and "NaN or Inf" in line
    assert "%" not in verdict_short([v]) and "no verdict" in verdict_short([v])


def test_a_stored_run_with_nan_probabilities_shows_no_percentage():
    old = {"role": "model", "model": "nan", "top": [["class 0", float("nan")]],
           "target": "class 0", "target_prob": float("nan"), "chance": 0.1}
    assert "nan%" not in verdict_text(old) and "no verdict" in verdict_text(old)
    assert "nan%" not in verdict_short([old])


def _record(verdict: dict, diverged: str | None = None) -> RunRecord:
    rec = RunRecord(["x"], ['{"task": "am", "target": 0}'], "m", 20)
    img = np.full((1, 1, 16, 16), 0.5, np.float32)
    for step in (0, 10, 10):
        rec.add(Frame(step, 20, 0, img, np.zeros(1), np.zeros(1), np.ones(1), 0.1, ["x"],
                      [diverged if step else None], step == 10))
    rec.verdicts = [[Verdict.of(verdict)]]
    return rec


def test_the_playground_table_says_no_verdict():
    v = {"role": "model", "model": "poisoned", "top": [], "target": "class 0",
         "target_prob": None, "chance": 0.1, "not_finite": True}
    table = metrics_table(_record(v, "diverged at step 1: ..."), "logit", [Verdict.of(v)])
    assert "nan%" not in table and "(chance" not in table and "no verdict" in table


def test_the_caption_step_is_the_kept_frame():
    rec = _record({"role": "model", "model": "m", "top": [["a", 0.5]]},
                  "diverged at step 1: ...")
    assert rec.step == 10 and rec.shown_step() == 0  # the kept pre-image is step 0's
    fine = _record({"role": "model", "model": "m", "top": [["a", 0.5]]})
    assert fine.shown_step() == 10


def test_right_to_left_class_names_are_isolated():
    v = {"role": "model", "model": "mine", "top": [[HEBREW[0], 0.6], [HEBREW[1], 0.3],
                                                    ["Bag", 0.1]],
         "target": HEBREW[1], "target_prob": 0.3, "chance": 1 / 3}
    line = verdict_text(v)
    assert f"{FSI}{HEBREW[0]}{PDI} 60%" in line and f"{FSI}{HEBREW[1]}{PDI} 30%" in line
    assert f"{FSI}{HEBREW[1]}{PDI}: 30%" in line and "Bag 10%" in line  # Latin unchanged
    assert f"{FSI}{HEBREW[0]}{PDI} 60%" in verdict_short([v])
    table = metrics_table(_record(v), "logit", [Verdict.of(v)])
    assert f"{FSI}{HEBREW[0]}{PDI} 60%, {FSI}{HEBREW[1]}{PDI} 30%, Bag 10%" in table
    assert target_label({"target": 0}, [{"role": "model", "target": HEBREW[0]}]) == \
        f"0 · {FSI}{HEBREW[0]}{PDI}"


def test_an_isolated_name_stays_text_in_markdown():
    v = {"role": "model", "model": "mine", "top": [["**ש** [x](http://e)", 0.6]],
         "target": None, "target_prob": None}
    table = metrics_table(_record(v), "logit", [Verdict.of(v)])
    assert f"{FSI}\\*\\*ש\\*\\* \\[x\\]\\(http:" in table and f"{PDI} 60%" in table


def test_an_exported_nan_network_from_a_pt2(tmp_path):
    """The QA's case: a .pt2 whose forward returns logits * NaN, run by name."""
    from viz_core.models import open_model

    path = tmp_path / "nan.pt2"
    ep = torch.export.export(Net(float("nan")).eval(), (torch.rand(1, 1, 16, 16),))
    torch.export.save(ep, str(path))
    cfg = RunConfig(model=str(path), target=0, steps=3, every=1)
    model = open_model(str(path))
    msg = list(run(cfg, model))[-1].diverged[0]
    assert "the start image" in msg and "not the step size" in msg
