"""Divergence bookkeeping (viz_core.divergence): a small image's clipped updates go into a
ring of buffers summed at frames, a large one's are summed at their step; both find the
first non-finite update (Sec. 2.5) and keep the sample's last good frame, and the ring
changes nothing in the numbers."""

import numpy as np
import pytest

import viz_core.divergence as divergence
import viz_core.engine as engine
from viz_core.config import RunConfig
from viz_core.engine import run
from viz_core.kernels import KernelSpec

S = KernelSpec("sobolev", None, 5)


def am(**kw):
    base = dict(model="tiny", target=2, steps=60, step_size=4.0, seed=3)
    base.update(kw)
    return RunConfig(**base)


def _poison(monkeypatch, from_step: int) -> None:
    real = engine.SchemeBank.step

    def poisoned(self, u, g, step, *a):
        out = real(self, u, g, step, *a)
        if step >= from_step:  # NaN for sample 1 from step from_step + 1 on
            out[1] = float("nan")
        return out

    monkeypatch.setattr(engine.SchemeBank, "step", poisoned)


@pytest.mark.parametrize("ring", [True, False])
def test_the_first_bad_step_in_a_chunk_longer_than_the_ring(tiny_model, monkeypatch, ring):
    if not ring:  # every update summed at its own step (as for large images)
        monkeypatch.setattr(divergence, "RING_NUMEL", 0)
    assert 40 > divergence.RING_STEPS  # the ring is summed and started over mid-chunk
    _poison(monkeypatch, 24)
    frames = list(run([am(), am(fluid=S)], tiny_model, every=40))
    last = frames[-1]
    assert [f.step for f in frames] == [0, 40, 60]
    assert last.diverged[0] is None and "step 25" in last.diverged[1]
    np.testing.assert_array_equal(last.images[1], frames[0].images[1])
    assert np.isfinite(last.images).all() and np.isfinite(last.objective[0])


@pytest.mark.parametrize("every", [1, 7, 40])
def test_the_ring_changes_no_number(tiny_model, monkeypatch, every):
    cfgs = [am(steps=45), am(steps=45, fluid=S, elastic=S, tv=0.05)]
    with_ring = list(run(cfgs, tiny_model, every=every))
    monkeypatch.setattr(divergence, "RING_NUMEL", 0)
    without = list(run(cfgs, tiny_model, every=every))
    assert [f.step for f in with_ring] == [f.step for f in without]
    for a, b in zip(with_ring, without):
        np.testing.assert_array_equal(a.images, b.images)
        np.testing.assert_array_equal(a.objective, b.objective)
        np.testing.assert_array_equal(a.grad_norm, b.grad_norm)
        assert a.diverged == b.diverged == [None, None]


def test_frames_do_not_share_their_numbers(tiny_model):
    frames = list(run(am(steps=6), tiny_model, every=3))
    frames[1].objective[:] = 123.0
    assert frames[2].objective[0] != 123.0 and frames[0].objective[0] != 123.0
