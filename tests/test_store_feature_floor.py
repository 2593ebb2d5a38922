"""The flat image's relative feature error (eq. 3's floor) is stored with an inversion's other
floors by every writer (the CLI's --store, sweeps, the dashboard's pages), one forward pass
of the flat image per run or batch, so that History and reports show it beside the
feature error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from viz_core import models
from viz_core.config import RunConfig
from viz_core.evaluation import floors as floors_mod
from viz_core.images import load_image
from viz_core.store import RunStore
from viz_core.store.capture import feature_floor, floors_for
from viz_core.store.compare import metric_rows

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "samples" / "fmnist" / "0_ankle_boot.png"


@pytest.fixture(scope="module")
def vgg():
    return models.open_model("fmnist_vgg")


@pytest.fixture
def counted(monkeypatch) -> list:
    """The calls of the flat image's feature error (each is one forward pass)."""
    calls: list = []
    real = floors_mod.flat_feature_error

    def count(*a, **kw):
        calls.append(a)
        return real(*a, **kw)

    monkeypatch.setattr(floors_mod, "flat_feature_error", count)
    return calls


def _inv(**kw) -> RunConfig:
    return RunConfig(**{"model": "fmnist_vgg", "task": "inversion", "image": str(SAMPLE),
                        "layer": "block2", "steps": 2, "device": "cpu", **kw})


def test_floors_for_an_inversion_include_the_flat_feature_error(vgg, counted):
    cfg = _inv()
    ref, _ = load_image(str(SAMPLE), vgg.spec.input_size, vgg.spec.channels)
    want = floors_mod.flat_feature_error(cfg, vgg, ref.numpy())
    out = floors_for(cfg, ref, [], vgg)
    assert out["feature_error"] == pytest.approx(want) and 0 < want < 2
    assert {"psnr", "ssim"} <= set(out)
    # given for the batch: used as it is, nothing computed again
    n = len(counted)
    assert floors_for(cfg, ref, [], feature_error=0.5)["feature_error"] == 0.5
    assert len(counted) == n
    # not for a class, a composable objective, or without the model or the image
    assert "feature_error" not in floors_for(cfg, ref, [])
    assert feature_floor(RunConfig(model="fmnist_vgg", target=3), vgg, ref) is None
    assert feature_floor(cfg, vgg, None) is None


def test_the_cli_stores_it_and_history_shows_it_beside_the_feature_error(tmp_path, capsys,
                                                                        vgg):
    from viz_core.cli import main

    store = tmp_path / "s.sqlite"
    assert main(["visualize", "--model", "fmnist_vgg", "--task", "inversion", "--image",
                 str(SAMPLE), "--layer", "block2", "--steps", "2", "--quiet", "--out",
                 str(tmp_path / "o.png"), "--store", str(store)]) == 0
    run_id = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_id"]
    run = RunStore(store).get(run_id)
    ref, _ = load_image(str(SAMPLE), vgg.spec.input_size, vgg.spec.channels)
    want = floors_mod.flat_feature_error(RunConfig.from_dict(run.config), vgg, ref)
    assert run.floors["feature_error"] == pytest.approx(want, rel=1e-4)
    rows = {k: (v, f) for k, v, f in metric_rows([run])}
    assert rows["feature_error"][1] == f"{run.floors['feature_error']:.4g}"


def test_a_sweep_batch_computes_it_once_and_stores_it_with_its_cells(tmp_path, counted):
    from viz_core.store.sweep_runs import cell_record
    from viz_core.sweeps import Axis, Sweep, run_sweep

    sw = Sweep(_inv(steps=3), [Axis.parse("step_size=1,2")])
    rows = run_sweep(sw, tmp_path / "inv", threads=1).rows()
    assert len(rows) == 2 and len({r["batch_id"] for r in rows}) == 1
    assert len(counted) == 1  # one batch, one forward pass of the flat image
    floor = rows[0]["feature_error_floor"]
    assert 0 < floor < 2 and rows[1]["feature_error_floor"] == floor
    rec = cell_record(rows[0], None, "sweep inv 000000")
    assert rec.floors["feature_error"] == pytest.approx(floor)


class _PageRecord:
    """What :func:`dashboard.run_history.stored_runs` reads of a page's finished record."""

    def __init__(self, reference, floors) -> None:
        import time

        import numpy as np

        cfg = _inv(name="TV", tv=0.05)
        self.configs, self.labels = [cfg.to_json(), cfg.to_json()], ["a", "b"]
        self.started, self.status, self.message, self.model_label = \
            time.perf_counter(), "done", "", "fmnist_vgg"
        self.images = np.full((2, 1, 28, 28), 0.5, dtype=np.float32)
        self.objective, self.activation = [np.ones(2)], [np.ones(2)]
        self.steps, self.step, self.frames, self.verdicts = [2], 2, [], []
        self.diverged, self.judges, self.warnings = [None, None], [], []
        self.reference, self.floors = reference, floors


def test_a_page_stores_the_floor_it_showed_without_computing_it_again(counted):
    import numpy as np

    from dashboard.run_history import stored_runs

    ref = np.full((1, 1, 28, 28), 0.3, dtype=np.float32)
    runs = stored_runs(_PageRecord(ref, {"feature_error": 0.93}), "compare", "compare 1")
    assert [r.floors["feature_error"] for r in runs] == [0.93, 0.93]
    assert not counted


def test_compare_stores_the_floor_under_its_grid(tmp_path, monkeypatch, dash, counted):
    from dashboard.navigation import page_path

    monkeypatch.setenv("DEMONS_VIZ_STORE", str(tmp_path / "runs.sqlite"))
    at = dash.open(page_path("compare"), steps=4, every=2, cells="sobolev-fluid,tv")
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    (rec,) = at.session_state["cmp_records"]
    assert len(counted) == 1  # the batch's one flat image, shown and stored
    store = RunStore(tmp_path / "runs.sqlite")
    runs = [store.get(r.id) for r in store.list()]
    assert len(runs) == 2
    assert {r.floors["feature_error"] for r in runs} == {rec.floors["feature_error"]}


def test_the_floor_uses_one_forward_pass(vgg, monkeypatch):
    """The image and its flat image go through the network together."""
    calls = []
    real = vgg.features

    def features(layer):
        net = real(layer)
        return lambda x: (calls.append(x.shape[0]), net(x))[1]

    monkeypatch.setattr(vgg, "features", features)
    ref = torch.rand(1, 1, vgg.spec.input_size, vgg.spec.input_size)
    assert floors_mod.flat_feature_error(_inv(), vgg, ref) > 0
    assert calls == [2]
