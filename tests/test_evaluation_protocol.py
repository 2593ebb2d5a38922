"""The Table 1 protocol (viz_core.evaluation.protocol) on random weights and tiny settings:
structure, plumbing and executors, not accuracy."""

from __future__ import annotations

import csv
import io
import sys

import numpy as np
import pytest

from viz_core import models
from viz_core.cli.evaluate import html_writer
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.evaluation import protocol as pr
from viz_core.evaluation.reports import read_table1_csv, row_columns, write_table1
from viz_core.figures import table1_figure
from viz_core.schemes import SCHEME_REGISTRY, TABLE1_SCHEMES, scheme_of


@pytest.fixture(scope="module")
def offline_pair():
    return (models.load_model("fmnist_vgg", weights="random", seed=0),
            models.load_model("fmnist_resnet", weights="random", seed=1))





# ----------------------------------------------------------------------------- methods

def test_methods_are_the_papers_schemes():
    base = RunConfig(task="inversion", steps=3)
    names = {k: pr.scheme_config(base, k, 11, 0.1, 0.05).scheme.name for k in TABLE1_SCHEMES}
    assert names == {"tv": "TV", "fluid_sobolev": "fluid demons",
                     "fluid_elastic_sobolev": "fluid-elastic demons",
                     "fluid_gaussian": "fluid demons",
                     "fluid_elastic_gaussian": "fluid-elastic demons"}
    cfg = pr.scheme_config(base, "fluid_elastic_gaussian", 11, 0.1, 0.05)
    assert cfg.fluid.kind == cfg.elastic.kind == "gaussian" and cfg.fluid.size == 11
    assert cfg.fluid.param is None  # fitted to the size (Sec. 2.7)
    assert cfg.name == "Gaussian fluid-elastic" and cfg.tv == 0.0
    assert scheme_of(cfg) == "fluid_elastic_gaussian"
    assert pr.scheme_config(base, "tv", 11, 0.1, 0.05).tv == 0.1


def test_method_keys_accept_aliases_and_reject_bad_lists():
    assert pr.method_keys("tv, plain") == ["tv", "plain"]
    assert pr.method_keys(["fluid-sobolev", "none"]) == ["fluid_sobolev", "plain"]
    assert pr.method_keys(None) == list(TABLE1_SCHEMES)
    for bad in ("nope", "", "tv,tv", "fluid_sobolev,sobolev-fluid"):
        with pytest.raises(VizError):
            pr.method_keys(bad)


# ----------------------------------------------------------------------------- protocol

@pytest.mark.parametrize("workers", [1, 2])
def test_table1_protocol_random_offline_pair(offline_pair, tmp_path, workers, image_set):
    a, b = offline_pair
    settings = pr.Table1Settings(n=4, steps=2, batch_images=3, workers=workers)
    seen = []
    res = pr.run_table1(a, b, image_set(4), settings, progress=lambda k, d: seen.append(k))
    assert sum(seen) == 2 * 2 * 2  # two directions x two batches x two steps
    rows = res["rows"]
    assert len(rows) == 2 * (1 + len(TABLE1_SCHEMES))
    for r in rows:
        assert 0 <= r["top1"] <= r["top5"] <= 100
        assert r["clean_top1"] == rows[0]["clean_top1"] or r["direction"] != rows[0]["direction"]
    paths = write_table1(res, tmp_path, "t1", command="demons-viz evaluate -n 4",
                         per_sample=True, html=html_writer("cdn"))
    names = {p.name for p in paths}
    assert {"t1.csv", "t1.md", "t1.html", "t1.json", "t1_samples.csv",
            "t1_examples.png"} <= names
    table = list(csv.DictReader(io.StringIO((tmp_path / "t1.csv").read_text())))
    assert list(table[0]) == row_columns()
    assert {r["method"] for r in table} == {"original", *TABLE1_SCHEMES}
    assert {r["direction"] for r in table} == {"fmnist_vgg -> fmnist_resnet",
                                                "fmnist_resnet -> fmnist_vgg"}
    samples = list(csv.DictReader(io.StringIO((tmp_path / "t1_samples.csv").read_text())))
    assert len(samples) == 2 * 4 * len(TABLE1_SCHEMES)
    md = (tmp_path / "t1.md").read_text()
    assert "fmnist_vgg rec. -> fmnist_resnet top-1" in md
    for m in TABLE1_SCHEMES:
        assert f"| {SCHEME_REGISTRY[m].title} |" in md
    assert "demons-viz evaluate -n 4" in md
    assert "plotly" in (tmp_path / "t1.html").read_text()[:5000].lower()
    back = read_table1_csv(tmp_path / "t1.csv")
    assert len(back) == len(rows) and isinstance(back[1]["top1"], float)
    assert len(table1_figure(back)["data"]) == 2 * 2  # top-1 and top-5 per direction
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(VizError):
        read_table1_csv(tmp_path / "other.csv")


