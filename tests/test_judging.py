"""8-bit quantisation and top-k hits (viz_core.judging)."""

from __future__ import annotations

import numpy as np
import torch

from viz_core.judging import mean_finite, quantize, topk_hits


def test_quantize_and_topk():
    x = np.array([[[[0.0, 0.5, 1.0, 0.2]]]], dtype=np.float32)
    q = quantize(x)
    assert q.shape == (1, 1, 1, 4)
    assert torch.allclose(q * 255, torch.round(q * 255))
    logits = torch.tensor([[0.1, 0.9, 0.3], [0.5, 0.2, 0.4]])
    assert topk_hits(logits, np.array([1, 1]), 1).tolist() == [True, False]
    assert topk_hits(logits, np.array([1, 1]), 2).tolist() == [True, False]
    assert topk_hits(logits, np.array([1, 1]), 5).tolist() == [True, True]


# ----------------------------------------------------------------------------- protocol


def test_mean_finite_ignores_nan_and_inf():
    assert mean_finite([1.0, float("nan"), 3.0, float("inf")]) == 2.0
    assert np.isnan(mean_finite([float("nan")]))
