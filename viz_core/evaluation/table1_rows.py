"""Table 1's rows (Sec. 3.2): the per-image results of a direction's batches reduced to
one row per method, the means over the N images."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from viz_core.judging import mean_finite
from viz_core.metrics import metric_keys
from viz_core.schemes import SCHEME_REGISTRY

if TYPE_CHECKING:
    from viz_core.evaluation.protocol import Table1Settings
    from viz_core.models import LoadedModel


def direction_rows(name: str, rec: LoadedModel, layer: str, cls: LoadedModel,
                   settings: Table1Settings, batches: list[dict]) -> dict:
    """One direction's rows of Table 1 from its batches (in image order): the original
    images' row (network B's accuracy on them), then one row per method with top-1 / top-5
    of B on the 8-bit reconstructions, A's own top-1, the relative feature error and the
    means of every image metric of :data:`viz_core.metrics.METRICS`."""
    acc: dict[str, dict[str, list]] = {m: {} for m in settings.methods}
    orig: dict[str, list] = {}
    samples: list[dict] = []
    examples: dict = {}
    for b in batches:
        _extend(orig, b["orig"])
        for m in settings.methods:
            _extend(acc[m], b["acc"][m])
        samples += b["samples"]
        examples.update(b["examples"])
    secs = sum(b["seconds"] for b in batches)  # the direction's own compute time
    base = {"direction": name, "rec_model": rec.spec.name, "rec_layer": layer,
            "cls_model": cls.spec.name, "n": settings.n,
            "step_size": settings.tau(rec.spec.family), "steps": settings.steps,
            "clean_top1": mean_finite(orig["top1"]) * 100,
            "clean_top5": mean_finite(orig["top5"]) * 100}
    # the image metrics of viz_core.metrics.METRICS, means over the images; the originals
    # are perfect reconstructions of themselves (PSNR inf, SSIM 1)
    perfect = {"psnr": float("inf"), "ssim": 1.0}
    keys = metric_keys("image", "reference")
    rows = [{**base, "method": "original", "label": "original images",
             "top1": base["clean_top1"], "top5": base["clean_top5"],
             "self_top1": float("nan"), "rel_error": 0.0,
             **{k: perfect.get(k, float("nan")) for k in keys if k not in orig},
             **{k: mean_finite(orig[k]) for k in keys if k in orig},
             "diverged": 0, "seconds": secs}]
    for m in settings.methods:
        a = acc[m]
        rows.append({**base, "method": m, "label": SCHEME_REGISTRY[m].title,
                     "top1": mean_finite(a["top1"]) * 100, "top5": mean_finite(a["top5"]) * 100,
                     "self_top1": mean_finite(a["self_top1"]) * 100,
                     "rel_error": mean_finite(a["rel_error"]),
                     **{k: mean_finite(a[k]) for k in keys},
                     "diverged": int(np.sum(a["diverged"])), "seconds": secs})
    return {"rows": rows, "samples": samples, "seconds": secs, "examples": examples}


def _extend(acc: dict[str, list], values: dict) -> None:
    for k, v in values.items():
        acc.setdefault(k, []).extend(np.atleast_1d(np.asarray(v)).tolist())
