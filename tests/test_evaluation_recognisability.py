"""Recognisability benchmark (viz_core.evaluation.recognisability) on a small subset of the
standard offline pair: floors computed by hand, table shapes, chance levels, uint8
quantisation before the judge."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from viz_core import models
from viz_core.errors import VizError
from viz_core.evaluation import recognisability as rc
from viz_core.evaluation.imagesets import ImageSet
from viz_core.evaluation.reports import write_recognisability
from viz_core.metrics import SSIM_K1


@pytest.fixture(scope="module")
def pair():
    return models.load_model("fmnist_vgg"), models.load_model("fmnist_resnet")


def small(**kw) -> rc.RecognisabilitySettings:
    base = dict(seeds=1, classes=[1, 7], schemes=["plain", "fluid_sobolev"], steps=2,
                layers=["block2", "layer2"])
    return rc.RecognisabilitySettings(**{**base, **kw}).validate()


def two_samples(a) -> ImageSet:
    s = rc.shipped_imageset(a.classes)
    return ImageSet(s.name, s.labels[:2], s.load, s.ids[:2])


def test_flat_floor_by_hand():
    # two constant images 0.2 and 0.6: the flat image is 0.4, MSE 0.04 for both
    x = torch.cat([torch.full((1, 1, 16, 16), 0.2), torch.full((1, 1, 16, 16), 0.6)])
    f = rc.flat_floor(x)
    assert f["flat_value"] == pytest.approx(0.4)
    assert f["flat_psnr"] == pytest.approx(10 * math.log10(1 / 0.04), abs=1e-4)
    # constant images: SSIM is the luminance term (2 mu_x mu_y + c1) / (mu_x^2 + mu_y^2 + c1)
    c1 = SSIM_K1 ** 2
    lum = [(2 * 0.4 * m + c1) / (0.16 + m * m + c1) for m in (0.2, 0.6)]
    assert f["flat_ssim"] == pytest.approx(np.mean(lum), abs=1e-4)
    # half black, half white: flat 0.5, MSE 0.25 -> 6.02 dB
    y = torch.zeros(1, 1, 16, 16)
    y[..., 8:] = 1.0
    assert rc.flat_floor(y)["flat_psnr"] == pytest.approx(10 * math.log10(4), abs=1e-4)


def test_chance_levels():
    assert rc.chance_levels(10) == {"chance_top1": 10.0, "chance_top5": 50.0}
    assert rc.chance_levels(3)["chance_top5"] == 100.0


@pytest.fixture(scope="module")
def run(pair):
    """One small run of both parts in both directions, shared by the tests below."""
    a, b = pair
    seen = []
    st = small(seeds=2)
    res = rc.run_recognisability(a, b, two_samples(a), st, progress=seen.append)
    return st, res, sum(seen)


def test_progress_counts_every_engine_step(pair, run):
    st, _, steps = run
    assert steps == rc.total_steps(*pair, st) == (2 * 2 + 2 * 1) * 2  # (seeds + layers) x dirs


def test_am_transfer_table_shape_and_chance(run):
    _, res, _ = run
    rows, samples = res["am"], res["am_samples"]
    assert [(r["direction"], r["scheme"]) for r in rows] == [
        ("fmnist_vgg -> fmnist_resnet", "plain"), ("fmnist_vgg -> fmnist_resnet", "fluid_sobolev"),
        ("fmnist_resnet -> fmnist_vgg", "plain"), ("fmnist_resnet -> fmnist_vgg", "fluid_sobolev")]
    assert len(samples) == 2 * 2 * 2 * 2  # directions x schemes x classes x seeds
    for r in rows:
        assert r["chance_top1"] == 10.0 and r["classes"] == 2 and r["seeds"] == 2
        mine = [s for s in samples if (s["direction"], s["scheme"]) ==
                (r["direction"], r["scheme"])]
        hits = [s["pred_other"] == s["target"] for s in mine]
        assert len(mine) == 4
        assert r["top1_other"] == pytest.approx(100 * np.mean(hits))
        per_seed = [sum(h for h, s in zip(hits, mine) if s["seed"] == k) for k in (0, 1)]
        assert r["recognised_mean"] == pytest.approx(np.mean(per_seed))
        assert r["recognised_min"] == min(per_seed)
        assert r["conf_self"] == pytest.approx(np.mean([s["conf_self"] for s in mine]))
        assert 0.0 <= r["conf_self"] <= 1.0
    assert {s["target"] for s in samples} == {1, 7}


def test_judge_sees_uint8_quantised_images(pair, monkeypatch):
    a, b = pair
    seen = []
    real = rc.classify

    def spy(model, images):
        seen.append(images.clone())
        return real(model, images)

    monkeypatch.setattr(rc, "classify", spy)
    rc.am_transfer(a, b, small(classes=[3], schemes=["plain"], steps=1))
    assert len(seen) == 3  # judged by B and by A itself, and B's flat-image floor
    for x in seen:
        torch.testing.assert_close(x * 255, torch.round(x * 255), atol=1e-4, rtol=0)


def test_am_transfer_counts_the_judges_verdicts(pair):
    """With a judge of its own (here the model itself stands in), the judge's columns count
    the judge's predictions and the twin's columns B's; without one, B judges."""
    a, b = pair
    st = small(classes=[3, 8], schemes=["plain"], steps=1)
    rows, samples = rc.am_transfer(a, b, st, judge=a)
    assert all(s["pred_judge"] == s["pred_self"] for s in samples)
    r = rows[0]
    assert (r["judge"], r["twin"]) == ("fmnist_vgg", "fmnist_resnet")
    assert r["judge_recognised_mean"] == sum(s["pred_self"] == s["target"] for s in samples)
    assert r["recognised_mean"] == sum(s["pred_other"] == s["target"] for s in samples)
    assert r["flat_recognised"] == 1 and r["flat_class"] in a.classes
    rows, samples = rc.am_transfer(a, b, st)
    assert all(s["pred_judge"] == s["pred_other"] for s in samples)
    assert rows[0]["judge"] == "fmnist_resnet"


