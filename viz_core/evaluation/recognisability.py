"""Recognisability benchmark: would an independent network recognise the pre-images?

The judge is the measure of the paper's Table 1 (Sec. 3.2): a second network classifies the
8-bit pre-image. Two parts, each in both directions of a network pair (A, B):

* **AM transfer.** For every class and scheme (the tuned offline presets,
  :mod:`viz_core.offline_presets`) and several seeds, activation maximization of the class
  logit of A (eq. 4, update of eq. 18); the pre-image is quantised to uint8 and classified
  by the independent judge (:func:`viz_core.zoo.judge_for`: another architecture family,
  another training run and split), by B (A's twin: same data and recipe, which shares A's
  features and over-reads its pictures) and by A itself. Per scheme: the judge's, B's and
  A's top-1 over the classes, A's own confidence (softmax probability of the target), next
  to the floors: chance (1 / classes) and the classes the judge gives a flat image at the
  training set's mean intensity.
* **Inversion quality.** For every layer of A's catalogue and every scheme, feature
  inversion (eq. 3) of a set of images; per layer the best scheme by PSNR with its PSNR,
  SSIM and B's top-1 / top-5 of the 8-bit reconstruction. Beside them the floors a
  reconstruction has to beat: a flat image at the set's mean intensity (its PSNR and SSIM
  against each original, averaged like the methods' figures) and the chance levels.

Robust models (``<name>.json`` cards in ``assets/models`` with a ``base_architecture``
field) use the presets of their base architecture.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from viz_core import models
from viz_core.class_prior import INITS
from viz_core.config import RunConfig
from viz_core.engine import run_to_end
from viz_core.errors import VizError
from viz_core.evaluation.floors import chance_levels, flat_floor
from viz_core.evaluation.imagesets import ImageSet
from viz_core.images import load_image
from viz_core.judging import classify, mean_finite, quantize, topk_hits
from viz_core.metrics import psnr, ssim
from viz_core.offline_presets import OFFLINE_SCHEMES, PRESETS, offline_config
from viz_core.samples import fmnist_samples, sample_folder
from viz_core.schemes import SCHEME_REGISTRY, scheme_key
from viz_core.zoo import pair, presets_of

#: The network pairs of the benchmark (:func:`viz_core.zoo.pair`): standard and
#: adversarially trained offline models.
PAIRS = {p: pair(p) for p in ("offline", "robust")}
PARTS = ("am", "inversion")


def preset_architecture(name: str) -> str:
    """The model whose offline presets ``name`` uses: the zoo's ``ModelSpec.presets``
    (itself for the pairs), or for a model outside the zoo its card's
    ``base_architecture``."""
    try:
        if presets_of(name) in PRESETS:
            return presets_of(name)
    except VizError:  # not in the zoo: its card may name the architecture
        pass
    card = models.assets_dir() / "models" / f"{name}.json"
    base = json.loads(card.read_text()).get("base_architecture") if card.is_file() else None
    if base not in PRESETS:
        raise VizError(f"no offline presets for {name!r} (and no card with a known "
                       "base_architecture)", field="model")
    return base


def _tuned(model: str, scheme: str, task: str, steps: int | None, **kw) -> RunConfig:
    """A tuned preset of ``model``'s architecture, for ``model``; ``steps`` (tests, quick
    looks) replaces the schedule by one stage at the first stage's step size."""
    cfg = replace(offline_config(preset_architecture(model), scheme, task, **kw), model=model,
                  name=scheme_key(scheme))
    if steps is not None:
        cfg = replace(cfg, octaves=None, steps=steps, step_size=cfg.schedule[0].tau)
    return cfg


