"""Earlier feature-visualization recipes read as demons schemes (eq. 18, Sec. 2 of the paper):
Simonyan et al.'s L2 decay (an elastic scaled delta), Mahendran and Vedaldi's TV inversion
(eqs. 19-20), Yosinski et al.'s periodic blur (an elastic Gaussian every k steps), DeepDream's
octaves and jitter, and Distill's Fourier preconditioner (a fluid spectral kernel). Each is a
:class:`~viz_core.preset_types.Preset` with one configuration for the paper's ImageNet
networks and one for the shipped Fashion-MNIST models; :mod:`viz_core.presets` lists them.
The offline activation maximizations run on
:data:`~viz_core.offline_presets.BEST_AM_MODEL`, whose class pre-images the independent
judge (Sec. 3.2's recognisability measure) recognises; the TV inversion stays on the
standard VGG, as the paper's inversions (Fig. 4, Table 1)."""

from __future__ import annotations

from viz_core.config import DEFAULT_MODEL, RunConfig
from viz_core.kernels import KernelSpec
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
from viz_core.transforms import Octave

__all__ = ["CLASSIC", "deepdream", "distill", "mahendran_vedaldi", "simonyan", "yosinski"]

#: The offline channel of DeepDream and Distill: a middle stage of the ResNet (as VGG19's
#: block3 / GoogLeNet's inception4 in the originals) and a channel whose pre-image shows a
#: clear pattern under both recipes (no degenerate-result warning, viz_core.image_checks)
OFFLINE_CHANNEL = ("layer3", 1)


def _single(key: str, title: str, source: str, setting: str, description: str,
            paper: RunConfig, offline: RunConfig, notes: list[str] | None = None) -> Preset:
    paper.name = offline.name = title
    return Preset(key, title, "classic", source, setting, description,
                  [Batch(f"{paper.model}", [paper])], [Batch(f"{offline.model}", [offline])],
                  notes or [], page="playground")


def simonyan() -> Preset:
    """Simonyan et al. (2014): class-score AM with L2 decay = elastic kernel (1 - lambda tau)."""
    lam = 1.0
    kw = dict(elastic=KernelSpec("decay", lam), step_size=5.0, steps=200, every=10)
    return _single(
        "simonyan", "Simonyan et al. (L2 decay)",
        "Simonyan, Vedaldi, Zisserman 2014, 'Deep inside convolutional networks'",
        f"Kf = delta, Ke = (1 - lambda tau) delta (lambda = {lam:g}), tau = 5, TV = 0",
        "Gradient ascent on a class score with an L2 penalty: the penalty's gradient step "
        "is a multiplication of the (mean-free) image by 1 - lambda tau, i.e. an elastic "
        "'kernel' that is a scaled Dirac delta.",
        am_config("vgg19", KING_CRAB, **kw), am_config(BEST_AM_MODEL, OFFLINE_AM_CLASS, **kw),
        ["tau in [0, 1] pixel units enters the factor: 1 - 1.0 * 5/255 = 0.980 per step."])


def mahendran_vedaldi() -> Preset:
    """Mahendran and Vedaldi (2015): inversion with TV, Kf = Ke = delta (eqs. 3, 19-20)."""
    kw = dict(tv=0.5, tv_eps=0.05, step_size=5.0, steps=300, every=10)
    return _single(
        "mahendran", "Mahendran & Vedaldi (TV inversion)",
        "Mahendran and Vedaldi 2015, 'Understanding deep image representations by "
        "inverting them'",
        "Kf = delta, Ke = delta, tau = 5, TV lambda = 0.5 (eps 0.05)",
        "Feature inversion with the normalised data term ||Phi(u) - Phi0||^2 / ||Phi0||^2 "
        "and a total-variation regularizer (they used TV^beta; here beta = 1, relaxed).",
        inversion_config("vgg19", "block5_conv1", first_sample(3), **kw),
        inversion_config(DEFAULT_MODEL, "block4", first_sample(1), **kw),
        ["Stable explicit TV needs tau lambda / eps <= 1/4 (tau in [0, 1] units): "
         "5/255 * 0.5 / 0.05 = 0.20."])