def test_inversion_quality_rows_best_and_floors(pair, run):
    a, _ = pair
    _, res, _ = run
    rows = res["inversion"]
    assert [(r["layer"], r["scheme"]) for r in rows] == [
        ("block2", "plain"), ("block2", "fluid_sobolev"),
        ("layer2", "plain"), ("layer2", "fluid_sobolev")]
    floor = rc.flat_floor(two_samples(a).load([0, 1], 64, 1))
    for layer in ("block2", "layer2"):
        mine = [r for r in rows if r["layer"] == layer]
        best = [r for r in mine if r["best"]]
        assert len(best) == 1 and best[0]["psnr"] == max(r["psnr"] for r in mine)
    for r in rows:
        assert r["flat_psnr"] == pytest.approx(floor["flat_psnr"])
        assert (r["chance_top1"], r["chance_top5"]) == (10.0, 50.0)
        assert 0 <= r["top1_other"] <= r["top5_other"] <= 100 and r["n"] == 2


def test_write_recognisability(pair, run, tmp_path):
    _, res, _ = run
    paths = write_recognisability(res, tmp_path, "rec", command="demons-viz evaluate x",
                                  settings="Settings: tiny.", date="2026-12-01")
    assert {p.name for p in paths} == {"rec_am.csv", "rec_am_samples.csv",
                                       "rec_inversion.csv", "rec.md"}
    md = (tmp_path / "rec.md").read_text()
    for needle in ("demons-viz evaluate x", "Machine:", "2026-12-01", "chance top-1",
                   "flat image PSNR", "chance top-5", "Settings: tiny."):
        assert needle in md
    am_table = [ln for ln in md.splitlines() if ln.startswith("| fmnist_vgg -> fmnist_resnet")]
    assert len(am_table) == 2 + 1  # two schemes, one best inversion layer
    # chance, then the flat-image floor (the judge reads a flat image as one class): 1 of
    # the 2 classes asked for (1, 7) when that class is one of them, else 0 of 2
    flat = res["am"][0]["flat_class"]
    hit = int(pair[0].classes.index(flat) in (1, 7))
    assert res["am"][0]["flat_recognised"] == hit
    assert all(ln.endswith(f"| 10.0% | {hit} of 2 |") for ln in am_table[:2])
    assert "independent judge" in md and "twin network (same data and recipe)" in md


