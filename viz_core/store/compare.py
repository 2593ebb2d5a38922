"""Reading runs side by side: which settings differ, the metrics with their floors, the
verdicts as one line, and the command that reproduces a run."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Sequence
from typing import Any

from viz_core.store.records import RunRecord

#: Settings that do not change what a run computes (left out of "what differs").
DISPLAY_ONLY = ("every", "name", "device")


def display_only(key: str) -> bool:
    """Whether a flat setting changes nothing a run computes: :data:`DISPLAY_ONLY`, and
    ``extra.ui.*``, the dashboard's copy of the same settings."""
    return key.split(".")[0] in DISPLAY_ONLY or key.startswith("extra.ui.")


def flat_settings(config: dict, prefix: str = "") -> dict[str, Any]:
    """A configuration as ``{"fluid.kind": "gaussian", "step_size": 5.0, ...}``; an empty
    mapping (``extra: {}``) sets nothing.

    >>> flat_settings({"fluid": {"kind": "gaussian"}, "extra": {}, "octaves": [1, 2]})
    {'fluid.kind': 'gaussian', 'octaves': '[1, 2]'}
    """
    out: dict[str, Any] = {}
    for k, v in config.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flat_settings(v, key + "."))
        else:
            out[key] = json.dumps(v) if isinstance(v, (list, dict)) else v
    return out


def differing_settings(runs: Sequence[RunRecord]) -> dict[str, list[Any]]:
    """Setting -> one value per run, for the settings in which the runs differ (the model
    label counts as a setting)."""
    from viz_core.samples import sample_name

    flats = [{"model_label": r.model_label, **flat_settings(r.config)} for r in runs]
    for f in flats:  # a shipped sample by its name, however it was stored (a server's
        if isinstance(f.get("image"), str):  # path, the sweep's sample name): one image
            f["image"] = sample_name(f["image"])
    keys = list(dict.fromkeys(k for f in flats for k in f))
    out = {}
    for k in keys:
        if display_only(k):
            continue
        vals = [f.get(k) for f in flats]
        if any(v != vals[0] for v in vals[1:]):
            out[k] = vals
    return out


def metric_keys(runs: Sequence[RunRecord]) -> list[str]:
    """The runs' metric keys in the registry's order (:data:`viz_core.metrics.METRICS`),
    then any others (e.g. ``grad_norm``) alphabetically."""
    return registry_order({k for r in runs for k in r.metrics})


def registry_order(keys: Sequence[str] | set[str]) -> list[str]:
    """Metric keys in the registry's order (:data:`viz_core.metrics.METRICS`), then any
    others (e.g. ``grad_norm``) alphabetically.

    >>> registry_order(["grad_norm", "ssim", "activation", "feature_error", "psnr"])
    ['activation', 'psnr', 'ssim', 'feature_error', 'grad_norm']
    """
    from viz_core.metrics import METRICS

    keys = set(keys)
    return [k for k in METRICS if k in keys] + sorted(keys - set(METRICS))


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def metric_rows(runs: Sequence[RunRecord]) -> list[tuple[str, list[str], str]]:
    """(metric, value per run, floor) rows; the floor is "" where none applies."""
    rows = []
    for k in metric_keys(runs):
        floors = {fmt(r.floors[k]) for r in runs if k in r.floors}
        rows.append((k, [fmt(r.metrics.get(k)) for r in runs], " / ".join(sorted(floors))))
    for k in sorted({k for r in runs for k in r.floors} - set(metric_keys(runs))):
        vals = []
        for r in runs:
            v = next((x.get("target_prob") for x in r.verdicts
                      if f"{x.get('role')}_target_prob" == k), None)
            vals.append(fmt(v))
        rows.append((k, vals, " / ".join(sorted({fmt(r.floors[k]) for r in runs
                                                  if k in r.floors}))))
    return rows


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
    """
    tops = ", ".join(c if p is None else f"{c} {p:.0%}" for c, p in v.get("top", []))
    tp, name = v.get("target_prob"), str(v.get("target") or "")
    name = f"class {name}" if name.isdigit() else name
    chance = f" (chance {v['chance']:.0%})" if v.get("chance") is not None else ""
    what = {"label": "the original's class", "original": "its top class on the original,"
            }.get(str(v.get("target_from")), "target")
    target = f"; {what} {name}: {tp:.0%}{chance}" if tp is not None and name else ""
    if v.get("original"):  # an inversion: what the network sees in the inverted image
        c, p = v["original"]
        target += f"; the original: {c} {p:.0%}"
    return f"{v.get('role', '')} {v.get('model', '')}: top {tops}{target}"


def when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def reproduce_command(run: RunRecord) -> str:
    """The command that re-runs a stored run: its configuration as a run JSON, replayed by
    ``demons-viz visualize --config`` (``history export ID --format json`` writes it)."""
    return (f"demons-viz history export {run.id} --format json --out run.json && "
            f"demons-viz visualize --config run.json --out {shlex.quote(run.id + '.png')}")


def run_json(run: RunRecord) -> dict:
    """A run JSON that ``demons-viz visualize --config`` replays (the configuration's keys)
    with the stored results under ``stored_run``."""
    info = {k: v for k, v in run.summary().items() if k != "config"}
    return {**run.config, "stored_run": info}
