"""Dashboard settings as plain data: URL query-parameter and run-JSON round trips.

No Streamlit and no numerics here. A page keeps its settings as a flat ``dict`` of widget
values (``str``, ``int``, ``float``, ``bool``); this module

* encodes the values that differ from the defaults as query parameters, so that a link
  reproduces a view (:func:`encode`, :func:`decode`), typed by the defaults and checked
  against the allowed choices;
* maps the Playground's settings to a validated :class:`~viz_core.config.RunConfig` and
  back (:func:`settings_to_config`, :func:`config_to_settings`); settings that do not
  enter the configuration (e.g. the kernel of an inactive slot) travel in
  ``RunConfig.extra["ui"]``, so a run's JSON restores every control;
* translates the ``field`` of a :class:`~viz_core.errors.VizError` into the key of the
  control that caused it (:func:`field_key`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from viz_core.config import DEFAULT_MODEL, DEVICES, GRAD_NORMS, OPTIMIZERS, RunConfig
from viz_core.errors import VizError
from viz_core.kernels import KernelSpec, validate_spec
from viz_core.objectives import CLASS_SCORES, TASKS
from viz_core.schemes import (
    BORDERS,
    ELASTIC_KINDS,
    FIG1_SCHEMES,
    FLUID_KINDS,
    STRUCTURES,
    get_scheme,
    scheme_key,
)
from viz_core.transforms import parse_octaves

Settings = dict[str, Any]

#: The model the dashboard opens on: the adversarially trained VGG, whose class pre-images
#: an independent network recognises best (the Table 1 protocol of Sec. 3.2 on the tuned
#: presets, 3 seeds, in results/recognisability_robust.md and recognisability_offline.md:
#: 8.0 of 10 classes recognised with every demons scheme, against 3.0-7.7 of 10 for the
#: standard fmnist_vgg; fluid-elastic Sobolev 8.0 vs 7.7, plain GD 7.7 vs 4.3). The standard
#: ``fmnist_vgg`` stays one click away in the model select box (and Compare runs both
#: side by side). The command line keeps :data:`viz_core.config.DEFAULT_MODEL`.
DASHBOARD_MODEL = "fmnist_vgg_robust"


def dashboard_model() -> str:
    """:data:`DASHBOARD_MODEL` when its weights are on this machine, else the CLI's
    :data:`~viz_core.config.DEFAULT_MODEL` (a checkout without the robust weights)."""
    from viz_core.models import weights_status

    try:
        return DASHBOARD_MODEL if weights_status(DASHBOARD_MODEL) == "offline" else DEFAULT_MODEL
    except VizError:
        return DEFAULT_MODEL

#: The Playground's scheme choice: a structure of eq. 18 (TV is a toggle on top of any).
SCHEMES = tuple(s for s in STRUCTURES if s != "tv")
TASK_CHOICES = TASKS
WEIGHT_CHOICES = ("pretrained", "random")
UPLOAD = "upload"  # value of ``image`` meaning "the file uploaded in this session"
PNG_RUN_KEY = "demons-viz-run"  # PNG text chunk holding a run's JSON (restores the run)

#: Every Playground control with its default (the type of the default types the URL value).
PLAYGROUND_DEFAULTS: Settings = {
    "model": dashboard_model(),
    "weights": "pretrained",
    "task": "am",
    "target": 0,
    "layer": "logits",
    "channel": 0,
    "unit_on": False,
    "unit_y": 0,
    "unit_x": 0,
    "image": "",
    "p": 2,
    "scheme": "fluid-elastic",
    "tv_on": False,
    "tv": 0.3,
    "tv_eps": 0.05,
    "f_kind": "gaussian",
    "f_fit": True,
    "f_size": 9,
    "f_sigma": 1.0,
    "f_gamma": 0.2,
    "f_order": 1,
    "f_d": 2.0,
    "f_f0": 1.0,
    "e_kind": "sobolev",
    "e_fit": True,
    "e_size": 9,
    "e_sigma": 1.0,
    "e_gamma": 0.2,
    "e_order": 1,
    "e_lambda": 0.5,
    "e_every": 1,
    "step_size": 5.0,
    "steps": 100,
    "octaves_on": False,
    "octaves": "1.0:60:5,1.1:30:2,1.2:10:1",
    "jitter": 2.0,
    "seed": 0,
    "every": 5,
    "grad_norm": "mean_abs",
    "optimizer": "demons",
    "class_score": "logit",
    "init_std": 0.02,
    "border": "reflect",
    "device": "auto",
}

PLAYGROUND_CHOICES: dict[str, Sequence[Any]] = {
    "weights": WEIGHT_CHOICES,
    "task": TASK_CHOICES,
    "scheme": SCHEMES,
    "f_kind": FLUID_KINDS,
    "e_kind": ELASTIC_KINDS,
    "p": (1, 2),
    "grad_norm": GRAD_NORMS,
    "optimizer": OPTIMIZERS,
    "class_score": CLASS_SCORES,
    "border": BORDERS,
    "device": DEVICES,
}

# VizError.field -> Playground control (kernel fields are resolved per slot, see field_key)
_FIELD_KEYS = {
    "model": "model", "weights": "weights", "task": "task", "target": "target",
    "layer": "layer", "channel": "channel", "unit": "unit_y", "image": "image", "p": "p",
    "step_size": "step_size", "steps": "steps", "octaves": "octaves", "jitter": "jitter",
    "seed": "seed", "init_std": "init_std", "grad_norm": "grad_norm", "device": "device",
    "optimizer": "optimizer", "class_score": "class_score",
    "every": "every", "tv": "tv", "tv_eps": "tv_eps", "elastic_every": "e_every",
    "border": "border", "fluid": "f_kind", "elastic": "e_kind", "config": "json",
}
_KERNEL_FIELDS = {"kernel": "kind", "kernel_size": "size", "sigma": "sigma", "gamma": "gamma",
                  "order": "order", "d": "d", "lambda": "lambda", "f0": "f0", "param": "kind"}


# ----------------------------------------------------------------------------- sample names

def _samples_dir() -> Path:
    from viz_core.models import assets_dir

    return assets_dir() / "samples"


def sample_name(path: str) -> str:
    """The short name of a shipped sample (``fmnist/0_ankle_boot.png``) for a path inside
    ``assets/samples``, so that links do not carry the server's folders; anything else is
    returned unchanged."""
    if not path or path == UPLOAD or path.startswith(f"{UPLOAD}:"):
        return path
    p = Path(path)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(_samples_dir().resolve()).as_posix()
        except ValueError:
            return path
    return path


def sample_path(name: str) -> str:
    """The file of a sample name (inverse of :func:`sample_name`); a bare file name is
    looked up among the samples too. Other values are returned unchanged."""
    if not name or name == UPLOAD or name.startswith(f"{UPLOAD}:") or Path(name).is_absolute():
        return name
    root = _samples_dir()
    for cand in [root / name] + [d / name for d in sorted(root.glob("*")) if d.is_dir()]:
        if cand.is_file():
            return str(cand)
    return name


# ----------------------------------------------------------------------------- scheme names

def structure_of(name: str) -> str:
    """The Playground's scheme value for any spelling: a structure of eq. 18 (``"none"``,
    the older name of plain gradient descent, gives ``"plain"``; a registry key such as
    ``fluid_sobolev`` gives its structure). VizError (field "scheme") if unknown."""
    name = str(name).strip()
    if name in SCHEMES:
        return name
    structure = get_scheme(name).structure
    if structure not in SCHEMES:
        raise VizError(f"{name!r} is not a structure of the demons update; allowed: "
                       f"{', '.join(SCHEMES)}", field="scheme")
    return structure


def canonical_cells(text: str) -> str:
    """A comma list of Compare cells with every id in its canonical registry key (older
    links say ``sobolev-fluid``; see :func:`viz_core.schemes.scheme_key`)."""
    return ",".join(parse_cells(text))


#: Values that older links and run JSONs spell differently, mapped to today's spelling by
#: :func:`decode` before the choice check.
CANONICAL: dict[str, Any] = {"scheme": structure_of, "cells": canonical_cells,
                             "image": sample_name}


# ----------------------------------------------------------------------------- URL round trip

def encode(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters for the values that differ from ``defaults`` (known keys only)."""
    out: dict[str, str] = {}
    for key, default in defaults.items():
        if key not in values:
            continue
        v = values[key]
        if v == default and type(v) is type(default):
            continue
        if isinstance(v, bool):
            out[key] = "1" if v else "0"
        elif isinstance(v, float):
            out[key] = repr(v) if not v.is_integer() or abs(v) >= 1e15 else f"{v:.1f}"
        else:
            out[key] = str(v)
    return out


