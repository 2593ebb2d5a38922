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

from dashboard.messages import Notice
from dashboard.programs import TOKEN_PREFIX, is_program_name, program_from_token, program_token
from dashboard.samples import sample_name
from dashboard.scheme_names import CELLS, SCHEMES, canonical_cells, playground_structure
from viz_core.errors import VizError
from viz_core.schemes import scheme_label
from viz_core.transforms import parse_octaves

Settings = dict[str, Any]

#: Values that older links and run JSONs spell differently, mapped to today's spelling by
#: :func:`decode` before the choice check.
CANONICAL: dict[str, Any] = {"scheme": playground_structure, "cells": canonical_cells,
                             "image": sample_name, "model": program_from_token}
#: Values a link spells differently from the session: an uploaded program's server path is
#: ``upload:<hash>/<name>.pt2`` in the URL (:mod:`dashboard.programs`), mapped back by
#: :data:`CANONICAL`.
URL_FORM: dict[str, Any] = {"model": program_token}


#: The largest step size tau the pages' boxes take, and so a link: tau is the mean change of
#: a pixel per step in 0-255 grey levels (eq. 18 with the normalised gradient), so 1000 is
#: four times the whole range in one step; the paper's largest is 288 (DenseNet121, Fig. 2).
#: A larger one only overflows (1e40 is infinite in float32).
MAX_STEP_SIZE = 1000.0


def max_jitter(input_size: int) -> float:
    """The largest jitter (pixels) an image of ``input_size`` pixels runs with: a shift must
    be smaller than the image.

    >>> max_jitter(64)
    63.0
    """
    return float(max(0, int(input_size) - 1))


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


#: How long a link's value may be in a notice (a pasted paragraph is cut, not echoed).
SHOWN_CHARS = 60


def shown(text: object) -> str:
    """A value a user gave, quoted for a notice as they wrote it (``repr``), cut to
    :data:`SHOWN_CHARS` characters.

    >>> shown("abc"), shown(11), len(shown("x" * 70)), shown("x" * 70)[-3:]
    ("'abc'", '11', 62, "x…'")
    """
    text = str(text) if not isinstance(text, (int, float)) else text
    if isinstance(text, str) and len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS - 1] + "…"
    return repr(text)


def _parse(text: str, default: Any) -> Any:
    """``text`` as a value of ``default``'s type; ValueError says in words what it is not."""
    if isinstance(default, bool):
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError("is not on or off (1 or 0, true or false)")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            pass
        try:  # "100.0" and "1e3" are whole numbers too
            v = float(text)
        except ValueError:
            v = math.nan
        if math.isfinite(v) and v.is_integer():
            return int(v)
        raise ValueError("is not a whole number")
    if isinstance(default, float):
        try:
            v = float(text)
        except ValueError:
            raise ValueError("is not a number") from None
        if not math.isfinite(v):
            raise ValueError("is not a finite number")
        return v + 0.0  # -0 is 0 (NumPy refuses a scale of -0.0)
    return str(text)


def _check_octaves(text: str) -> str:
    """An octave schedule ``SCALE:STEPS:TAU,...`` as a link gave it, checked like the run
    checks it (:func:`viz_core.transforms.parse_octaves`; the paper's coarse-to-fine
    schedules, Secs. 2.7 and 3.1): a link whose schedule cannot run keeps the page's
    schedule, so that the URL carries the schedule in use."""
    try:
        parse_octaves(text)
    except VizError as exc:
        why = str(exc).split(";")[0]  # which stage, unless that is the whole text
        why = "" if repr(text.strip()) in why else f" ({why})"
        raise ValueError(f"is not a schedule SCALE:STEPS:TAU,...{why}") from None
    return text


def _looks_like_program(name: str) -> bool:
    """A model name that means an uploaded program file: a link's token or a ``.pt2`` name
    (what :func:`dashboard.programs.uploaded_program` may resolve)."""
    return name.startswith(TOKEN_PREFIX) or name.endswith(".pt2")


