"""Fields of a run configuration that the run would not use (eqs. 1-4: the data term reads a
class, a channel or unit of a layer, or the inverted layer; a composable objective says all
of it itself). A run given such a field is not the run its user asked for, so
:meth:`~viz_core.config.RunConfig.validate` refuses it with what to write instead; a stored
run of an earlier version, which dropped it silently, loads without it."""

from __future__ import annotations

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
