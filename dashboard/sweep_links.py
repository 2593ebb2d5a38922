"""The Sweeps page's axis values from a link, cleaned: a value no cell can run (not a
number, not finite, a step size above the page's bound, a kernel size its scheme cannot
fit, Sec. 2.7) is left out and named, so the page runs what it shows. No Streamlit."""

from __future__ import annotations

import math

from dashboard.messages import Notice
from dashboard.sweeps_view import base_config, sweep_defaults
from dashboard.urlstate import MAX_STEP_SIZE, shown
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.kernel_fitting import fit_parameter
from viz_core.sweeps import AXES
from viz_core.sweeps.spec import kernel_size_of

__all__ = ["NUMERIC_AXES", "link_values", "page_link_values"]


#: The axes whose values are numbers (what :func:`link_values` checks).
NUMERIC_AXES = ("kernel_size", "order", "gamma", "sigma", "step_size", "tv", "steps", "target",
                "seed")


def _base_value(axis: str, base: RunConfig) -> str:
    """``base``'s own value of a numeric ``axis`` as text (a kernel parameter: the one
    fitted to its size, Sec. 2.7); "" for another axis."""
    kind = {"gamma": "sobolev", "sigma": "gaussian"}.get(axis)
    if kind:
        own = [k.param for k in (base.fluid, base.elastic) if k and k.kind == kind]
        return f"{own[0] if own and own[0] else fit_parameter(kind, kernel_size_of(base)):.3g}"
    v = {"step_size": base.step_size, "steps": base.steps, "seed": base.seed, "tv": base.tv,
         "target": base.target, "kernel_size": kernel_size_of(base), "order": 1}.get(axis)
    return "" if v is None else f"{v:g}"


def link_values(key: str, text: str, axis: str, base: RunConfig) -> tuple[str, list[Notice]]:
    """The values ``text`` of a link's ``key`` (``values1``) that cells of ``axis`` on
    ``base`` run with, a -0 as 0, and a notice for each other one (not a number, not
    finite, what a run refuses, a repeat); when none is left, the page's values for the
    axis, else ``base``'s own value."""
    kind, kept, seen, bad = AXES.get(axis) if axis in NUMERIC_AXES else None, [], set(), []
    for item in [v.strip() for v in str(text).split(",") if v.strip()] if kind else []:
        try:
            v = kind.parse(item)
            if isinstance(v, float) and not math.isfinite(v):
                raise VizError("is not a finite number")
            v = v + 0 if isinstance(v, (int, float)) else v  # -0 is 0
            if repr(v) in seen:
                raise VizError("repeats a value")
            if axis == "step_size" and v > MAX_STEP_SIZE:
                raise VizError(f"is above the largest step size, {MAX_STEP_SIZE:g}")
            try:
                kind.apply(base, v).validate()
            except VizError as exc:  # one that needs the other axis is said by the sweep
                if exc.field != "axes":  # its first clause ("up to 37, not 51")
                    raise VizError(f"cannot run ({str(exc).split(': ')[0]})") from None
        except VizError as exc:  # in words after the value ("axis 'x': 'abc' is not ...")
            why = str(exc).split(": ", 1)[-1] if str(exc).startswith("axis ") else str(exc)
            bad.append((item, why.removeprefix(repr(item)).strip()))
            continue
        seen.add(repr(v))
        kept.append("0" if v == 0 and item.startswith("-") else item)
    if not bad:
        return ",".join(kept) if kind else str(text), []
    slot = "axis" + key[-1]
    out = ",".join(kept) or (str(sweep_defaults()["values" + key[-1]])
                             if sweep_defaults().get(slot) == axis else _base_value(axis, base))
    return out, [Notice(f"{key}: {shown(item)} {why}; using {shown(out)}")
                 for item, why in bad]


def page_link_values(where: tuple[str, frozenset[str]] | None, key: str,
                     settings: dict) -> tuple[str, list[Notice]] | None:
    """The Sweeps page's values box ``key`` (``values1`` / ``values2``) cleaned by
    :func:`link_values` when a link gave it (``where``: the page's
    :func:`~dashboard.widgets.origin`); None when no link gave it or the base setting is
    not valid (said under its own control)."""
    if where is None or where[0] != "link" or key not in where[1]:
        return None
    try:
        base = base_config(settings)
    except VizError:
        return None
    return link_values(key, settings[key], str(settings["axis" + key[-1]]), base)