def test_table1_concurrent_batches_give_the_same_table(offline_pair, image_set):
    a, b = offline_pair
    kw = dict(n=5, steps=3, batch_images=2, methods=["tv", "fluid_elastic_sobolev"])
    one = pr.run_table1(a, b, image_set(5), pr.Table1Settings(workers=1, **kw))
    two = pr.run_table1(a, b, image_set(5), pr.Table1Settings(workers=2, **kw))
    keys = ["direction", "method", "top1", "top5", "self_top1"]

    def table(res):  # nan (no self accuracy for the originals) compares as None
        return [[None if isinstance(r[k], float) and np.isnan(r[k]) else r[k] for k in keys]
                for r in res["rows"]]

    assert table(one) == table(two)
    np.testing.assert_allclose([r["rel_error"] for r in one["rows"]],
                               [r["rel_error"] for r in two["rows"]], rtol=1e-5)
    # per-sample rows come back in image order within each direction and method
    order = [(s["direction"], s["method"], s["image"]) for s in two["samples"]]
    assert order == [(s["direction"], s["method"], s["image"]) for s in one["samples"]]
    ab = pr.run_table1(a, b, image_set(5), pr.Table1Settings(workers=2, directions="ab",
                                                              **kw))
    assert [r["top1"] for r in ab["rows"]] == [r["top1"] for r in one["rows"][:3]]


def test_table1_bf16_and_parallel_agree_in_structure(offline_pair, image_set):
    a, b = offline_pair
    st = pr.Table1Settings(n=2, steps=2, batch_images=2, methods=["fluid_sobolev"],
                           precision="bf16", workers=2)
    res = pr.run_table1(a, b, image_set(2), st)
    assert [r["method"] for r in res["rows"]] == ["original", "fluid_sobolev"] * 2
    assert all(np.isfinite(r["rel_error"]) for r in res["rows"])


def test_table1_rejects_bad_settings(offline_pair, image_set):
    a, b = offline_pair
    with pytest.raises(VizError):
        pr.run_table1(a, b, image_set(2), pr.Table1Settings(n=3, steps=1))
    with pytest.raises(VizError):
        pr.Table1Settings(n=2, steps=0).validate()
    with pytest.raises(VizError):
        pr.Table1Settings(kernel_size=10).validate()



def test_ray_executor_without_ray_is_a_clear_error(offline_pair, monkeypatch, image_set):
    a, b = offline_pair
    monkeypatch.setitem(sys.modules, "ray", None)  # "import ray" fails as if not installed
    st = pr.Table1Settings(n=2, steps=1, batch_images=2, methods=["tv"])
    refs = (pr.ModelRef("fmnist_vgg", "random"), pr.ModelRef("fmnist_resnet", "random", 1))
    with pytest.raises(VizError, match="distributed"):
        pr.run_table1(a, b, image_set(2), st, executor="ray", refs=refs)
    with pytest.raises(VizError, match="executor"):
        pr.run_table1(a, b, image_set(2), st, executor="dask")


def test_table1_batch_is_a_plain_function_of_its_job(offline_pair, image_set):
    """The unit of work loads its models from the job's references when none are given
    (as a remote worker does) and gives the same results as with the prepared models."""
    a, b = offline_pair
    st = pr.Table1Settings(n=2, steps=2, batch_images=2, methods=["fluid_sobolev"]).validate()
    refs = (pr.ModelRef("fmnist_vgg", "random", 0), pr.ModelRef("fmnist_resnet", "random", 1))
    x = image_set(2).load([0, 1], 64, 1)
    job = pr.Table1Batch(0, "fmnist_vgg -> fmnist_resnet", refs[0], refs[1],
                         a.resolve_layer(a.spec.default_layer), 0, x, None,
                         np.array([0, 1]), ["0", "1"], st)
    remote = pr.table1_batch(job)
    local = pr.table1_batch(job, pr.prepare(a, b, job.layer, st))
    assert [s["pred"] for s in remote["samples"]] == [s["pred"] for s in local["samples"]]
    np.testing.assert_allclose(remote["acc"]["fluid_sobolev"]["rel_error"],
                               local["acc"]["fluid_sobolev"]["rel_error"], rtol=1e-5)
