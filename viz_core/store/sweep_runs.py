"""Sweep cells as stored runs, grouped by their sweep (one group per result folder).

A cell's run id is derived from the sweep folder and the cell id, so a resumed sweep does
not store a cell twice."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from viz_core.store.records import RunRecord, storable


def sweep_group(root: str | Path) -> str:
    """``sweep <folder name> <hash of its absolute path>``: the group of a sweep's runs."""
    p = Path(root).resolve()
    digest = hashlib.sha256(str(p).encode("utf-8", "surrogateescape")).hexdigest()[:6]
    return f"sweep {storable(p.name)} {digest}"


def cell_run_id(group: str, cell_id: str) -> str:
    """The stored run id of a sweep cell: a hash of its group and cell id (the same on
    every resume)."""
    return hashlib.sha256(f"{group}/{cell_id}".encode()).hexdigest()[:12]


def batch_sizes(rows: Iterable[Mapping]) -> dict[str, int]:
    """Batch id -> how many of the sweep's ``rows`` (cells) its one batched pass computed.

    >>> batch_sizes([{"batch_id": "b0"}, {"batch_id": "b0"}, {"batch_id": "b1"}])
    {'b0': 2, 'b1': 1}
    """
    return dict(Counter(str(r["batch_id"]) for r in rows if r.get("batch_id")))


def cell_record(row: dict, png: bytes | None, group: str, command: str = "",
                tags: list[str] | None = None, curves: dict | None = None,
                root: str | Path | None = None, verdicts: list[dict] | None = None,
                batch_size: int | None = None) -> RunRecord:
    """The stored run of one sweep cell (a row of the sweep table and its PNG), with what a
    Playground run keeps: the weights hash, the ``curves`` (D and the target activation
    over the steps: the batch result's ``curves(cell_id)``), the judge's target by its
    class name (``verdict_text`` calls a bare index "class N") and ``batch_size``, how many
    cells its batch computed together (:func:`batch_sizes` of the sweep's rows). An
    inverted image the sweep
    folder ``root`` keeps a copy of (``inputs/...``) is stored as that file's path, so
    that the run replays from the History (a shipped sample keeps its name, which every
    reader resolves)."""
    config = json.loads(row["config"]) if isinstance(row.get("config"), str) else {}
    image = config.get("image")
    if root is not None and isinstance(image, str) and image and not Path(image).is_absolute() \
            and (Path(root) / image).is_file():
        config["image"] = str((Path(root) / image).resolve())
    from viz_core.metrics import METRICS

    metrics = {}
    for key in METRICS:  # the sweep table's columns are the registry's keys
        v = row.get(key)
        if v is not None:
            metrics[key] = float(v)
    # the batch's own verdicts (the model's and the judge's top-3, BatchResult.verdicts),
    # else (older sweeps) the judge's top-1 from the table
    verdicts = list(verdicts or [])
    if not verdicts and row.get("judge") and row.get("judge_top1_class") is not None:
        verdicts.append({"role": "judge", "model": row["judge"],
                         "top": [[str(row["judge_top1_class"]), None]],
                         "target": str(row.get("target_class") or row.get("target")),
                         "target_prob": row.get("judge_target_prob")})
    # the floor of the judge's target probability: chance (older sweeps: not recorded)
    floors = ({"judge_target_prob": float(row["judge_chance"])}
              if row.get("judge_chance") is not None and "judge_target_prob" in metrics
              else {})
    floors.update({f"{v['role']}_target_prob": float(v["chance"]) for v in verdicts
                   if v.get("target_prob") is not None and v.get("chance") is not None})
    # an inversion's PSNR / SSIM and feature error (eq. 3) floors: the flat image's, from
    # the table (older sweeps: not recorded)
    floors.update({k: float(row[f"{k}_floor"]) for k in ("psnr", "ssim", "feature_error")
                   if row.get(f"{k}_floor") is not None and k in metrics})
    seconds = float(row.get("seconds") or 0.0)
    now = time.time()
    return RunRecord(
        config=config, model=str(row.get("model", "")), task=str(row.get("task", "")),
        scheme=str(row.get("scheme", "")),
        status="diverged" if row.get("diverged") else "done",
        started=now - seconds, ended=now, id=cell_run_id(group, str(row["cell_id"])),
        model_label=str(row.get("model_label", "")), metrics=metrics, floors=floors,
        verdicts=verdicts, weights_hash=str(row.get("weights_hash") or ""),
        curves=dict(curves or {}), group_id=group, command=command,
        message=str(row.get("diverged") or ""),
        tags=list(tags or []), image=png, batch_size=batch_size)
