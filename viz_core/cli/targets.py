"""What a ``--config`` run maximises and its step schedule, when a flag says otherwise
(``visualize`` and ``sweep``): the flag replaces the run's target or schedule, it does not
stand beside it."""

from __future__ import annotations

import argparse

#: Which of the --config run's fields a flag that says what to maximise or invert clears.
_REPLACES = {"objective": ("target", "channel", "unit", "layer", "class_score"),
             "target": ("objective", "channel", "unit", "layer"),
             "channel": ("objective", "target", "class_score"),
             "unit": ("objective", "target", "class_score"),
             "task": ("objective", "target", "channel", "unit", "class_score")}


def replace_target(base: dict, args: argparse.Namespace) -> None:
    """A flag that says what to maximise or invert replaces what the ``--config`` run
    maximised (its fields the flag would leave unused, :data:`_REPLACES`), not only its
    own field: ``--config class.json --objective ...`` runs the objective (the run's
    ``target`` would else stand beside it, which a run configuration refuses), and
    ``--config inversion.json --task am ...`` drops the run's ``image`` and ``p``."""
    from viz_core.objectives import parse_objective

    given = {k for k in (*_REPLACES, "layer", "class_score") if getattr(args, k) is not None}
    if args.task == base.get("task"):
        given.discard("task")
    for flag in given & set(_REPLACES):
        for k in set(_REPLACES[flag]) - given:
            base[k] = "logit" if k == "class_score" else None
    if "objective" in given and "task" not in given and base.get("task") == "inversion" \
            and not parse_objective(args.objective).needs_reference:
        base["task"] = "am"
    # the inverted image and the exponent p go where nothing inverts any more (an inversion
    # run's, under --objective or --task am), unless a flag gives them (then refused)
    objective = base.get("objective") if args.objective is None else args.objective
    task = base.get("task") if args.task is None else args.task
    if getattr(args, "image", None) is None and not (
            parse_objective(objective).needs_reference if objective else task == "inversion"):
        base["image"] = None
    if getattr(args, "p", None) is None and (objective or task != "inversion"):
        base["p"] = 2


def replace_schedule(base: dict, args: argparse.Namespace) -> None:
    """``--octaves`` replaces the ``--config`` run's schedule: its stages give the steps and
    tau (Secs. 2.7 and 3.1), so the run's ``steps`` and ``step_size`` become what the
    stages do (their total, the first stage's tau: the run JSON's ``steps`` is the steps
    run) unless a flag gives them (then refused beside the stages, as unused);
    ``--octaves none`` drops the run's stages (``--steps`` / ``--step-size`` then apply)."""
    from viz_core.transforms import parse_octaves

    text = getattr(args, "octaves", None)
    if text is None:
        return
    if text.strip().lower() in ("", "none"):
        base["octaves"] = None
        return
    stages = parse_octaves(text)
    base["octaves"] = [o.to_list() for o in stages]
    said = {"steps": sum(o.steps for o in stages), "step_size": stages[0].tau}
    for k in ("steps", "step_size"):
        if getattr(args, k, None) is None:
            base[k] = said[k]
