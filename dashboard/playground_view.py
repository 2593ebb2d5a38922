"""The Playground's words for a run (no Streamlit): what the run aims at, for the header
and the pre-image's caption (:func:`run_target`), the table of the shown pre-image's
numbers (:func:`metrics_table`), and the settings of an uploaded image's run
(:func:`with_upload`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dashboard.results import target_prob_label, target_words, verdict_label
from dashboard.runs import RunRecord
from dashboard.text import name, percent_text
from viz_core.images import from_uint8
from viz_core.metrics import image_metrics, metric_label
from viz_core.store.verdict_words import NO_VERDICT, isolate, not_finite


def run_target(rec: RunRecord) -> str:
    """What the shown run aimed at (:func:`dashboard.results.target_words` of its first
    configuration, a class by the name the model that made it gives it): the run's, not
    the sidebar's, so a result from previous settings is named for what it is. Plain
    text; "" when its configuration does not read."""
    try:
        config = json.loads(rec.configs[0])
    except (IndexError, TypeError, ValueError):
        return ""
    if not isinstance(config, dict):
        return ""
    model = rec.judges[0] if rec.judges else None
    layer = getattr(getattr(model, "spec", None), "default_layer", None)
    return target_words(config, rec.class_names(), layer)


def metrics_table(rec: RunRecord, act_name: str, verdicts: Sequence[Any]) -> str:
    """The numbers of the pre-image shown, as a two-column Markdown table (wraps instead of
    cutting labels or overlapping the image): the target activation (eqs. 3-4), the
    model's and the independent judge's verdicts (Sec. 3.2; none from a network whose
    output was NaN or Inf, and a right-to-left class name isolated from its percentage),
    the image metrics of the registry; every cell through :func:`name`."""
    img = rec.images[0]
    steps, _, act = rec.curves()
    rows = [(act_name, f"{act[-1, 0]:.4g}" if len(steps) else "-")]
    for i, v in enumerate(verdicts):
        who = verdict_label(verdicts[0].model, v.model) if i else "top-3 of the model"
        if not_finite(v.data):  # NaN or Inf out of the network: no ranking, no percentage
            rows.append((who if i else f"the model ({v.model})", NO_VERDICT))
            continue
        if v.target_prob is not None:
            chance = v.data.get("chance")
            rows.append((target_prob_label(v), f"{v.target_prob:.1%}" + (
                f" (chance {chance:.0%})" if chance else "")))
        rows.append((who, ", ".join(f"{isolate(c)} {p:.0%}" for c, p in v.top)))
        if v.original is not None:  # an inversion: what this network sees in the original
            rows.append((f"the original, as {v.model} sees it",
                         f"{isolate(v.original[0])} {v.original[1]:.0%}"))
    met = image_metrics(img)  # the registry's metrics, under the registry's labels
    # beside each image metric, where the run started (its first frame: the initial noise)
    # and, for an inversion, the original's: a number with something to read it against
    start = image_metrics(from_uint8(rec.frames[0][1][0])) if rec.frames else None
    orig = image_metrics(rec.reference[0]) if rec.reference is not None else None
    for key, fmt in (("hf_fraction", percent_text), ("total_variation", "{:.4f}".format)):
        beside = [f"{w} {fmt(m[key][0])}" for w, m in
                  (("start", start), ("original", orig)) if m is not None]
        rows.append((metric_label(key), fmt(met[key][0])
                     + (f" ({'; '.join(beside)})" if beside else "")))
    rows.append(("time per step", f"{1000 * rec.elapsed / rec.step:.0f} ms" if rec.step
                 else "-"))
    cells = [(name(a), name(b)) for a, b in rows]  # class and network names are text
    head = (f"**Sample 1 of {len(rec.images)}** (the table and the spectrum; the curves show "
            "every sample)\n\n" if len(rec.images) > 1 else "")
    return (head + "| quantity | value |\n|---|---|\n"
            + "\n".join(f"| {a} | {b} |" for a, b in cells))


def with_upload(s: Mapping[str, Any], image_label: str | None,
                reference: np.ndarray | None) -> dict[str, Any]:
    """The settings a result is made with, naming an uploaded image by its file name and
    content (the image setting says only "upload"): replacing the upload marks the result
    shown as from previous settings, as choosing another sample does."""
    label = image_label or ""
    if s.get("task") != "inversion" or not label.startswith("upload:") or reference is None:
        return dict(s)
    digest = hashlib.sha256(np.ascontiguousarray(reference).tobytes()).hexdigest()
    return {**s, "uploaded image": f"{label[len('upload:'):]} ({digest[:8]})"}
