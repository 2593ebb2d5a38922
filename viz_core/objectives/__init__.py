"""Objectives: the data terms D(u) of the variational model (eqs. 1-4).

* :mod:`~viz_core.objectives.tasks`: the task objectives a run's task / target / layer name
  (activation maximization and feature inversion, one target per sample of a batch);
* :mod:`~viz_core.objectives.algebra`: composable terms, ``+ - *``;
* :mod:`~viz_core.objectives.library`: the built-in terms (a new objective is one function
  there, decorated with :func:`objective`, plus its test);
* :mod:`~viz_core.objectives.grammar`: ``--objective "channel(block3,5) - 0.1*diversity(block3)"``.
"""

from viz_core.objectives.algebra import OBJECTIVES, Binding, BoundTerm, Term, leaf, objective
from viz_core.objectives.grammar import parse_objective
from viz_core.objectives.library import (
    channel,
    class_log_prob,
    class_logit,
    direction,
    diversity,
    inversion,
    neuron,
)
from viz_core.objectives.tasks import (
    CLASS_SCORES,
    TASKS,
    ActivationObjective,
    FeatureModel,
    InversionObjective,
    ModelInfo,
    Objective,
    Target,
    check_target,
    make_objective,
)

__all__ = [
    "CLASS_SCORES", "OBJECTIVES", "TASKS", "ActivationObjective", "Binding", "BoundTerm",
    "FeatureModel", "InversionObjective", "ModelInfo", "Objective", "Target", "Term",
    "channel", "check_target", "class_log_prob", "class_logit", "direction", "diversity",
    "inversion", "leaf", "make_objective", "neuron", "objective", "parse_objective",
]
