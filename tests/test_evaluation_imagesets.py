"""Labelled image sets (viz_core.evaluation.imagesets)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from viz_core.datasets import DEFAULT_FMNIST_ROOT, load_fashion_mnist, to_model_input
from viz_core.errors import VizError
from viz_core.evaluation.imagesets import balanced_order, fashion_mnist_images, folder_images

needs_fmnist = pytest.mark.skipif(not DEFAULT_FMNIST_ROOT.is_dir(),
                                  reason="Fashion-MNIST (dataset-fashion-mnist) not installed")


def test_balanced_order_prefixes_are_balanced():
    labels = np.repeat(np.arange(5), 20)
    order = balanced_order(labels, seed=3)
    assert sorted(order.tolist()) == list(range(100))
    assert np.bincount(labels[order[:25]], minlength=5).tolist() == [5] * 5
    assert not np.array_equal(order, balanced_order(labels, seed=4))


# ----------------------------------------------------------------------------- models


@needs_fmnist
def test_fashion_mnist_images_are_balanced_and_preprocessed():
    imgs = fashion_mnist_images(20, seed=0)
    assert np.bincount(imgs.labels, minlength=10).tolist() == [2] * 10
    x = imgs.load([0, 1], 64, 1)
    assert x.shape == (2, 1, 64, 64) and 0 <= float(x.min()) and float(x.max()) <= 1
    raw, _ = load_fashion_mnist("test")
    i = int(imgs.ids[0].split(":")[1])
    torch.testing.assert_close(x[0], to_model_input(raw[i:i + 1], 64)[0])


def test_folder_images_layouts(tmp_path, write_images):
    classes = ["tench", "goldfish", "great white shark"]
    write_images(tmp_path / "a" / "0", ["x.png"])
    write_images(tmp_path / "a" / "2", ["y.jpg", "z.png"])
    s = folder_images(tmp_path / "a", classes)
    assert sorted(s.labels.tolist()) == [0, 2, 2]
    assert s.load([0, 1], 32, 3).shape == (2, 3, 32, 32)
    write_images(tmp_path / "b" / "goldfish", ["x.png"])
    write_images(tmp_path / "b" / "great_white_shark", ["y.png"])
    assert sorted(folder_images(tmp_path / "b", classes).labels.tolist()) == [1, 2]
    write_images(tmp_path / "c", ["p.png", "q.png"])
    (tmp_path / "labels.txt").write_text("name,label\np.png,goldfish\nq.png 2\n")
    s = folder_images(tmp_path / "c", classes, labels_file=tmp_path / "labels.txt")
    assert sorted(s.labels.tolist()) == [1, 2]


def test_folder_images_errors(tmp_path, write_images):
    classes = ["a", "b"]
    with pytest.raises(VizError, match="does not exist"):
        folder_images(tmp_path / "missing", classes)
    write_images(tmp_path / "f" / "weird", ["x.png"])
    with pytest.raises(VizError, match="cannot map"):
        folder_images(tmp_path / "f", classes)
    write_images(tmp_path / "g", ["x.png"])
    (tmp_path / "l.txt").write_text("x.png 7\n")
    with pytest.raises(VizError, match="out of range"):
        folder_images(tmp_path / "g", classes, labels_file=tmp_path / "l.txt")
    (tmp_path / "l2.txt").write_text("nothere.png 1\n")
    with pytest.raises(VizError, match="not found"):
        folder_images(tmp_path / "g", classes, labels_file=tmp_path / "l2.txt")