def _parse(text: str, default: Any) -> Any:
    if isinstance(default, bool):
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected 1/0 or true/false")
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        v = float(text)
        if not math.isfinite(v):
            raise ValueError("not a finite number")
        return v
    return str(text)


def decode(params: Mapping[str, Any], defaults: Mapping[str, Any],
           choices: Mapping[str, Sequence[Any]] | None = None) -> tuple[Settings, list[str]]:
    """Settings from query parameters: ``defaults`` updated with every valid parameter.

    Values are typed by their default; unknown keys are ignored; a malformed value or one
    outside ``choices`` keeps the default and adds a notice (returned second).
    """
    out: Settings = dict(defaults)
    notices: list[str] = []
    choices = choices or {}
    for key, raw in params.items():
        if key not in defaults:
            continue
        text = raw[-1] if isinstance(raw, (list, tuple)) and raw else raw
        try:
            value = _parse(str(text), defaults[key])
        except ValueError as exc:
            notices.append(f"ignored URL parameter {key}={text!r}: {exc}")
            continue
        if key in CANONICAL:
            try:
                value = CANONICAL[key](value)
            except VizError as exc:
                notices.append(f"ignored URL parameter {key}={text!r}: {exc}")
                continue
        if key in choices and value not in choices[key]:
            notices.append(f"ignored URL parameter {key}={text!r}: allowed "
                           f"{', '.join(map(str, choices[key]))}")
            continue
        out[key] = value
    if ("octaves_on" in defaults and "octaves_on" not in params
            and {"steps", "step_size"} & set(params)):
        out["octaves_on"] = False  # a link that sets steps or tau means a constant step
    if (defaults.get("task") == "inversion" and "task" not in params and "target" in params
            and "layer" not in params):
        out["task"], out["layer"] = "am", "logits"  # a link that names a class means AM
    return out, notices


