"""Per-scheme numbers for any batch of runs (final objective, target activation or
relative feature error, high-frequency and coarse share, total variation of eq. 19, PSNR /
SSIM for inversion), the standard comparison set, and the paper's qualitative claims
(Sec. 4.1) checked on them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from viz_core.config import RunConfig
from viz_core.evaluation.protocol import PAPER_KERNEL_SIZE, TV_EPS, TV_LAMBDA, scheme_config
from viz_core.evaluation.reports import fmt
from viz_core.metrics import image_metrics

__all__ = ["STANDARD_SCHEMES", "paper_claims", "scheme_metrics", "scheme_metrics_markdown",
           "standard_schemes"]

#: The comparison set: plain GD, fluid / elastic / fluid-elastic demons with Sobolev, then
#: with Gaussian filters, and TV (registry keys).
STANDARD_SCHEMES = ("plain", "fluid_sobolev", "elastic_sobolev", "fluid_elastic_sobolev",
                    "fluid_gaussian", "elastic_gaussian", "fluid_elastic_gaussian", "tv")


def standard_schemes(base: RunConfig, kernel_size: int = PAPER_KERNEL_SIZE,
                     tv: float = TV_LAMBDA, tv_eps: float = TV_EPS) -> list[RunConfig]:
    """:data:`STANDARD_SCHEMES` on ``base``'s task (one batch), each named by its key."""
    return [scheme_config(base, k, kernel_size, tv, tv_eps) for k in STANDARD_SCHEMES]


def scheme_metrics(frame, configs: Sequence[RunConfig] | None = None,
                   reference: torch.Tensor | np.ndarray | None = None) -> list[dict]:
    """Per sample of a (final) :class:`~viz_core.engine.Frame`: scheme, final objective,
    target activation (AM) or relative feature error (inversion), high-frequency fraction,
    coarse fraction, total variation and, given the inverted ``reference`` (1|B, C, H, W),
    PSNR and SSIM."""
    imgs = np.asarray(frame.images)
    ref = None
    if reference is not None:
        ref = torch.as_tensor(np.asarray(reference, dtype=np.float32))
        ref = ref[None] if ref.ndim == 3 else ref
    met = image_metrics(imgs, ref)
    rows = []
    for i in range(imgs.shape[0]):
        cfg = configs[i] if configs is not None else None
        row = {"label": frame.labels[i] if i < len(frame.labels) else str(i),
               "scheme": cfg.scheme.name if cfg is not None else "",
               "kernels": cfg.scheme.label if cfg is not None else "",
               "task": cfg.task if cfg is not None else "",
               "objective": float(frame.objective[i]),
               "activation": float(frame.activation[i]),
               "hf_fraction": float(met["hf_fraction"][i]),
               "coarse_fraction": float(met["coarse_fraction"][i]),
               "tv": float(met["tv"][i]),
               "diverged": frame.diverged[i] if i < len(frame.diverged) else None}
        if ref is not None:
            row["psnr"] = float(met["psnr"][i])
            row["ssim"] = float(met["ssim"][i])
        rows.append(row)
    return rows


def scheme_metrics_markdown(rows: list[dict]) -> str:
    """The rows of :func:`scheme_metrics` as a Markdown table."""
    inv = any(r.get("task") == "inversion" for r in rows)
    cols = [("label", "scheme"), ("objective", "final objective"),
            ("activation", "rel. feature error" if inv else "target activation"),
            ("hf_fraction", "HF fraction"), ("coarse_fraction", "coarse fraction"), ("tv", "TV")]
    if any("psnr" in r for r in rows):
        cols += [("psnr", "PSNR dB"), ("ssim", "SSIM")]
    lines = ["| " + " | ".join(c[1] for c in cols) + " |",
             "|---|" + "---:|" * (len(cols) - 1)]
    for r in rows:
        lab = r["label"] + (" (diverged)" if r.get("diverged") else "")
        lines.append("| " + " | ".join([lab] + [fmt(r.get(k), 4) for k, _ in cols[1:]])
                     + " |")
    return "\n".join(lines)


def paper_claims(rows: list[dict]) -> list[str]:
    """Check the paper's qualitative claims (Sec. 4.1) on scheme-metric rows named by
    :func:`standard_schemes`: Sobolev sharper than Gaussian (higher HF fraction, per slot
    combination), elastic and fluid-elastic keep more coarse scales than fluid (higher
    coarse fraction, per kernel)."""
    by = {r["label"]: r for r in rows}
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
