"""Runs one batch of sweep cells and measures each final pre-image.

This is the work unit of every executor (the local loop and the Ray tasks). It is a pure
function of a picklable :class:`BatchTask`; a process keeps the models it loaded in a
small cache, so a worker that runs many batches of one model loads it once.

Per cell (Sec. 3 and 4 of the paper): the final objective and target activation (for
inversion the relative feature error ``||Phi(u) - Phi_0|| / ||Phi_0||``, eq. 3); the
high-frequency share, the coarse share and the total variation (eq. 19) of the pre-image;
for activation maximization (eq. 4), how the independent judge classifies the 8-bit
pre-image (top-1 and the target's probability, the recognisability measure of Table 1);
for inversion, PSNR and SSIM against the original. Each row also names a class target by
the model's class name and the weights by their hash; the batch's result carries each
cell's curves (data term D, eqs. 3-4, and the target activation over the steps), read from
a few frames of the same run (no extra forward pass).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from viz_core import engine, models
from viz_core.config import RunConfig
from viz_core.devices import resolve_device
from viz_core.errors import VizError
from viz_core.images import load_image, png_bytes
from viz_core.metrics import METRICS, image_metrics, run_rows
from viz_core.store.capture import batch_verdicts, class_target, floors_for
from viz_core.store.records import CurveRecorder, weights_hash
from viz_core.sweeps.spec import RANDOM, TRAINED
from viz_core.sweeps.store import png_name
from viz_core.zoo import judge_for

#: At most this many frames per batch carry the curves (plus the start): a frame is a
#: read of numbers the engine keeps anyway, no extra forward or backward pass.
CURVE_POINTS = 20


def default_judge(model: str) -> str | None:
    """The independent judge of ``model`` (:func:`viz_core.zoo.judge_for`) when its weights
    are on this machine, else None."""
    try:
        judge = judge_for(model)
        return judge if judge and models.weights_status(judge) == "offline" else None
    except VizError:  # a model not registered in this zoo
        return None


def resolve_judge(judge: str, model: str) -> str | None:
    """``auto`` -> :func:`default_judge`, ``none`` -> None, else the zoo name itself."""
    if judge in ("", "none"):
        return None
    if judge == "auto":
        return default_judge(model)
    models.get_spec(judge)  # VizError for an unknown name
    return judge


@dataclass
class BatchTask:
    """Everything a worker needs for one batch (plain data, so it pickles)."""

    batch_id: str
    cells: list[dict]              # {"index", "id", "values", "config": RunConfig dict}
    judge: str | None = None
    image: bytes | None = None     # the file to invert (shipped, so workers need no files)
    threads: int | None = None     # torch threads in this process (CPU workers)
    fail_marker: str | None = None  # tests: the first attempt creates it and dies


@dataclass
class BatchResult:
    batch_id: str
    rows: list[dict]
    pngs: dict[str, bytes]
    seconds: float                 # compute time of the batch in its worker
    worker: str = ""
    extra: dict = field(default_factory=dict)  # "curves": {cell id: curves}

    def verdicts(self, cell_id: str) -> list[dict]:
        """The model's and the judge's verdicts on one cell's pre-image (top-3, target
        probability, chance: :func:`viz_core.store.capture.verdicts_of`), as a stored run
        keeps them; [] for an inversion or a batch computed before verdicts were kept."""
        return list((self.extra.get("verdicts") or {}).get(cell_id) or [])

    def curves(self, cell_id: str) -> dict[str, list]:
        """The curves of one cell (``step`` and the keys of
        :data:`viz_core.store.records.CURVE_KEYS`), as a stored run keeps them; {} for a
        batch computed before curves were recorded."""
        return dict((self.extra.get("curves") or {}).get(cell_id) or {})


def curve_every(total_steps: int) -> int:
    """Steps between the frames of a sweep batch: at most :data:`CURVE_POINTS` frames.

    >>> curve_every(60), curve_every(5), curve_every(1000)
    (3, 1, 50)
    """
    return max(1, -(-int(total_steps) // CURVE_POINTS))


def class_name(model, cfg: RunConfig) -> str | None:
    """The model's name of ``cfg``'s class target (eq. 4,
    :func:`viz_core.store.capture.class_target`), None for a channel or unit target, an
    inversion or a class index the model does not have."""
    target = class_target(cfg)
    classes = list(getattr(model, "classes", None) or [])
    return str(classes[target]) if target is not None and 0 <= target < len(classes) else None


_CACHE: OrderedDict[tuple, object] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 4


def cached_model(cfg: RunConfig):
    """The model of ``cfg``, loaded once per process (least recently used of 4 dropped)."""
    dev = resolve_device(cfg.device)
    key = (cfg.model, cfg.weights, cfg.seed if cfg.weights == RANDOM else 0, str(dev),
           repr(sorted(cfg.extra.items())) if os.path.isfile(cfg.model) else "")
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    model = engine.prepare_model(cfg, dev)
    with _CACHE_LOCK:
        _CACHE[key] = model
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return model


def _fail_once(marker: str | None) -> None:
    """Fault injection for the retry tests: a worker that dies in the middle of a batch."""
    if marker and not os.path.exists(marker):
        with open(marker, "w") as fh:
            fh.write(str(os.getpid()))
        os._exit(17)


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def judge_columns(v: dict | None, classes) -> dict:
    """The sweep table's judge columns of one cell from the judge's verdict
    (:func:`viz_core.store.capture.batch_verdicts`): top-1 class, the class it is judged
    against (AM: the class maximised; inversion: the original's class, Table 1's test),
    the target's probability and its floor (chance), and whether the top-1 is the target;
    {} without a verdict."""
    if not v:
        return {}
    top = str(v["top"][0][0])
    names = [str(c) for c in classes]
    return {"judge_top1": names.index(top) if top in names else None,
            "judge_top1_class": top,
            "judge_target_class": None if v.get("target") is None else str(v["target"]),
            "judge_target_prob": v.get("target_prob"),
            "judge_chance": v.get("chance"),
            "judge_hit": None if v.get("target_prob") is None else top == v.get("target")}


def start_values(configs: list[RunConfig], model: Any, ref: Any) -> list[dict]:
    """Each cell's metrics at its start image (the initial noise of Sec. 3, before any
    step): the image metrics of step 0's pictures, the objective and target activation
    that step 1's forward pass measures on them (one step of the engine, then closed)."""
    gen = engine.run(configs, model, reference=ref, every=1)
    try:
        f0 = next(gen)
        f1 = next(gen, None)
    finally:
        gen.close()
    met = image_metrics(f0.images)
    out = []
    for i in range(len(configs)):
        row = {k: _num(v[i]) for k, v in met.items() if METRICS[k].source == "image"}
        if f1 is not None:
            row["objective"] = _num(f1.objective[i])
            row["activation"] = _num(f1.activation[i])
        out.append(row)
    return out


