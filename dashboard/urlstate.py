"""Page settings in the URL: the values that differ from the defaults as query parameters, so
that a link reproduces a view (:func:`encode`, :func:`decode`).

No Streamlit and no numerics here. A page keeps its settings as a flat ``dict`` of widget
values (``str``, ``int``, ``float``, ``bool``); values are typed by their defaults and
checked against the allowed choices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from dashboard.programs import program_from_token, program_token
from dashboard.samples import sample_name
from dashboard.scheme_names import canonical_cells, playground_structure
from viz_core.errors import VizError

Settings = dict[str, Any]

#: Values that older links and run JSONs spell differently, mapped to today's spelling by
#: :func:`decode` before the choice check.
CANONICAL: dict[str, Any] = {"scheme": playground_structure, "cells": canonical_cells,
                             "image": sample_name, "model": program_from_token}
#: Values a link spells differently from the session: an uploaded program's server path is
#: ``upload:<hash>/<name>.pt2`` in the URL (:mod:`dashboard.programs`), mapped back by
#: :data:`CANONICAL`.
URL_FORM: dict[str, Any] = {"model": program_token}


# ----------------------------------------------------------------------------- URL round trip

def encode(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters for the values that differ from ``defaults`` (known keys only)."""
    out: dict[str, str] = {}
    for key, default in defaults.items():
        if key not in values:
            continue
        v = values[key]
        if v == default and type(v) is type(default):
            continue
        if isinstance(v, bool):
            out[key] = "1" if v else "0"
        elif isinstance(v, float):
            out[key] = repr(v) if not v.is_integer() or abs(v) >= 1e15 else f"{v:.1f}"
        else:
            out[key] = URL_FORM[key](str(v)) if key in URL_FORM else str(v)
    if ("octaves_on" in defaults and values.get("octaves_on") is True
            and {"steps", "step_size"} & set(out)):
        out["octaves_on"] = "1"  # else decode reads a link's step as a constant step
    return out


def _parse(text: str, default: Any) -> Any:
    if isinstance(default, bool):
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected 1/0 or true/false")
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        v = float(text)
        if not math.isfinite(v):
            raise ValueError("not a finite number")
        return v
    return str(text)


def decode(params: Mapping[str, Any], defaults: Mapping[str, Any],
           choices: Mapping[str, Sequence[Any]] | None = None) -> tuple[Settings, list[str]]:
    """Settings from query parameters: ``defaults`` updated with every valid parameter.

    Values are typed by their default; unknown keys are ignored; a malformed value or one
    outside ``choices`` keeps the default and adds a notice (returned second).
    """
    out: Settings = dict(defaults)
    notices: list[str] = []
    choices = choices or {}
    for key, raw in params.items():
        if key not in defaults:
            continue
        text = raw[-1] if isinstance(raw, (list, tuple)) and raw else raw
        try:
            value = _parse(str(text), defaults[key])
        except ValueError as exc:
            notices.append(f"ignored URL parameter {key}={text!r}: {exc}")
            continue
        if key in CANONICAL:
            try:
                value = CANONICAL[key](value)
            except VizError as exc:
                notices.append(f"ignored URL parameter {key}={text!r}: {exc}")
                continue
        if key in choices and value not in choices[key]:
            notices.append(f"ignored URL parameter {key}={text!r}: allowed "
                           f"{', '.join(map(str, choices[key]))}")
            continue
        out[key] = value
    if ("octaves_on" in defaults and "octaves_on" not in params
            and {"steps", "step_size"} & set(params)):
        out["octaves_on"] = False  # a link that sets steps or tau means a constant step
    if (defaults.get("task") == "inversion" and "task" not in params and "target" in params
            and "layer" not in params):
        out["task"], out["layer"] = "am", "logits"  # a link that names a class means AM
    return out, notices

