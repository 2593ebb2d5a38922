"""Table 1 protocol and scheme metrics (viz_core.evaluate, viz_core.cli_evaluate), on random
weights and tiny settings: structure and plumbing, not accuracy."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from viz_core import evaluate as ev
from viz_core import models
from viz_core.config import RunConfig
from viz_core.datasets import DEFAULT_FMNIST_ROOT
from viz_core.engine import run_to_end
from viz_core.errors import VizError

ROOT = Path(__file__).resolve().parents[1]
needs_fmnist = pytest.mark.skipif(not DEFAULT_FMNIST_ROOT.is_dir(),
                                  reason="Fashion-MNIST (dataset-fashion-mnist) not installed")


@pytest.fixture(scope="module")
def offline_pair():
    return (models.load_model("fmnist_vgg", weights="random", seed=0),
            models.load_model("fmnist_resnet", weights="random", seed=1))


def _randomise_bn(net: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)


def _image_set(n: int = 4, size: int = 64) -> ev.ImageSet:
    g = torch.Generator().manual_seed(0)
    base = torch.rand(n, 1, 28, 28, generator=g)
    labels = np.arange(n) % 10

    def load(idx, s, c):
        x = torch.nn.functional.interpolate(base[list(idx)], size=(s, s), mode="bilinear")
        return x.expand(-1, c, -1, -1).contiguous()

    return ev.ImageSet("synthetic", labels, load, [str(i) for i in range(n)])


# ----------------------------------------------------------------------------- methods

def test_methods_are_the_papers_schemes():
    base = RunConfig(task="inversion", steps=3)
    names = {k: m.config(base, 11, 0.1, 0.05).scheme.name for k, m in ev.METHODS.items()}
    assert names == {"tv": "TV", "fluid_sobolev": "fluid demons",
                     "fluid_elastic_sobolev": "fluid-elastic demons",
                     "fluid_gaussian": "fluid demons",
                     "fluid_elastic_gaussian": "fluid-elastic demons"}
    cfg = ev.METHODS["fluid_elastic_gaussian"].config(base, 11, 0.1, 0.05)
    assert cfg.fluid.kind == cfg.elastic.kind == "gaussian" and cfg.fluid.size == 11
    assert cfg.fluid.param is None  # fitted to the size (Sec. 2.7)


def test_get_methods_errors():
    assert [m.key for m in ev.get_methods("tv, plain")] == ["tv", "plain"]
    for bad in ("nope", "", "tv,tv"):
        with pytest.raises(VizError):
            ev.get_methods(bad)


def test_balanced_order_prefixes_are_balanced():
    labels = np.repeat(np.arange(5), 20)
    order = ev.balanced_order(labels, seed=3)
    assert sorted(order.tolist()) == list(range(100))
    assert np.bincount(labels[order[:25]], minlength=5).tolist() == [5] * 5
    assert not np.array_equal(order, ev.balanced_order(labels, seed=4))


# ----------------------------------------------------------------------------- models

@pytest.mark.parametrize("name", ["fmnist_vgg", "fmnist_resnet"])
def test_fuse_model_is_equivalent(name):
    m = models.load_model(name, weights="random")
    _randomise_bn(m.net)
    fused = ev.fuse_model(m, [m.spec.default_layer])
    assert fused is not m
    assert any(isinstance(x, torch.nn.Identity) for x in fused.net.modules())
    x = m.normalize(torch.rand(3, 1, 64, 64))
    with torch.no_grad():
        for layer in (m.spec.default_layer, "logits"):
            a, b = m.features(layer)(x), fused.features(layer)(x)
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    # the shared network is untouched
    assert any(isinstance(x, torch.nn.BatchNorm2d) for x in m.net.modules())


def test_quantize_and_topk():
    x = np.array([[[[0.0, 0.5, 1.0, 0.2]]]], dtype=np.float32)
    q = ev.quantize(x)
    assert q.shape == (1, 1, 1, 4)
    assert torch.allclose(q * 255, torch.round(q * 255))
    logits = torch.tensor([[0.1, 0.9, 0.3], [0.5, 0.2, 0.4]])
    assert ev.topk_hits(logits, np.array([1, 1]), 1).tolist() == [True, False]
    assert ev.topk_hits(logits, np.array([1, 1]), 2).tolist() == [True, False]
    assert ev.topk_hits(logits, np.array([1, 1]), 5).tolist() == [True, True]


# ----------------------------------------------------------------------------- protocol

@pytest.mark.parametrize("workers", [1, 2])
def test_table1_protocol_random_offline_pair(offline_pair, tmp_path, workers):
    a, b = offline_pair
    settings = ev.Table1Settings(n=4, steps=2, batch_images=3, workers=workers)
    seen = []
    res = ev.run_table1(a, b, _image_set(4), settings, progress=lambda k, d: seen.append(k))
    assert sum(seen) == 2 * 2 * 2  # two directions x two batches x two steps
    rows = res["rows"]
    assert len(rows) == 2 * (1 + len(ev.METHODS))
    for r in rows:
        assert 0 <= r["top1"] <= r["top5"] <= 100
        assert r["clean_top1"] == rows[0]["clean_top1"] or r["direction"] != rows[0]["direction"]
    paths = ev.write_table1(res, tmp_path, "t1", command="demons-viz evaluate -n 4",
                            per_sample=True)
    names = {p.name for p in paths}
    assert {"t1.csv", "t1.md", "t1.html", "t1.json", "t1_samples.csv",
            "t1_examples.png"} <= names
    table = list(csv.DictReader(io.StringIO((tmp_path / "t1.csv").read_text())))
    assert list(table[0]) == ev.ROW_COLUMNS
    assert {r["method"] for r in table} == {"original", *ev.METHODS}
    assert {r["direction"] for r in table} == {"fmnist_vgg -> fmnist_resnet",
                                                "fmnist_resnet -> fmnist_vgg"}
    samples = list(csv.DictReader(io.StringIO((tmp_path / "t1_samples.csv").read_text())))
    assert len(samples) == 2 * 4 * len(ev.METHODS)
    md = (tmp_path / "t1.md").read_text()
    assert "fmnist_vgg rec. -> fmnist_resnet top-1" in md
    for m in ev.METHODS.values():
        assert f"| {m.label} |" in md
    assert "demons-viz evaluate -n 4" in md
    assert "plotly" in (tmp_path / "t1.html").read_text()[:5000].lower()
    back = ev.read_table1_csv(tmp_path / "t1.csv")
    assert len(back) == len(rows) and isinstance(back[1]["top1"], float)
    assert len(ev.table1_figure(back).data) == 2 * 2  # top-1 and top-5 per direction
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(VizError):
        ev.read_table1_csv(tmp_path / "other.csv")


def test_table1_concurrent_batches_give_the_same_table(offline_pair):
    a, b = offline_pair
    kw = dict(n=5, steps=3, batch_images=2, methods=["tv", "fluid_elastic_sobolev"])
    one = ev.run_table1(a, b, _image_set(5), ev.Table1Settings(workers=1, **kw))
    two = ev.run_table1(a, b, _image_set(5), ev.Table1Settings(workers=2, **kw))
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
    ab = ev.run_table1(a, b, _image_set(5), ev.Table1Settings(workers=2, directions="ab",
                                                              **kw))
    assert [r["top1"] for r in ab["rows"]] == [r["top1"] for r in one["rows"][:3]]


def test_table1_bf16_and_parallel_agree_in_structure(offline_pair):
    a, b = offline_pair
    st = ev.Table1Settings(n=2, steps=2, batch_images=2, methods=["fluid_sobolev"],
                           precision="bf16", workers=2)
    res = ev.run_table1(a, b, _image_set(2), st)
    assert [r["method"] for r in res["rows"]] == ["original", "fluid_sobolev"] * 2
    assert all(np.isfinite(r["rel_error"]) for r in res["rows"])


def test_table1_rejects_bad_settings(offline_pair):
    a, b = offline_pair
    with pytest.raises(VizError):
        ev.run_table1(a, b, _image_set(2), ev.Table1Settings(n=3, steps=1))
    with pytest.raises(VizError):
        ev.Table1Settings(n=2, steps=0).validate()
    with pytest.raises(VizError):
        ev.Table1Settings(kernel_size=10).validate()


@needs_fmnist
def test_fashion_mnist_images_are_balanced_and_preprocessed():
    from viz_core.datasets import load_fashion_mnist, to_model_input

    imgs = ev.fashion_mnist_images(20, seed=0)
    assert np.bincount(imgs.labels, minlength=10).tolist() == [2] * 10
    x = imgs.load([0, 1], 64, 1)
    assert x.shape == (2, 1, 64, 64) and 0 <= float(x.min()) and float(x.max()) <= 1
    raw, _ = load_fashion_mnist("test")
    i = int(imgs.ids[0].split(":")[1])
    torch.testing.assert_close(x[0], to_model_input(raw[i:i + 1], 64)[0])


def _write_images(folder: Path, names: list[str], size=(40, 30)) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        arr = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / n)


def test_folder_images_layouts(tmp_path):
    classes = ["tench", "goldfish", "great white shark"]
    _write_images(tmp_path / "a" / "0", ["x.png"])
    _write_images(tmp_path / "a" / "2", ["y.jpg", "z.png"])
    s = ev.folder_images(tmp_path / "a", classes)
    assert sorted(s.labels.tolist()) == [0, 2, 2]
    assert s.load([0, 1], 32, 3).shape == (2, 3, 32, 32)
    _write_images(tmp_path / "b" / "goldfish", ["x.png"])
    _write_images(tmp_path / "b" / "great_white_shark", ["y.png"])
    assert sorted(ev.folder_images(tmp_path / "b", classes).labels.tolist()) == [1, 2]
    _write_images(tmp_path / "c", ["p.png", "q.png"])
    (tmp_path / "labels.txt").write_text("name,label\np.png,goldfish\nq.png 2\n")
    s = ev.folder_images(tmp_path / "c", classes, labels_file=tmp_path / "labels.txt")
    assert sorted(s.labels.tolist()) == [1, 2]


def test_folder_images_errors(tmp_path):
    classes = ["a", "b"]
    with pytest.raises(VizError, match="does not exist"):
        ev.folder_images(tmp_path / "missing", classes)
    _write_images(tmp_path / "f" / "weird", ["x.png"])
    with pytest.raises(VizError, match="cannot map"):
        ev.folder_images(tmp_path / "f", classes)
    _write_images(tmp_path / "g", ["x.png"])
    (tmp_path / "l.txt").write_text("x.png 7\n")
    with pytest.raises(VizError, match="out of range"):
        ev.folder_images(tmp_path / "g", classes, labels_file=tmp_path / "l.txt")
    (tmp_path / "l2.txt").write_text("nothere.png 1\n")
    with pytest.raises(VizError, match="not found"):
        ev.folder_images(tmp_path / "g", classes, labels_file=tmp_path / "l2.txt")


@pytest.mark.slow
def test_imagenet_path_random_weights(tmp_path):
    """VGG19 block5_conv1 <-> DenseNet121 conv5_block12_0_bn on generated images."""
    _write_images(tmp_path / "imgs" / "1", ["a.png"])
    _write_images(tmp_path / "imgs" / "5", ["b.png"])
    from viz_core.cli import main

    rc = main(["evaluate", "--pair", "imagenet", "--images", str(tmp_path / "imgs"),
               "--weights-a", "random", "--weights-b", "random", "-n", "2", "--steps", "1",
               "--methods", "tv,fluid_elastic_sobolev", "--out", str(tmp_path / "out"),
               "--quiet"])
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "table1_imagenet.csv")
                                           .read_text())))
    assert {r["rec_layer"] for r in rows} == {"features.29",
                                              "features.denseblock4.denselayer12.norm1"}
    assert {r["direction"] for r in rows} == {"vgg19 -> densenet121", "densenet121 -> vgg19"}


# ----------------------------------------------------------------------------- scheme metrics

def test_scheme_metrics_and_claims(tiny_model):
    base = RunConfig(model="tiny", task="am", target=1, steps=8, step_size=5.0, every=8)
    cfgs = ev.standard_schemes(base, kernel_size=5)
    res = run_to_end(cfgs, tiny_model, keep_frames=False)
    rows = ev.scheme_metrics(res.final, cfgs)
    assert [r["label"] for r in rows] == [c.name for c in cfgs]
    for r in rows:
        assert {"objective", "activation", "hf_fraction", "coarse_fraction", "tv"} <= set(r)
        assert 0 <= r["hf_fraction"] <= 1 and r["tv"] >= 0
    claims = ev.paper_claims(rows)
    assert len(claims) == 7 and all(c.endswith(("yes", "no")) for c in claims)
    md = ev.scheme_metrics_markdown(rows)
    assert md.count("\n") == len(rows) + 1 and "target activation" in md


def test_scheme_metrics_inversion_has_psnr_ssim(tiny_model):
    ref = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    base = RunConfig(model="tiny", task="inversion", layer="conv2", steps=4, every=4)
    cfgs = ev.standard_schemes(base, kernel_size=5)[:3]
    res = run_to_end(cfgs, tiny_model, reference=ref, keep_frames=False)
    rows = ev.scheme_metrics(res.final, cfgs, ref)
    assert all("psnr" in r and "ssim" in r for r in rows)
    assert "PSNR dB" in ev.scheme_metrics_markdown(rows)


# ----------------------------------------------------------------------------- CLI

def test_cli_evaluate_handler_random_weights(tmp_path, capsys, offline_pair):
    pytest.importorskip("viz_core.cli")
    if not DEFAULT_FMNIST_ROOT.is_dir():
        pytest.skip("Fashion-MNIST not installed")
    from viz_core.cli import main

    rc = main(["evaluate", "--weights-a", "random", "--weights-b", "random", "-n", "3",
               "--steps", "2", "--methods", "tv,fluid_sobolev", "--out", str(tmp_path),
               "--name", "small", "--quiet", "--threads", "1"])
    assert rc == 0
    assert (tmp_path / "small.csv").is_file() and (tmp_path / "small.md").is_file()
    assert "total variation" in capsys.readouterr().out


@pytest.mark.parametrize("argv, needle", [
    (["evaluate", "-n", "0"], "n must be"),
    (["evaluate", "--methods", "bogus"], "unknown method"),
    (["evaluate", "--models", "vgg19", "densenet121", "--weights-a", "random",
      "--weights-b", "random", "-n", "2"], "--images"),
    (["evaluate", "--images", "/nonexistent/folder", "--weights-a", "random",
      "--weights-b", "random", "-n", "2"], "does not exist"),
    (["evaluate", "--steps", "x"], "integer"),
    (["metrics", "--task", "inversion"], "--image"),
])
def test_cli_bad_input_one_line(argv, needle, capsys):
    from viz_core.cli import main

    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and needle in err


def test_cli_metrics_random_weights(capsys, tmp_path):
    from viz_core.cli import main

    rc = main(["metrics", "--weights", "random", "--steps", "3", "--quiet", "--threads", "1",
               "--md", str(tmp_path / "m.md"), "--csv", str(tmp_path / "m.csv")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "fluid_elastic_sobolev" in out and "Sobolev sharper than Gaussian" in out
    assert "Command: `demons-viz" in (tmp_path / "m.md").read_text()
    assert (tmp_path / "m.csv").read_text().startswith("label,scheme,")


def test_python_m_viz_core_evaluate_subprocess(tmp_path):
    if not DEFAULT_FMNIST_ROOT.is_dir():
        pytest.skip("Fashion-MNIST not installed")
    cmd = [sys.executable, "-m", "viz_core", "evaluate", "--weights-a", "random",
           "--weights-b", "random", "-n", "2", "--steps", "1", "--methods", "fluid_sobolev",
           "--directions", "ab", "--out", str(tmp_path), "--threads", "1"]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "table1_offline.csv").is_file()
    bad = subprocess.run(cmd[:4] + ["--n", "-3"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