# ----------------------------------------------------------------------------- settings <-> run

def field_key(field: str | None, slot: str | None = None) -> str:
    """The Playground control a :class:`VizError` field belongs to (``slot``: "f" | "e")."""
    if field is None:
        return "run"
    if field in _KERNEL_FIELDS:
        return f"{slot or 'f'}_{_KERNEL_FIELDS[field]}"
    return _FIELD_KEYS.get(field, "run")


_REWRITES = [  # CLI and Python wording in core messages -> the dashboard's words
    (r"Download \S+ and put it at .*?, or use weights='random'\.",
     "Put the torchvision checkpoint into the server's torch hub cache (see the README), or "
     "choose 'random' weights."),
    (r"; train them with `[^`]*`", " on this server (the README says how to build them)"),
    (r"\s*\(--[\w-]+(?: [A-Z]+)?(?: and --[\w-]+)?\)", ""),
    (r"--target CLASS", "a class"), (r"--channel C\b", "a channel"),
    (r"--image PATH", "an image"), (r"(?<![\w-])--([a-z][\w-]*)", r"\1"),
    (r"allow_download=True", "a download"), (r"weights='random'", "'random' weights"),
    (r"(?<![\w.:])/(?:[\w.~-]+/)+([\w.-]+)", r"\1"),
]


def ui_message(text: str) -> str:
    """A core error message in the dashboard's language: no CLI flags, no Python
    arguments, no server paths (only file names)."""
    for pattern, repl in _REWRITES:
        text = re.sub(pattern, repl, text)
    return text


def kernel_spec(s: Mapping[str, Any], slot: str) -> KernelSpec | None:
    """The :class:`KernelSpec` of slot ``"f"`` (fluid) or ``"e"`` (elastic), or None when the
    scheme leaves that slot empty. Raises VizError with the field of the slot's control."""
    scheme = structure_of(s.get("scheme", "plain"))
    active = scheme in (("fluid", "fluid-elastic") if slot == "f" else ("elastic", "fluid-elastic"))
    if not active:
        return None
    kind = s[f"{slot}_kind"]
    kinds = FLUID_KINDS if slot == "f" else ELASTIC_KINDS
    if kind not in kinds:
        raise VizError(f"{'fluid' if slot == 'f' else 'elastic'} kernel must be one of "
                       f"{', '.join(kinds)}, got {kind!r}", field=f"{slot}_kind")
    size = int(s[f"{slot}_size"])
    order = int(s[f"{slot}_order"])
    fit = bool(s[f"{slot}_fit"])
    if kind == "identity":
        spec = KernelSpec("identity")
    elif kind == "gaussian":
        spec = KernelSpec("gaussian", None if fit else float(s[f"{slot}_sigma"]), size)
    elif kind == "sobolev":
        spec = KernelSpec("sobolev", None if fit else float(s[f"{slot}_gamma"]), size, order)
    elif kind == "spectral":
        spec = KernelSpec("spectral", float(s[f"{slot}_d"]), f0=float(s.get(f"{slot}_f0", 1.0)))
    else:
        spec = KernelSpec("decay", float(s[f"{slot}_lambda"]))
    try:
        validate_spec(spec)
    except VizError as exc:
        raise VizError(str(exc), field=field_key(exc.field, slot)) from None
    return spec


