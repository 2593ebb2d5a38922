"""Octave readings (Sec. 3.1): absolute scales with uniform crops, or deepdraw's compounding
zoom with crops normal around the centre."""

import numpy as np
import pytest
import torch

from viz_core.config import RunConfig
from viz_core.engine import run
from viz_core.errors import VizError
from viz_core.transforms import Octave, canvas_sizes, draw_offsets


def test_deepdraw_scales_compound_absolute_ones_do_not():
    assert canvas_sizes([1.0, 1.1, 1.2], 100) == [100, 110, 120]
    assert canvas_sizes([1.0, 1.1, 1.2], 100, "deepdraw") == [100, 110, 132]
    assert canvas_sizes([1.4, 1.4], 64, "deepdraw") == [90, 126]
    with pytest.raises(VizError) as err:
        canvas_sizes([1.0], 64, "pyramid")
    assert err.value.field == "octave_mode"


def _crops(mode: str, slack: int = 100, n: int = 4000) -> np.ndarray:
    gen = torch.Generator().manual_seed(0)
    return np.array([draw_offsets(gen, 0, slack, mode)[:2] for _ in range(n)]).ravel()


def test_deepdraw_crops_are_normal_around_the_centre():
    dd, ab = _crops("deepdraw"), _crops("absolute")
    assert dd.min() >= 0 and dd.max() <= 100 and ab.min() >= 0 and ab.max() <= 100
    assert abs(dd.mean() - 50) < 1.5 and abs(ab.mean() - 50) < 1.5
    # normal(50, 30) clipped to [0, 100]: 42 % within the middle third (uniform: 33 %),
    # and ~4.8 % of the draws on each edge (uniform: 1 %)
    mid = lambda c: np.mean(np.abs(c - 50) < 100 / 6)  # noqa: E731
    assert mid(dd) > 0.39 and mid(ab) < 0.36
    assert 0.035 < np.mean(dd == 0) < 0.065 and np.mean(ab == 0) < 0.02
    # the jitter shifts keep their uniform law and range in both modes
    gen = torch.Generator().manual_seed(1)
    shifts = np.array([draw_offsets(gen, 3, 10, "deepdraw")[2:] for _ in range(500)])
    assert shifts.min() == -3 and shifts.max() == 3


def test_engine_runs_both_readings(tiny_model):
    octs = [Octave(1.0, 2, 4.0), Octave(1.25, 2, 2.0), Octave(1.2, 2, 1.0)]
    kw = dict(model="tiny", target=1, steps=6, octaves=octs, seed=2)
    absolute = list(run(RunConfig(**kw), tiny_model, every=2))
    deepdraw = list(run(RunConfig(octave_mode="deepdraw", **kw), tiny_model, every=2))
    assert [f.images.shape[-1] for f in absolute] == [32, 32, 40, 38]
    assert [f.images.shape[-1] for f in deepdraw] == [32, 32, 40, 48]
    assert np.isfinite(deepdraw[-1].images).all()
    cfg = RunConfig(octave_mode="deepdraw", **kw)
    assert RunConfig.from_json(cfg.to_json()) == cfg
    old = {k: v for k, v in cfg.to_dict().items() if k != "octave_mode"}
    assert RunConfig.from_dict(old).octave_mode == "absolute"
