"""Floors of the Table 1 report: the flat image and chance levels (viz_core.evaluation.floors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from viz_core import models
from viz_core.evaluation.floors import chance_levels, floors_markdown, table1_floors
from viz_core.evaluation.imagesets import ImageSet
from viz_core.judging import classify, quantize


def _set(labels: list[int]) -> ImageSet:
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(len(labels), 1, 64, 64, generator=g)

    def load(idx, size, channels):
        return imgs[list(idx)]

    return ImageSet("synthetic", np.asarray(labels), load)


def test_flat_image_floor_is_the_share_of_the_class_the_judge_picks():
    judge = models.load_model("fmnist_resnet")
    labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9]
    rows = table1_floors({"a -> b": judge}, _set(labels), len(labels))
    (r,) = rows
    # the judge sees one constant image: one prediction for all twelve
    grey = quantize(torch.full((1, 1, 64, 64), r["flat_value"]))
    pred = int(classify(judge, grey).argmax())
    assert r["flat_top1"] == pytest.approx(100 * labels.count(pred) / len(labels))
    assert r["flat_psnr"] < 12 and 0 <= r["flat_ssim"] < 0.2   # uniform noise vs its mean
    assert r["chance_top1"] == 10 and r["chance_top5"] == 50
    md = floors_markdown(rows)
    assert "a -> b" in md and "chance top-1" in md


def test_chance_levels():
    assert chance_levels(10) == {"chance_top1": 10.0, "chance_top5": 50.0}
    assert chance_levels(1000)["chance_top1"] == pytest.approx(0.1)
