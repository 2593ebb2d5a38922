"""Presets tuned for the two offline Fashion-MNIST models, one per scheme and task.

:func:`offline_config` turns ``(model, scheme, task)`` into a validated :class:`RunConfig`.
Every scheme of one model and task shares the step schedule, the jitter and the seed, so
all of them (and, for activation maximization, all ten classes) run as **one batch** of
:func:`viz_core.engine.run`. What differs per scheme is the kernel, its size, the step size
tau and the TV weight. ``scripts/check_offline_presets.py`` proves the presets: every
class reaches a target-class probability >= 0.9 under the model itself for every scheme
(after rounding the pre-image to uint8). ``scripts/check_inversion_psnr.py`` measures
the inversion presets: PSNR of the uint8 reconstructions of the shipped Fashion-MNIST
samples, beside the flat-image floor (results/inversion_psnr_fmnist_vgg.md).

Why these values (swept on both models, the chosen ones checked with 3 seeds on all 10
classes; the check script reproduces the seed-0 figures):

* **Schedule.** 200 steps in three stages at scale 1.0 with tau, tau / 2, tau / 5. The
  "octaves" are only a step-size decay: a canvas larger than 64 px would make the final
  pre-image larger than the network's input, so the model would no longer classify what
  was optimised. With ``tau / mean|g|`` a constant tau never settles; the decay raised the
  ResNet's worst elastic probabilities (Sneaker, 3 seeds) from 0.87-0.94 to 0.95-0.98 and
  lowered fmnist_vgg's block4 inversion loss threefold (plain GD, demons, 10 images:
  0.045 -> 0.015).
* **Jitter.** 1 px for activation maximization: the paper's 2 px at 224 px (Fig. 1) is
  ~0.6 px at 64 px, and with 2 px the ResNet's elastic Sneaker pre-images lost
  probability (worst of 3 seeds, Gaussian 5: 0.98 -> 0.95; fluid-elastic Gaussian 7:
  0.78 -> 0.17). None for inversion (as the paper's Sec. 3.2).
* **Kernels.** Sizes with sigma / gamma fitted to them (Sec. 2.7, ``param=None``). The
  fluid kernels keep the paper's 11 x 11: filtering the gradient never stopped a class from
  being reached. The elastic kernel (also the fluid one of fluid-elastic) is the largest
  size for which every class, over three seeds, stays >= 0.9: it filters the *solution*
  every step, so its smoothing compounds (variance 2 gamma or sigma^2 per step) and the
  images of classes that need fine structure (Sneaker, against Sandal and Ankle boot) lose
  it. fmnist_vgg tolerates Sobolev 9 (gamma 0.177) and Gaussian 7 (sigma 0.753);
  fmnist_resnet only Sobolev 7 (gamma 0.061) and Gaussian 5 (sigma 0.476). The paper's
  11 px at 224 px corresponds to ~3 px at 64 px, so these are not weaker than its kernels.
* **Step sizes** of activation maximization (0-255 units with ``tau / mean|g|``,
  :mod:`viz_core.config`), the same for both models. Plain GD and TV 5 (Fig. 1's value);
  fluid 10, because filtering shrinks the normalised gradient; elastic 10 (the elastic
  term's proximal weight is gamma / tau: with 5 the smoothing wins, e.g. fmnist_vgg's
  worst Gaussian-7 probability 0.94 -> 0.52, and 20 lowered the worst probabilities as
  well, 0.97 -> 0.92 for Sobolev 9); spectral 40 (its preconditioner moves almost only the lowest
  frequencies; 20 also reaches 0.98 on the ResNet's Sneaker).
* **TV** (activation maximization): lambda 0.3 (the presets' weight) with eps 0.05,
  stable for tau 5 (tau lambda / eps = 0.12 <= 1/4).
* **Inversion** runs Adam (``optimizer="adam"``, :mod:`viz_core.config`) from a middle
  layer (fmnist_vgg ``block2``, fmnist_resnet ``layer2``), without jitter, with tau 40 for
  every scheme (Adam's learning rate 40 / 255), TV lambda 0.2 and elastic kernels Sobolev 7
  / Gaussian 5. With the paper's step rule the earlier block2 presets scored 9-15 dB
  (plain GD, tau 5, here: 9.5 dB on 5 samples after 50 steps; a flat grey image scores
  ~10 dB): the network is nearly blind to high-frequency noise on the dark background,
  which only a smoothness term removes, and Adam's per-pixel steps let the TV or kernel
  term act where the data gradient vanishes. Measured on fmnist_vgg
  (first 4 shipped samples, 150 steps, mean PSNR of the uint8 image): Adam plain 8 dB at
  tau 5-40 (noise), TV 0.3 9.1 / 15.5 / 18.0 / 19.7 dB at tau 5 / 10 / 20 / 40, TV 0.2 at
  tau 40 22.0 dB (0.5: 16.1), fluid Gaussian 11 21.1, fluid Sobolev 11 14.5, elastic
  Sobolev 7 21.2, fluid-elastic Sobolev 7 22.3, Gaussian 5 21.4 dB; elastic Gaussian 7
  17.8 dB (its smoothing outruns the data term). fmnist_resnet reuses these values
  unmeasured.
* **Spectral**: Distill's preconditioner 1 / (1 + |f| / 4)^2 (d = 2, f0 = 4 cycles per
  image), the dashboard's Distill recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.kernels import KernelSpec
from viz_core.models import get_spec
from viz_core.samples import default_sample
from viz_core.schemes import OFFLINE_SCHEMES, SCHEME_REGISTRY, scheme_key
from viz_core.transforms import Octave
from viz_core.zoo import available_models, twin_of

#: The standard pair, whose presets were tuned (the zoo's "offline" pair).
OFFLINE_MODELS = ["fmnist_vgg", "fmnist_resnet"]
#: Every offline model with presets (the zoo's ``ModelSpec.presets``): the standard pair and
#: its robust twins.
OFFLINE_PRESET_MODELS = [s.name for s in available_models()
                         if s.family == "offline" and s.presets]
OFFLINE_TASKS = ["am", "inversion"]
#: The offline model whose class pre-images the independent judge (fmnist_lenet_judge, Sec.
#: 3.2's recognisability measure with a network of another family) recognises best: 10 of
#: 10 classes with every scheme and seed (results/recognisability_robust.md). The offline
#: versions of the paper's and the classic activation-maximization presets run on it.
BEST_AM_MODEL = "fmnist_resnet_robust"
#: Display title of each scheme (the registry's label).
SCHEME_TITLES = {k: SCHEME_REGISTRY[k].label for k in OFFLINE_SCHEMES}


@dataclass(frozen=True)
class SchemePreset:
    """One scheme's settings: kernel (both slots as the scheme says), tau, TV."""

    kind: str | None = None        # "sobolev" | "gaussian" | "spectral" | None
    size: int = 11                 # kernel size (sigma / gamma fitted to it)
    tau: float = 5.0               # step size of the first stage (0-255 units)
    tv: float = 0.0
    tv_eps: float = 0.05
    spectral_d: float = 2.0
    spectral_f0: float = 4.0

    def kernel(self) -> KernelSpec | None:
        if self.kind is None:
            return None
        if self.kind == "spectral":
            return KernelSpec("spectral", self.spectral_d, f0=self.spectral_f0)
        return KernelSpec(self.kind, None, self.size)


