"""Per-scheme metrics and the paper's Sec. 4.1 claims (viz_core.evaluation.scheme_metrics)."""

from __future__ import annotations

import torch

from viz_core.config import RunConfig
from viz_core.engine import run_to_end
from viz_core.evaluation.scheme_metrics import (
    paper_claims,
    scheme_metrics,
    scheme_metrics_markdown,
    standard_schemes,
)
from viz_core.schemes import FIG1_SCHEMES, SCHEME_REGISTRY


def test_scheme_metrics_and_claims(tiny_model):
    base = RunConfig(model="tiny", task="am", target=1, steps=8, step_size=5.0, every=8)
    cfgs = standard_schemes(base, kernel_size=5)
    res = run_to_end(cfgs, tiny_model, keep_frames=False)
    rows = scheme_metrics(res.final, cfgs)
    # one kind of value per column: the scheme column holds registry keys, labels the
    # registry's labels
    assert [r["scheme"] for r in rows] == list(FIG1_SCHEMES)
    assert [r["label"] for r in rows] == [SCHEME_REGISTRY[k].label for k in FIG1_SCHEMES]
    for r in rows:
        assert {"objective", "activation", "hf_fraction", "coarse_fraction",
                "total_variation"} <= set(r) and "tv" not in r
        assert 0 <= r["hf_fraction"] <= 1 and r["total_variation"] >= 0
    claims = paper_claims(rows)
    assert len(claims) == 7 and all(c.endswith(("yes", "no")) for c in claims)
    md = scheme_metrics_markdown(rows)
    assert md.count("\n") == len(rows) + 1 and "target activation" in md


def test_scheme_metrics_inversion_has_psnr_ssim(tiny_model):
    ref = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    base = RunConfig(model="tiny", task="inversion", layer="conv2", steps=4, every=4)
    cfgs = standard_schemes(base, kernel_size=5)[:3]
    res = run_to_end(cfgs, tiny_model, reference=ref, keep_frames=False)
    rows = scheme_metrics(res.final, cfgs, ref)
    assert all("psnr" in r and "ssim" in r for r in rows)
    assert "PSNR dB" in scheme_metrics_markdown(rows)


# ----------------------------------------------------------------------------- CLI