@dataclass
class RecognisabilitySettings:
    """What to run; defaults: every class, the nine tuned schemes, 3 seeds, the presets'
    schedules, every layer of the catalogue."""

    seeds: int = 3
    classes: list[int] | None = None
    schemes: list[str] = field(default_factory=lambda: list(OFFLINE_SCHEMES))
    steps: int | None = None
    layers: list[str] | None = None
    parts: tuple[str, ...] = PARTS
    init: str = "noise"  # AM start: the paper's noise, or "class_conditional" (a data prior)

    def validate(self) -> RecognisabilitySettings:
        if self.seeds < 1:
            raise VizError(f"seeds must be >= 1, got {self.seeds}", field="seeds")
        if self.steps is not None and self.steps < 1:
            raise VizError(f"steps must be >= 1, got {self.steps}", field="steps")
        self.schemes = [scheme_key(s) for s in self.schemes]
        if self.init not in INITS:
            raise VizError(f"init must be one of {', '.join(INITS)}", field="init")
        bad = [p for p in self.parts if p not in PARTS]
        if bad or not self.parts:
            raise VizError(f"parts must be among {', '.join(PARTS)}", field="parts")
        return self


def _judge(model: models.LoadedModel, images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Logits of ``model`` for the pre-images quantised to uint8 (as a saved PNG)."""
    return classify(model, quantize(images))


def flat_verdict(judge: models.LoadedModel, classes: Sequence[int] | None = None) -> dict:
    """The AM floor of a judge: the class it gives a flat image at the training set's mean
    intensity (a picture with nothing in it is "recognised" as that one class): 1 of the
    ``classes`` asked for (default: all) when that class is among them, else 0."""
    size = judge.spec.input_size
    flat = np.full((1, judge.spec.channels, size, size), float(np.mean(judge.spec.mean)),
                   np.float32)
    top = int(_judge(judge, flat).argmax())
    asked = classes is None or top in set(int(c) for c in classes)
    return {"flat_class": judge.classes[top], "flat_recognised": int(asked)}


def _per_seed(samples: list[dict], key: str, seeds: int) -> list[int]:
    """Per seed: how many samples' ``key`` prediction is their target."""
    return [sum(r[key] == r["target"] for r in samples if r["seed"] == k) for k in range(seeds)]


def am_transfer(a: models.LoadedModel, b: models.LoadedModel, st: RecognisabilitySettings,
                progress: Callable[[int], None] | None = None,
                judge: models.LoadedModel | None = None) -> tuple[list[dict], list[dict]]:
    """AM of every class x scheme x seed on ``a``, judged by ``judge`` (the independent
    judge; ``b`` when None), ``b`` (the twin) and ``a``: (rows per scheme, rows per
    sample)."""
    judge = judge or b
    classes = st.classes if st.classes is not None else list(range(len(a.classes)))
    direction = f"{a.spec.name} -> {b.spec.name}"
    samples: list[dict] = []
    for seed in range(st.seeds):
        cfgs = [replace(_tuned(a.spec.name, s, "am", st.steps, target=c), seed=seed,
                        init=st.init)
                for s in st.schemes for c in classes]
        res = run_to_end(cfgs, a, keep_frames=False, every=cfgs[0].total_steps,
                         progress=_ticker(progress))
        imgs = res.final.images
        lb, la = _judge(b, imgs), _judge(a, imgs)
        lj = lb if judge is b else _judge(judge, imgs)
        pa, pb, pj = (torch.softmax(v, 1) for v in (la, lb, lj))
        for i, c in enumerate(cfgs):
            samples.append({"direction": direction, "scheme": c.name, "seed": seed,
                            "target": c.target, "pred_judge": int(lj[i].argmax()),
                            "pred_other": int(lb[i].argmax()),
                            "pred_self": int(la[i].argmax()),
                            "conf_self": float(pa[i, c.target]),
                            "conf_other": float(pb[i, c.target]),
                            "conf_judge": float(pj[i, c.target]),
                            "diverged": res.final.diverged[i] is not None})
    chance = chance_levels(len(a.classes))
    flat = flat_verdict(judge, classes)
    rows = []
    for s in st.schemes:
        mine = [r for r in samples if r["scheme"] == s]

        twin, judged = (_per_seed(mine, key, st.seeds) for key in ("pred_other", "pred_judge"))
        rows.append({"direction": direction, "model": a.spec.name, "judge": judge.spec.name,
                     "twin": b.spec.name, "scheme": s, "label": SCHEME_REGISTRY[s].title,
                     "classes": len(classes), "seeds": st.seeds,
                     "top1_judge": 100 * mean_finite([r["pred_judge"] == r["target"]
                                                      for r in mine]),
                     "judge_recognised_mean": float(np.mean(judged)),
                     "judge_recognised_min": int(min(judged)),
                     "conf_judge": mean_finite([r["conf_judge"] for r in mine]),
                     "top1_other": 100 * mean_finite([r["pred_other"] == r["target"]
                                                      for r in mine]),
                     "top1_self": 100 * mean_finite([r["pred_self"] == r["target"]
                                                     for r in mine]),
                     "conf_self": mean_finite([r["conf_self"] for r in mine]),
                     "conf_other": mean_finite([r["conf_other"] for r in mine]),
                     "recognised_mean": float(np.mean(twin)),
                     "recognised_min": int(min(twin)),
                     "chance_top1": chance["chance_top1"], **flat,
                     "diverged": sum(r["diverged"] for r in mine)})
    return rows, samples


def model_layers(model: models.LoadedModel, names: Sequence[str] | None) -> list[str]:
    """The layers of ``names`` in ``model``'s catalogue (all of it for None), so that one
    list can name the layers of both networks of a pair."""
    if not names:
        return list(model.layers)
    known = set(model.layers) | set(model.aliases)
    out = [model.resolve_layer(n) for n in names if n in known]
    if not out:
        raise VizError(f"none of the layers {', '.join(names)} is in {model.spec.name}'s "
                       f"catalogue ({', '.join(model.layers)})", field="layers")
    return out


def inversion_quality(a: models.LoadedModel, b: models.LoadedModel, images: ImageSet,
                      st: RecognisabilitySettings,
                      progress: Callable[[int], None] | None = None,
                      judge: models.LoadedModel | None = None) -> list[dict]:
    """Invert ``images`` from every layer of ``a`` with every scheme; judge the 8-bit
    reconstructions with ``judge`` (the independent judge; ``b`` when None) and ``b``. One
    row per layer and scheme (``best`` marks the layer's best scheme by mean PSNR), with the
    floors and chance levels in every row."""
    judge = judge or b
    x = images.load(range(len(images)), a.spec.input_size, a.spec.channels)
    y = np.asarray(images.labels)
    floors = {**flat_floor(x), **chance_levels(len(a.classes))}
    clean_top1, clean_top1_judge = (
        100 * mean_finite(topk_hits(classify(m, images.load(
            range(len(images)), m.spec.input_size, m.spec.channels)), y, 1)) for m in (b, judge))
    n, rows = len(y), []
    for layer in model_layers(a, st.layers):
        cfgs = [replace(_tuned(a.spec.name, s, "inversion", st.steps), layer=layer, image=None)
                for s in st.schemes for _ in range(n)]
        res = run_to_end(cfgs, a, reference=x.repeat(len(st.schemes), 1, 1, 1),
                         keep_frames=False, every=cfgs[0].total_steps,
                         progress=_ticker(progress))
        layer_rows = []
        for j, s in enumerate(st.schemes):
            rec = res.final.images[j * n:(j + 1) * n]
            lg, lj = _judge(b, rec), _judge(judge, rec)
            layer_rows.append({
                "direction": f"{a.spec.name} -> {b.spec.name}", "model": a.spec.name,
                "judge": judge.spec.name, "twin": b.spec.name, "layer": layer, "scheme": s,
                "label": SCHEME_REGISTRY[s].title, "n": n,
                "psnr": mean_finite(np.atleast_1d(psnr(torch.as_tensor(rec), x))),
                "ssim": mean_finite(np.atleast_1d(ssim(torch.as_tensor(rec), x))),
                "top1_judge": 100 * mean_finite(topk_hits(lj, y, 1)),
                "top5_judge": 100 * mean_finite(topk_hits(lj, y, 5)),
                "top1_other": 100 * mean_finite(topk_hits(lg, y, 1)),
                "top5_other": 100 * mean_finite(topk_hits(lg, y, 5)),
                "rel_error": mean_finite(res.final.activation[j * n:(j + 1) * n]),
                "clean_top1_other": clean_top1, "clean_top1_judge": clean_top1_judge,
                **floors, "best": False})
        best = max(layer_rows, key=lambda r: -np.inf if np.isnan(r["psnr"]) else r["psnr"])
        best["best"] = True
        rows += layer_rows
    return rows


def shipped_imageset(classes: Sequence[str], folder: str | Path | None = None) -> ImageSet:
    """The shipped Fashion-MNIST samples (:func:`viz_core.samples.fmnist_samples`, named
    ``<test index>_<class>.png``) as an image set, labelled by the class in the name."""
    root = Path(folder) if folder else sample_folder(1)
    key = {re.sub(r"[^a-z0-9]", "", c.lower()): i for i, c in enumerate(classes)}
    files, labels = [], []
    for f in fmnist_samples(root):
        name = re.sub(r"[^a-z0-9]", "", f.stem.split("_", 1)[1].lower())
        if name in key:
            files.append(f)
            labels.append(key[name])
    if not files:
        raise VizError(f"no labelled sample images in {root}", field="images")

    def load(indices: Sequence[int], size: int, channels: int) -> torch.Tensor:
        return torch.cat([load_image(files[i], size, channels)[0] for i in indices])

    return ImageSet(f"shipped samples ({root.name})", np.asarray(labels), load,
                    [f.name for f in files])


def total_steps(a: models.LoadedModel, b: models.LoadedModel,
                st: RecognisabilitySettings) -> int:
    """Engine steps of :func:`run_recognisability` (for a progress bar)."""
    out = 0
    for m in (a, b):
        if "am" in st.parts:
            out += st.seeds * _tuned(m.spec.name, st.schemes[0], "am", st.steps,
                                     target=0).total_steps
        if "inversion" in st.parts:
            out += len(model_layers(m, st.layers)) * _tuned(m.spec.name, st.schemes[0],
                                                       "inversion", st.steps).total_steps
    return out


def run_recognisability(a: models.LoadedModel, b: models.LoadedModel, images: ImageSet | None,
                        st: RecognisabilitySettings,
                        progress: Callable[[int], None] | None = None,
                        judge: models.LoadedModel | None = None) -> dict:
    """Both parts in both directions (A -> B, B -> A); AM pre-images are also judged by
    ``judge`` (the independent judge; the twin when None)."""
    st.validate()
    if any(list(m.classes) != list(a.classes) for m in (b, judge) if m is not None):
        raise VizError("the networks must be trained on the same classes",
                       field="models")
    out: dict = {"am": [], "am_samples": [], "inversion": [],
                 "images": images.name if images is not None else None}
    for m, other in ((a, b), (b, a)):
        if "am" in st.parts:
            rows, samples = am_transfer(m, other, st, progress, judge)
            out["am"] += rows
            out["am_samples"] += samples
        if "inversion" in st.parts:
            if images is None:
                raise VizError("the inversion part needs images", field="images")
            out["inversion"] += inversion_quality(m, other, images, st, progress, judge)
    return out


def _ticker(progress: Callable[[int], None] | None) -> Callable | None:
    """An engine progress callback that reports the steps done since its last call."""
    if progress is None:
        return None
    last = 0

    def tick(frame) -> None:
        nonlocal last
        if frame.step > last:
            progress(frame.step - last)
        last = frame.step

    return tick
