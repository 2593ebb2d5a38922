"""The Compare page's settings: one target and schedule shared by a batch of scheme cells
(the grid of Fig. 1), and the round trip between those settings and the batch's
:class:`~viz_core.config.RunConfig` list."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from dashboard.scheme_names import CELLS, parse_cells
from dashboard.settings.playground import (
    PLAYGROUND_CHOICES,
    config_to_settings,
    playground_defaults,
    settings_to_config,
)
from dashboard.urlstate import Settings
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.kernels import SIZED_KINDS, KernelSpec, validate_spec
from viz_core.schemes import scheme_of

_SHARED = ("model", "weights", "task", "target", "layer", "channel", "unit_on", "unit_y",
           "unit_x", "image", "p", "step_size", "steps", "octaves_on", "octaves", "jitter",
           "seed", "every", "device", "class_score")


def _preset_layer(model: str) -> str:
    """The tuned inversion preset's layer of ``model`` (the middle block: ``block2`` of the
    VGGs, ``layer2`` of the ResNets); ``block2`` for a model without offline presets."""
    from viz_core.offline_presets import task_preset

    try:
        return task_preset(model, "inversion").layer or "block2"
    except VizError:
        return "block2"


@functools.cache
def _defaults() -> Settings:
    pg = playground_defaults()
    return {
        **{k: pg[k] for k in _SHARED},
        # the most recognisable grid on the offline model: every scheme inverting the ankle
        # boot from the middle block, jitter 0, with the tuned inversion schedule of
        # viz_core.offline_presets (tau 5 -> 2.5 -> 1 over 100 + 60 + 40 steps)
        "task": "inversion",
        "layer": _preset_layer(str(pg["model"])),
        "image": "fmnist/0_ankle_boot.png",
        "jitter": 0.0,
        "target": 9,
        "step_size": 5.0,
        "steps": 200,
        "octaves_on": True,
        "octaves": "1:100:5,1:60:2.5,1:40:1",
        "every": 10,
        "size": 11,
        "tv": 0.05,
        "cells": ",".join(CELLS),
        "robust": False,  # the standard / robust pair side by side
    }


def compare_defaults() -> Mapping[str, Any]:
    """Every Compare control with its default, read-only (computed on first use: it starts
    from :func:`~dashboard.settings.playground.playground_defaults`)."""
    return MappingProxyType(_defaults())


#: The allowed values of the Compare controls that have a fixed list.
COMPARE_CHOICES = {k: v for k, v in PLAYGROUND_CHOICES.items()
                   if k in _SHARED + ("size", "tv", "cells")}


def compare_configs(s: Mapping[str, Any], *, image_path: str | None = None) -> list[RunConfig]:
    """The batch of the comparison grid: one configuration per selected cell, sharing the
    target, step size, jitter and schedule (Fig. 1: kernels fitted to ``size``)."""
    from viz_core.config import scheme_config

    s = {**compare_defaults(), **s}
    base = settings_to_config({**playground_defaults(), **{k: s[k] for k in _SHARED},
                               "scheme": "none", "tv_on": False}, image_path=image_path)
    size = int(s["size"])
    try:
        validate_spec(KernelSpec("gaussian", None, size))
    except VizError as exc:
        raise VizError(str(exc), field="size") from None
    tv = float(s["tv"])
    if not (math.isfinite(tv) and tv > 0):
        raise VizError(f"TV weight must be a finite number > 0, got {tv}", field="tv")
    cells = parse_cells(s["cells"])
    return [scheme_config(base, c, size, tv) for c in cells]



def compare_settings(configs: Sequence[RunConfig]) -> tuple[Settings, list[str]]:
    """Compare-page settings that reproduce a batch of scheme cells (e.g. a preset)."""
    if not configs:
        raise VizError("empty batch", field="cells")
    s, notices = config_to_settings(configs[0])
    out = {k: s[k] for k in _SHARED}
    sizes = [k.size for c in configs for k in (c.fluid, c.elastic)
             if k is not None and k.kind in SIZED_KINDS]
    out["size"] = int(sizes[0]) if sizes else int(compare_defaults()["size"])
    tvs = [c.tv for c in configs if c.tv > 0]
    out["tv"] = float(tvs[0]) if tvs else float(compare_defaults()["tv"])
    out["cells"] = ",".join(dict.fromkeys(scheme_of(c) for c in configs))
    return {**compare_defaults(), **out}, notices