def settings_to_config(s: Mapping[str, Any], *, image_path: str | None = None,
                       name: str = "") -> RunConfig:
    """A validated RunConfig from Playground settings.

    ``image_path`` overrides ``s["image"]`` (e.g. a label for an uploaded file, whose pixels
    are then passed to the engine as ``reference``). Raises :class:`VizError` whose
    ``field`` is the key of the offending control.
    """
    s = {**PLAYGROUND_DEFAULTS, **s}
    fluid = kernel_spec(s, "f")
    elastic = kernel_spec(s, "e")
    octaves = None
    if s["octaves_on"]:
        try:
            octaves = parse_octaves(str(s["octaves"]))
        except VizError as exc:
            raise VizError(str(exc), field="octaves") from None
    am = s["task"] == "am"
    logits = s["layer"] in ("", "logits")
    unit = (int(s["unit_y"]), int(s["unit_x"])) if am and not logits and s["unit_on"] else None
    ui = {k: s[k] for k in PLAYGROUND_DEFAULTS if k in s}
    cfg = RunConfig(
        model=str(s["model"]),
        weights="random" if s["weights"] == "random" else None,
        task=str(s["task"]),
        target=int(s["target"]) if am and logits else None,
        class_score=str(s["class_score"]) if am and logits else "logit",
        layer=None if am and logits else (str(s["layer"]) or None),
        channel=int(s["channel"]) if am and not logits else None,
        unit=unit,
        image=(image_path or sample_path(str(s["image"])) or None) if not am else None,
        p=int(s["p"]),
        fluid=fluid,
        elastic=elastic,
        tv=float(s["tv"]) if s["tv_on"] else 0.0,
        tv_eps=float(s["tv_eps"]),
        elastic_every=int(s["e_every"]),
        border=str(s["border"]),
        step_size=float(s["step_size"]),
        steps=int(s["steps"]),
        octaves=octaves,
        jitter=float(s["jitter"]),
        seed=int(s["seed"]),
        init_std=float(s["init_std"]),
        grad_norm=str(s["grad_norm"]),
        optimizer=str(s["optimizer"]),
        device=str(s["device"]),
        every=int(s["every"]),
        name=name,
        extra={"ui": ui},
    )
    if not am and not cfg.image:
        raise VizError("feature inversion needs an image: pick a sample or upload one",
                       field="image")
    try:
        cfg.validate()
    except VizError as exc:
        raise VizError(str(exc), field=field_key(exc.field)) from None
    return cfg


def _slot_settings(spec: KernelSpec | None, slot: str) -> Settings:
    if spec is None:
        return {}
    out: Settings = {f"{slot}_kind": spec.kind}
    if spec.kind in ("gaussian", "sobolev"):
        out[f"{slot}_size"] = int(spec.size)
        out[f"{slot}_fit"] = spec.param is None
        if spec.kind == "sobolev":
            out[f"{slot}_order"] = int(spec.order)
        if spec.param is not None:
            out[f"{slot}_{'sigma' if spec.kind == 'gaussian' else 'gamma'}"] = float(spec.param)
    elif spec.kind == "spectral":
        if spec.param is not None:
            out[f"{slot}_d"] = float(spec.param)
        out[f"{slot}_f0"] = float(spec.f0)
    elif spec.kind == "decay" and spec.param is not None:
        out[f"{slot}_lambda"] = float(spec.param)
    return out


def _num(v: float) -> str:
    """Shortest exact text of a float (12 significant digits when that is exact)."""
    short = f"{v:.12g}"
    return short if float(short) == v else repr(float(v))


