"""Each member of a batch runs as it would alone (eq. 18 per sample): with a network whose
forward and backward pass give every sample the same numbers in any batch, a batched run's
pre-images and activations equal the lone runs' bit for bit, over 40 steps.

The network here runs each sample through the tiny CNN on its own, so any difference left
is the engine's: the step size of each member (tau per configuration), the route of its
kernels (the matrix routes or the convolution, chosen per sample, never by the batch's size
or by another member's kernels), the mean image of L2 decay, and the bookkeeping. Real
networks' batched convolutions round differently from a single sample's (about 1e-7 at a
step) and activation maximization can grow that (tests/test_engine.py); that part is the
network's, not the engine's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.conftest import TinyModel
from viz_core.config import RunConfig
from viz_core.engine import run_to_end
from viz_core.kernels import KernelSpec
from viz_core.schemes import Scheme, SchemeBank


class _EachAlone(nn.Module):
    """The layer's network applied to each sample of a batch on its own."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.net(x[i:i + 1]) for i in range(x.shape[0])])


class BatchInvariantModel(TinyModel):
    """:class:`TinyModel` whose numbers for a sample do not depend on its batch."""

    def features(self, layer: str) -> nn.Module:
        return _EachAlone(super().features(layer))


@pytest.fixture(scope="module")
def model() -> BatchInvariantModel:
    return BatchInvariantModel()


def _am(**kw) -> RunConfig:
    base = dict(model="tiny", target=2, steps=40, step_size=2.0, seed=3,
                elastic=KernelSpec("sobolev", 1.6, 11), every=40)
    base.update(kw)
    return RunConfig(**base)


def _assert_members_alone(model, cfgs, **run_kw) -> None:
    batched = run_to_end(cfgs, model, **run_kw).final
    for i, c in enumerate(cfgs):
        alone = run_to_end(c, model, **run_kw).final
        assert np.array_equal(batched.images[i], alone.images[0]), \
            (i, float(np.abs(batched.images[i] - alone.images[0]).max()))
        assert batched.activation[i] == alone.activation[0], i
        assert batched.objective[i] == alone.objective[0], i


def test_members_differing_in_step_size_and_gamma_run_as_alone(model):
    """The QA case: elastic Sobolev, kernel size 11, tau 2, 40 steps, in a batch with other
    step sizes and gammas (tau per member: each its own step factor; three members of three
    channels at 32 px: more planes than one sample's matrix route takes)."""
    cfgs = [_am(), _am(step_size=5.0), _am(elastic=KernelSpec("sobolev", 0.1, 11))]
    _assert_members_alone(model, cfgs)


def test_a_member_with_a_kernel_of_the_general_path_does_not_move_the_others(model):
    """A spectral, an L2-decay and an every-2-steps member take the general path; the
    Sobolev and Gaussian members keep the matrix routes they take alone, and the decay
    member shrinks towards the mean image while the unit-gain ones do not."""
    cfgs = [_am(), _am(fluid=KernelSpec("spectral", 1.0), elastic=None, step_size=3.0),
            _am(elastic=KernelSpec("decay", 0.5)),
            _am(elastic=KernelSpec("gaussian", None, 5), elastic_every=2),
            _am(fluid=KernelSpec("gaussian", None, 5), step_size=1.0)]
    _assert_members_alone(model, cfgs)


def test_a_six_member_batch_of_one_scheme_runs_as_alone(model):
    cfgs = [_am(step_size=t) for t in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)]
    _assert_members_alone(model, cfgs)


def test_the_route_of_a_sample_does_not_depend_on_the_batch_size():
    """One update of eq. 18, one Sobolev fluid-elastic scheme, batches of 1 to 8 one-channel
    64 px samples: every sample's update equals its lone update bit for bit."""
    s = Scheme(fluid=KernelSpec("sobolev", None, 11), elastic=KernelSpec("sobolev", 1.6, 11))
    gen = torch.Generator().manual_seed(0)
    u, g = torch.rand(8, 1, 64, 64, generator=gen), torch.randn(8, 1, 64, 64, generator=gen)
    den = g.abs().sum((1, 2, 3))
    center = torch.full((1, 1, 1, 1), 0.5)

    def step(n: int) -> torch.Tensor:
        col = torch.ones(n, 1, 1, 1)
        d = den[:n] if n == 1 else den[:n].view(n, 1, 1, 1)
        return SchemeBank([s] * n, [0.01] * n).step(u[:n], g[:n], 0, center, 40.0,
                                                      col * 0.0, col * 0.05, d)

    alone = [step(1)[0]]
    for n in (2, 4, 5, 8):
        out = step(n)
        assert torch.equal(out[0], alone[0]), n
