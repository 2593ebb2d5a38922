"""Faster inference copies of a loaded model: BatchNorm folded into the preceding
convolution (exact up to rounding) and channels-last weights, or the feature modules run
under ``torch.autocast``. Used by the Table 1 protocol (Sec. 3.2) and the benchmarks; the
pre-image, its gradient and the update of eq. 18 stay float32."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from viz_core.models import LoadedModel

__all__ = ["autocast_model", "fuse_model"]


def _fold_conv_bn(net: nn.Module) -> int:
    """Fold every eval-mode BatchNorm2d registered right after a Conv2d in the same parent
    into that convolution (the BN is replaced by Identity). Returns the number folded."""
    count = 0
    for parent in net.modules():
        names = list(parent._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = parent._modules[a], parent._modules[b]
            if not (type(conv) is nn.Conv2d and type(bn) is nn.BatchNorm2d
                    and bn.track_running_stats and bn.running_var is not None):
                continue
            with torch.no_grad():
                s = (bn.weight if bn.affine else torch.ones_like(bn.running_var)) / torch.sqrt(
                    bn.running_var + bn.eps)
                shift = bn.bias if bn.affine else torch.zeros_like(s)
                w = conv.weight * s.view(-1, 1, 1, 1)
                bias = (conv.bias if conv.bias is not None else 0.0) * s + shift \
                    - bn.running_mean * s
            conv.weight = nn.Parameter(w.detach().clone(), requires_grad=False)
            conv.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)
            parent._modules[b] = nn.Identity()
            count += 1
    return count


def fuse_model(model: LoadedModel, layers: Sequence[str] = (), channels_last: bool = True,
               rtol: float = 1e-3) -> LoadedModel:
    """A copy of a loaded model prepared for fast inference: convolution + BatchNorm pairs
    folded (exact up to rounding) and weights in channels-last memory format (faster on
    CPUs). The copy is checked against the original on a random batch at ``layers`` and the
    logits; on any mismatch (or a TorchScript model) the original is returned unchanged."""
    if not isinstance(model, LoadedModel) or model.is_script:
        return model
    net = copy.deepcopy(model.net)
    folded = _fold_conv_bn(net)
    if channels_last and model.device.type == "cpu":
        net = net.to(memory_format=torch.channels_last)
    if not folded and not channels_last:
        return model
    fused = LoadedModel(model.spec, net.eval(), model.classes, model.layers, model.aliases,
                        model.pretrained, model.label, model.device)
    spec = model.spec
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, spec.channels, spec.probe_size, spec.probe_size, generator=gen)
    x = model.normalize(x.to(model.device))
    try:
        with torch.no_grad():
            for layer in [*layers, "logits"]:
                a, b = model.features(layer)(x), fused.features(layer)(x)
                if not torch.allclose(a, b, rtol=rtol, atol=rtol * float(a.abs().max()) + 1e-6):
                    return model
    except Exception:  # noqa: BLE001 - any problem: keep the original network
        return model
    return fused


class _Autocast(nn.Module):
    """Run a feature module under autocast (reduced precision), return float32."""

    def __init__(self, inner: nn.Module, device_type: str, dtype: torch.dtype) -> None:
        super().__init__()
        self.inner, self.device_type, self.dtype = inner, device_type, dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device_type, dtype=self.dtype):
            y = self.inner(x)
        return y.float()


def autocast_model(model: LoadedModel, dtype: torch.dtype = torch.bfloat16) -> LoadedModel:
    """A view of a loaded model whose feature modules run under ``torch.autocast(dtype)``
    (same network and parameters; the pre-image, gradient and update stay float32)."""
    class _AutocastModel(LoadedModel):
        def features(self, layer: str) -> nn.Module:
            return _Autocast(super().features(layer), self.device.type, dtype)

    return _AutocastModel(model.spec, model.net, model.classes, model.layers, model.aliases,
                          model.pretrained, f"{model.label} [{dtype}]", model.device)
