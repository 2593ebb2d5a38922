"""A :class:`~viz_core.store.records.RunRecord` from what the engine produced: the final
frame, the curves, the model and (optionally) the judging network.

The final metrics are those of :func:`viz_core.metrics.image_metrics` (Sec. 3, Table 1)
plus the last data term, target activation and gradient norm (eqs. 1-3) and, for an
inversion, the relative feature error (eqs. 2-3), one set for every writer
(:func:`run_metrics`: the CLI, the dashboard's pages); the floors are the
flat image's PSNR / SSIM and relative feature error (eq. 3) for an inversion and the
judges' chance level for a class (:mod:`viz_core.evaluation.floors`; :func:`floors_for`:
one forward pass of the flat image per run or batch); the verdicts are the model's and
the judge's top-3 classes of the 8-bit pre-image (the recognisability test of Sec. 3.2).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch

from viz_core.config import RunConfig
from viz_core.images import png_bytes
from viz_core.judging import verdicts
from viz_core.schemes import scheme_of
from viz_core.store.records import RunRecord, status_of, weights_hash

LOG = logging.getLogger(__name__)
#: Frames kept besides the final pre-image (evenly spaced over the run).
MAX_FRAMES = 4


def verdicts_of(config: RunConfig, model: Any, image: np.ndarray,
                judge: Any = None, reference: Any = None) -> list[dict]:
    """The verdicts on one pre-image (C, H, W): :func:`batch_verdicts` of one run."""
    return batch_verdicts([config], model, np.asarray(image)[None], judge, reference)[0]


def batch_verdicts(configs: list[RunConfig], model: Any, images: np.ndarray,
                   judge: Any = None, reference: Any = None,
                   classifier: Any = None) -> list[list[dict]]:
    """The verdicts on a batch's pre-images (N, C, H, W), one forward pass per network: the
    model's own (role ``model``), when given the independent judge's (``judge``, the
    recognisability measure of Sec. 3.2) and the ``classifier``'s (role ``classifier``):
    the network that classifies the reconstructions in the paper's own test (Table 1: the
    other network of the pair, trained on the model's data, so no independent judge).

    An activation-maximisation run is judged on its class (:func:`class_target`; a judge of
    other classes gives its top classes only). An inversion, given its ``reference`` (the
    inverted image, (1|N, C, H, W)), is judged on the original's class, Table 1's test: the
    shipped sample's label (:func:`reference_class`), else the class each network sees in
    the original. An inversion without its reference gets none."""
    out: list[list[dict]] = [[] for _ in configs]
    if isinstance(reference, torch.Tensor):
        reference = reference.detach().float().cpu().numpy()
    images = np.asarray(images)
    nets = [(model, "model")] + ([(judge, "judge")] if judge is not None else []) \
        + ([(classifier, "classifier")] if classifier is not None else [])
    for task in ("am", "inversion"):
        rows = [i for i, c in enumerate(configs) if c.task == task]
        if not rows or (task == "inversion" and reference is None):
            continue
        originals = None
        if task == "inversion":
            originals = reference if len(reference) == 1 else reference[rows]
        for net, role in nets:
            same = net is model or list(net.classes) == list(model.classes)
            targets = [(class_target(configs[i]) if same else None) if task == "am"
                       else reference_class(configs[i], net) for i in rows]
            for i, v in zip(rows, verdicts(net, images[rows], targets, role,
                                           originals=originals)):
                out[i].append(v)
    return out


def reference_class(config: RunConfig, model: Any) -> int | None:
    """The dataset class of an inversion's image among ``model``'s classes when it is a
    shipped sample (:func:`viz_core.samples.sample_class`), else None."""
    from viz_core.samples import sample_class

    if config.task != "inversion" or not config.image:
        return None
    return sample_class(config.image, list(model.classes))


def _finite(v: Any) -> float | None:
    f = float(np.asarray(v).reshape(-1)[0]) if v is not None else float("nan")
    return f if np.isfinite(f) else None


def run_metrics(task: str, objective: Any, activation: Any, image: np.ndarray,
                reference: torch.Tensor | None = None,
                grad_norm: Any = None) -> dict[str, float | None]:
    """The stored metrics of one final pre-image (C, H, W), whoever ran it: the last data
    term D and target activation (eqs. 1-4), the gradient norm where the writer has it, for
    an inversion the relative feature error ||Phi(u) - Phi0|| / ||Phi0|| (eqs. 2-3: the
    engine's activation of an inversion, as in :func:`viz_core.metrics.run_rows`), and
    every image metric of :func:`viz_core.metrics.image_metrics` (Sec. 3), PSNR / SSIM
    against the inverted ``reference`` when given. Non-finite values are None."""
    from viz_core.metrics import image_metrics

    out: dict[str, float | None] = {"objective": _finite(objective),
                                    "activation": _finite(activation)}
    if grad_norm is not None:
        out["grad_norm"] = _finite(grad_norm)
    if task == "inversion":
        out["feature_error"] = out["activation"]
    for k, v in image_metrics(np.asarray(image)[None], reference).items():
        out[k] = _finite(v)
    return out


def final_metrics(frame: Any, index: int = 0, reference: torch.Tensor | None = None,
                  config: RunConfig | None = None) -> dict[str, float | None]:
    """:func:`run_metrics` of sample ``index`` of an engine frame (``config``: its run, for
    the inversion's feature error)."""
    return run_metrics(config.task if config is not None else "",
                       np.asarray(frame.objective)[index], np.asarray(frame.activation)[index],
                       np.asarray(frame.images[index]), reference,
                       grad_norm=np.asarray(frame.grad_norm)[index])


def feature_floor(config: RunConfig, model: Any, reference: Any) -> float | None:
    """The floor of an inversion's relative feature error (eq. 3): a flat image's at the
    run's layer (:func:`viz_core.evaluation.floors.flat_feature_error`, one forward pass of
    the image and the flat image), for an inversion of a layer (not a composable objective)
    with its ``model`` and inverted image ``reference`` (1, C, S, S); None otherwise, or
    when it cannot be computed (a floor is extra: the run is kept without it)."""
    if config.task != "inversion" or config.objective or model is None or reference is None:
        return None
    from viz_core.evaluation.floors import flat_feature_error

    try:
        return _finite(flat_feature_error(config, model, reference))
    except Exception:  # noqa: BLE001 - a floor is extra information, never fatal
        LOG.warning("the flat image's feature error failed", exc_info=True)
        return None


def floors_for(config: RunConfig, reference: torch.Tensor | None, verdicts: list[dict],
               model: Any = None, feature_error: float | None = None) -> dict[str, float]:
    """The values a run has to beat to mean anything: for an inversion the flat image's
    PSNR / SSIM against the inverted ``reference`` and its relative feature error (eq. 3,
    :func:`feature_floor`; ``feature_error`` when the caller computed it for the batch,
    else from ``model``), and the chance level of each verdict on a target (Sec. 3.2)."""
    out: dict[str, float] = {}
    if reference is not None:
        from viz_core.evaluation.floors import flat_floor

        f = flat_floor(reference)
        out.update({"psnr": f["flat_psnr"], "ssim": f["flat_ssim"]})
        if config.task == "inversion" and not config.objective:
            fe = feature_error if feature_error is not None else \
                feature_floor(config, model, reference)
            if fe is not None:
                out["feature_error"] = float(fe)
    for v in verdicts:
        if v.get("target_prob") is not None:
            out[f"{v['role']}_target_prob"] = v["chance"]
    return out


def record_run(config: RunConfig, model: Any, final: Any, *, index: int = 0,
               curves: dict | None = None, started: float | None = None,
               ended: float | None = None, judge: Any = None,
               reference: torch.Tensor | None = None, frames: list | None = None,
               command: str = "", group_id: str = "", tags: list[str] | None = None,
               status: str | None = None, message: str = "",
               verdicts: list[dict] | None = None,
               feature_error: float | None = None) -> RunRecord:
    """The record of sample ``index`` of an engine run (``final``: its last frame);
    ``verdicts``: :func:`verdicts_of` when the caller has them already; ``feature_error``:
    the flat image's feature error when the caller computed it for the batch
    (:func:`feature_floor`, else computed here for an inversion)."""
    img = np.asarray(final.images[index])
    ref = None
    if reference is not None:
        ref = reference[index:index + 1] if reference.shape[0] > 1 else reference
    if verdicts is None:
        verdicts = verdicts_of(config, model, img, judge, ref)
    div = final.diverged[index] if final.diverged else None
    kept = []
    if frames:
        picks = np.unique(np.linspace(0, len(frames) - 1, min(MAX_FRAMES, len(frames)))
                          .round().astype(int))
        kept = [(int(frames[i].step), png_bytes(np.asarray(frames[i].images[index])))
                for i in picks if frames[i] is not final]
    now = time.time()
    stored = config.to_dict()
    if not stored.get("layer") and not config.objective:  # the layer it ran at (History's
        # layer column; the same run when replayed)
        stored["layer"] = config.target_spec(model.spec.default_layer).layer
    return RunRecord(
        config=stored, model=config.model, task=config.task,
        scheme=scheme_of(config), status=status or status_of(final, index),
        started=started or now, ended=ended or now,
        model_label=getattr(model, "label", ""),
        weights_hash=weights_hash(model.net) if hasattr(model, "net") else "",
        metrics=final_metrics(final, index, ref, config),
        floors=floors_for(config, ref, verdicts, model, feature_error),
        curves=curves or {}, verdicts=verdicts, tags=list(tags or []), group_id=group_id,
        command=command, message=message or (div or ""),
        image=png_bytes(img, {"model": getattr(model, "label", config.model),
                              "scheme": config.scheme_label, "Software": "demons-viz"}),
        frames=kept)


def error_record(config: RunConfig, message: str, *, started: float, command: str = "",
                 model: Any = None, group_id: str = "") -> RunRecord:
    """The record of a run that failed before it produced a pre-image (status error)."""
    return RunRecord(config=config.to_dict(), model=config.model, task=config.task,
                     scheme=scheme_of(config), status="error", started=started,
                     ended=time.time(), model_label=getattr(model, "label", ""),
                     command=command, group_id=group_id, message=message)


def class_target(config: RunConfig) -> int | None:
    """The class an activation-maximisation run maximises (eq. 4): its target, or the class
    of an objective that is one class term (``class_logit(3)``, ``class_log_prob(3)``);
    None for a channel, a unit, another objective or an inversion.

    >>> class_target(RunConfig(target=3)), class_target(RunConfig(objective="class_logit(5)"))
    (3, 5)
    >>> class_target(RunConfig(objective="channel(block3, 5)")) is None
    True
    """
    if config.task != "am":
        return None
    if config.objective:
        from viz_core.objectives import parse_objective

        parts = parse_objective(config.objective).parts
        if len(parts) == 1 and parts[0][0] > 0 and parts[0][1].name in (
                "class_logit", "class_log_prob"):
            return int(parts[0][1].args[0])
        return None
    return config.target if config.channel is None else None


def judge_model(config: RunConfig, device: Any = None) -> Any:
    """The independent judge (Sec. 3.2's recognisability measure,
    :func:`viz_core.zoo.judge_for`) for an AM run on a class or an inversion, when its
    weights are here, else None."""
    if class_target(config) is None and config.task != "inversion":
        return None
    from viz_core import models
    from viz_core.devices import resolve_device
    from viz_core.sweeps.cells import default_judge

    name = default_judge(config.model)
    return models.load_model(name, device=device or resolve_device(config.device)) \
        if name else None