def config_to_settings(cfg: RunConfig, defaults: Mapping[str, Any] = PLAYGROUND_DEFAULTS
                       ) -> tuple[Settings, list[str]]:
    """Playground settings that reproduce ``cfg`` (inverse of :func:`settings_to_config`).

    Starts from ``defaults``, applies the UI-only values stored in ``cfg.extra["ui"]``
    (checked like URL parameters), then everything the configuration itself says. Returns
    the settings and notices (e.g. an image that has to be uploaded again).
    """
    ui = cfg.extra.get("ui") if isinstance(cfg.extra, dict) else None
    s, notices = decode({k: str(v) for k, v in (ui or {}).items()
                         if isinstance(v, (str, int, float, bool))},
                        defaults, PLAYGROUND_CHOICES)
    if isinstance(ui, dict):  # booleans and exact floats survive better than via str()
        for k, v in ui.items():
            if k in defaults and type(v) is type(defaults[k]) and k not in PLAYGROUND_CHOICES:
                s[k] = v
    s["model"] = cfg.model
    s["weights"] = "random" if cfg.weights == "random" else "pretrained"
    if cfg.weights not in (None, "default", "random"):
        notices.append(f"weights file {cfg.weights!r} cannot be chosen in the dashboard; "
                       "using the pretrained weights")
    s["task"] = cfg.task
    if cfg.task == "am":
        if cfg.channel is not None:
            s["layer"] = cfg.layer or "logits"
            s["channel"] = int(cfg.channel)
            s["unit_on"] = cfg.unit is not None
            if cfg.unit is not None:
                s["unit_y"], s["unit_x"] = int(cfg.unit[0]), int(cfg.unit[1])
        else:
            s["layer"] = "logits"
            s["target"] = int(cfg.target or 0)
    else:
        s["layer"] = cfg.layer or s["layer"]
        image = cfg.image or ""
        if image.startswith(f"{UPLOAD}:") or (image and not Path(image).is_file()):
            notices.append(f"the image {image.removeprefix(UPLOAD + ':')!r} is not on this "
                           "machine: upload it again")
            s["image"] = UPLOAD
        else:
            s["image"] = sample_name(image)
    s["p"] = int(cfg.p)
    f = cfg.fluid is not None
    e = cfg.elastic is not None
    s["scheme"] = {(False, False): "plain", (True, False): "fluid", (False, True): "elastic",
                   (True, True): "fluid-elastic"}[(f, e)]
    s.update(_slot_settings(cfg.fluid, "f"))
    s.update(_slot_settings(cfg.elastic, "e"))
    s["tv_on"] = cfg.tv > 0
    if cfg.tv > 0:
        s["tv"] = float(cfg.tv)
    s["tv_eps"] = float(cfg.tv_eps)
    s["e_every"] = int(cfg.elastic_every)
    s["border"] = cfg.border
    s["octaves_on"] = bool(cfg.octaves)
    if cfg.octaves:
        try:
            same = parse_octaves(str(s["octaves"])) == list(cfg.octaves)
        except VizError:
            same = False
        if not same:  # keep the user's spelling when it means the same schedule
            s["octaves"] = ",".join(f"{_num(o.scale)}:{o.steps}:{_num(o.tau)}"
                                    for o in cfg.octaves)
    for k in ("step_size", "jitter", "init_std"):
        s[k] = float(getattr(cfg, k))
    for k in ("steps", "seed", "every"):
        s[k] = int(getattr(cfg, k))
    s["grad_norm"] = cfg.grad_norm
    s["optimizer"] = cfg.optimizer
    if cfg.task == "am" and cfg.channel is None:  # elsewhere the setting does not apply
        s["class_score"] = cfg.class_score
    s["device"] = cfg.device
    return s, notices


#: The Playground opens on the tuned offline preset (viz_core.offline_presets) whose class
#: pre-images the independent network recognises best. On the standard pair (fmnist_vgg's
#: tuned AM presets, 10 classes, seed 0, judged by fmnist_resnet, top-1 of 10):
#: fluid-elastic Sobolev 8, elastic Sobolev / fluid-elastic Gaussian / TV / spectral 7,
#: fluid Gaussian / elastic Gaussian 6, plain and fluid Sobolev 4. On the robust pair every
#: scheme but plain recognises 10 of 10 in both directions, 3 seeds
#: (results/recognisability_robust_am_samples.csv); Trouser with fluid-elastic Sobolev on
#: fmnist_vgg_robust, seed 0: own probability 0.99, judge (fmnist_resnet_robust) 0.85.
DEFAULT_AM_SCHEME = "fluid_elastic_sobolev"
DEFAULT_CLASS = 1  # Trouser


