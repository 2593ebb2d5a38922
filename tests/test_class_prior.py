"""Starting pre-images (viz_core.class_prior): the paper's noise start stays the default and
unchanged; the class-conditional start is its own labelled setting (config, CLI flag)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from viz_core.class_prior import INITS, initial_images
from viz_core.config import RunConfig
from viz_core.datasets import DEFAULT_FMNIST_ROOT, load_fashion_mnist, to_model_input
from viz_core.errors import VizError


def test_noise_start_is_the_default_and_the_papers_formula():
    assert RunConfig().init == "noise" and INITS[0] == "noise"
    x = initial_images(["noise", "noise"], [None, 3], [5, 6], [0.02, 0.1], (0.3,), 1, 16, True)
    for i, (seed, std) in enumerate(((5, 0.02), (6, 0.1))):
        g = torch.Generator().manual_seed(seed)
        want = (torch.randn(1, 16, 16, generator=g) * std + 0.3).clamp(0, 1)
        torch.testing.assert_close(x[i], want, rtol=0, atol=0)


def test_bad_init_settings_are_one_clear_error():
    with pytest.raises(VizError, match="init must be one of"):
        RunConfig(model="fmnist_vgg", target=1, init="prior").validate()
    with pytest.raises(VizError, match="class activation maximization"):
        RunConfig(model="fmnist_vgg", task="inversion", image="x.png",
                  init="class_conditional").validate()
    with pytest.raises(VizError, match="Fashion-MNIST model"):
        initial_images(["class_conditional"], [3], [0], [0.02], (0.4, 0.4, 0.4), 3, 16, False)


@pytest.mark.skipif(not DEFAULT_FMNIST_ROOT.is_dir(), reason="Fashion-MNIST not installed")
def test_class_conditional_start_looks_like_its_class():
    """The average of draws of class k is closest to class k's mean training image; draws
    differ between seeds and repeat for one seed."""
    images, labels = load_fashion_mnist("train")
    means = torch.stack([to_model_input(images[labels == c][:2000], 32).mean(0)
                         for c in range(10)])
    for target in (1, 5, 8):
        x = initial_images(["class_conditional"] * 16, [target] * 16, range(16), [0.02] * 16,
                           (0.2862,), 1, 32, True)
        assert x.shape == (16, 1, 32, 32) and 0 <= x.min() and x.max() <= 1
        assert not torch.equal(x[0], x[1])
        dist = ((means - x.mean(0)) ** 2).flatten(1).mean(1)
        assert int(dist.argmin()) == target, dist
        again = initial_images(["class_conditional"], [target], [0], [0.02], (0.2862,), 1, 32,
                               True)
        torch.testing.assert_close(again[0], x[0])


@pytest.mark.skipif(not DEFAULT_FMNIST_ROOT.is_dir(), reason="Fashion-MNIST not installed")
def test_engine_starts_from_the_chosen_start():
    from viz_core.engine import run_to_end

    cfg = RunConfig(model="fmnist_vgg", task="am", target=1, steps=1, step_size=1e-6, every=1)
    res = run_to_end([cfg, replace(cfg, init="class_conditional")], keep_frames=True)
    start = res.frames[0].images
    assert start[0].std() < 0.05 < start[1].std()  # noise around the mean vs a trouser draw
