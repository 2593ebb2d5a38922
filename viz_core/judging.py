"""How a second network judges a pre-image (the recognisability measure of Table 1,
Sec. 3.2): quantise to 8 bits as a saved PNG would, classify, count top-k hits. Used by
the evaluation protocols and by the sweeps' cells alike (neither imports the other's
code for it)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from viz_core.images import from_uint8, quantize_uint8
from viz_core.models import LoadedModel

__all__ = ["classify", "mean_finite", "quantize", "topk_hits", "verdicts"]


@torch.no_grad()
def classify(model: LoadedModel, images: torch.Tensor, batch: int = 250) -> torch.Tensor:
    """Logits of ``model`` for images (N, C, H, W) in [0, 1] (resized to its input size)."""
    s = model.spec.input_size
    head = model.features("logits")
    outs = []
    for i in range(0, len(images), batch):
        x = images[i:i + batch].to(model.device, torch.float32)
        if x.shape[1] != model.spec.channels:
            x = x.mean(1, keepdim=True) if model.spec.channels == 1 else \
                x.expand(-1, model.spec.channels, -1, -1)
        if x.shape[-1] != s or x.shape[-2] != s:
            x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False,
                              antialias=True)
        outs.append(head(model.normalize(x)).float().cpu())
    return torch.cat(outs)


def quantize(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """8-bit quantisation as a saved pre-image (:func:`viz_core.images.quantize_uint8`),
    back to [0, 1]: (N, C, H, W) float32."""
    return torch.from_numpy(from_uint8(quantize_uint8(images)))


def verdicts(model: LoadedModel, images: np.ndarray | torch.Tensor,
             targets: list[int | None], role: str, k: int = 3,
             originals: np.ndarray | torch.Tensor | None = None) -> list[dict]:
    """How ``model`` classifies each 8-bit pre-image (N, C, H, W) in [0, 1], one forward
    pass: its top-``k`` classes with their probabilities, the target class's probability
    and chance (the recognisability test of Sec. 3.2). ``role``: who judges ("model",
    "judge").

    ``originals``: the inverted images (1 or N) of a feature inversion (eq. 3). Each verdict
    then also gives the network's top class on the original (``original``), and a sample
    without a known class (``targets[i]`` None) takes that class as its target
    (``target_from: "original"``): the inversion is recognised when the network sees in it
    what it sees in the original. A known class (Table 1's labels) gives
    ``target_from: "label"``.

    A network whose output on an image is NaN or Inf gives no verdict on it: no top classes
    and no target probability, ``not_finite: True`` instead (no ranking or percentage from
    probabilities that are not numbers); a non-finite output on the original gives no
    ``original``.
    """
    p = torch.softmax(classify(model, quantize(images)).double(), dim=1).numpy()
    po = None
    if originals is not None:
        po = torch.softmax(classify(model, quantize(originals)).double(), dim=1).numpy()
        po = np.broadcast_to(po, (len(p), po.shape[1])) if len(po) == 1 else po
    name = getattr(model.spec, "name", str(model))
    out = []
    for i, (pi, t) in enumerate(zip(p, targets)):
        extra = {}
        if not np.isfinite(pi).all():
            out.append({"role": role, "model": name, "top": [],
                        "target": None if t is None else str(model.classes[t])
                        if 0 <= t < len(pi) else str(t),
                        "target_prob": None, "chance": 1.0 / len(pi), "not_finite": True})
            continue
        if po is not None and np.isfinite(po[i]).all():
            o = int(np.argmax(po[i]))
            extra = {"original": [str(model.classes[o]), float(po[i][o])],
                     "target_from": "label" if t is not None else "original"}
            t = o if t is None else t
        inside = t is not None and 0 <= t < len(pi)
        out.append({"role": role, "model": name,
                    "top": [[str(model.classes[j]), float(pi[j])]
                            for j in np.argsort(-pi)[:k]],
                    "target": None if t is None else str(model.classes[t]) if inside
                    else str(t),
                    "target_prob": float(pi[t]) if inside else None,
                    "chance": 1.0 / len(pi), **extra})
    return out


def topk_hits(logits: torch.Tensor, labels: np.ndarray, k: int) -> np.ndarray:
    """Per image: is the label among the ``k`` highest logits?"""
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices.numpy()
    return (top == np.asarray(labels)[:, None]).any(1)


def mean_finite(a: np.ndarray | list[float]) -> float:
    """Mean of the finite values (NaN when there is none)."""
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else float("nan")