@dataclass(frozen=True)
class TaskPreset:
    """The shared part of a model's task (schedule, jitter, seed) and the per-scheme part."""

    stages: tuple[tuple[int, float], ...]   # (steps, tau factor) per stage, all at scale 1.0
    jitter: float
    schemes: dict[str, SchemePreset] = field(default_factory=dict)
    seed: int = 0
    layer: str | None = None      # inversion: the layer to invert (None: the deepest block)
    optimizer: str = "demons"     # "demons" (the paper's step rule) or "adam" (config)
    class_score: str = "logit"    # AM: "logit" (eq. 4) or "log_prob" (objectives)
    init_std: float = 0.02        # std of the initial noise around the mean image

    @property
    def steps(self) -> int:
        return sum(n for n, _ in self.stages)

    def octaves(self, tau: float) -> list[Octave]:
        return [Octave(1.0, n, round(tau * f, 6)) for n, f in self.stages]


def _schemes(elastic_sobolev: int, elastic_gaussian: int, *, plain: float, fluid: float,
             elastic: float, tv_tau: float, tv: float, spectral: float,
             fluid_size: int = 11) -> dict[str, SchemePreset]:
    s, g = "sobolev", "gaussian"
    return {
        "plain": SchemePreset(None, 0, plain),
        "fluid_sobolev": SchemePreset(s, fluid_size, fluid),
        "elastic_sobolev": SchemePreset(s, elastic_sobolev, elastic),
        "fluid_elastic_sobolev": SchemePreset(s, elastic_sobolev, elastic),
        "fluid_gaussian": SchemePreset(g, fluid_size, fluid),
        "elastic_gaussian": SchemePreset(g, elastic_gaussian, elastic),
        "fluid_elastic_gaussian": SchemePreset(g, elastic_gaussian, elastic),
        "tv": SchemePreset(None, 0, tv_tau, tv=tv),
        "fluid_spectral": SchemePreset("spectral", 0, spectral),
    }