def _tuned_defaults() -> Settings:
    from viz_core.offline_presets import offline_config

    try:
        cfg = offline_config(str(PLAYGROUND_DEFAULTS["model"]), DEFAULT_AM_SCHEME, "am",
                             target=DEFAULT_CLASS)
    except VizError:  # no tuned preset for this model: keep the plain defaults
        return {}
    s, _ = config_to_settings(cfg, dict(PLAYGROUND_DEFAULTS))
    return {k: v for k, v in s.items() if k in PLAYGROUND_DEFAULTS}


PLAYGROUND_DEFAULTS.update(_tuned_defaults())


def middle_layer(layers: Sequence[str], fallback: str) -> str:
    """The middle block of a layer catalogue (``block2`` of four VGG blocks): inversion
    from there stays recognisable, from the deepest block it does not (Sec. 3.2)."""
    blocks = [lay for lay in layers if "." not in lay and lay != "logits"]
    return blocks[(len(blocks) - 1) // 2] if blocks else fallback


def run_json_from_png(data: bytes) -> str:
    """The run JSON a dashboard PNG carries in its text chunk (VizError if it has none)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            text = getattr(im, "text", {}).get(PNG_RUN_KEY)
    except (UnidentifiedImageError, OSError, ValueError):
        raise VizError("the file is not a PNG image", field="json") from None
    if not text:
        raise VizError("this PNG carries no run settings (only pre-images downloaded from "
                       "the dashboard do)", field="json")
    return text


def settings_from_json(text: str | bytes) -> tuple[Settings, list[str]]:
    """Playground settings from a run's JSON (as written by ``RunConfig.to_json``)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise VizError("the file is not a run JSON (not UTF-8 text)", field="json") from None
    try:
        cfg = RunConfig.from_json(text)
    except VizError as exc:
        raise VizError(f"cannot restore settings: {exc}", field="json") from None
    return config_to_settings(cfg)


def check_against_model(cfg: RunConfig, model) -> None:
    """What :meth:`RunConfig.validate` cannot know without the model: kernel sizes and
    jitter against the input size, class / channel / unit against the layer. Raises
    VizError with the Playground control as ``field``."""
    from viz_core.objectives import check_target
    from viz_core.transforms import jitter_pixels

    size = int(model.spec.input_size)
    for slot, spec in (("f", cfg.fluid), ("e", cfg.elastic)):
        if spec is not None and spec.kind in ("gaussian", "sobolev") and spec.size > size:
            raise VizError(f"kernel size {spec.size} is larger than the {size}x{size} input "
                           f"of {cfg.model}", field=f"{slot}_size")
    try:
        jitter_pixels(cfg.jitter, size)
        check_target(model, cfg.target_spec(model.spec.default_layer))
    except VizError as exc:
        raise VizError(str(exc), field=field_key(exc.field)) from None


def activation_label(s: Mapping[str, Any]) -> str:
    """What the run's "target activation" numbers are, in the page's words."""
    if s.get("task") == "inversion":
        return "relative feature error"
    if str(s.get("layer", "logits")) not in ("logits", ""):
        return f"target activation ({'unit' if s.get('unit_on') else 'channel mean'})"
    if s.get("class_score") == "log_prob":
        return "target log-probability"
    return "target activation (logit)"


# ----------------------------------------------------------------------------- Compare page

#: The comparison grid's cells: the schemes of Fig. 1, by their registry keys.
CELLS: tuple[str, ...] = FIG1_SCHEMES
_SHARED = ("model", "weights", "task", "target", "layer", "channel", "unit_on", "unit_y",
           "unit_x", "image", "p", "step_size", "steps", "octaves_on", "octaves", "jitter",
           "seed", "every", "device", "class_score")
COMPARE_DEFAULTS: Settings = {
    **{k: PLAYGROUND_DEFAULTS[k] for k in _SHARED},
    # the most recognisable grid on the offline model: every scheme inverting the ankle
    # boot from the middle block, jitter 0, with the tuned inversion schedule of
    # viz_core.offline_presets (tau 5 -> 2.5 -> 1 over 100 + 60 + 40 steps)
    "task": "inversion",
    "layer": "block2",
    "image": "fmnist/0_ankle_boot.png",
    "jitter": 0.0,
    "target": 9,
    "step_size": 5.0,
    "steps": 200,
    "octaves_on": True,
    "octaves": "1:100:5,1:60:2.5,1:40:1",
    "every": 10,
    "size": 11,
    "tv": 0.05,
    "cells": ",".join(CELLS),
}
COMPARE_CHOICES = {k: v for k, v in PLAYGROUND_CHOICES.items() if k in COMPARE_DEFAULTS}


def parse_cells(text: str) -> list[str]:
    """Canonical cell keys from a comma list of scheme names or aliases (unknown ids raise
    VizError, field "cells")."""
    ids, bad = [], []
    for c in (c.strip() for c in str(text).split(",") if c.strip()):
        try:
            ids.append(scheme_key(c))
        except VizError:
            bad.append(c)
    bad += [c for c in ids if c not in CELLS]
    if bad:
        raise VizError(f"unknown cells {', '.join(bad)}; allowed: {', '.join(CELLS)}",
                       field="cells")
    if not ids:
        raise VizError("choose at least one scheme to compare", field="cells")
    return list(dict.fromkeys(ids))


def compare_configs(s: Mapping[str, Any], *, image_path: str | None = None) -> list[RunConfig]:
    """The batch of the comparison grid: one configuration per selected cell, sharing the
    target, step size, jitter and schedule (Fig. 1: kernels fitted to ``size``)."""
    from viz_core.presets import scheme_config

    s = {**COMPARE_DEFAULTS, **s}
    base = settings_to_config({**PLAYGROUND_DEFAULTS, **{k: s[k] for k in _SHARED},
                               "scheme": "none", "tv_on": False}, image_path=image_path)
    size = int(s["size"])
    try:
        validate_spec(KernelSpec("gaussian", None, size))
    except VizError as exc:
        raise VizError(str(exc), field="size") from None
    tv = float(s["tv"])
    if not (math.isfinite(tv) and tv > 0):
        raise VizError(f"TV weight must be a finite number > 0, got {tv}", field="tv")
    cells = parse_cells(s["cells"])
    return [scheme_config(base, c, size, tv) for c in cells]


def cell_of(cfg: RunConfig) -> str:
    """The registry key of the grid cell a configuration belongs to ("fluid_gaussian", ...,
    "tv", "plain")."""
    kinds = {k.kind for k in (cfg.fluid, cfg.elastic) if k is not None}
    if not kinds:
        return "tv" if cfg.tv > 0 else "plain"
    structure = {(True, False): "fluid", (False, True): "elastic",
                 (True, True): "fluid-elastic"}[(cfg.fluid is not None, cfg.elastic is not None)]
    return scheme_key(f"{structure}-{sorted(kinds)[0]}")


def compare_settings(configs: Sequence[RunConfig]) -> tuple[Settings, list[str]]:
    """Compare-page settings that reproduce a batch of scheme cells (e.g. a preset)."""
    if not configs:
        raise VizError("empty batch", field="cells")
    s, notices = config_to_settings(configs[0])
    out = {k: s[k] for k in _SHARED}
    sizes = [k.size for c in configs for k in (c.fluid, c.elastic)
             if k is not None and k.kind in ("gaussian", "sobolev")]
    out["size"] = int(sizes[0]) if sizes else int(COMPARE_DEFAULTS["size"])
    tvs = [c.tv for c in configs if c.tv > 0]
    out["tv"] = float(tvs[0]) if tvs else float(COMPARE_DEFAULTS["tv"])
    out["cells"] = ",".join(dict.fromkeys(cell_of(c) for c in configs))
    return {**COMPARE_DEFAULTS, **out}, notices


# ----------------------------------------------------------------------------- other pages

KERNELS_DEFAULTS: Settings = {"size": 11, "order": 3, "fit": True, "sigma": 1.36,
                              "gamma": 0.38, "n": 10, "log": False}
LEARN_DEFAULTS: Settings = {"task": "inversion", "kind": "gaussian", "size": 9, "fit": True,
                            "param": 1.0, "tau": 0.3, "steps": 100, "step": 10,
                            "noise": 0.0, "seed": 0}  # mid-path, no start noise: the
# picture then shows what the page's first reading says (fine scales arrive last in fluid)
LEARN_CHOICES: dict[str, Sequence[Any]] = {"task": ("inversion", "am"),
                                          "kind": ("gaussian", "sobolev")}
