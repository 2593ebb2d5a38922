"""Sidebar controls shared by the Playground and the Compare page: target, image, kernels
(the model box: :mod:`dashboard.model_controls`). Each returns what the page needs and
reports problems under the control."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from dashboard.resources import (
    get_model,
    load_reference_image,
)
from dashboard.samples import UPLOAD, sample_name, sample_path
from dashboard.settings.diversity import MAX_SAMPLES
from dashboard.settings.explainers import GAMMA_RANGE, SIGMA_RANGE
from dashboard.settings.labels import CLASS_SCORE_LABELS, TASK_LABELS
from dashboard.settings.layers import middle_layer
from dashboard.settings.playground import TASK_CHOICES
from dashboard.text import plain
from dashboard.widgets import Controls
from viz_core.errors import VizError
from viz_core.kernels import KernelSpec, build
from viz_core.objectives import CLASS_SCORES
from viz_core.schemes import ELASTIC_KINDS, FLUID_KINDS, SIZED_KINDS

if TYPE_CHECKING:
    pass

KIND_LABELS = {"identity": "identity (delta)", "gaussian": "Gaussian G_sigma",
               "sobolev": "Sobolev S_gamma", "spectral": "spectral 1/(1+|f|)^d",
               "decay": "L2 decay (1 - lambda tau)"}


@dataclass
class TargetChoice:
    """What the model/target controls produced."""

    model: Any                      # LoadedModel or None when it could not be loaded
    reference: np.ndarray | None    # (1, C, S, S) image to invert
    image_label: str | None         # config.image: a sample path or "upload:<name>"


def _task_changed(prefix: str, jitter: bool = True) -> None:
    """Switching to inversion: the middle block of the model and no jitter (``jitter``),
    where the pre-image stays recognisable (the deepest block gives grey blobs);
    switching to activation maximization: a class (the logits)."""
    if st.session_state.get(prefix + "task") != "inversion":
        st.session_state[prefix + "layer"] = "logits"  # a class, as a new visitor expects
        return
    try:
        model = get_model(st.session_state[prefix + "model"],
                          st.session_state.get(prefix + "weights", "pretrained"),
                          st.session_state.get(prefix + "device", "auto"))
    except (VizError, KeyError):
        return
    st.session_state[prefix + "layer"] = middle_layer(model.layers,
                                                               model.spec.default_layer)
    if jitter and prefix + "jitter" in st.session_state:
        st.session_state[prefix + "jitter"] = 0.0


def always_in_link(prefix: str, defaults: Mapping[str, Any]) -> tuple[str, ...]:
    """Settings a link carries even at their default: the layer, when the task is not the
    page's default. A link that switches the task and names no layer comes from before
    the layer was written (or from a hand-made URL) and means the layer the task control
    would pick (:func:`link_task`), not the default layer of the other task."""
    return (("layer",) if st.session_state.get(prefix + "task", defaults.get("task"))
            != defaults.get("task") else ())


def link_task(prefix: str, params: dict) -> None:
    """A link that switches the task without naming a layer opens on the layer the task
    control picks: inversion from the middle block (not the logits of activation
    maximization), activation maximization of a class (the logits; not a channel of the
    inversion layer, unless the link names a channel). Its own jitter, if any, is kept."""
    task = params.get("task")
    if "layer" in params or task != st.session_state.get(prefix + "task"):
        return
    layer = st.session_state.get(prefix + "layer")
    if ((task == "inversion" and layer == "logits")
            or (task == "am" and layer != "logits" and "channel" not in params)):
        _task_changed(prefix, jitter="jitter" not in params)


#: How the Playground names the class scores (viz_core.objectives.CLASS_SCORES).


def target_controls(ctl: Controls, model, *, diversity: bool = False) -> TargetChoice:
    """Task, layer, class / channel / unit, image to invert; ``diversity``: also the
    diversity weight and samples of a channel (:func:`diversity_controls`)."""
    p = ctl.prefix
    task = ctl.radio("task", "Task", TASK_CHOICES, fmt=TASK_LABELS.get,
                     on_change=_task_changed, args=(p,))
    if model is None:
        return TargetChoice(None, None, None)
    layers = list(dict.fromkeys(["logits"] + [lay for lay in model.layers if lay != "logits"]))
    if task == "am":
        layer = ctl.select("layer", "Layer", layers,
                           fmt=lambda x: "logits (class score)" if x == "logits" else x,
                           help="Maximize a class logit, or the mean of one channel of a "
                                "layer (or a single unit).")
        if layer == "logits":
            classes = list(model.classes)
            _relabel(ctl.key("target"), classes)
            ctl.select("target", "Class", list(range(len(classes))),
                       fmt=lambda i: classes[i] if classes[i] == f"class {i}"
                       else f"{i} · {classes[i]}")
            ctl.radio("class_score", "Maximise the class's", CLASS_SCORES,
                      fmt=CLASS_SCORE_LABELS.get,
                      help="logit: the paper's class score (eq. 4). log-probability: also "
                           "pushes the other classes down, so similar classes (Coat, Shirt, "
                           "Pullover) are not confused; the robust models' presets use it.")
        else:
            try:
                n = model.layer_channels(layer)
            except VizError as exc:
                ctl.error("layer", str(exc))
                n = 1
            ctl.number("channel", f"Channel (0..{n - 1})", 0, n - 1, 1)
            if ctl.toggle("unit_on", "Single unit (y, x) instead of the channel mean"):
                c1, c2 = ctl.c.columns(2)
                sub = Controls(p, c1)
                sub.number("unit_y", "unit y", 0, 4096, 1)
                sub2 = Controls(p, c2)
                sub2.number("unit_x", "unit x", 0, 4096, 1)
                ctl.slots.update(sub.slots)
                ctl.slots.update(sub2.slots)
            if diversity:
                diversity_controls(ctl)
        return TargetChoice(model, None, None)
    ctl.select("layer", "Layer to invert", layers,
               help="Feature inversion (eq. 3) reconstructs the image from this layer.",
               fallback=middle_layer(model.layers, layers[0]))  # a new model's middle block
    return TargetChoice(model, *image_controls(ctl, model))


def _relabel(key: str, labels: list[str]) -> None:
    """The browser keeps showing the label a select box was drawn with when only the
    labels of its options change (a new model's class names under the same class index:
    an uploaded program's "class 1" showed as "1 · Trouser"): the value is set again, so
    the box is redrawn with the new label."""
    seen = f"{key}__labels"
    if st.session_state.get(seen, labels) != labels and key in st.session_state:
        st.session_state[key] = st.session_state[key]
    st.session_state[seen] = labels


def image_controls(ctl: Controls, model) -> tuple[np.ndarray | None, str | None]:
    """Sample or uploaded image, loaded at the model's input size."""
    from viz_core.samples import sample_paths

    samples = [sample_name(p) for p in sample_paths(model.spec.channels)
               + sample_paths(3 if model.spec.channels == 1 else 1)]
    options = samples + [UPLOAD]
    if st.session_state.get(ctl.key("image")) in ("", None) and samples:
        st.session_state[ctl.key("image")] = samples[0]
    choice = ctl.select("image", "Image to invert", options,
                        fmt=lambda x: "upload your own ..." if x == UPLOAD
                        else Path(x).name)
    size, channels = model.spec.input_size, model.spec.channels
    if choice == UPLOAD:
        up = ctl.c.file_uploader("Upload an image (PNG, JPEG, ...)", key=ctl.key("upload"),
                                 help="Any size; it is centre-cropped and resized to "
                                      f"{size}x{size}.")
        ctl.slots["upload"] = ctl.c.empty()
        if up is None:
            ctl.error("image", "upload an image to invert (an uploaded image cannot travel "
                      "in a link or a run JSON: a shared link that used one needs it "
                      "uploaded again)")
            return None, None
        ctl.c.caption("Uploads stay in this session: a link to this view cannot carry the "
                      "image.")
        source, label = up.getvalue(), f"{UPLOAD}:{up.name}"
    else:
        source = label = sample_path(choice)
    try:
        ref, notices = load_reference_image(source, size, channels)
    except VizError as exc:
        ctl.error("upload" if choice == UPLOAD else "image",
                  f"{exc}. Nothing runs with it; a result shown stays as it is.")
        return None, None
    for n in notices:
        ctl.c.caption(plain(f"note: {n}"))
    return ref, label


#: Samples a diversity batch gets when its weight is first turned on with one sample.
FIRST_SAMPLES = 4


def _diversity_on(prefix: str) -> None:
    """Turning the diversity weight on with a single sample asks for a batch: a diversity
    term needs two or more samples (it disabled Run until the user found that box)."""
    weight = st.session_state.get(prefix + "div_weight") or 0
    if weight > 0 and int(st.session_state.get(prefix + "samples", 1) or 1) < 2:
        st.session_state[prefix + "samples"] = min(FIRST_SAMPLES, MAX_SAMPLES)


def diversity_controls(ctl: Controls) -> None:
    """The diversity weight and the number of samples of a channel's batch
    (:mod:`dashboard.settings.diversity`)."""
    ctl.number("div_weight", "Diversity weight (0 = off)", 0.0, None, 0.05, format="%g",
               help="subtracts w x the batch's Gram-matrix similarity (Olah et al., "
                    "Distill 2017): the samples, started from different seeds, are pushed "
                    "to show different ways the channel responds",
               on_change=_diversity_on, args=(ctl.prefix,))
    ctl.number("samples", f"Samples (1..{MAX_SAMPLES}), shown side by side", 1, MAX_SAMPLES, 1,
               disabled=not float(st.session_state.get(ctl.key("div_weight"), 0) or 0) > 0)


def _param_from_fit(prefix: str, slot: str) -> None:
    """Fit turned off: sigma / gamma take the value just fitted to the slot's kind, size
    and order (Sec. 2.7), so the kernel the user sees stays (rounded down to 6 significant
    digits by :func:`dashboard.teaching.start_value`). A link or restored run that says
    ``fit = 0`` with a parameter keeps that parameter: no callback runs for it."""
    from dashboard.teaching import start_value

    state = st.session_state
    kind = state.get(f"{prefix}{slot}_kind")
    if state.get(f"{prefix}{slot}_fit", True) or kind not in SIZED_KINDS:
        return
    name, (lo, hi) = (("sigma", SIGMA_RANGE) if kind == "gaussian" else ("gamma", GAMMA_RANGE))
    try:
        order = int(state.get(f"{prefix}{slot}_order", 1)) if kind == "sobolev" else 1
        kernel = build(KernelSpec(kind, None, int(state[f"{prefix}{slot}_size"]), order))
        state[f"{prefix}{slot}_{name}"] = start_value(kernel, lo, hi)
    except (VizError, KeyError, TypeError, ValueError):  # said under its own control
        return


def kernel_controls(ctl: Controls, slot: str, image_size: int) -> None:
    """Kind, size / fit, parameter (and order, cadence) of the fluid (``"f"``) or elastic
    (``"e"``) kernel. Turning the fit off keeps the fitted parameter (:func:`_param_from_fit`)."""
    kinds = FLUID_KINDS if slot == "f" else ELASTIC_KINDS
    kind = ctl.select(f"{slot}_kind", "Kernel", kinds, fmt=KIND_LABELS.get)
    max_size = max(3, min(31, image_size - (1 - image_size % 2)))
    if kind in SIZED_KINDS:
        ctl.slider(f"{slot}_size", "Kernel size", 1, max_size, 2,
                   help="odd; the fitted parameter fills it (Sec. 2.7)")
        fit = ctl.toggle(f"{slot}_fit", "Fit parameter to kernel size (Sec. 2.7)",
                         on_change=_param_from_fit, args=(ctl.prefix, slot))
        if kind == "gaussian" and not fit:
            ctl.slider(f"{slot}_sigma", "sigma", *SIGMA_RANGE, 0.01, format="%.4g")
        if kind == "sobolev":
            if not fit:
                ctl.slider(f"{slot}_gamma", "gamma", *GAMMA_RANGE, 0.01, format="%.4g")
            ctl.slider(f"{slot}_order", "Sobolev order k: (I - gamma Lap)^-k", 1, 8, 1)
    elif kind == "spectral":
        ctl.slider(f"{slot}_d", "decay exponent d", 0.0, 4.0, 0.1,
                   help="gradient spectrum scaled by 1 / (1 + |f| / f0)^d; d = 2 ~ Lucid's "
                        "FFT parameterisation with plain gradient steps")
        ctl.slider(f"{slot}_f0", "cut-off f0 (cycles per image)", 0.5, 16.0, 0.5)
    elif kind == "decay":
        ctl.slider(f"{slot}_lambda", "lambda", 0.0, 10.0, 0.05,
                   help="u <- (1 - lambda tau) u after each step (tau in [0, 1] units)")
    if slot == "e":
        ctl.slider("e_every", "apply every k steps", 1, 20, 1,
                   help="Yosinski et al. blur every k-th step")
