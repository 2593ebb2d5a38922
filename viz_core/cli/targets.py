"""What a ``--config`` run maximises, when a flag says otherwise (``visualize`` and
``sweep``): the flag replaces the run's target, it does not stand beside it."""

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
