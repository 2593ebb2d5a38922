"""What a run's "target activation" numbers are called on the pages (the data term of
eqs. 3-4: a logit, a log-probability, a channel or unit activation, or the relative
feature error of an inversion). No Streamlit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from viz_core.config import RunConfig

#: The words for a class score (viz_core.objectives.CLASS_SCORES) on the pages.
CLASS_SCORE_LABELS = {"logit": "logit", "log_prob": "log-probability"}


def activation_label(s: Mapping[str, Any]) -> str:
    """What the run's "target activation" numbers are, in the page's words."""
    if s.get("task") == "inversion":
        return "relative feature error"
    if str(s.get("layer", "logits")) not in ("logits", ""):
        return f"target activation ({'unit' if s.get('unit_on') else 'channel mean'})"
    if s.get("class_score") == "log_prob":
        return f"target {CLASS_SCORE_LABELS['log_prob']}"
    return f"target activation ({CLASS_SCORE_LABELS['logit']})"


def config_activation_label(cfg: RunConfig) -> str:
    """:func:`activation_label` of a run configuration (the pages that run batches)."""
    return activation_label({"task": cfg.task, "unit_on": cfg.unit is not None,
                             "layer": "logits" if cfg.channel is None else cfg.layer,
                             "class_score": cfg.class_score})

