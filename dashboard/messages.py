"""Errors in the dashboard's words: which control a :class:`~viz_core.errors.VizError`
belongs to (:func:`field_key`), core messages without CLI flags, Python arguments or
server paths (:func:`ui_message`), and the dashboard's own notices that quote what a user
gave (:class:`Notice`), which are shown as they are."""

from __future__ import annotations

import re

# VizError.field -> Playground control (kernel fields are resolved per slot, see field_key)
_FIELD_KEYS = {
    "model": "model", "weights": "weights", "task": "task", "target": "target",
    "layer": "layer", "channel": "channel", "unit": "unit_y", "image": "image", "p": "p",
    "step_size": "step_size", "steps": "steps", "octaves": "octaves", "jitter": "jitter",
    "seed": "seed", "init_std": "init_std", "grad_norm": "grad_norm", "device": "device",
    "optimizer": "optimizer", "class_score": "class_score", "init": "init",
    "every": "every", "tv": "tv", "tv_eps": "tv_eps", "elastic_every": "e_every",
    "border": "border", "fluid": "f_kind", "elastic": "e_kind", "config": "json",
}
_KERNEL_FIELDS = {"kernel": "kind", "kernel_size": "size", "sigma": "sigma", "gamma": "gamma",
                  "order": "order", "d": "d", "lambda": "lambda", "f0": "f0", "param": "kind"}


def field_key(field: str | None, slot: str | None = None) -> str:
    """The Playground control a :class:`VizError` field belongs to (``slot``: "f" | "e")."""
    if field is None:
        return "run"
    if field in _KERNEL_FIELDS:
        return f"{slot or 'f'}_{_KERNEL_FIELDS[field]}"
    return _FIELD_KEYS.get(field, "run")


_REWRITES = [  # CLI and Python wording in core messages -> the dashboard's words
    (r"Download \S+ and put it at .*?, or use weights='random'\.",
     "Put the torchvision checkpoint into the server's torch hub cache (see the README), or "
     "choose 'random' weights."),
    (r"; train them with `[^`]*`", " on this server (the README says how to build them)"),
    (r"\s*\(--[\w-]+(?: [A-Z]+)?(?: and --[\w-]+)?\)", ""),
    (r"--target CLASS", "a class"), (r"--channel C\b", "a channel"),
    (r"--image PATH", "an image"), (r"(?<![\w-])--([a-z][\w-]*)", r"\1"),
    (r"allow_download=True", "a download"), (r"weights='random'", "'random' weights"),
    # the library names a field or argument as Python does (``target=``, ``executor='ray'``,
    # ``set channels=3``)
    (r"\bset ([a-z][a-z0-9_]*)=(\d[\w.]*)",
     lambda m: f"set {m.group(1).replace('_', ' ')} to {m.group(2)}"),
    (r"\s*\([a-z_]+=(?: and [a-z_]+=)?\)", ""), (r"an HTML report: html_report\(\)",
                                                "the HTML report"),
    (r"(?<![\w.'\",=/-])(?<!\w\()([a-z][a-z0-9_]*)=(?:'([^'\s]*)'|(?=[\s,;:.)]|$))",
     lambda m: m.group(1).replace("_", " ") + (f" '{m.group(2)}'" if m.group(2) else "")),
    (r"(?<![\w.:])/(?:[\w.~-]+/)+([\w.-]+)", r"\1"),
]


class Notice(str):
    """A message the dashboard wrote itself that quotes a value as a user gave it (a link's
    ``model=[x](http://e.com/a/b)``, ``size=abc``): already in the dashboard's words, so
    :func:`ui_message` leaves it as it is and the value is not read as a path or a flag.
    A plain ``str`` everywhere else."""

    __slots__ = ()


def ui_message(text: str) -> str:
    """A core error message in the dashboard's language: no CLI flags, no Python
    arguments, no server paths (only file names). A :class:`Notice` is returned as it is.

    >>> ui_message("weights missing at /srv/cache/w.pth (--weights FILE)")
    'weights missing at w.pth'
    >>> ui_message("activation maximization needs a class (target=) or a layer channel "
    ...            "(layer= and channel=)")
    'activation maximization needs a class or a layer channel'
    >>> ui_message("unit= is a unit of a channel: give channel= and layer= with it")
    'unit is a unit of a channel: give channel and layer with it'
    >>> ui_message("net.pt2 takes 3-channel inputs, not 1: set channels=3")
    'net.pt2 takes 3-channel inputs, not 1: set channels to 3'
    >>> ui_message(Notice("model: 'http://e.com/a/b' is not available here"))
    "model: 'http://e.com/a/b' is not available here"
    """
    if isinstance(text, Notice):
        return text
    for pattern, repl in _REWRITES:
        text = re.sub(pattern, repl, text)
    return text

