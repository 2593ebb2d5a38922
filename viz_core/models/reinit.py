"""Random weights for a network the tool did not build: the baseline of the sanity check
(Adebayo et al. 2018; Sec. 3.2's "does the picture depend on what the network learned?")
for a user's own module, ``.pt2`` program or TorchScript file.

A module that knows its own initialisation (``reset_parameters``: convolutions, linear and
normalisation layers) uses it; parameters no such module owns (a ``torch.export`` program's
lifted parameters, a TorchScript module's) get PyTorch's defaults by name and shape: a
weight of two or more dimensions Kaiming-uniform with ``a = sqrt(5)`` (what ``nn.Conv2d``
and ``nn.Linear`` do), its bias uniform in +-1/sqrt(fan_in), a one-dimensional weight 1
and any other bias 0 (normalisation layers). BatchNorm running statistics restart at mean
0, variance 1. Seeded: the same seed gives the same weights.

>>> import torch.nn as nn
>>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
>>> a = reinitialise(net, seed=0)[0].weight.clone()
>>> bool(torch.equal(a, reinitialise(net, seed=0)[0].weight))
True
>>> float(net[1].running_var.sum())
2.0
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

__all__ = ["reinitialise"]


def reinitialise(net: nn.Module, seed: int = 0) -> nn.Module:
    """``net`` with every parameter at PyTorch's default initialisation (module text), in
    place, seeded by ``seed`` without touching the global random state; returns ``net``."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        done: set[int] = set()
        for m in net.modules():
            reset = getattr(m, "reset_parameters", None)
            if callable(reset) and not isinstance(m, torch.jit.ScriptModule):
                reset()
                done |= {id(p) for p in m.parameters(recurse=False)}
        params = dict(net.named_parameters())
        for name, p in params.items():
            if id(p) not in done:
                _default(name, p, params)
        for name, b in net.named_buffers():
            leaf = name.rsplit(".", 1)[-1]
            if leaf in ("running_mean", "num_batches_tracked"):
                b.zero_()
            elif leaf == "running_var":
                b.fill_(1.0)
    return net


def _default(name: str, p: torch.Tensor, params: dict[str, torch.Tensor]) -> None:
    """PyTorch's default for a parameter no module of its own initialised."""
    if p.dim() >= 2:
        nn.init.kaiming_uniform_(p, a=math.sqrt(5))
        return
    stem, _, leaf = name.rpartition(".")
    weight = params.get(f"{stem}.weight" if stem else "weight")
    if leaf == "bias" and weight is not None and weight.dim() >= 2:
        bound = 1.0 / math.sqrt(max(1, weight[0].numel()))
        nn.init.uniform_(p, -bound, bound)
    elif leaf == "bias":
        nn.init.zeros_(p)
    else:
        nn.init.ones_(p)
