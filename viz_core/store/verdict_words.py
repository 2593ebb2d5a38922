"""A network's verdict on a pre-image in words (the recognisability test of Sec. 3.2): the
long form of the CLI, History comparisons and reports (:func:`verdict_text`), the History
table's short form (:func:`verdict_short`), no percentage from an output that is NaN or Inf
(:func:`not_finite`), and user-supplied names isolated from the numbers beside them
(:func:`isolate`)."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["NO_VERDICT", "isolate", "not_finite", "verdict_short", "verdict_text"]


#: Bidirectional classes that reorder a line around them: right-to-left letters, Arabic
#: digits and the explicit embeddings, overrides and isolates (Unicode's UAX #9).
_BIDI = {"R", "AL", "AN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
#: What a verdict says when the network's output was NaN or Inf (no probabilities).
NO_VERDICT = "no verdict: its output is NaN or Inf for this image"


def isolate(text: object) -> str:
    """A user's name (a class, a network) to be joined with numbers in one line: between
    U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE when it holds a
    right-to-left letter or a directional mark, so that it neither moves the percentages
    beside it nor takes them into its own direction (nor leaves an override open); any
    other name stays as it is.

    >>> isolate("Sneaker"), isolate("T-shirt/top"), isolate("\u05d3\u05d5\u05d3")
    ('Sneaker', 'T-shirt/top', '\u2068\u05d3\u05d5\u05d3\u2069')
    """
    s = str(text)
    if any(unicodedata.bidirectional(c) in _BIDI for c in s):
        return f"\u2068{s}\u2069"
    return s


def not_finite(v: Mapping[str, Any]) -> bool:
    """Whether a verdict comes from a network whose output was NaN or Inf
    (:func:`viz_core.judging.verdicts` marks it; a run stored before that has NaN
    probabilities): it has no class ranking and no percentage to show.

    >>> not_finite({"not_finite": True}), not_finite({"top": [["Bag", float("nan")]]})
    (True, True)
    >>> not_finite({"top": [["Bag", 0.9]], "target_prob": 0.9})
    False
    """
    if v.get("not_finite"):
        return True
    probs = [t[1] for t in v.get("top") or () if isinstance(t, (list, tuple)) and len(t) > 1]
    probs.append(v.get("target_prob"))
    return any(isinstance(p, float) and not math.isfinite(p) for p in probs)


def verdict_short(verdicts: Sequence[Mapping[str, Any]]) -> str:
    """The independent judge's verdict in a few words (the model's own where no judge
    looked): "✓ Sneaker 88%" when its top class is the target, else what it sees and the
    target's probability; "" without a verdict on a target; "no verdict (NaN/Inf)" where
    the network's output was not finite (:func:`not_finite`).

    >>> verdict_short([{"role": "judge", "top": [["Sneaker", 0.88]], "target": "Sneaker",
    ...                 "target_prob": 0.88}])
    '✓ Sneaker 88%'
    >>> verdict_short([{"role": "model", "top": [["Coat", 0.6]], "target": "Shirt",
    ...                 "target_prob": 0.2}])
    'model: ✗ Coat 60%; Shirt 20%'
    """
    pick = next((v for v in verdicts if v.get("role") == "judge"), None) or \
        next((v for v in verdicts if v.get("role") == "model"), None)
    if pick and not_finite(pick):
        return ("" if pick.get("role") == "judge" else "model: ") + "no verdict (NaN/Inf)"
    if not pick or not pick.get("top") or not pick.get("target"):
        return ""
    top, p = isolate(pick["top"][0][0]), pick["top"][0][1]
    seen = f"{top} {p:.0%}" if p is not None else str(top)
    who = "" if pick.get("role") == "judge" else "model: "
    if str(pick["top"][0][0]) == str(pick["target"]):
        return f"{who}✓ {seen}"
    tp = pick.get("target_prob")
    return f"{who}✗ {seen}" + (f"; {isolate(pick['target'])} {tp:.0%}" if tp is not None
                                else "")


def verdict_text(v: dict) -> str:
    """A network's verdict on a pre-image in words: its top classes, then the target's
    probability (a bare class index is called "class N").

    >>> verdict_text({"role": "judge", "model": "lenet", "top": [["Sneaker", None]],
    ...               "target": "7", "target_prob": 0.82})
    'judge lenet: top Sneaker; target class 7: 82%'
    >>> verdict_text({"role": "model", "model": "vgg", "top": [["Bag", 0.9], ["Shirt", 0.05]],
    ...               "target": "Bag", "target_prob": 0.9, "chance": 0.1})
    'model vgg: top Bag 90%, Shirt 5%; target Bag: 90% (chance 10%)'

    An inversion's verdict (eq. 3, Table 1's test) names the original's class:

    >>> verdict_text({"role": "judge", "model": "lenet", "top": [["Coat", 0.6]],
    ...               "target": "Coat", "target_prob": 0.6, "chance": 0.1,
    ...               "original": ["Coat", 0.97], "target_from": "label"})
    "judge lenet: top Coat 60%; the original's class Coat: 60% (chance 10%); the original: Coat 97%"

    A network whose output was NaN or Inf gives no verdict (no percentage from it); a
    right-to-left class name is isolated from the numbers beside it
    (:func:`~viz_core.store.settings_text.isolate`):

    >>> verdict_text({"role": "model", "model": "mine", "top": [], "target": "Bag",
    ...               "target_prob": None, "not_finite": True})
    'model mine: no verdict: its output is NaN or Inf for this image'
    """
    if not_finite(v):
        return f"{v.get('role', '')} {v.get('model', '')}: {NO_VERDICT}"
    tops = ", ".join(isolate(c) if p is None else f"{isolate(c)} {p:.0%}"
                     for c, p in v.get("top", []))
    tp, name = v.get("target_prob"), str(v.get("target") or "")
    name = f"class {name}" if name.isdigit() else isolate(name)
    chance = f" (chance {v['chance']:.0%})" if v.get("chance") is not None else ""
    what = {"label": "the original's class", "original": "its top class on the original,"
            }.get(str(v.get("target_from")), "target")
    target = f"; {what} {name}: {tp:.0%}{chance}" if tp is not None and name else ""
    if v.get("original"):  # an inversion: what the network sees in the inverted image
        c, p = v["original"]
        target += f"; the original: {isolate(c)} {p:.0%}"
    return f"{v.get('role', '')} {v.get('model', '')}: top {tops}{target}"
