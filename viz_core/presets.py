"""The paper's experiments and the classic feature-visualization recipes as configurations.

Every preset is a list of *batches* (configurations that share model, layer and schedule
and therefore run as one pass of :func:`viz_core.engine.run`) with the paper's parameters,
plus an **offline** version: the same scheme settings (kernels, step sizes, TV, jitter,
octaves) on the shipped Fashion-MNIST models (64x64 grey), with a class target or the
model's default layer and a shipped sample image, for machines without ImageNet weights.

Sources (Baust et al., arXiv:1805.00071), one factory each: Figs. 1 and 2 (Sec. 3.1,
activation maximization, eq. 4), Fig. 4 and Table 1 (Sec. 3.2, inversion, eq. 3), with the
schemes of eqs. 5-8, 17-20.

Step sizes follow :mod:`viz_core.config` (tau = mean change of a pixel per step in 0-255
units, gradient normalised by mean|g|), which is the keras "caffe" scale of the paper's
VGG19 and ResNet50. DenseNet121 ran in keras "torch" mode, whose pixel unit is
255 * 0.226 = ~57.6 levels, so the **DenseNet121 step sizes of Figs. 2 and 4 are
multiplied by** :data:`DENSENET_TAU_FACTOR` (0.05 -> 2.9, 0.02 -> 1.15, 1 -> 57.6).
Applied literally this also turns Fig. 2's first DenseNet octave (tau 5) into 288, which
saturates the pixel range (clipping keeps the image valid); the paper may have meant that
value on another scale, so treat it as a starting point. Table 1 follows
:mod:`viz_core.evaluation.protocol`, the command that writes its results: tau 20 for both networks.

Choices the paper does not state: the TV weight, lambda = 0.3 with eps = 0.05, lowered
by :func:`stable_tv` where a large step size would make explicit TV unstable
(tau lambda / eps <= 1/4 in [0, 1] pixel units), and 0.1 for Table 1 (as
``viz_core.evaluation.protocol``); the octave reading of :mod:`viz_core.transforms`
(absolute scales, random crops over the slack) plus the 2 px jitter of Fig. 1 in the "with octaves"
variant; shipped sample images instead of the paper's Fig. 3 photos. Offline versions of
the 2000-step Fig. 4 run 400 steps with tau 10 lowered in stages, and Fig. 2's
offline ResNet uses the VGG19 recipe (with the ResNet50 recipe's tau 60 the independent
judge recognised fewer of the 64x64 ResNet's pictures).

The offline activation-maximization figures (Figs. 1 and 2, and the classic recipes) run on
the robust offline networks, whose class pre-images the independent judge of Sec. 3.2's
recognisability measure recognises (Fig. 1: :data:`~viz_core.offline_presets.BEST_AM_MODEL`,
Fig. 2: the robust pair); the inversions (Fig. 4, Table 1) stay on the standard pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from viz_core.classic_recipes import CLASSIC
from viz_core.config import DEFAULT_MODEL, RunConfig, scheme_config, stable_tv
from viz_core.errors import VizError
from viz_core.offline_presets import BEST_AM_MODEL
from viz_core.preset_types import (
    KING_CRAB,
    OFFLINE_AM_CLASS,
    Batch,
    Preset,
    am_config,
    inversion_config,
)
from viz_core.samples import first_sample
from viz_core.schemes import FIG1_ROWS, FIG1_SCHEMES, PAPER_INVERSION_SCHEMES
from viz_core.transforms import Octave
from viz_core.zoo import twin_of

DENSENET_TAU_FACTOR = 255 * 0.226  # keras "torch" pixel unit in 0-255 levels (~57.6)
TABLE1_TV = 0.1          # viz_core.evaluation.protocol.TV_LAMBDA
OFFLINE_FIG4_TAU = 10.0  # offline Fig. 4: tau and its stages (steps, factor), measured above
OFFLINE_FIG4_STAGES = ((200, 1.0), (120, 0.4), (80, 0.15))
DAISY = 985
#: Fig. 2's offline class: "Trouser" (not "Bag", the class the independent judge gives a
#: flat grey image, so that its verdict says something of the picture)
OFFLINE_AM_CLASS_2 = 1
OFFLINE_SECOND = twin_of("fmnist_vgg", "pair")  # the offline pair's second network
#: Fig. 2's offline networks: the robust pair (its VGG first, as the paper's VGG19)
OFFLINE_FIG2 = (twin_of(BEST_AM_MODEL, "pair"), BEST_AM_MODEL)

# Table 1 of the paper: top-1 / top-5 % of the other network, per reconstructing network
PAPER_TABLE1 = {
    "vgg19": {"tv": (44.0, 65.7), "fluid_sobolev": (43.5, 67.3),
              "fluid_elastic_sobolev": (13.8, 30.6)},
    "densenet121": {"tv": (5.9, 14.4), "fluid_sobolev": (4.5, 10.4),
                    "fluid_elastic_sobolev": (10.4, 21.6)},
}
_TABLE1_NAMES = {"vgg19": "VGG19", "densenet121": "DenseNet121", "tv": "TV",
                 "fluid_sobolev": "fluid Sobolev", "fluid_elastic_sobolev": "fluid-elastic Sobolev"}


def paper_table1_text() -> str:
    """The paper's Table 1 in one line, from :data:`PAPER_TABLE1` (top-1 / top-5 % of the
    other network, per reconstructing network).

    >>> paper_table1_text()[:72]
    'VGG19 rec. -> DenseNet121: TV 44.0 / 65.7, fluid Sobolev 43.5 / 67.3, fl'
    """
    names = list(PAPER_TABLE1)
    return "; ".join(
        f"{_TABLE1_NAMES[rec]} rec. -> {_TABLE1_NAMES[names[1 - i]]}: " + ", ".join(
            f"{_TABLE1_NAMES[k]} {t1} / {t5}" for k, (t1, t5) in PAPER_TABLE1[rec].items())
        for i, rec in enumerate(names))


# Fig. 1's grid in rows (title, cells) as the caption places them: Sobolev "first row",
# Gaussian "second row", then two baselines the figure does not show
FIG1_ROW_TITLES = {"Sobolev S_gamma": "Sobolev S_gamma: Fig. 1's first row",
                   "Gaussian G_sigma": "Gaussian G_sigma: Fig. 1's second row",
                   "Baselines": "Baselines, not in Fig. 1: TV and no regularization"}
FIG1_GRID_ROWS = tuple((FIG1_ROW_TITLES[name], len(keys)) for name, keys in FIG1_ROWS.items())

# The paper's octave recipes (Sec. 3.1): (scale, steps, tau) per stage
OCTAVES = {
    "vgg19": [(1.0, 100, 5.0), (1.1, 50, 2.0), (1.2, 10, 1.0)],
    "resnet50": [(1.0, 160, 60.0), (1.1, 60, 20.0), (1.2, 16, 5.0)],
    "densenet121": [(1.0, 100, 5.0), (1.1, 60, 0.05), (1.2, 8, 0.02)],
}


# ----------------------------------------------------------------------------- helpers

def paper_tau(model: str, tau: float) -> float:
    """The paper's step size for ``model`` in this tool's units (DenseNet121 x ~57.6)."""
    return round(tau * DENSENET_TAU_FACTOR, 4) if model == "densenet121" else tau


def scheme_grid(base: RunConfig, size: int = 11, tv: float | None = None,
                schemes: Sequence[str] = FIG1_SCHEMES) -> list[RunConfig]:
    """The Fig. 1 grid (or ``schemes``, registry keys) on ``base``'s target, as one batch."""
    return [scheme_config(base, key, size, tv) for key in schemes]


