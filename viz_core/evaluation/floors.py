"""Floors a reconstruction has to beat (a picture is a claim: Sec. 3.2's transfer test
only means something next to what no reconstruction at all would score).

* **Flat image**: a constant image at the set's mean intensity. Its PSNR and SSIM against
  each original, and how the judging network classifies it (one class for every image, so
  its top-1 is that class's share of the set, about 10 % on a balanced set).
* **Chance**: top-1 ``1/C`` and top-5 ``5/C`` for ``C`` classes (10 % and 50 % for ten).
"""

from __future__ import annotations

import numpy as np
import torch

from viz_core.config import RunConfig
from viz_core.evaluation.imagesets import ImageSet
from viz_core.judging import classify, mean_finite, quantize, topk_hits
from viz_core.metrics import psnr, ssim
from viz_core.models import LoadedModel

__all__ = ["FLOORS_HEADING", "chance_levels", "flat_feature_error", "flat_floor",
           "floors_markdown", "floors_section", "table1_floors"]

FLOORS_HEADING = "## Floors a reconstruction has to beat"


def chance_levels(n_classes: int) -> dict[str, float]:
    """Top-1 and top-5 of a guess, in % (10 % and 50 % for ten classes)."""
    return {"chance_top1": 100.0 / n_classes,
            "chance_top5": 100.0 * min(5, n_classes) / n_classes}


def flat_floor(originals: torch.Tensor) -> dict[str, float]:
    """The flat-image floor: a constant image at the set's mean intensity, its PSNR and
    SSIM against each original (N, C, H, W in [0, 1]), averaged over the originals."""
    x = originals.float()
    flat = torch.full_like(x, float(x.mean()))
    return {"flat_value": float(x.mean()),
            "flat_psnr": mean_finite(np.atleast_1d(psnr(flat, x))),
            "flat_ssim": mean_finite(np.atleast_1d(ssim(flat, x)))}


def table1_floors(judges: dict[str, LoadedModel], images: ImageSet, n: int) -> list[dict]:
    """Per direction (``"A -> B"`` -> judge B): the flat image's PSNR / SSIM against the
    first ``n`` images of ``images`` (at B's input size) and B's top-1 / top-5 on the
    8-bit flat image, with the chance levels."""
    rows = []
    labels = np.asarray(images.labels[:n])
    for direction, judge in judges.items():
        size, ch = judge.spec.input_size, judge.spec.channels
        x = images.load(range(n), size, ch)
        floor = flat_floor(x)
        flat = quantize(torch.full_like(x, floor["flat_value"]))
        logits = classify(judge, flat)
        rows.append({"direction": direction, **floor,
                     "flat_top1": 100 * mean_finite(topk_hits(logits, labels, 1)),
                     "flat_top5": 100 * mean_finite(topk_hits(logits, labels, 5)),
                     **chance_levels(len(judge.classes))})
    return rows


def floors_markdown(rows: list[dict]) -> str:
    """The floors as a Markdown table, one row per direction."""
    lines = ["| direction | flat image: judge's top-1 | top-5 | PSNR dB | SSIM | "
             "chance top-1 | chance top-5 |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['direction']} | {r['flat_top1']:.1f}% | {r['flat_top5']:.1f}% | "
                     f"{r['flat_psnr']:.2f} | {r['flat_ssim']:.3f} | {r['chance_top1']:.0f}% "
                     f"| {r['chance_top5']:.0f}% |")
    return "\n".join(lines)


def floors_section(rows: list[dict], command: str = "") -> list[str]:
    """The Markdown section of a Table 1 report that states the floors (lines)."""
    out = [FLOORS_HEADING, "",
           "A flat image at the set's mean grey, quantised to 8 bits, judged by the other "
           "network and by the independent judge (each predicts one class for every "
           "image), its PSNR / SSIM against the originals, and chance levels. A method "
           "that does not beat these has not reconstructed anything the other network "
           "can use.", ""]
    if command:
        out += [f"Command: `{command}`", ""]
    return out + [floors_markdown(rows), ""]


def flat_feature_error(config: RunConfig, model: LoadedModel,
                       reference: np.ndarray | torch.Tensor) -> float:
    """The floor of an inversion's relative feature error ||Phi(u) - Phi(x)|| / ||Phi(x)||
    (eq. 3) at ``config``'s layer: that of a flat image at the mean of the inverted image
    ``reference`` (1, C, S, S) (the flat image of :func:`flat_floor`); a pre-image whose
    error is not below it reconstructs nothing. One forward pass of the image and the flat
    image together."""
    from viz_core.objectives import Objective

    ref = torch.as_tensor(np.asarray(reference[:1].detach().cpu() if isinstance(
        reference, torch.Tensor) else reference[:1], dtype=np.float32))
    target = config.target_spec(model.spec.default_layer)
    with torch.no_grad():
        net = Objective(model, [target])  # Phi at the target's layer
        both = torch.cat([ref, torch.full_like(ref, float(ref.mean()))]).to(model.device)
        phi0, phi = net.features(both).flatten(1)
        return float((phi - phi0).norm() / phi0.norm().clamp(min=1e-12))
