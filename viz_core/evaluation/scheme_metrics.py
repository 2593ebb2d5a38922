"""Per-scheme numbers for any batch of runs (final objective, target activation or
relative feature error, high-frequency and coarse share, total variation of eq. 19, PSNR /
SSIM for inversion), the standard comparison set, and the paper's qualitative claims
(Sec. 4.1) checked on them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from viz_core.config import RunConfig, scheme_config
from viz_core.evaluation.protocol import PAPER_KERNEL_SIZE, TV_EPS, TV_LAMBDA
from viz_core.evaluation.reports import fmt
from viz_core.metrics import METRICS, metric_label, run_rows
from viz_core.schemes import FIG1_SCHEMES
from viz_core.tables import markdown_table

__all__ = ["paper_claims", "scheme_metrics", "scheme_metrics_markdown", "standard_schemes",
           "table_columns"]


def standard_schemes(base: RunConfig, kernel_size: int = PAPER_KERNEL_SIZE,
                     tv: float = TV_LAMBDA, tv_eps: float = TV_EPS,
                     schemes: Sequence[str] = FIG1_SCHEMES) -> list[RunConfig]:
    """The comparison set on ``base``'s task (one batch): the eight schemes of Fig. 1 (or
    ``schemes``, registry keys), kernels fitted to ``kernel_size`` (Sec. 2.7)."""
    return [scheme_config(base, k, kernel_size, tv, tv_eps) for k in schemes]


def scheme_metrics(frame, configs: Sequence[RunConfig] | None = None,
                   reference: torch.Tensor | np.ndarray | None = None) -> list[dict]:
    """Per sample of a (final) :class:`~viz_core.engine.Frame`: the rows of
    :func:`viz_core.metrics.run_rows` (scheme key, final objective, target activation or
    relative feature error, every image metric and, given the inverted ``reference``
    (1|B, C, H, W), PSNR and SSIM)."""
    ref = None
    if reference is not None:
        ref = torch.as_tensor(np.asarray(reference, dtype=np.float32))
        ref = ref[None] if ref.ndim == 3 else ref
    return run_rows(frame, configs, ref)


def table_columns(rows: list[dict]) -> list[str]:
    """The metric columns with a value in some row, in registry order."""
    return [k for k in METRICS if any(r.get(k) is not None for r in rows)]


def scheme_metrics_markdown(rows: list[dict]) -> str:
    """The rows of :func:`scheme_metrics` as a Markdown table (labels from the registry)."""
    tasks = {r.get("task") for r in rows}
    # one task: what its activation measures; both: the registry's label, which names both
    act = metric_label("activation") if len(tasks) > 1 else \
        metric_label("feature_error") if tasks == {"inversion"} else "target activation"
    cols = [k for k in table_columns(rows) if k != "feature_error"]
    head = ["scheme"] + [act if k == "activation" else metric_label(k) for k in cols]
    body = [[r["label"] + (" (diverged)" if r.get("diverged") else "")]
            + [fmt(r.get(k), 4) for k in cols] for r in rows]
    return markdown_table(head, body)


def paper_claims(rows: list[dict]) -> list[str]:
    """Check the paper's qualitative claims (Sec. 4.1) on scheme-metric rows of
    :func:`standard_schemes` (by scheme key): Sobolev sharper than Gaussian (higher HF
    fraction, per slot combination), elastic and fluid-elastic keep more coarse scales
    than fluid (higher coarse fraction, per kernel)."""
    by = {r["scheme"]: r for r in rows}
    out = []
    for slots in ("fluid", "elastic", "fluid_elastic"):
        s, g = by.get(f"{slots}_sobolev"), by.get(f"{slots}_gaussian")
        if s and g:
            ok = s["hf_fraction"] > g["hf_fraction"]
            out.append(f"Sobolev sharper than Gaussian ({slots.replace('_', '-')} demons): "
                       f"HF fraction {s['hf_fraction']:.4f} vs {g['hf_fraction']:.4f} -> "
                       f"{'yes' if ok else 'no'}")
    for kern in ("sobolev", "gaussian"):
        f = by.get(f"fluid_{kern}")
        for other in ("elastic", "fluid_elastic"):
            o = by.get(f"{other}_{kern}")
            if f and o:
                ok = o["coarse_fraction"] > f["coarse_fraction"]
                out.append(f"{other.replace('_', '-')} keeps more coarse scales than fluid "
                           f"({kern}): coarse fraction {o['coarse_fraction']:.4f} vs "
                           f"{f['coarse_fraction']:.4f} -> {'yes' if ok else 'no'}")
    return out
