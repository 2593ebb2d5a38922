"""Fields of a run configuration that the run would not use (eqs. 1-4: the data term reads a
class, a channel or unit of a layer, or the inverted layer; a composable objective says all
of it itself; the reference image and the exponent p of the feature error, eq. 3, are read
by feature inversion alone; an octave schedule, Secs. 2.7 and 3.1, gives every stage its own
steps and step size tau). A run given such a field is not the run its user asked for, so
:meth:`~viz_core.config.RunConfig.validate` refuses it with what to write instead; a stored
run of an earlier version, which dropped it silently, loads without it."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING

from viz_core.errors import VizError

if TYPE_CHECKING:
    from viz_core.config import RunConfig

__all__ = ["unused_fields"]


def unused_fields(cfg: RunConfig) -> list[tuple[str, str]]:
    """Each field set to a value the run would not use, with what to do instead:
    :meth:`RunConfig.validate` refuses the first, :meth:`RunConfig.from_dict` drops them
    (a stored run).
    Beside an objective, a field that repeats one of its terms is kept (the Playground's
    ``channel(layer, c) - w*diversity(layer)`` keeps ``layer`` and ``channel``)."""
    return _target_fields(cfg) + _reference_fields(cfg) + _schedule_fields(cfg)


def _target_fields(cfg: RunConfig) -> list[tuple[str, str]]:
    """What the data term reads (eqs. 1-4): a class, a channel or unit, an objective."""
    if cfg.objective is None:
        if cfg.task == "inversion":
            return [(k, f"{k}= does not apply to feature inversion (task='inversion' "
                        f"inverts image= at layer=): drop {k}=")
                    for k in ("target", "channel", "unit") if getattr(cfg, k) is not None]
        if cfg.target is not None and cfg.channel is not None:
            return [("target", "target= (a class) and channel= (a channel of layer=) are "
                               "two targets: give one of them")]
        return [("unit", "unit= is a unit of a channel: give channel= and layer= with it, "
                         "or drop unit= for a class (target=)")
                ] if cfg.unit is not None and cfg.channel is None else []
    from viz_core.objectives import parse_objective

    try:
        leaves = [lf for _, lf in parse_objective(str(cfg.objective)).parts]
    except VizError:  # validate() says what is wrong with the objective itself
        return []
    unit, at = cfg.unit and tuple(cfg.unit), cfg.layer or "LAYER"
    c = "C" if cfg.channel is None else cfg.channel
    units = [lf.args[1:] for lf in leaves if lf.name in ("channel", "neuron")
             and cfg.layer in (None, lf.args[0])]  # (channel, [y, x]) of this layer
    said = {"task": cfg.task != "inversion" or any(lf.needs_reference for lf in leaves),
            "class_score": cfg.class_score != "log_prob" or "class_log_prob" in
            {lf.name for lf in leaves}, "layer": cfg.layer in {lf.layer for lf in leaves},
            "target": cfg.init == "class_conditional" or any(  # or the start's class
                lf.name in ("class_logit", "class_log_prob") and lf.args[0] == cfg.target
                for lf in leaves),
            "channel": any(u[0] == cfg.channel for u in units),
            "unit": (cfg.channel, *(unit or ())) in units}
    term = {"task": f"inversion({at})", "target": f"class_logit({cfg.target})",
            "class_score": f"class_log_prob({'K' if cfg.target is None else cfg.target})",
            "layer": f"channel({at}, {c})", "channel": f"channel({at}, {c})",
            "unit": f"neuron({at}, {c}, {', '.join(map(str, unit or ('Y', 'X')))})"}
    valued = ("task", "class_score")  # named with their value (they are never unset)
    return [(k, (f"{k}={getattr(cfg, k)!r}" if k in valued else f"{k}=") + " is not used "
             f"beside objective=, which says what is optimised: write it into the "
             f"objective (e.g. {term[k]}) and drop {k}=") for k in term
            if not said[k] and (k in valued or getattr(cfg, k) is not None)]


def _reference_fields(cfg: RunConfig) -> list[tuple[str, str]]:
    """``image`` and ``p`` where nothing inverts: the reference image and the exponent of the
    feature error (eq. 3) are read by feature inversion (``task='inversion'``) and, beside an
    objective, the image by its inversion term, which takes its own exponent
    (``inversion(LAYER, p)``; the run's ``p`` is never read there)."""
    p_default = next(f.default for f in fields(cfg) if f.name == "p")
    if cfg.objective is None:
        if cfg.task == "inversion":
            return []
        am = "activation maximization (task='am') does not read it"
        return ([("image", f"image= is the image feature inversion inverts; {am}: drop "
                           "image= (or invert it with task='inversion')")] if cfg.image
                else []) + ([("p", f"p={cfg.p!r} is the exponent of feature inversion's "
                                   f"error; {am}: drop p=")] if cfg.p != p_default else [])
    from viz_core.objectives import parse_objective

    try:
        inverts = [lf for _, lf in parse_objective(str(cfg.objective)).parts
                   if lf.needs_reference]
    except VizError:  # validate() says what is wrong with the objective itself
        return []
    at = next((str(lf.args[0]) for lf in inverts if lf.name == "inversion" and lf.args),
              cfg.layer or "LAYER")
    out = [] if inverts or not cfg.image else [(
        "image", f"image= is not used beside objective=, which has no inversion term: add "
                 f"one (e.g. + inversion({at})) or drop image=")]
    if cfg.p != p_default:
        out.append(("p", f"p={cfg.p!r} is not used beside objective=, " + (
            f"whose inversion term takes its own exponent: write it there (e.g. "
            f"inversion({at}, {cfg.p!r})) and drop p=" if inverts else
            "which has no inversion term: drop p=")))
    return out


def _schedule_fields(cfg: RunConfig) -> list[tuple[str, str]]:
    """``steps`` and ``step_size`` beside ``octaves``: the stages (scale, steps, tau) give the
    steps and the step size of eq. 18 (Secs. 2.7 and 3.1), so neither field is read. Each
    may keep its default or say what the stages do (``steps`` their total, ``step_size``
    the first stage's tau: what the presets write); any other value is refused."""
    try:
        stages = [(int(o.steps), float(o.tau)) for o in cfg.octaves or []]
    except (AttributeError, TypeError, ValueError):  # validate() says what is wrong with them
        return []
    if not stages:
        return []
    default = {f.name: f.default for f in fields(cfg) if f.name in ("steps", "step_size")}
    said = {"steps": sum(n for n, _ in stages), "step_size": stages[0][1]}
    text = ", then ".join(f"{n} steps at tau {t:g}" for n, t in stages[:4]) + (
        ", ..." if len(stages) > 4 else "")
    return [(k, f"{k}={getattr(cfg, k)!r} is not used beside octaves=, whose stages give the "
                f"steps and tau ({text}; {said['steps']} steps in all): drop {k}=")
            for k in ("steps", "step_size")
            if not _same(getattr(cfg, k), default[k]) and not _same(getattr(cfg, k), said[k])]


def _same(value: object, other: float) -> bool:
    """``value == other`` for a number (a bool or a text never is)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == other