def _octaves(recipe: list[tuple[float, int, float]], model: str) -> list[Octave]:
    return [Octave(s, n, paper_tau(model, t)) for s, n, t in recipe]


# ----------------------------------------------------------------------------- paper figures

def fig1() -> Preset:
    """Fig. 1: the scheme grid on king crab, VGG19 (Sec. 3.1)."""
    common = dict(steps=160, step_size=5.0, jitter=2.0, every=8)
    paper = scheme_grid(am_config("vgg19", KING_CRAB, **common), 11)
    off = scheme_grid(am_config(BEST_AM_MODEL, OFFLINE_AM_CLASS, **common), 11)
    return Preset(
        "fig1", "Fig. 1: demons schemes on 'king crab' (VGG19)", "paper",
        "Baust et al. Fig. 1, Sec. 3.1",
        "Kf, Ke in {delta, S_gamma, G_sigma} (11x11, fitted), tau = 5, TV lambda = 0.3",
        "Activation maximization of ImageNet class 121 with every demons scheme, Sobolev "
        "filters (the figure's first row) and Gaussian ones (second row), and two baselines "
        "the figure does not show, TV and no regularization: 160 steps, tau 5, 2 px jitter, "
        "no octaves.",
        [Batch("VGG19, class 121 'king crab'", paper, rows=FIG1_GRID_ROWS)],
        [Batch(f"{BEST_AM_MODEL}, class 9 'Ankle boot'", off, rows=FIG1_GRID_ROWS)],
        ["TV weight 0.3 is this tool's choice (the paper does not state it)."])