def test_shipped_imageset_is_labelled_by_name(pair):
    a, _ = pair
    s = rc.shipped_imageset(a.classes)
    assert len(s) == 20
    for name, label in zip(s.ids, s.labels):
        assert name.split("_", 1)[1].startswith(a.classes[label].lower()[:3].replace("-", "_"))
    assert s.load([0], 64, 1).shape == (1, 1, 64, 64)


def test_robust_models_use_their_own_presets_and_cards_their_base(tmp_path, monkeypatch):
    # the robust variants have presets of their own (their architecture's, with AM of the
    # class log-probability), which the benchmark must use
    assert rc.preset_architecture("fmnist_vgg_robust") == "fmnist_vgg_robust"
    assert rc.preset_architecture("fmnist_resnet_robust") == "fmnist_resnet_robust"
    assert rc._tuned("fmnist_vgg_robust", "tv", "am", None, target=4).class_score == "log_prob"
    assert rc._tuned("fmnist_vgg", "tv", "am", None, target=4).class_score == "logit"
    assert rc.preset_architecture("fmnist_resnet") == "fmnist_resnet"
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "fmnist_vgg_wide.json").write_text(
        json.dumps({"name": "fmnist_vgg_wide", "base_architecture": "fmnist_vgg"}))
    monkeypatch.setenv("DEMONS_VIZ_ASSETS", str(tmp_path))
    assert rc.preset_architecture("fmnist_vgg_wide") == "fmnist_vgg"  # from the card
    with pytest.raises(VizError, match="no offline presets"):
        rc.preset_architecture("mystery_net")
    assert rc.PAIRS["robust"] == ("fmnist_vgg_robust", "fmnist_resnet_robust")


def test_settings_and_layers_errors(pair):
    a, _ = pair
    with pytest.raises(VizError):
        rc.RecognisabilitySettings(seeds=0).validate()
    with pytest.raises(VizError):
        rc.RecognisabilitySettings(parts=("am", "gallery")).validate()
    with pytest.raises(VizError, match="catalogue"):
        rc.model_layers(a, ["layer2"])
    assert rc.model_layers(a, None) == a.layers


def test_the_flat_floor_counts_only_when_its_class_was_asked_for():
    """A flat image is 'recognised' as one class: 1 of the classes asked for when that
    class is among them, 0 of them when it is not (--classes 1,7 without the flat class)."""
    from viz_core import models
    from viz_core.evaluation.recognisability import flat_verdict

    judge = models.load_model("fmnist_lenet_judge")
    every = flat_verdict(judge)
    top = judge.classes.index(every["flat_class"])
    assert every["flat_recognised"] == 1
    assert flat_verdict(judge, [top, (top + 1) % 10])["flat_recognised"] == 1
    others = [c for c in range(10) if c != top][:2]
    assert flat_verdict(judge, others) == {"flat_class": every["flat_class"],
                                           "flat_recognised": 0}


def test_the_examples_montage_labels_are_readable(tmp_path):
    """Row labels at 18 px and a label column as wide as the longest (teacher QA: ~6-10 px
    labels, unreadable where the montage is shown)."""
    import numpy as np
    from PIL import Image

    from viz_core.evaluation.reports import LABEL_PX, examples_png

    img = np.zeros((1, 32, 32), np.float32)
    examples = {"fmnist_vgg -> fmnist_resnet": {"original": [img, img],
                                                "fluid_elastic_sobolev": [img, img]}}
    path = tmp_path / "ex.png"
    examples_png(examples, path)
    arr = np.asarray(Image.open(path).convert("L"))
    ink = np.where(arr[:, :arr.shape[1] - 2 * 64].min(axis=1) < 128)[0]  # label column
    first_row = ink[ink < 64]
    assert LABEL_PX >= 16 and first_row.max() - first_row.min() >= 10
    assert arr.shape[1] - 2 * 64 > 300  # the longest label fits beside the pictures