AM_STAGES = ((120, 1.0), (50, 0.5), (30, 0.2))
INV_STAGES = ((100, 1.0), (60, 0.5), (40, 0.2))

#: Inversion (Adam, a middle layer): one step size for every scheme; the elastic kernels
#: small enough that the data term keeps up with them (see the module docstring).
INV_ADAM = dict(plain=40.0, fluid=40.0, elastic=40.0, tv_tau=40.0, tv=0.2, spectral=40.0)

#: Inversion starts from stronger noise (std 0.1 instead of 0.02 around the mean image): from
#: a nearly flat start, Adam's first steps of tau 40 saturate some reconstructions into a
#: state they do not leave (fmnist_vgg_robust from block4, 20 shipped samples, three
#: schemes: 4-5 samples below 12 dB with std 0.02, 2-3 with 0.1; mean PSNR 19.4-20.1 ->
#: 21.9-22.4 dB; fmnist_vgg from block2: 20.9-22.0 -> 20.7-22.3 dB).
INV_INIT_STD = 0.1

PRESETS: dict[str, dict[str, TaskPreset]] = {
    "fmnist_vgg": {
        "am": TaskPreset(AM_STAGES, 1.0, _schemes(
            9, 7, plain=5.0, fluid=10.0, elastic=10.0, tv_tau=5.0, tv=0.3, spectral=40.0)),
        "inversion": TaskPreset(INV_STAGES, 0.0, _schemes(7, 5, **INV_ADAM), layer="block2",
                                optimizer="adam", init_std=INV_INIT_STD),
    },
    "fmnist_resnet": {
        "am": TaskPreset(AM_STAGES, 1.0, _schemes(
            7, 5, plain=5.0, fluid=10.0, elastic=10.0, tv_tau=5.0, tv=0.3, spectral=40.0)),
        "inversion": TaskPreset(INV_STAGES, 0.0, _schemes(7, 5, **INV_ADAM), layer="layer2",
                                optimizer="adam", init_std=INV_INIT_STD),
    },
}


#: The robust twins (``twin_of(name, "standard")``) keep their
#: architecture's presets, except that activation maximization maximises the class's
#: log-probability: with the logit, Coat and Shirt pre-images of both robust networks were
#: read as Pullover by the network that made them (3 seeds, every scheme); with the
#: log-probability, all ten classes were reached and recognised by the other robust network
#: (1 seed, TV and fluid-elastic Sobolev, both directions).
for _robust in [m for m in OFFLINE_PRESET_MODELS if get_spec(m).robust]:
    _base = twin_of(_robust, "standard")
    PRESETS[_robust] = {**PRESETS[_base],
                        "am": replace(PRESETS[_base]["am"], class_score="log_prob")}