def _check_model(name: str) -> str:
    """A model a link names: a name with a slash that is neither a program file nor a
    model of this server (``[x](http://e.com)``) is not available, said with the name as
    the link gave it (the page would read it as a path to a program)."""
    if not is_program_name(name) or _looks_like_program(name):
        return name  # a zoo or team name (the model box checks it), or a program file
    from viz_core.models import team_models_or_error
    from viz_core.zoo import visualised_models

    known = set(visualised_models()) | set(team_models_or_error()[0])
    if name not in known:
        raise ValueError("is not available here")
    return name


#: Checks of a link's text values beyond their type: a value that fails keeps the default.
#: Each returns the value, or raises ValueError (the reason, in words after the value).
CHECKS: dict[str, Any] = {"octaves": _check_octaves, "model": _check_model}


#: Keys whose values are schemes: a notice names them by their labels ("Sobolev fluid"), as
#: the pages show them, not by the registry's keys ("fluid_sobolev").
SCHEME_KEYS = {"scheme": SCHEMES, "cells": CELLS}


def scheme_words(names: Any) -> str:
    """Scheme names (a sequence or a comma list) by their labels, for a notice.

    >>> scheme_words("fluid_sobolev,plain"), scheme_words(("fluid", "elastic"))
    ('Sobolev fluid, no regularization', 'fluid, elastic')
    """
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    return ", ".join(scheme_label(str(n)) for n in names)


def _scheme_notice(key: str, text: Any, default: Any, offered: Sequence[Any]) -> Notice:
    """A link's unusable scheme value (``scheme`` or ``cells``), the schemes the page offers
    and the one it uses instead, all by their labels."""
    what = "a scheme" if key == "scheme" else "a list of schemes"
    return Notice(f"{key}: {shown(text)} is not {what} this page offers "
                  f"({scheme_words(offered)}); using {scheme_words(default)}")


def decode(params: Mapping[str, Any], defaults: Mapping[str, Any],
           choices: Mapping[str, Sequence[Any]] | None = None) -> tuple[Settings, list[str]]:
    """Settings from query parameters: ``defaults`` updated with every valid parameter.

    Values are typed by their default; unknown keys are ignored; a malformed value or one
    outside ``choices`` keeps the default and adds a notice (returned second), in the
    dashboard's words with the value as the link gave it, e.g. ``size: 'abc' is not a whole
    number; using 11`` (a :class:`~dashboard.messages.Notice`: shown as it is).
    """
    out: Settings = dict(defaults)
    notices: list[str] = []
    choices = choices or {}
    for key, raw in params.items():
        if key not in defaults:
            continue
        text = raw[-1] if isinstance(raw, (list, tuple)) and raw else raw
        using = f"using {shown(defaults[key])}"
        try:
            value = _parse(str(text), defaults[key])
            if key in CANONICAL and value not in choices.get(key, ()):
                # an older spelling; a value the page offers as it is stays (the Sweeps
                # page's schemes are registry keys, not the Playground's structures)
                value = CANONICAL[key](value)
            if key in CHECKS:
                value = CHECKS[key](value)
        except VizError as exc:  # (a ValueError too)
            if key in SCHEME_KEYS:
                notices.append(_scheme_notice(key, text, defaults[key],
                                              choices.get(key) or SCHEME_KEYS[key]))
            else:
                notices.append(Notice(f"{key}: {shown(text)} is not usable: {exc}; {using}"))
            continue
        except ValueError as exc:
            notices.append(Notice(f"{key}: {shown(text)} {exc}; {using}"))
            continue
        if key in choices and value not in choices[key]:
            notices.append(_scheme_notice(key, text, defaults[key], choices[key])
                           if key in SCHEME_KEYS else
                           Notice(f"{key}: {shown(text)} is not one of "
                                  f"{', '.join(map(str, choices[key]))}; {using}"))
            continue
        out[key] = value
    if ("octaves_on" in defaults and "octaves_on" not in params
            and {"steps", "step_size"} & set(params)):
        out["octaves_on"] = False  # a link that sets steps or tau means a constant step
    if (defaults.get("task") == "inversion" and "task" not in params and "target" in params
            and "layer" not in params):
        out["task"], out["layer"] = "am", "logits"  # a link that names a class means AM
    return out, notices