def run_batch(task: BatchTask, on_frame: Callable[[Any], None] | None = None,
              stop: threading.Event | None = None, start: bool = False) -> BatchResult:
    """Run the batch's configurations as one engine batch and measure every cell.

    ``on_frame``: every frame as it comes (a page drawing the batch); ``stop``: ends the
    batch between two steps, and its cells are then measured as they are and marked
    ``stopped`` (with ``steps_done``); ``start``: also each cell's :func:`start_values`
    (``extra["start"]``, one engine step more)."""
    _fail_once(task.fail_marker)
    if task.threads:
        torch.set_num_threads(task.threads)
    t0 = time.perf_counter()
    configs = [RunConfig.from_dict(c["config"]) for c in task.cells]
    c0 = configs[0]
    model = cached_model(c0)
    ref = None
    if c0.task == "inversion":
        source = task.image if task.image is not None else c0.image
        ref, _ = load_image(source, model.spec.input_size, model.spec.channels)
    begin = start_values(configs, model, ref) if start else None
    recorders = [CurveRecorder(i) for i in range(len(configs))]
    final = None
    for frame in engine.run(configs, model, reference=ref, every=curve_every(c0.total_steps),
                            stop=stop):
        for r in recorders:
            r(frame)
        final = frame
        if on_frame is not None:
            on_frame(frame)
    measured = run_rows(final, configs, ref)
    # the model's and the judge's verdicts, one forward pass each (an AM class target; an
    # inversion's original class, Table 1's test); the judge's also fill the table's judge
    # columns (a judge of other classes gives its top-1 only)
    jm = cached_model(RunConfig(model=task.judge, device=c0.device)) if task.judge else None
    found = batch_verdicts(configs, model, final.images, jm, ref)
    judged = [judge_columns(next((v for v in vs if v["role"] == "judge"), None),
                            jm.classes if jm is not None else []) for vs in found]
    verdicts = {cell["id"]: vs for cell, vs in zip(task.cells, found)}
    seconds = time.perf_counter() - t0
    weights = weights_hash(model.net) if hasattr(model, "net") else ""  # cached per network
    # the flat image's PSNR / SSIM against the inverted image and its feature error (one
    # forward pass for the batch, which shares layer and image): the floors of those
    # metrics (as every stored inversion has them)
    flat = {f"{k}_floor": v for k, v in floors_for(c0, ref, [], model).items()} \
        if ref is not None else {}
    rows, pngs = [], {}
    for i, (cell, cfg) in enumerate(zip(task.cells, configs)):
        random_w = cfg.weights == RANDOM
        m = measured[i]
        row = {"index": cell["index"], "cell_id": cell["id"], **cell["values"],
               "model": cfg.model, "weights": RANDOM if random_w else TRAINED,
               "random_weights": random_w, "model_label": model.label,
               "scheme": m["scheme"], "kernels": m["kernels"], "task": cfg.task,
               "layer": cfg.layer or ("logits" if cfg.task == "am" else
                                      model.spec.default_layer),
               "target": cfg.target if cfg.channel is None else cfg.channel,
               "target_class": class_name(model, cfg), "weights_hash": weights,
               "seed": cfg.seed, "step_size": cfg.step_size, "steps": cfg.total_steps,
               "tv": cfg.tv,  # the TV weight lambda (eq. 19); the metric is total_variation
               **{k: _num(m[k]) if isinstance(m.get(k), float) else m.get(k)
                  for k in METRICS},
               "judge": task.judge or None,
               "judge_top1": None, "judge_top1_class": None, "judge_target_class": None,
               "judge_chance": None, **flat,
               "diverged": final.diverged[i], "seconds": seconds / len(configs),
               "batch_id": task.batch_id, "png": png_name(cell["id"]),
               "config": cfg.to_json()}
        row.update(judged[i])
        if final.stopped:
            row.update(stopped=True, steps_done=int(final.step))
        rows.append(row)
        label = (f"RANDOM weights (seed {cfg.seed})" if random_w else "trained weights")
        pngs[cell["id"]] = png_bytes(final.images[i], {
            "Software": "demons-viz sweep", "cell": cell["id"], "model": model.label,
            "weights": label, "scheme": cfg.scheme_label, "config": cfg.to_json()})
    return BatchResult(task.batch_id, rows, pngs, seconds,
                       f"{socket.gethostname()}:{os.getpid()}",
                       {"curves": {cell["id"]: r.curves
                                   for cell, r in zip(task.cells, recorders)},
                        "verdicts": verdicts,
                        **({"start": {cell["id"]: b for cell, b in zip(task.cells, begin)}}
                           if begin is not None else {}),
                        **({"stopped": True} if final.stopped else {})})