def fig2() -> Preset:
    """Fig. 2: daisy on three architectures, with and without octaves (Sec. 3.1)."""
    cells = ("tv", *FIG1_ROWS["Sobolev S_gamma"])  # the caption's Sobolev comparison
    batches, offline = [], []

    def pair(model: str, recipe: list, target: int, label: str) -> list[Batch]:
        octs = _octaves(recipe, model)
        steps = sum(o.steps for o in octs)
        plain = am_config(model, target, steps=steps, step_size=octs[0].tau, every=8)
        octv = am_config(model, target, steps=steps, step_size=octs[0].tau, octaves=octs,
                   jitter=2.0, every=8)
        return [Batch(f"{label}, without octaves", scheme_grid(plain, 9, schemes=cells)),
                Batch(f"{label}, octaves + jitter", scheme_grid(octv, 9, schemes=cells))]

    for model, name in (("vgg19", "VGG19"), ("resnet50", "ResNet50"),
                        ("densenet121", "DenseNet121")):
        batches += pair(model, OCTAVES[model], DAISY, f"{name}, class 985 'daisy'")
    for model in OFFLINE_FIG2:
        offline += pair(model, OCTAVES["vgg19"], OFFLINE_AM_CLASS_2,
                        f"{model} (VGG19 recipe), class 1 'Trouser'")
    return Preset(
        "fig2", "Fig. 2: 'daisy' on VGG19, ResNet50, DenseNet121", "paper",
        "Baust et al. Fig. 2, Sec. 3.1 (octave recipes per architecture)",
        "Kf, Ke in {delta, S_gamma} (9x9, fitted), tau per octave, TV lambda = 0.3 "
        "(lowered where tau is large)",
        "Activation maximization of ImageNet class 985 on three architectures with TV and "
        "Sobolev fluid / elastic / fluid-elastic demons, with and without the octave "
        "recipes (scales 1.0, 1.1, 1.2 with random crops) and jitter.",
        batches, offline,
        [f"DenseNet121 step sizes are the paper's times {DENSENET_TAU_FACTOR:.1f} (keras "
         "'torch' pixel scale -> 0-255 levels): 5 -> 288, 0.05 -> 2.9, 0.02 -> 1.15.",
         "Without octaves: the total number of steps at the first octave's step size.",
         "TV weight 0.3, lowered for large step sizes to keep explicit TV stable "
         "(tau lambda / eps <= 1/4): 0.0425 for ResNet50, 0.0089 for DenseNet121.",
         f"No offline DenseNet: the offline version runs the VGG19 recipe on the robust "
         f"pair, {OFFLINE_FIG2[0]} and {OFFLINE_FIG2[1]}, whose class pre-images the "
         "independent judge recognises (with the ResNet50 recipe's tau 60 it recognised "
         "fewer of the 64x64 ResNet's pictures; try it in the Playground). The class is "
         "Trouser, not Bag: the judge reads a flat grey image as Bag."])


def _inversion_schemes(base: RunConfig, size: int = 11, tv: float | None = None
                       ) -> list[RunConfig]:
    return scheme_grid(base, size, tv, schemes=PAPER_INVERSION_SCHEMES)


def fig4() -> Preset:
    """Fig. 4: inversion from two DenseNet121 layers (Sec. 3.2)."""
    photo = first_sample(3)
    tau = paper_tau("densenet121", 1.0)
    batches = [Batch(f"DenseNet121 {layer}", _inversion_schemes(
        inversion_config("densenet121", layer, photo, steps=2000, step_size=tau, every=20)))
        for layer in ("conv3_block3_1_bn", "conv5_block12_0_bn")]
    img = first_sample(1)
    off = [Octave(1.0, n, OFFLINE_FIG4_TAU * f) for n, f in OFFLINE_FIG4_STAGES]
    offline = [Batch(f"fmnist_vgg {layer}", _inversion_schemes(
        inversion_config(DEFAULT_MODEL, layer, img, steps=400, step_size=OFFLINE_FIG4_TAU,
                         octaves=off, every=10)))
        for layer in ("block2", "block4")]
    return Preset(
        "fig4", "Fig. 4: inversion from DenseNet121 layers", "paper",
        "Baust et al. Fig. 4, Sec. 3.2",
        "Kf = S_gamma (11x11) with Ke = delta (fluid) or Ke = S_gamma (fluid-elastic), or "
        f"Kf = Ke = delta with TV; tau = 1, TV lambda = {stable_tv(tau):g}",
        "Feature inversion (eq. 3, p = 2) of a photo from a middle (conv3_block3_1_bn) and a "
        "deep (conv5_block12_0_bn) DenseNet121 layer: 2000 steps, tau 1, no octaves or "
        "jitter.",
        batches, offline,
        [f"DenseNet121 tau 1 -> {tau:.1f} (keras 'torch' pixel scale); TV lambda "
         f"{stable_tv(tau):g} (stability).",
         "Offline: fmnist_vgg block2 (middle) and block4 (deep), 400 steps instead of 2000 "
         f"so that it runs in about a minute on a CPU, tau {OFFLINE_FIG4_TAU:g} lowered in "
         "stages (200, 120, 80 steps at 1, 0.4, 0.15 of it; DenseNet's 57.6 saturated the "
         "offline reconstructions). Fluid-elastic keeps the highest relative feature error "
         "in both layers: its elastic kernel regularizes the solution itself, so it does "
         "not reach the exact minimizer.",
         "A shipped sample photo replaces the paper's Fig. 3 images."])