def task_preset(model: str, task: str) -> TaskPreset:
    """The :class:`TaskPreset` of ``model`` and ``task``; VizError for unknown ones.

    Another zoo model uses the presets its spec names (``ModelSpec.presets``)."""
    if model not in PRESETS:
        try:
            model = get_spec(model).presets or model
        except VizError:
            pass
    if model not in PRESETS:
        raise VizError(f"no offline preset for model {model!r}; known: "
                       f"{', '.join(OFFLINE_PRESET_MODELS)}", field="model")
    if task not in PRESETS[model]:
        raise VizError(f"unknown task {task!r}; allowed: {', '.join(OFFLINE_TASKS)}",
                       field="task")
    return PRESETS[model][task]


def offline_config(model: str, scheme: str, task: str, target: int | None = None,
                   image: str | None = None, layer: str | None = None) -> RunConfig:
    """The tuned configuration of ``scheme`` (one of :data:`OFFLINE_SCHEMES`) for ``task``
    ("am" with a class ``target``, or "inversion" of ``image`` from the preset's layer, a
    middle block, else ``model.spec.default_layer``) on an offline ``model``."""
    tp = task_preset(model, task)
    key = scheme_key(scheme)
    if key not in tp.schemes:
        raise VizError(f"no offline preset for scheme {scheme!r}; allowed: "
                       f"{', '.join(OFFLINE_SCHEMES)}", field="scheme")
    sp = tp.schemes[key]
    named = SCHEME_REGISTRY[key]
    k = sp.kernel()
    fluid = k if named.fluid_kind else None
    elastic = k if named.elastic_kind else None
    common = dict(model=model, task=task, fluid=fluid, elastic=elastic, tv=sp.tv,
                  tv_eps=sp.tv_eps, step_size=sp.tau, steps=tp.steps,
                  octaves=tp.octaves(sp.tau), jitter=tp.jitter, seed=tp.seed,
                  optimizer=tp.optimizer, init_std=tp.init_std, name=named.label)
    if task == "am":
        if target is None:
            raise VizError("activation maximization needs a class (target)", field="target")
        cfg = RunConfig(target=target, class_score=tp.class_score, **common)
    else:
        cfg = RunConfig(layer=layer or tp.layer or get_spec(model).default_layer,
                        image=image or default_sample(), p=2, **common)
    return cfg.validate()


def offline_batch(model: str, task: str, targets: list[int] | None = None,
                  image: str | None = None, schemes: list[str] | None = None,
                  layer: str | None = None) -> list[RunConfig]:
    """Every scheme (x every class of ``targets`` for AM, scheme-major) as one batch;
    ``layer`` overrides the inversion preset's layer."""
    keys = schemes or OFFLINE_SCHEMES
    if task == "am":
        return [offline_config(model, s, task, target=t) for s in keys
                for t in (range(10) if targets is None else targets)]
    return [offline_config(model, s, task, image=image, layer=layer) for s in keys]


def preset_rows(model: str, task: str) -> list[dict]:
    """One row per scheme: kernel, size, sigma/gamma, tau schedule, steps, jitter, TV."""
    from viz_core.kernel_fitting import fit_parameter

    tp = task_preset(model, task)
    rows = []
    for key in OFFLINE_SCHEMES:
        sp = tp.schemes[key]
        if sp.kind in ("sobolev", "gaussian"):
            name = "gamma" if sp.kind == "sobolev" else "sigma"
            param = f"{name} {fit_parameter(sp.kind, sp.size):.3g}"
            size = f"{sp.size}"
        elif sp.kind == "spectral":
            param, size = f"d {sp.spectral_d:g}, f0 {sp.spectral_f0:g}", "full"
        else:
            param, size = "-", "-"
        rows.append({
            "scheme": SCHEME_TITLES[key], "key": key, "kernel": sp.kind or "-",
            "size": size, "param": param,
            "tau": " / ".join(f"{o.tau:g}" for o in tp.octaves(sp.tau)),
            "steps": " + ".join(str(n) for n, _ in tp.stages),
            "octaves": "scale 1.0 only", "jitter": f"{tp.jitter:g} px",
            "optimizer": tp.optimizer, "init_std": f"{tp.init_std:g}",
            "tv": f"{sp.tv:g} (eps {sp.tv_eps:g})" if sp.tv else "-",
        })
    return rows