def yosinski() -> Preset:
    """Yosinski et al. (2015): Gaussian blur every k steps = elastic Gaussian, every k."""
    kw = dict(elastic=KernelSpec("gaussian", 1.0, 7), elastic_every=4, step_size=5.0,
              steps=200, every=10)
    return _single(
        "yosinski", "Yosinski et al. (blur every k steps)",
        "Yosinski, Clune, Nguyen, Fuchs, Lipson 2015, 'Understanding neural networks "
        "through deep visualization'",
        "Kf = delta, Ke = G_sigma (sigma 1.0, 7x7) every 4th step, else delta; tau = 5, TV = 0",
        "Gradient ascent on a class score with a Gaussian blur of the image every few "
        "steps: an elastic demons scheme whose elastic kernel is applied every k-th step.",
        am_config("vgg19", KING_CRAB, **kw), am_config(BEST_AM_MODEL, OFFLINE_AM_CLASS, **kw))


def deepdream() -> Preset:
    """DeepDream (Mordvintsev et al. 2015): plain GD with an octave pyramid and jitter."""
    octs = [Octave(1.0, 20, 1.5), Octave(1.4, 20, 1.5), Octave(1.96, 20, 1.5)]
    kw = dict(octaves=octs, steps=60, step_size=1.5, jitter=0.14, every=5)
    return _single(
        "deepdream", "DeepDream (octaves + jitter)",
        "Mordvintsev, Olah, Tyka 2015, 'Inceptionism' / the deepdream notebook",
        "Kf = delta, Ke = delta, tau = 1.5 with tau / mean|g|, TV = 0; octaves x1.4, "
        "jitter 32 px (14 % of the input)",
        "Maximize a channel of a middle layer by plain normalised gradient steps on a "
        "growing canvas (octaves, random crops) with random shifts (jitter): all the "
        "regularization is implicit.",
        am_config("googlenet", layer="inception4c", channel=0, **kw),
        am_config(BEST_AM_MODEL, layer=OFFLINE_CHANNEL[0], channel=OFFLINE_CHANNEL[1], **kw),
        ["Octave reading of viz_core.transforms: absolute scales 1.0, 1.4, 1.96 with random "
         "crops of the network's input size; 20 steps each.",
         f"Offline: channel {OFFLINE_CHANNEL[1]} of {BEST_AM_MODEL}'s {OFFLINE_CHANNEL[0]} "
         "(a channel, so the class judges have no verdict on it)."])


def distill() -> Preset:
    """Olah et al. (Distill 2017): FFT parameterisation = fluid spectral preconditioner."""
    kw = dict(fluid=KernelSpec("spectral", 2.0, f0=4.0), step_size=20.0, steps=200,
              jitter=0.04, every=10)
    return _single(
        "distill", "Distill Feature Visualization (spectral preconditioner)",
        "Olah, Mordvintsev, Schubert 2017, 'Feature Visualization', Distill",
        "Kf = spectral 1 / (1 + |f| / 4)^2 (f in cycles per image), Ke = delta, tau = 20, "
        "TV = 0, jitter 8 px",
        "Lucid's decorrelated Fourier parameterisation with plain gradient steps is a "
        "preconditioner of about 1/|f|^2 on the gradient: a fluid demons scheme whose fluid "
        "kernel lives in the Fourier domain (the gamma -> infinity limit of a Sobolev "
        "gradient without the identity term).",
        am_config("googlenet", layer="inception4a", channel=476, **kw),
        am_config(BEST_AM_MODEL, layer=OFFLINE_CHANNEL[0], channel=OFFLINE_CHANNEL[1], **kw),
        ["The preconditioner filters the mean-normalised gradient, so most of each step's "
         "energy goes to the lowest frequencies: tau = 20 (not 5) and a cut-off of 4 cycles "
         "per image keep the image from drifting to a flat, saturated mean (tried on "
         "fmnist_vgg).",
         f"Offline: channel {OFFLINE_CHANNEL[1]} of {BEST_AM_MODEL}'s {OFFLINE_CHANNEL[0]} "
         "(a channel, so the class judges have no verdict on it).",
         "Lucid used Adam (a ~1/|f| preconditioner, d = 1) with decorrelated colours and a "
         "sigmoid; with plain steps the equivalent is d = 2."])


#: The classic recipes by preset key, in the order the Paper presets page lists them.
CLASSIC = {"simonyan": simonyan, "mahendran": mahendran_vedaldi, "yosinski": yosinski,
           "deepdream": deepdream, "distill": distill}
