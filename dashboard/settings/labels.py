"""What a run's "target activation" numbers are called on the pages (the data term of
eqs. 3-4: a logit, a log-probability, a channel or unit activation, or the relative
feature error of an inversion). No Streamlit."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from viz_core.config import RunConfig

#: The tasks' names on every page (eqs. 3 and 4).
TASK_LABELS = {"am": "activation maximization", "inversion": "feature inversion"}
#: The step size's label and help on every page that sets it (the convention of
#: viz_core.config: the data gradient is normalised by its mean |g|, Sec. 2.5).
STEP_SIZE_LABEL = "Step size tau (mean change per step, 0-255 levels)"
STEP_SIZE_HELP = ("tau is the mean change of a pixel per step in 0-255 grey levels: the "
                  "update u <- Ke * (u - tau Kf * grad D) uses the data gradient divided by "
                  "its mean |g| (DeepDream's normalisation), so tau means the same on every "
                  "network. The paper's step sizes are in its networks' pixel units: VGG19's "
                  "and ResNet50's (0-255 inputs) mean the same here; DenseNet121's pixel unit "
                  "is about 58 grey levels, so its values are multiplied by 57.6 in the "
                  "presets. The Playground's Advanced > Gradient: raw skips the division "
                  "(u <- Ke * (u - tau/255 Kf * grad D), pixels in [0, 1]).")

#: The octave schedule's help (the absolute reading of Sec. 3.1, viz_core.transforms).
OCTAVES_HELP = ("Runs in stages on a growing picture, so that detail spreads over it instead "
                "of piling up in one spot. Each stage is scale:steps:tau, e.g. "
                "1.0:100:5,1.1:50:2,1.2:10:1: the picture is resized to scale times the "
                "network's input size, and each step works on a random crop of the input "
                "size. The stages replace Steps and the step size.")
#: The help of the class names typed beside an uploaded program (its verdicts' words).
CLASS_NAMES_HELP = ("One name per line, in the order of the network's outputs (or one line "
                    "separated by commas), as the CLI's --classes FILE reads them: the "
                    "verdicts then say 'Banana 48%', not 'class 1 48%'. A program can also "
                    "carry them: torch.export.save(program, 'net.pt2', "
                    "extra_files={'classes.txt': '\\n'.join(names)}).")

#: The words for a class score (viz_core.objectives.CLASS_SCORES) on the pages.
CLASS_SCORE_LABELS = {"logit": "logit", "log_prob": "log-probability"}


def activation_label(s: Mapping[str, Any]) -> str:
    """What the run's "target activation" numbers are, in the page's words."""
    if s.get("task") == "inversion":
        return "relative feature error"
    if str(s.get("layer", "logits")) not in ("logits", ""):
        return f"target activation ({'unit' if s.get('unit_on') else 'channel mean'})"
    if s.get("class_score") == "log_prob":
        return f"target {CLASS_SCORE_LABELS['log_prob']}"
    return f"target activation ({CLASS_SCORE_LABELS['logit']})"


def _fields_label(task: Any, layer: Any, channel: Any, unit: Any, class_score: Any) -> str:
    return activation_label({"task": task, "unit_on": unit is not None,
                             "layer": "logits" if channel is None else layer,
                             "class_score": class_score})


def config_activation_label(cfg: RunConfig) -> str:
    """:func:`activation_label` of a run configuration (the pages that run batches)."""
    return _fields_label(cfg.task, cfg.layer, cfg.channel, cfg.unit, cfg.class_score)


def run_activation_label(configs: Sequence[str]) -> str:
    """:func:`activation_label` of the configuration a shown result was run with (a run
    record's stored JSON), not of the sidebar: after the task changes without a new run,
    an old maximisation still shows a logit or log-probability (eqs. 3-4) and an old
    inversion its relative feature error (eq. 2). "target activation" when none is stored
    or readable."""
    try:
        d = json.loads(configs[0]) if configs else None
    except (TypeError, ValueError):
        d = None
    if not isinstance(d, dict):
        return "target activation"
    return _fields_label(d.get("task", "am"), d.get("layer"), d.get("channel"),
                         d.get("unit"), d.get("class_score"))