def table1() -> Preset:
    """Table 1: the cross-network inversion protocol (Sec. 3.2), with the settings of
    :mod:`viz_core.evaluation.protocol` (which writes results/table1*.csv): tau 20 for
    both networks, TV lambda 0.1."""
    photo = first_sample(3)
    kw = dict(steps=300, step_size=20.0, every=10)
    batches = [
        Batch("VGG19 block5_conv1 (classified by DenseNet121)", _inversion_schemes(
            inversion_config("vgg19", "block5_conv1", photo, **kw), tv=TABLE1_TV),
            "densenet121"),
        Batch("DenseNet121 conv5_block12_0_bn (classified by VGG19)", _inversion_schemes(
            inversion_config("densenet121", "conv5_block12_0_bn", photo, **kw),
            tv=TABLE1_TV), "vgg19"),
    ]
    img = first_sample(1)
    offline = [
        Batch(f"fmnist_vgg block4 (classified by {OFFLINE_SECOND})", _inversion_schemes(
            inversion_config(DEFAULT_MODEL, "block4", img, **kw), tv=TABLE1_TV), OFFLINE_SECOND),
        Batch(f"{OFFLINE_SECOND} layer4 (classified by fmnist_vgg)", _inversion_schemes(
            inversion_config(OFFLINE_SECOND, "layer4", img, **kw), tv=TABLE1_TV), DEFAULT_MODEL),
    ]
    return Preset(
        "table1", "Table 1: reconstructions classified by another network", "paper",
        "Baust et al. Table 1, Sec. 3.2",
        "Kf = S_gamma (11x11) with Ke = delta (fluid) or Ke = S_gamma (fluid-elastic), or "
        f"Kf = Ke = delta with TV; tau = 20, 300 steps, TV lambda = {TABLE1_TV:g}",
        "Invert an image from one network's deep layer, then classify the reconstruction "
        "with the other network (top-1 / top-5 over one image per class). Here: one image, "
        "what the other network sees in each picture in the table under its grid; the full "
        "protocol is the evaluation command, whose results/table1*.csv this page shows when "
        "present.",
        batches, offline,
        ["As in viz_core.evaluation.protocol, tau 20 is used literally for both networks (the "
         "DenseNet121 pixel-scale factor is not applied here) and TV lambda is 0.1.",
         f"Paper (top-1 / top-5 %): {paper_table1_text()}."])


# ----------------------------------------------------------------------------- catalogue

_FACTORIES = {"fig1": fig1, "fig2": fig2, "fig4": fig4, "table1": table1, **CLASSIC}


def all_presets() -> list[Preset]:
    """Every preset, paper figures first."""
    return [f() for f in _FACTORIES.values()]


def get_preset(key: str) -> Preset:
    """The preset registered under ``key``; VizError listing the known keys otherwise."""
    if key not in _FACTORIES:
        raise VizError(f"unknown preset {key!r}; known: {', '.join(_FACTORIES)}",
                       field="preset")
    return _FACTORIES[key]()


def presets_for(page: str) -> list[Preset]:
    """Presets a page offers: ``"presets"`` (all), ``"compare"`` (grids) or
    ``"playground"`` (single configurations, incl. every batch's cells)."""
    items = all_presets()
    if page == "presets":
        return items
    return [p for p in items if p.page == page]


def image_exists(path: str | None) -> bool:
    """Whether a preset's image is on this machine (samples may not be shipped)."""
    return bool(path) and Path(path).is_file()
