"""Reading runs side by side: which settings differ, the metrics with their floors, the
verdicts as one line, and the command that reproduces a run."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Sequence
from typing import Any

from viz_core.store.records import JUDGE_HIT, RunRecord
from viz_core.store.settings_text import Fitted, fitted_param

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


def image_name(path: str) -> str:
    """An inverted image by what it is: a shipped sample by its name
    (``fmnist/0_ankle_boot.png``) wherever the run found it (this checkout's samples,
    another clone's ``.../assets/samples/fmnist/0_ankle_boot.png``, a bare file name), any
    other file by its path. A stored path counts as the sample when it ends in a name this
    checkout ships under a ``samples`` folder and, if that file is still there, holds the
    same bytes (the store keeps no hash of the inverted image).

    >>> image_name("/elsewhere/assets/samples/fmnist/0_ankle_boot.png")
    'fmnist/0_ankle_boot.png'
    >>> image_name("/home/me/boot.png")
    '/home/me/boot.png'
    """
    from pathlib import Path, PurePath

    from viz_core.samples import sample_name, sample_path, samples_dir

    if not isinstance(path, str) or not path:
        return path
    name = sample_name(path)  # a file of this checkout's samples
    if not PurePath(name).is_absolute():  # a sample's name, or a bare file name of one
        found = sample_path(name)
        return sample_name(found) if found != name else name
    parts = PurePath(path.replace("\\", "/")).parts
    root = samples_dir()
    for i in range(len(parts) - 2, 0, -1):  # the last ``samples`` folder on the path
        if parts[i] != root.name:
            continue
        rest = "/".join(parts[i + 1:])
        ours, there = root / rest, Path(path)
        try:
            if not ours.is_file() or (there.is_file()
                                      and there.read_bytes() != ours.read_bytes()):
                return path
        except OSError:
            return path
        return rest
    return path


def _stages(value: Any) -> list[list] | None:
    """An octave schedule as ``[[scale, steps, tau], ...]`` of floats and ints (a stored
    JSON text, integer scales of older runs); None for none or one that does not parse."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    try:
        return [[float(s), int(n), float(t)] for s, n, t in value] if value else None
    except (TypeError, ValueError):
        return None


def run_settings(run: RunRecord) -> dict[str, Any]:
    """A run's settings as what it computed with (:func:`flat_settings` and the model
    label): the inverted image by what it is (:func:`image_name`); with octaves, the steps
    of its stages together (the stages decide the steps and tau of eq. 18, Sec. 2.7: the
    ``steps`` and ``step_size`` fields are unused); None for any setting the run does not
    use (:func:`~viz_core.store.settings_text.applies`: Adam's moments without Adam, the
    TV smoothing without TV, ...).

    >>> r = RunRecord(config={"steps": 100, "octaves": [[1, 30, 5], [1.2, 20, 2]],
    ...                       "step_size": 5.0}, model="m", task="am", scheme="tv")
    >>> s = run_settings(r)
    >>> s["steps"], s["step_size"], s["octaves"]
    (50, None, '[[1.0, 30, 5.0], [1.2, 20, 2.0]]')
    """
    from viz_core.store.settings_text import applies

    flat = {"model_label": run.model_label, **flat_settings(run.config)}
    for slot in ("fluid", "elastic"):  # a parameter fitted to the size: its value (Sec. 2.7)
        if flat.get(f"{slot}.param") is None:
            fitted = fitted_param(flat.get(f"{slot}.kind"), flat.get(f"{slot}.size"),
                                  flat.get(f"{slot}.order") or 1)
            if fitted is not None:
                flat[f"{slot}.param"] = fitted
    out = {k: v if display_only(k) or applies(k, flat) else None for k, v in flat.items()}
    if isinstance(out.get("image"), str):
        out["image"] = image_name(out["image"])
    stages = _stages(flat.get("octaves"))
    if stages:
        out["octaves"] = json.dumps(stages)
        out["steps"] = sum(n for _, n, _ in stages)
    return out


def differing_settings(runs: Sequence[RunRecord]) -> dict[str, list[Any]]:
    """Setting -> one value per run, for the settings in which the runs differ, by what
    each run did (:func:`run_settings`: a shipped sample by its name however it was stored,
    an octave run's total steps, None where a run does not use a setting; the model label
    counts as a setting)."""
    flats = [run_settings(r) for r in runs]
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
    then any others (e.g. ``grad_norm``) alphabetically; inversions only: their
    ``activation`` once, as ``feature_error`` (the same number, eqs. 2-3).

    >>> inv = RunRecord(config={}, model="m", task="inversion", scheme="tv",
    ...                 metrics={"activation": 0.4, "feature_error": 0.4, "psnr": 14.0})
    >>> metric_keys([inv])
    ['psnr', 'feature_error']
    >>> am = RunRecord(config={}, model="m", task="am", scheme="tv", metrics={"activation": 2})
    >>> metric_keys([inv, am])
    ['activation', 'psnr', 'feature_error']
    """
    keys = {k for r in runs for k in r.metrics}
    if runs and all(r.task == "inversion" and "feature_error" in r.metrics for r in runs):
        keys.discard("activation")
    return registry_order(keys)


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
    """A value for a table cell: ``-`` for None, four significant digits for a float."""
    if v is None:
        return "-"
    if isinstance(v, Fitted):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def metric_rows(runs: Sequence[RunRecord], beside: bool = False
                ) -> list[tuple[str, list[str], str]]:
    """(metric, value per run, floor) rows; the floor is "" where none applies. One floor
    when every run has the same; else (each run inverts its own image, so a flat image's
    PSNR differs) each run's own: ``beside`` each value ("14.2 (floor 11.78)", the floor
    column then says so), or named by run id in the floor column.

    >>> a = RunRecord(config={}, model="m", task="inversion", scheme="tv", id="aa",
    ...               metrics={"psnr": 14.2}, floors={"psnr": 11.78})
    >>> b = RunRecord(config={}, model="m", task="inversion", scheme="tv", id="bb",
    ...               metrics={"psnr": 15.0}, floors={"psnr": 13.22})
    >>> metric_rows([a, b])
    [('psnr', ['14.2', '15'], 'aa: 11.78; bb: 13.22')]
    >>> metric_rows([a, b], beside=True)
    [('psnr', ['14.2 (floor 11.78)', '15 (floor 13.22)'], 'beside each value')]
    >>> metric_rows([a, a], beside=True)
    [('psnr', ['14.2', '14.2'], '11.78')]
    """
    rows = []
    keys = metric_keys(runs)
    for k in keys:
        rows.append((k, *_floored(runs, k, [fmt(r.metrics.get(k)) for r in runs], beside)))
    for k in sorted({k for r in runs for k in r.floors} - set(keys)):
        vals = []
        for r in runs:
            v = next((x.get("target_prob") for x in r.verdicts
                      if f"{x.get('role')}_target_prob" == k), None)
            vals.append(fmt(v))
        rows.append((k, *_floored(runs, k, vals, beside)))
    return rows


def _floored(runs: Sequence[RunRecord], key: str, values: list[str], beside: bool
             ) -> tuple[list[str], str]:
    """The values of ``key`` and its floor text (:func:`metric_rows`)."""
    floors = [_floor(r, key) for r in runs]
    have = {f for f in floors if f is not None}
    if not have:
        return values, ""
    if len(have) == 1 and None not in floors:
        return values, have.pop()
    if beside:
        return ([v if f is None or v == "-" else f"{v} (floor {f})"
                 for v, f in zip(values, floors)], "beside each value")
    return values, "; ".join(f"{r.id}: {f}" for r, f in zip(runs, floors) if f is not None)


def _floor(run: RunRecord, key: str) -> str | None:
    """A run's floor of ``key`` as text; the judge's top-1 hit: its chance level ("chance
    10%", the floor of its target probability or the judge's verdict), None without one."""
    if key in run.floors or key != JUDGE_HIT:
        return fmt(run.floors[key]) if key in run.floors else None
    chance = run.floors.get("judge_target_prob", next(
        (v.get("chance") for v in run.verdicts if v.get("role") == "judge"), None))
    return None if chance is None else f"chance {float(chance):.0%}"


def when(t: float) -> str:
    """A Unix time as local ``YYYY-MM-DD HH:MM:SS``."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def reproduce_command(run: RunRecord) -> str:
    """The command that re-runs a stored run: its configuration as a run JSON, replayed by
    ``demons-viz visualize --config`` (``history export ID --format json`` writes it)."""
    return (f"demons-viz history export {run.id} --format json --out run.json && "
            f"demons-viz visualize --config run.json --out {shlex.quote(run.id + '.png')}")


#: Why a run computed in a batch can come out differently alone (the engine applies eq. 18
#: per sample, but the network sums a batch in another order).
BATCH_WHY = ("the network's batched pass rounds in the last digits differently from a lone "
             "run's, and a long or steep run can grow that into another result")
ALONE_DIFFERS = ("run alone (Open in the Playground, the reproduce command) it can differ "
                 f"visibly: {BATCH_WHY}")


def batch_mates(store: Any, run: RunRecord) -> list[RunRecord]:
    """The stored runs of ``run``'s group with their configurations (the deleted ones too:
    they were computed with it), ``run`` included; ``[run]`` for a run without a group."""
    if not run.group_id:
        return [run]
    found = {r.id: r for deleted in (False, True)
             for r in store.list(group=run.group_id, configs=True, deleted=deleted)}
    found.setdefault(run.id, run)
    return list(found.values())


def _coupled(config: dict) -> bool:
    """Whether a configuration's objective has a ``diversity`` term, which compares the
    samples of its batch (Olah et al.): such samples are one batch by design."""
    text = config.get("objective") if isinstance(config, dict) else None
    if not text:
        return False
    from viz_core.engine import has_diversity

    try:
        return has_diversity(str(text))
    except Exception:  # noqa: BLE001 - an objective this version does not parse
        return False


def _batchable(a: dict, b: dict) -> bool:
    """Whether two stored configurations fit one engine batch (its rule: same model,
    layer, image, schedule, ...)."""
    from viz_core.config import RunConfig
    from viz_core.engine import check_batchable

    try:
        check_batchable([RunConfig.from_dict(a), RunConfig.from_dict(b)])
    except Exception:  # noqa: BLE001 - not batchable, or a configuration that no longer loads
        return False
    return True


def batch_size(run: RunRecord, mates: Sequence[RunRecord] | None) -> int | None:
    """How many runs shared ``run``'s engine batch, itself included: the size stored with
    the run (:attr:`RunRecord.batch_size`), else from what the store keeps (``mates``:
    :func:`batch_mates`; None when not looked up): 1 when it ran alone (no group; the CLI's
    ``--samples`` without a diversity term run one after another); Compare's cells of one
    model (one batch per model and Run click) and the Playground's samples exactly; a
    sweep's or a preset's cell stored before its batch size was: 1 when no other run of its
    group fits its batch, else None, as for any group when ``mates`` is None."""
    if run.batch_size:
        return int(run.batch_size)
    group = run.group_id
    if not group:
        return 1
    kind = group.split(" ", 1)[0]
    if kind == "visualize" and not _coupled(run.config):
        return 1
    if mates is None:
        return None
    others = [m for m in mates if m.group_id == group and m.id != run.id]
    if kind == "compare":
        return 1 + sum(m.model == run.model for m in others)
    if kind in ("playground", "visualize"):
        return 1 + len(others)
    fits = any(m.command == run.command and _batchable(run.config, m.config)
               for m in others)
    return None if fits else 1


def batch_note(run: RunRecord, mates: Sequence[RunRecord] | None) -> str:
    """What a run computed in a batch may show when run again alone, in one sentence; ""
    for a run computed alone (:func:`batch_size`).

    >>> r = RunRecord(config={}, model="m", task="am", scheme="tv", group_id="compare 1")
    >>> batch_note(r, [r, RunRecord(config={}, model="m", task="am", scheme="tv",
    ...                             group_id="compare 1")]).split(":")[0]
    'Computed in a batch of 2 runs'
    >>> batch_note(RunRecord(config={}, model="m", task="am", scheme="tv"), None)
    ''
    """
    n = batch_size(run, None if mates is None else list(mates))
    if n == 1:
        return ""
    if _coupled(run.config):
        what = f"a batch of {n} samples" if n else "a batch of samples"
        return (f"Computed in {what} that its diversity term compares: run alone, that "
                "term is 0 and the result differs.")
    if n is None and mates is None and run.group_id.split(" ", 1)[0] != "compare":
        return (f"May have been computed in a batch with other runs of its group "
                f"({run.group_id}): {ALONE_DIFFERS}.")
    unit = "cells" if run.group_id.split(" ", 1)[0] == "sweep" else "runs"
    what = f"a batch of {n} {unit}" if n else "a batch of cells"
    return f"Computed in {what}: {ALONE_DIFFERS}."


def run_json(run: RunRecord) -> dict:
    """A run JSON that ``demons-viz visualize --config`` replays (the configuration's keys)
    with the stored results under ``stored_run``."""
    info = {k: v for k, v in run.summary().items() if k != "config"}
    return {**run.config, "stored_run": info}
