"""Model-randomisation sanity check of class pre-images (Adebayo et al. 2018, "Sanity
checks for saliency maps", applied to activation maximization, eq. 4 with the update of
eq. 18).

Question: does a scheme's class pre-image show what the network *learned*, or would the
regularizer draw the same picture for any network? Adebayo et al.'s answer is to destroy
the learned weights and see whether the picture changes:

* **Cascading randomisation.** The layer groups (the network's top-level stages with
  convolution or linear weights, e.g. ``block1`` ... ``block4``, ``fc``) are re-initialised
  from the top down: step 1 randomises ``fc``, step 2 ``fc`` and ``block4``, ... until
  every group is random.
* **Independent randomisation.** One group at a time, the others keep their weights.

Re-initialising a convolution changes the scale of its output, so the BatchNorm that
follows decides whether the network stays alive. :data:`BN_MODES`: ``reestimate`` (the
default: affine parameters reset and running statistics re-estimated on real images, so
each randomised stage is a random-feature map with healthy spread), ``keep`` (trained
BatchNorm kept as is) and ``reset`` (default statistics, the old check's full
re-initialisation, which leaves the offline networks nearly constant). The spread of the
randomised network's logits over real images (:func:`logit_spread`) is measured and
printed beside the verdict.

Similarity of the trained and the randomised pre-image (same scheme, class and seed): SSIM
(Wang et al. 2004, :func:`viz_core.metrics.ssim`) and Spearman rank correlation of the
pixels; likewise for the gradient magnitude ``|dS/dx|`` of the class score at a real image
of the class (Adebayo et al.'s saliency map). The reference is the similarity of two
trained pre-images with different seeds: a randomisation matters when it moves the picture
further than a new seed does. Seeds vary the start noise, the jitter and the random weights.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from viz_core.config import RunConfig
from viz_core.engine import run_to_end
from viz_core.errors import VizError
from viz_core.evaluation.recognisability import preset_architecture
from viz_core.metrics import ssim
from viz_core.models import LoadedModel
from viz_core.offline_presets import OFFLINE_SCHEMES, offline_config

BN_MODES = ("reestimate", "keep", "reset")
MODES = ("cascade", "independent")
#: Schemes of the default check: no regularizer, TV, and one demons scheme of each kind.
DEFAULT_SCHEMES = ("plain", "tv", "fluid_sobolev", "elastic_sobolev", "fluid_elastic_gaussian")
DEFAULT_CLASSES = (1, 7, 8)          # Trouser, Sneaker, Bag: distinct shapes
#: A randomised network whose logit spread is below this fraction of the trained one's is
#: called "nearly constant" and makes the verdict inconclusive.
CONSTANT_RATIO = 1e-3
#: The seed-to-seed similarity below which pictures are too noisy to compare.
MIN_REFERENCE = 0.05
_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


@dataclass
class SanitySettings:
    """What to run; defaults: 5 schemes, 3 classes, 3 seeds, 100 steps, BN re-estimated."""

    schemes: list[str] = field(default_factory=lambda: list(DEFAULT_SCHEMES))
    classes: list[int] = field(default_factory=lambda: list(DEFAULT_CLASSES))
    seeds: int = 3
    steps: int | None = 100          # None: the presets' 200-step schedules
    bn: str = "reestimate"
    modes: tuple[str, ...] = MODES

    def validate(self) -> SanitySettings:
        if self.seeds < 2:
            raise VizError(f"seeds must be >= 2 (the reference compares two seeds), got "
                           f"{self.seeds}", field="seeds")
        if self.steps is not None and self.steps < 3:
            raise VizError(f"steps must be >= 3, got {self.steps}", field="steps")
        if self.bn not in BN_MODES:
            raise VizError(f"unknown BatchNorm mode {self.bn!r}; allowed: "
                           f"{', '.join(BN_MODES)}", field="bn")
        bad = [m for m in self.modes if m not in MODES]
        if bad or not self.modes:
            raise VizError(f"unknown randomisation mode {bad[0] if bad else ''!r}; allowed: "
                           f"{', '.join(MODES)}", field="modes")
        bad = [s for s in self.schemes if s not in OFFLINE_SCHEMES]
        if bad or not self.schemes:
            raise VizError(f"unknown scheme {bad[0] if bad else ''!r}; allowed: "
                           f"{', '.join(OFFLINE_SCHEMES)}", field="schemes")
        if not self.classes:
            raise VizError("give at least one class", field="classes")
        return self


# ----------------------------------------------------------------------------- randomisation

def layer_groups(model: LoadedModel) -> list[str]:
    """The randomisation units, bottom to top: the network's top-level children that hold
    convolution or linear weights (definition order, the forward order of the zoo's nets)."""
    return [name for name, child in model.net.named_children()
            if any(isinstance(m, _WEIGHTED) for m in child.modules())]


def cascade_steps(groups: Sequence[str]) -> list[list[str]]:
    """Cascading randomisation from the top: ``[[top], [top, next], ..., all]``."""
    top_down = list(reversed(groups))
    return [top_down[: k + 1] for k in range(len(top_down))]


def _group_seed(seed: int, group: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(group.encode())) % (2**31)


def randomised(model: LoadedModel, groups: Sequence[str], seed: int = 0,
               bn: str = "reestimate", images: torch.Tensor | None = None) -> LoadedModel:
    """A copy of ``model`` whose ``groups`` are re-initialised (the layers' own default
    initialisation, seeded per (seed, group), so a group gets the same random weights in the
    cascade and the independent test); BatchNorm per ``bn`` (:data:`BN_MODES`;
    ``reestimate`` needs real ``images`` (N, C, H, W) in [0, 1])."""
    if bn not in BN_MODES:
        raise VizError(f"unknown BatchNorm mode {bn!r}; allowed: {', '.join(BN_MODES)}",
                       field="bn")
    known = layer_groups(model)
    for g in groups:
        if g not in known:
            raise VizError(f"unknown layer group {g!r} of {model.spec.name}; groups: "
                           f"{', '.join(known)}", field="layer")
    if bn == "reestimate" and images is None:
        raise VizError("re-estimating BatchNorm statistics needs real images", field="bn")
    net = copy.deepcopy(model.net)
    norms: list[nn.modules.batchnorm._BatchNorm] = []
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        for g in groups:
            torch.manual_seed(_group_seed(seed, g))
            for m in net.get_submodule(g).modules():
                if isinstance(m, _WEIGHTED):
                    m.reset_parameters()
                elif isinstance(m, nn.modules.batchnorm._BatchNorm) and bn != "keep":
                    m.reset_parameters()
                    norms.append(m)
    if bn == "reestimate" and norms:
        _reestimate(model, net, norms, images)
    net.requires_grad_(False)
    label = (f"{model.spec.name} (RANDOM {', '.join(groups)}, seed {seed}, BN {bn})"
             if groups else model.label)
    return replace(model, net=net, label=label, pretrained=not groups)


def _reestimate(model: LoadedModel, net: nn.Module, norms: Sequence[nn.Module],
                images: torch.Tensor) -> None:
    """Cumulative running statistics of ``norms`` over ``images`` (only these BatchNorm
    layers in training mode; everything else stays in eval mode)."""
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    with torch.no_grad():
        for chunk in images.to(model.device).split(64):
            net(model.normalize(chunk))
    for m in norms:
        m.momentum = 0.1
        m.eval()


def logits(model: LoadedModel, images: torch.Tensor) -> torch.Tensor:
    """The network's logits (N, classes) for images (N, C, H, W) in [0, 1]."""
    with torch.no_grad():
        return model.features("logits")(model.normalize(images.to(model.device))).float().cpu()


def logit_spread(model: LoadedModel, images: torch.Tensor) -> float:
    """Standard deviation of each logit across ``images``, averaged over the classes: how
    much the network's output depends on its input (near 0: a constant network)."""
    return float(logits(model, images).std(dim=0).mean())


# ----------------------------------------------------------------------------- similarity

def _avg_ranks(row: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(row, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    return (upper - (counts - 1) / 2.0)[inverse]


def spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of the pixels of each pair of images (N, ...) -> (N,),
    ties at their average rank. A constant image has no ranks to share: 1 against an equal
    constant image, else 0."""
    a = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    b = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    out = np.zeros(len(a))
    for i, (u, v) in enumerate(zip(a, b)):
        ru, rv = _avg_ranks(u) - (u.size + 1) / 2, _avg_ranks(v) - (v.size + 1) / 2
        den = np.sqrt((ru**2).sum() * (rv**2).sum())
        out[i] = (ru * rv).sum() / den if den > 0 else float(np.array_equal(u, v))
    return out


def similarity(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Per-pair SSIM and Spearman rank correlation of images (N, C, H, W) in [0, 1]."""
    return {"ssim": np.atleast_1d(ssim(np.asarray(x), np.asarray(y))), "spearman": spearman(x, y)}


def saliency(model: LoadedModel, images: torch.Tensor, targets: Sequence[int],
             score: str = "logit") -> np.ndarray:
    """``|dS/dx|`` (summed over channels, scaled to max 1 per image) of the class score S
    (logit, or log-probability with ``score="log_prob"``) at ``images`` in [0, 1]."""
    x = images.to(model.device).clone().requires_grad_(True)
    with torch.enable_grad():
        out = model.features("logits")(model.normalize(x))
        if score == "log_prob":
            out = torch.log_softmax(out, dim=1)
        s = out[torch.arange(len(targets)), torch.as_tensor(list(targets))].sum()
        (g,) = torch.autograd.grad(s, x)
    mag = g.abs().sum(1, keepdim=True).cpu().double()
    return (mag / mag.flatten(1).amax(1).clamp_min(1e-30).view(-1, 1, 1, 1)).numpy()


# ----------------------------------------------------------------------------- the check

def sanity_configs(model: str, schemes: Sequence[str], classes: Sequence[int], seed: int,
                   steps: int | None) -> list[RunConfig]:
    """The tuned AM presets (:mod:`viz_core.offline_presets`) of ``model``'s architecture,
    scheme-major over ``classes``, with ``seed``; ``steps`` scales every stage of the
    presets' schedule (the step-size decay stays)."""
    arch = preset_architecture(model)
    cfgs = []
    for s in schemes:
        for c in classes:
            cfg = replace(offline_config(arch, s, "am", target=c), model=model, seed=seed,
                          name=s)
            if steps is not None and cfg.octaves:
                total = cfg.total_steps
                octs = [replace(o, steps=max(1, round(o.steps * steps / total)))
                        for o in cfg.octaves]
                cfg = replace(cfg, octaves=octs, steps=sum(o.steps for o in octs))
            elif steps is not None:
                cfg = replace(cfg, steps=steps)
            cfgs.append(cfg)
    return cfgs


def _class_images(images: torch.Tensor, labels: Sequence[int],
                  classes: Sequence[int]) -> torch.Tensor:
    idx = []
    for c in classes:
        hits = [i for i, y in enumerate(labels) if int(y) == c]
        if not hits:
            raise VizError(f"no real image of class {c} for its saliency map", field="classes")
        idx.append(hits[0])
    return images[idx]


def run_sanity(model: LoadedModel, images: torch.Tensor, labels: Sequence[int],
               st: SanitySettings, progress: Callable[[str], None] | None = None) -> dict:
    """Run the check on ``model`` with real ``images`` (N, C, H, W) in [0, 1] and their
    ``labels`` (BatchNorm re-estimation, logit spread, saliency maps). Returns the rows (one
    per scheme, mode, step and seed: similarities averaged over the classes), the logit
    spreads, the pictures of seed 0 and the summary and verdicts of
    :mod:`viz_core.evaluation.sanity_report`."""
    from viz_core.evaluation.sanity_report import summarise

    st.validate()
    groups = layer_groups(model)
    steps = {"cascade": [(s[-1], s) for s in cascade_steps(groups)],
             "independent": [(g, [g]) for g in reversed(groups)]}
    todo = [(m, label, gs) for m in st.modes for label, gs in steps[m]]
    n_sch, n_cls = len(st.schemes), len(st.classes)
    score = sanity_configs(model.spec.name, st.schemes[:1], st.classes[:1], 0, 1)[0].class_score
    real = _class_images(images, labels, st.classes)
    spreads = {"trained": logit_spread(model, images)}
    for mode in BN_MODES:
        full = randomised(model, groups, 0, mode, images)
        spreads[f"all random, BN {mode}"] = logit_spread(full, images)
    trained_pics, trained_grad = {}, saliency(model, real, st.classes, score)
    rows: list[dict] = []
    pictures: dict[str, np.ndarray] = {}

    def pre_images(m: LoadedModel, seed: int) -> np.ndarray:
        cfgs = sanity_configs(model.spec.name, st.schemes, st.classes, seed, st.steps)
        res = run_to_end(cfgs, m, keep_frames=False, every=cfgs[0].total_steps)
        return res.final.images.reshape(n_sch, n_cls, *res.final.images.shape[1:])

    for seed in range(st.seeds):
        if progress:
            progress(f"seed {seed}: trained")
        trained_pics[seed] = pre_images(model, seed)
    for seed in range(st.seeds):
        other = (seed + 1) % st.seeds
        for i, s in enumerate(st.schemes):
            sim = similarity(trained_pics[seed][i], trained_pics[other][i])
            rows.append({"scheme": s, "mode": "seed", "step": 0, "layer": "another seed",
                         "seed": seed, "ssim": float(sim["ssim"].mean()),
                         "spearman": float(sim["spearman"].mean()),
                         "grad_ssim": 1.0, "grad_spearman": 1.0, "logit_std": spreads["trained"]})
    pictures["trained"] = trained_pics[0][:, 0]
    for mode, label, gs in todo:
        for seed in range(st.seeds):
            if progress:
                progress(f"seed {seed}: {mode} {label}")
            m = randomised(model, gs, seed, st.bn, images)
            pics = pre_images(m, seed)
            gsim = similarity(trained_grad, saliency(m, real, st.classes, score))
            spread = logit_spread(m, images)
            step = [lab for lab, _ in steps[mode]].index(label) + 1
            for i, s in enumerate(st.schemes):
                sim = similarity(trained_pics[seed][i], pics[i])
                rows.append({"scheme": s, "mode": mode, "step": step, "layer": label,
                             "seed": seed, "ssim": float(sim["ssim"].mean()),
                             "spearman": float(sim["spearman"].mean()),
                             "grad_ssim": float(gsim["ssim"].mean()),
                             "grad_spearman": float(gsim["spearman"].mean()),
                             "logit_std": spread})
            if seed == 0 and mode == "cascade":
                pictures[label] = pics[:, 0]
    result = {"model": model.spec.name, "label": model.label, "groups": groups,
              "cascade": [lab for lab, _ in steps["cascade"]], "schemes": list(st.schemes),
              "classes": list(st.classes), "class_names": [model.classes[c] for c in st.classes],
              "seeds": st.seeds, "steps": st.steps, "bn": st.bn, "modes": list(st.modes),
              "class_score": score, "n_images": int(len(images)), "logit_spread": spreads,
              "rows": rows, "pictures": pictures}
    result.update(summarise(result))
    return result
