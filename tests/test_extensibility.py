"""A new scheme and a new metric are one registry entry each: added in a fixture here, they
flow through configuration and validation, the engine, the metric rows, the sweeps and the
reports with no other change. (A new objective: see the objectives' own tests.)"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import torch

from viz_core.config import RunConfig, scheme_config
from viz_core.engine import run_to_end
from viz_core.evaluation.reports import metrics_markdown, row_columns, to_csv
from viz_core.evaluation.scheme_metrics import scheme_metrics, scheme_metrics_markdown
from viz_core.metrics import METRICS, Metric, image_metrics, run_rows
from viz_core.schemes import SCHEME_REGISTRY, NamedScheme, get_scheme, scheme_key, scheme_of
from viz_core.sweeps import Axis, Sweep, run_sweep
from viz_core.sweeps.report import columns


@pytest.fixture
def l2_decay(monkeypatch):
    """Simonyan et al.'s L2 decay as a named scheme: the elastic slot holds the decay
    kernel ``(1 - lambda tau) delta`` with lambda fixed by the scheme. One entry."""
    entry = NamedScheme("elastic_decay", "L2 decay (Simonyan et al.)", "elastic", "decay",
                        "L2 decay", param=0.05)
    monkeypatch.setitem(SCHEME_REGISTRY, entry.key, entry)
    return entry


@pytest.fixture
def mean_intensity(monkeypatch):
    """A new image metric: the mean grey level of the pre-image. One entry."""
    metric = Metric("mean_intensity", "mean intensity", "", "image",
                    lambda x, ref: x.mean(dim=(1, 2, 3)).numpy(), "mean of the pixels")
    monkeypatch.setitem(METRICS, metric.key, metric)
    return metric


def test_a_new_scheme_is_one_registry_entry(l2_decay, tiny_model):
    # names and configuration
    assert scheme_key("elastic-decay") == scheme_key("decay_elastic") == "elastic_decay"
    base = RunConfig(model="tiny", task="am", target=1, steps=6, step_size=5.0, every=6)
    cfg = scheme_config(base, "elastic_decay", 5)
    cfg.validate()
    assert cfg.elastic.kind == "decay" and cfg.elastic.param == 0.05 and cfg.fluid is None
    assert scheme_of(cfg) == "elastic_decay" and cfg.name == "L2 decay"
    assert scheme_of(RunConfig.from_json(cfg.to_json())) == "elastic_decay"  # run JSON
    # the engine runs it next to a built-in scheme; the rows and the report name it
    cfgs = [scheme_config(base, k, 5) for k in ("plain", "elastic_decay")]
    res = run_to_end(cfgs, tiny_model, keep_frames=False)
    rows = scheme_metrics(res.final, cfgs)
    assert [r["scheme"] for r in rows] == ["plain", "elastic_decay"]
    assert "| L2 decay |" in scheme_metrics_markdown(rows)
    # the decay shrinks the pre-image towards the mean image: it differs from plain GD
    assert not np.allclose(res.final.images[0], res.final.images[1])


def test_a_new_scheme_and_metric_flow_through_a_sweep(l2_decay, mean_intensity, tmp_path):
    base = RunConfig(model="fmnist_vgg", weights="random", task="am", target=3, steps=3,
                     device="cpu")
    sweep = Sweep(base, [Axis.parse("scheme=plain,elastic_decay")], judge="none")
    rows = run_sweep(sweep, tmp_path / "sw").rows()
    by = {r["scheme"]: r for r in rows}
    assert set(by) == {"plain", "elastic_decay"}
    assert all(0 <= r["mean_intensity"] <= 1 for r in rows)
    assert "mean_intensity" in columns(rows, ["scheme"])


def test_a_new_metric_is_one_registry_entry(mean_intensity, tiny_model):
    x = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    assert np.allclose(image_metrics(x)["mean_intensity"], x.mean(dim=(1, 2, 3)).numpy())
    base = RunConfig(model="tiny", task="am", target=1, steps=4, every=4)
    cfgs = [scheme_config(base, k, 5) for k in ("plain", "tv")]
    res = run_to_end(cfgs, tiny_model, keep_frames=False)
    rows = run_rows(res.final, cfgs)
    for r, img in zip(rows, res.final.images):
        assert r["mean_intensity"] == pytest.approx(float(img.mean()), rel=1e-5)
    assert "mean intensity" in scheme_metrics_markdown(rows)
    # Table 1's files and reports carry it too
    assert "mean_intensity" in row_columns()
    table = [{"direction": "a -> b", "label": "TV", "self_top1": 50.0, "rel_error": 0.1,
              "mean_intensity": 0.4, "diverged": 0}]
    assert "mean intensity" in metrics_markdown(table)
    back = next(csv.DictReader(io.StringIO(to_csv(table))))
    assert float(back["mean_intensity"]) == 0.4


def test_without_the_fixtures_the_registries_are_unchanged():
    assert "elastic_decay" not in SCHEME_REGISTRY and "mean_intensity" not in METRICS
    assert scheme_of(RunConfig(elastic=get_scheme("elastic_sobolev").kernels(5)[1])) == \
        "elastic_sobolev"
