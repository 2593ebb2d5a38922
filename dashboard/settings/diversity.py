"""Diversity samples in the Playground: one channel's activation maximization (eq. 18 with
the channel objective as D(u)) run as a batch of N samples whose seeds differ, with the
batch's Gram-matrix dissimilarity (Olah et al., "Feature Visualization", Distill 2017)
subtracted, ``D(u) = channel(layer, c) - w * diversity(layer)``, so the N pre-images show
N different ways the channel responds.

The Playground's settings ``div_weight`` (w; 0 = off) and ``samples`` (N) turn a channel
run into that batch (:func:`diversity_configs`); :func:`restore_diversity` reads them back
from a run's configuration.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from viz_core.config import RunConfig
from viz_core.errors import VizError

#: The most samples one diversity batch draws (they are shown side by side).
MAX_SAMPLES = 6
_OBJECTIVE = re.compile(r"^(?:channel|neuron)\((?P<args>[^()]*)\) - (?P<w>[0-9.eE+-]+)"
                        r"\*diversity\([^()]*\)$")


def diversity_applies(s: Mapping[str, Any]) -> bool:
    """Whether the settings maximise a channel (or unit) of an inner layer: the only
    Playground target the diversity samples apply to."""
    return s.get("task") == "am" and str(s.get("layer", "logits")) not in ("", "logits")


def diversity_active(s: Mapping[str, Any]) -> bool:
    """Whether the settings ask for a diversity batch (weight > 0 on a channel target)."""
    return diversity_applies(s) and float(s.get("div_weight", 0.0)) > 0


def _quote(layer: str) -> str:
    """A layer name as the objective grammar reads it (quoted when it is not one word)."""
    return layer if re.fullmatch(r"[A-Za-z0-9_.]+", layer) else f"'{layer}'"


def diversity_objective(s: Mapping[str, Any]) -> str:
    """``channel(layer, c) - w*diversity(layer)`` (``neuron`` for a single unit)."""
    layer, c, w = _quote(str(s["layer"])), int(s["channel"]), float(s["div_weight"])
    target = (f"neuron({layer}, {c}, {int(s['unit_y'])}, {int(s['unit_x'])})"
              if s.get("unit_on") else f"channel({layer}, {c})")
    return f"{target} - {w:.12g}*diversity({layer})"


def check_diversity(s: Mapping[str, Any]) -> None:
    """Raise :class:`VizError` (field: the control) for a weight or sample count that
    cannot make a diversity batch."""
    if not diversity_applies(s):
        return
    w, n = s.get("div_weight", 0.0), s.get("samples", 1)
    if not isinstance(w, (int, float)) or isinstance(w, bool) or not 0 <= w < float("inf"):
        raise VizError(f"the diversity weight must be a number >= 0, got {w!r}",
                       field="div_weight")
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_SAMPLES:
        raise VizError(f"samples must be a whole number from 1 to {MAX_SAMPLES}, got {n!r}",
                       field="samples")
    if w > 0 and n < 2:
        raise VizError("diversity compares the samples of a batch: choose 2 or more "
                       "samples (or weight 0 for one pre-image)", field="samples")


def diversity_configs(cfg: RunConfig, s: Mapping[str, Any]) -> list[RunConfig]:
    """The batch the settings run: ``[cfg]``, or N copies of ``cfg`` with the diversity
    objective, seeds ``seed, seed + 1, ...`` and names "sample i"."""
    check_diversity(s)
    if not diversity_active(s):
        return [cfg]
    objective = diversity_objective(s)
    out = [dataclasses.replace(cfg, objective=objective, seed=cfg.seed + i,
                               name=f"sample {i + 1}", extra=dict(cfg.extra))
           for i in range(int(s["samples"]))]
    for c in out:
        try:
            c.validate()
        except VizError as exc:
            raise VizError(str(exc), field="div_weight") from None
    return out


def restore_diversity(cfg: RunConfig, s: dict[str, Any]) -> list[str]:
    """Set ``div_weight``, ``samples`` and the batch's first seed in ``s`` from a run's
    configuration (a cell of a diversity batch). Returns notices."""
    if cfg.objective is None:
        s["div_weight"] = 0.0
        return []
    ui = cfg.extra.get("ui") if isinstance(cfg.extra, dict) else None
    m = _OBJECTIVE.match(cfg.objective)
    if m is None or cfg.channel is None:
        return [f"the objective {cfg.objective!r} cannot be set in the Playground; "
                "restored its other settings"]
    s["div_weight"] = float(m.group("w"))
    if isinstance(ui, dict):
        if isinstance(ui.get("samples"), int):
            s["samples"] = ui["samples"]
        if isinstance(ui.get("seed"), int):  # the batch's first seed, not this cell's
            s["seed"] = ui["seed"]
    return []
