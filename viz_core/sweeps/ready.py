"""Four ready-made sweeps, each answering one question a single run cannot:

* **regularization path**: how does the pre-image change as the kernel parameter grows
  (Gaussian sigma, eqs. 6/8, or Sobolev gamma, eq. 16), and at which step size tau of
  eq. 18 does the scheme break down? Parameter x step size, one scheme.
* **inversion across depth**: from which layer does feature inversion (eq. 3) stop being
  recognisable? Every layer of the model's catalogue x scheme, one image.
* **sanity check**: trained vs randomly initialised weights x scheme (Adebayo et al.
  2018's model-randomization test): if the random network's pictures are as structured as
  the trained one's, the regularizer draws the picture.
* **seed variance**: one setting over 8 seeds (initial noise and jitter), to read the
  spread of every metric.
"""

from __future__ import annotations

from dataclasses import dataclass

from viz_core import models
from viz_core.config import RunConfig
from viz_core.schemes import CUSTOM, scheme_of
from viz_core.sweeps.spec import RANDOM, TRAINED

#: Kernel parameter values of the regularization path (the fitted values for sizes 5-21
#: lie inside these ranges, Sec. 2.7).
PATH_VALUES = {"gamma": (0.05, 0.1, 0.2, 0.4, 0.8), "sigma": (0.5, 1.0, 1.5, 2.0, 3.0)}
PATH_STEP_SIZES = (2.0, 5.0, 10.0, 20.0)
DEPTH_SCHEMES = ("fluid_sobolev", "fluid_elastic_sobolev", "tv")
SANITY_SCHEMES = ("fluid_sobolev", "elastic_sobolev", "fluid_elastic_gaussian", "tv", "plain")
SEEDS = tuple(range(8))


@dataclass(frozen=True)
class ReadySweep:
    key: str
    title: str
    question: str
    task: str | None           # the task the sweep needs (None: the base's)


READY: dict[str, ReadySweep] = {r.key: r for r in [
    ReadySweep("regularization_path", "Regularization path",
               "kernel parameter x step size for one scheme: where does it break down?", None),
    ReadySweep("inversion_depth", "Inversion across depth",
               "every layer x scheme on one image: where does inversion stop being "
               "recognisable?", "inversion"),
    ReadySweep("sanity_check", "Sanity check (random weights)",
               "trained vs random weights x scheme: does the network or the regularizer "
               "draw the picture?", None),
    ReadySweep("seed_variance", "Seed variance", "8 seeds: the spread of each metric", None),
]}


def path_parameter(base: RunConfig) -> str:
    """``gamma`` when ``base`` has a Sobolev kernel, else ``sigma``."""
    kinds = {k.kind for k in (base.fluid, base.elastic) if k is not None}
    return "gamma" if "sobolev" in kinds or not kinds & {"gaussian"} else "sigma"


def catalogue(model: str) -> list[str]:
    """Every layer of ``model``'s catalogue, shallow to deep (logits last)."""
    return list(models.load_model(model, weights=RANDOM).layers)


def ready_axes(key: str, base: RunConfig) -> list[tuple[str, tuple]]:
    """The axes (name, values) of a ready-made sweep on ``base``."""
    if key == "regularization_path":
        name = path_parameter(base)
        return [(name, PATH_VALUES[name]), ("step_size", PATH_STEP_SIZES)]
    if key == "inversion_depth":
        return [("layer", tuple(catalogue(base.model))), ("scheme", DEPTH_SCHEMES)]
    if key == "sanity_check":
        return [("weights", (TRAINED, RANDOM)), ("scheme", SANITY_SCHEMES)]
    if key == "seed_variance":
        return [("seed", SEEDS)]
    raise KeyError(key)


def path_scheme(base: RunConfig) -> str:
    """The scheme a regularization path runs: ``base``'s, or elastic Sobolev when the base
    has no kernel to vary."""
    key = scheme_of(base)
    return key if key not in ("tv", "plain", CUSTOM) else "elastic_sobolev"
