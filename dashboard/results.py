"""What a shown result means, as plain data (no Streamlit): is it from the current settings,
and how do the model and the independent judge classify it.

The pages call these so that a result never looks better or more current than it is:
:func:`stale_note` names the settings a shown run was made with when they differ from the
sidebar (:mod:`viz_core.image_checks` says when a result is saturated, washed out or
from an unstable TV step); :func:`class_verdicts` gives the class probability and the top-3
classes of the model and of the independent judge (the recognisability measure of Sec. 3.2;
:func:`viz_core.zoo.judge_for`), and :func:`verdict_label` names who gave a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.programs import program_words
from dashboard.text import name

#: Settings that change how a run is shown, not what it computes.
DISPLAY_ONLY = ("every",)
#: How a changed setting is named in a stale note (None: its value alone, e.g. the model).
_LABELS: dict[str, str | None] = {
    "model": None, "task": None, "target": "class", "step_size": "tau", "steps": "steps",
    "scheme": "scheme", "layer": "layer", "image": "image", "cells": "schemes",
    "weights": "weights", "tv_on": "TV", "tv": "TV lambda", "octaves_on": "octaves",
    "axis1": "rows", "values1": "row values", "axis2": "columns", "values2": "column values",
}


def _short(key: str, value: Any, classes: Classes | None = None) -> str:
    if key == "image" and isinstance(value, str) and value:
        value = Path(value.removeprefix("upload:")).name
    if key == "model" and isinstance(value, str):
        value = program_words(value)  # a program by its name, never the server's path
    if isinstance(value, bool):
        value = "on" if value else "off"
    label = _LABELS.get(key, key)
    cls = _class_name(value, classes) if key == "target" else None
    value = name(value)  # a typed layer, a network or a file name is text, never markdown
    if cls:  # a class by its name as well as its index (the class box says "7 · Sneaker")
        value = f"{value} ({name(cls)})"
    return f"{value}" if label is None else f"{label} {value}"


Classes = Sequence[str] | Mapping[int, str]


def _class_name(index: Any, classes: Classes | None) -> str | None:
    """``classes[index]`` when ``index`` is a class index of ``classes`` (a list of names,
    or names by index), else None."""
    try:
        i = int(index)
    except (TypeError, ValueError):
        return None
    if isinstance(classes, Mapping):
        return str(classes[i]) if classes.get(i) else None
    return str(classes[i]) if classes is not None and 0 <= i < len(classes) else None


def _changed(shown: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """The settings (keys) that differ, those of :data:`_LABELS` first, in its order."""
    changed = [k for k in shown if k not in DISPLAY_ONLY and k in now and shown[k] != now[k]]
    # a setting the shown result had none of (an AM run's image) says nothing beside others
    changed = [k for k in changed if shown[k] not in ("", None)] or changed
    return [k for k in _LABELS if k in changed] + [k for k in changed if k not in _LABELS]


def stale_note(shown: Mapping[str, Any], now: Mapping[str, Any], max_items: int = 4,
               classes: Classes | None = None) -> str:
    r""""from previous settings: class 7 (Sneaker), fmnist_vgg" when the settings a result
    was made with (``shown``) differ from the current ones (``now``) in anything but
    display settings; "" when the result belongs to the current settings. ``classes``: the
    class names of the model that made the result, a list or by index (a class target is
    named by them).
    Markdown: each value (a network, a typed layer, an uploaded file's name) passes through
    :func:`dashboard.text.name`.

    >>> stale_note({"task": "am", "image": "", "values2": "1 2"},
    ...            {"task": "inversion", "image": "a.png", "values2": "3"})
    'from previous settings: am, column values 1 2'
    >>> print(stale_note({"image": "upload:0_ankle_boot *b*.png"}, {"image": "a.png"}))
    from previous settings: image 0_ankle_boot \*b\*.png
    >>> stale_note({"target": 1}, {"target": 3}, classes=["T-shirt/top", "Trouser"])
    'from previous settings: class 1 (Trouser)'
    """
    changed = _changed(shown, now)
    if not changed:
        return ""
    more = ", ..." if len(changed) > max_items else ""
    return "from previous settings: " + ", ".join(
        _short(k, shown[k], classes) for k in changed[:max_items]) + more


def change_cause(shown: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """The setting whose change ended a run, in the page's words ("class", "tau", "model",
    "schemes"), the first of several; "" when none changed (a Stop click).

    >>> change_cause({"target": 7, "steps": 10}, {"target": 9, "steps": 10})
    'class'
    >>> change_cause({"model": "a", "every": 1}, {"model": "b", "every": 2})
    'model'
    >>> change_cause({"every": 1}, {"every": 2})
    ''
    """
    changed = _changed(shown, now)
    if not changed:
        return ""
    return _LABELS.get(changed[0]) or changed[0]


def target_words(config: Mapping[str, Any], classes: Sequence[str] | None = None,
                 default_layer: str | None = None) -> str:
    """What a run aims at, in a few words for a title or a caption (plain text: pass it
    through :func:`dashboard.text.name`): a class by its name (eq. 4 at the logits), a
    channel or unit of a layer, the inversion of an image at a layer (eq. 3), a composable
    objective. ``classes``: the model's class names; ``default_layer``: the layer an
    inversion without one runs at.

    >>> target_words({"task": "am", "target": 1}, ["T-shirt/top", "Trouser"])
    'Trouser (class 1)'
    >>> target_words({"task": "am", "target": 4})
    'class 4'
    >>> target_words({"task": "am", "target": 1}, ["Class 0", "Class 1"])
    'class 1'
    >>> target_words({"task": "am", "target": 0, "layer": "block3", "channel": 5,
    ...               "unit": [2, 3]})
    'channel 5 of block3, unit (2, 3)'
    >>> target_words({"task": "inversion", "image": "fmnist/0_ankle_boot.png",
    ...               "layer": "layer2"})
    'inversion of 0_ankle_boot.png at layer2'
    >>> target_words({"task": "inversion", "image": "upload:mine.png"}, default_layer="b2")
    'inversion of mine.png at b2'
    """
    objective = config.get("objective")
    if objective:
        text = str(objective)
        return "objective " + (text if len(text) <= 40 else text[:39] + "...")
    layer = config.get("layer") or default_layer or "the default layer"
    if config.get("task") == "inversion":
        image = str(config.get("image") or "")
        what = Path(image.removeprefix("upload:")).name if image else "the image"
        return f"inversion of {what} at {layer}"
    if config.get("channel") is not None:
        unit = config.get("unit")
        where = f", unit ({unit[0]}, {unit[1]})" if unit else ""
        return f"channel {config['channel']} of {layer}{where}"
    target = config.get("target")
    if target is None:
        return ""
    cls = _class_name(target, classes)
    if cls and cls.strip().lower() in (f"class {target}", str(target)):
        cls = None  # a network without class names ("class 1"): said once
    return f"{cls} (class {target})" if cls else f"class {target}"


@dataclass(frozen=True)
class Verdict:
    """How one network classifies one pre-image: the stored verdict
    (:func:`viz_core.store.capture.batch_verdicts`) with its fields at hand."""

    model: str
    top: list[tuple[str, float]]       # the top-3 classes with their probabilities
    target_prob: float | None = None   # probability of the target class
    data: dict = field(default_factory=dict, compare=False)  # the verdict as stored

    @classmethod
    def of(cls, d: dict) -> Verdict:
        return cls(str(d.get("model", "")), [(str(c), float(p)) for c, p in d.get("top", [])],
                   d.get("target_prob"), dict(d))

    @property
    def original(self) -> tuple[str, float] | None:
        """An inversion's: the network's top class on the inverted original."""
        o = self.data.get("original")
        return (str(o[0]), float(o[1])) if o else None

    @property
    def target(self) -> str:
        return str(self.data.get("target") or "")

    def text(self) -> str:
        tops = ", ".join(f"{c} {prob_text(p)}" for c, p in self.top)
        return f"{self.model}: {tops}"


def prob_text(p: float) -> str:
    """A probability in percent: whole percents from 1%, one significant digit below, so
    that a 1000-class network's 0.1% does not read 0% beside a target said at 0.1%.

    >>> prob_text(0.913), prob_text(0.0012), prob_text(0.00004), prob_text(0.0)
    ('91%', '0.1%', '0.004%', '0%')
    """
    if p >= 0.01 or p <= 0:
        return f"{p:.0%}"
    return f"{100 * p:.1g}%"


def short_figure(what: str) -> str:
    """A run's figure (:func:`dashboard.settings.labels.activation_label`) named for a
    picture's caption under a grid: "error" for an inversion's relative feature error
    ||Phi(u) - Phi(x)|| / ||Phi(x)|| (eq. 3; the line under the grid names it, beside a
    flat image's), a target's activation without "target" (the grid's title names the
    target).

    >>> short_figure("relative feature error"), short_figure("target activation (logit)")
    ('error', 'activation (logit)')
    """
    return "error" if what == "relative feature error" else what.removeprefix("target ")


def class_verdicts(model: Any, images: np.ndarray, targets: Sequence[int | None],
                   k: int = 3) -> list[Verdict]:
    """The model's softmax over its classes for each 8-bit pre-image (as saved), top-``k``
    and the probability of each image's target class (None for no class target):
    :func:`viz_core.judging.verdicts`."""
    from viz_core.judging import verdicts

    return [Verdict.of(v) for v in verdicts(model, images, list(targets), "model", k)]


def judge_for(model_name: str) -> str | None:
    """The independent judge of ``model_name``'s pictures (:func:`viz_core.zoo.judge_for`:
    another architecture family, its own training run and split) when its weights are on
    this machine."""
    from viz_core.sweeps.cells import default_judge

    return default_judge(model_name)


def verdict_label(model_name: str, judged_by: str) -> str:
    """Who gave a verdict on ``model_name``'s picture: the independent judge, the twin
    network (same data and recipe), or another network named as itself."""
    from viz_core import zoo
    from viz_core.errors import VizError

    try:
        if judged_by == zoo.judge_for(model_name):
            return f"{zoo.JUDGE_LABEL} ({judged_by})"
        if judged_by == zoo.twin_of(model_name):
            return f"{zoo.TWIN_LABEL}: {judged_by}"
    except VizError:  # a user model outside the zoo: name the network as itself
        pass
    return judged_by


def robust_for(model_name: str) -> str | None:
    """The adversarially trained twin of a standard offline model (``fmnist_vgg`` ->
    ``fmnist_vgg_robust``, :func:`viz_core.zoo.twin_of`) when its weights are on this
    machine, else None."""
    twin = _twin(model_name, "robust")
    return None if twin == model_name else twin


def counterpart_for(model_name: str) -> str | None:
    """The other member of a standard / robust pair (``fmnist_vgg`` <->
    ``fmnist_vgg_robust``) when its weights are on this machine, else None: the model the
    Compare page runs side by side."""
    from viz_core import zoo
    from viz_core.errors import VizError

    try:
        robust = zoo.get_spec(model_name).robust
    except VizError:  # not in the zoo
        return None
    twin = _twin(model_name, "standard" if robust else "robust")
    return None if twin == model_name else twin


def _twin(model_name: str, kind: str) -> str | None:
    from viz_core import zoo
    from viz_core.errors import VizError

    try:
        twin = zoo.twin_of(model_name, kind)
    except VizError:  # not registered in this zoo
        return None
    return _offline(twin) if twin else None


def _offline(name: str) -> str | None:
    from viz_core.errors import VizError
    from viz_core.models import weights_status

    try:
        return name if weights_status(name) == "offline" else None
    except VizError:  # not registered in this zoo
        return None


def target_prob_label(v: Verdict) -> str:
    """What a verdict's target probability is of: the class an AM run maximises, or an
    inversion's original class (its dataset label, else the class the network sees in the
    original: Table 1's test, Sec. 3.2).

    >>> target_prob_label(Verdict("vgg", [("Bag", 0.9)], 0.9, {"target": "Bag"}))
    'class probability (vgg)'
    >>> target_prob_label(Verdict("vgg", [("Bag", 0.9)], 0.9, {"target": "Bag",
    ...                   "original": ["Bag", 0.8], "target_from": "original"}))
    'probability of Bag, its top class on the original (vgg)'
    """
    if v.original is None:
        return f"class probability ({v.model})"
    what = "the original's class" if v.data.get("target_from") == "label" else \
        "its top class on the original"
    return f"probability of {v.target}, {what} ({v.model})"


def verdict_parts(verdicts: Sequence[Verdict]) -> list[str]:
    """A picture's verdicts as caption parts: the model's probability of the target class,
    then what each other network sees (the independent judge's recognisability measure
    and, for Table 1's test, the paper's classifier, Sec. 3.2), with its probability of
    the target when that is not its top class. An inversion's parts name what each
    network sees in the original.

    >>> orig = {"original": ["Sandal", 0.85], "target_from": "label", "target": "Ankle boot"}
    >>> for part in verdict_parts([
    ...         Verdict("vgg", [("Sandal", 0.9)], 0.04, {**orig, "role": "model"}),
    ...         Verdict("lenet", [("Sneaker", 0.6)], 0.04, {**orig, "role": "judge"}),
    ...         Verdict("resnet", [("Ankle boot", 0.81)], 0.81,
    ...                 {**orig, "original": ["Ankle boot", 0.97], "role": "classifier"})]):
    ...     print(part)
    model sees Sandal (90%; Ankle boot 4%) (original: Sandal 85%)
    lenet sees Sneaker (60%; Ankle boot 4%) (original: Sandal 85%)
    resnet sees Ankle boot (81%) (original: Ankle boot 97%)
    """
    parts = []
    for k, v in enumerate(verdicts):
        orig = v.original  # an inversion: what the network sees in the original
        seen = f" (original: {orig[0]} {prob_text(orig[1])})" if orig else ""
        if k == 0 and v.target_prob is not None and orig is None:
            parts.append(f"class probability {prob_text(v.target_prob)}")
        elif k == 0 and v.target_prob is not None:  # an inversion: as the other networks'
            top, p = v.top[0] if v.top else (v.target, v.target_prob)
            parts.append(f"{v.target} {prob_text(v.target_prob)}{seen}" if top == v.target
                         else f"model sees {top} ({prob_text(p)}; {v.target} "
                              f"{prob_text(v.target_prob)}){seen}")
        elif k > 0 and v.top:
            name, p = v.top[0]
            who = v.model if v.data.get("role") == "classifier" else \
                verdict_label(verdicts[0].model, v.model)
            also = (f"; {v.target} {prob_text(v.target_prob)}"
                    if v.target_prob is not None and v.target and v.target != name else "")
            parts.append(f"{who} sees {name} ({prob_text(p)}{also}){seen}")
    return parts


def grid_summary(rec: Any, labels: Sequence[str] | None = None) -> str:
    """One line under a grid of pictures (one batch, :class:`dashboard.runs.RunRecord`),
    from its stored verdicts and metrics: how many the independent judge recognises, with
    chance (:func:`dashboard.preset_view.recognised_line`, the recognisability test of
    Sec. 3.2), and the best picture: by the judge's probability of the class for a class
    target, by the relative feature error ||Phi(u) - Phi(x)|| / ||Phi(x)|| (eq. 3) for an
    inversion, beside a flat image's (the floor a reconstruction has to beat), by the
    target activation otherwise. ``labels``: the pictures' names (default the record's).
    Markdown (names through :func:`dashboard.text.name`); "" while nothing is judged."""
    import json

    from dashboard.preset_view import no_judge_line, recognised_line

    labels = list(labels or rec.labels)
    try:
        task = json.loads(rec.configs[0]).get("task", "am") if rec.configs else "am"
    except (TypeError, ValueError, AttributeError):
        task = "am"
    act = np.asarray(rec.activation[-1], dtype=float) if rec.activation else None
    verdicts = list(rec.verdicts or [])
    line = recognised_line(rec) if verdicts else ""
    judged = [(v.target_prob, i, v) for i, vs in enumerate(verdicts) for v in vs
              if v.data.get("role") == "judge" and v.target_prob is not None and v.target]
    best = ""
    if task == "inversion" and act is not None and np.isfinite(act).any():
        i = int(np.nanargmin(np.where(np.isfinite(act), act, np.nan)))
        floor = (getattr(rec, "floors", None) or {}).get("feature_error")
        flat = f" (a flat image: {floor:.3g})" if floor is not None else ""
        best = f"Best relative feature error: {name(labels[i])} {act[i]:.3g}{flat}"
    elif task != "inversion" and judged:
        p, i, v = max(judged, key=lambda t: t[0])
        best = (f"Most surely recognised: {name(labels[i])} "
                f"(judge: {name(v.target)} {prob_text(p)})")
        line = f"{name(v.target)}: {line}" if line else line
    elif task != "inversion" and act is not None and np.isfinite(act).any():
        from dashboard.settings.labels import run_activation_label

        i = int(np.nanargmax(np.where(np.isfinite(act), act, np.nan)))
        best = f"Highest {run_activation_label(rec.configs)}: {name(labels[i])} {act[i]:.3g}"
        if any(vs and vs[0].target_prob is not None for vs in verdicts):  # a class, unjudged
            line = no_judge_line(rec.configs)
    return " ".join(p.rstrip(".") + "." for p in (line, best) if p)
