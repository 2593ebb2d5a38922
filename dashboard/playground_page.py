"""What the Playground page computes besides its layout (draws nothing): the classic
recipes and a restored run as settings, the octave schedule in words, which starts and
which advanced settings apply, the two kernels of the panel, the run the settings define
(configurations, the reasons it cannot run, its job) and the words above and under the
pre-image. The page (``pages/1_Playground.py``) keeps the widgets and their order. No
Streamlit import: the models come from :mod:`dashboard.resources` at call time.

The update the page explores is the paper's eq. 18, ``u <- Ke * (u - tau Kf * grad D(u))``:
a fluid kernel ``Kf`` that filters the gradient (eq. 8, Sec. 2.4) and an elastic kernel
``Ke`` that filters the solution (eq. 6, Sec. 2.2), with total variation beside them
(eqs. 19-20)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from dashboard.jobs import Job
from dashboard.messages import field_key, ui_message
from dashboard.results import target_words
from dashboard.runs import RunRecord, run_json_from_png
from dashboard.settings.checks import check_against_model
from dashboard.settings.diversity import diversity_configs
from dashboard.settings.playground import (
    config_to_settings,
    kernel_spec,
    settings_from_json,
    settings_to_config,
)
from dashboard.text import name
from dashboard.uploads import check_size
from dashboard.urlstate import Settings
from viz_core import presets, spectra
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.kernels import Kernel, build
from viz_core.transforms import parse_octaves

SCHEME_LABELS = {"plain": "none (plain GD)", "fluid": "fluid", "elastic": "elastic",
                 "fluid-elastic": "fluid-elastic"}
GRAD_LABELS = {"mean_abs": "normalised by mean|g|", "none": "raw"}
OPTIMIZER_LABELS = {"demons": "paper's step rule", "adam": "Adam (Kf filters its direction)"}
INIT_LABELS = {"noise": "noise (the paper's)",
               "class_conditional": "class-conditional (data prior)"}
#: The settings of the "Advanced" expander: it opens when one of them is invalid.
ADVANCED = ("grad_norm", "init_std", "tv_eps", "border", "p")
NO_RECIPE = "-"
IMAGE_SIZE = 256  # pre-image and reference are drawn at this size, side by side
SAMPLE_SIZE = 160  # each of 3 or more diversity samples
RECIPE_HELP = ("Simonyan, Mahendran & Vedaldi, Yosinski, DeepDream, Distill as settings of "
               "the one demons update")
SCHEME_HELP = ("fluid filters the update (eq. 8), elastic the solution (eq. 6), "
               "fluid-elastic both (eq. 18)")
INIT_HELP = ("the paper's start is small noise around the mean image; the class-conditional "
             "start draws from a Gaussian fitted to the class's Fashion-MNIST training "
             "images (Santurkar et al. 2019): a data prior, so the picture shows the class "
             "before the network does anything")
RESTORE_HELP = "the JSON or PNG downloaded after a run restores every setting"
KERNELS_CAPTION = ("Kf filters the data gradient (fluid: implicit regularization, a change "
                   "of the metric, Sec. 2.4), Ke the updated solution (elastic: with a "
                   "Gaussian an explicit regularizer added to the energy, Sec. 2.2; elastic "
                   "and fluid-elastic Sobolev count as implicit in the paper's Table 2). "
                   "|H| < 1 damps that frequency.")


class ErrorSlots(Protocol):
    """Where a message about a control goes (:class:`dashboard.widgets.Controls`)."""

    def error(self, name: str, message: str) -> None: ...


def recipes() -> dict[str, RunConfig]:
    """Each classic recipe twice: on a shipped offline model, and with the original
    paper's network (marked when its weights must be downloaded first). Each is a setting
    of the one update (eq. 18; the paper's Table 2)."""
    from dashboard import resources  # at call time: this module imports no Streamlit

    out: dict[str, RunConfig] = {}
    for p in presets.presets_for("playground"):
        out[f"{p.title} · offline ({p.offline[0].configs[0].model})"] = p.offline[0].configs[0]
        c = p.batches[0].configs[0]
        need = "" if resources.available([c.model]) else ", weights to download"
        out[f"{p.title} · as published ({c.model}{need})"] = c
    return out


def recipe_settings(choice: str) -> tuple[Settings, str] | None:
    """The settings of the recipe named ``choice`` (a key of :func:`recipes`) and the
    message that says it was loaded; None for :data:`NO_RECIPE`."""
    if choice == NO_RECIPE:
        return None
    s, notes = config_to_settings(recipes()[choice])
    return s, f"loaded '{choice}'. " + " ".join(notes)


def restored_settings(data: bytes, file_name: str
                      ) -> tuple[Settings | None, tuple[str, str]]:
    """The settings of an uploaded run JSON, or of a pre-image PNG downloaded from the
    dashboard (its text chunk holds the run JSON), and the message to show:
    ``(settings, ("info", ...))``, or ``(None, ("error", why))`` for a file that does not
    read (too large, no run in it, not a run)."""
    try:
        data = check_size(data)
        if data.startswith(b"\x89PNG"):
            data = run_json_from_png(data)
        s, notes = settings_from_json(data)
    except VizError as exc:
        return None, ("error", str(exc))
    return s, ("info", f"restored every setting from {file_name}. " + " ".join(notes))


def schedule_text(octaves: str) -> str:
    """The octave schedule in words (its stages' tau, steps and scales, and the total
    steps), or what to do when it does not parse."""
    try:
        octs = parse_octaves(octaves)
    except VizError:
        return "the octave schedule sets the steps and tau (fix it below)"
    stages = " → ".join(f"tau {o.tau:g} for {o.steps} steps"
                        + (f" at scale {o.scale:g}" if o.scale != 1 else "") for o in octs)
    return f"the octave schedule runs {sum(o.steps for o in octs)} steps: {stages}"


def init_choices(model: Any, layer: str | None, choices: Sequence[str]) -> list[str]:
    """The starts offered for an activation maximisation (eqs. 3-4): the data prior
    ("class_conditional") exists for the classes of the Fashion-MNIST models only (an
    offline one-channel model at its logits)."""
    fmnist_class = (model is not None and model.spec.family == "offline"
                    and model.spec.channels == 1 and layer == "logits")
    return [i for i in choices if fmnist_class or i != "class_conditional"]


def advanced_open(s: Mapping[str, Any]) -> bool:
    """Whether the settings fail on one of the :data:`ADVANCED` settings (the expander then
    opens, so that the message under it is seen)."""
    try:
        settings_to_config(s, image_path="x")
    except VizError as exc:
        return field_key(exc.field) in ADVANCED
    return False


def build_kernels(s: Mapping[str, Any], slots: ErrorSlots,
                  problems: list[str] | None = None) -> list[Kernel | None]:
    """The fluid and the elastic kernel of the settings (Sec. 2.2-2.4), built at tau = the
    step size / 255 (None for a slot the scheme leaves empty or that cannot be built);
    errors go under their controls (and into ``problems``: a kernel that cannot be built
    at this step size blocks Run)."""
    out: list[Kernel | None] = []
    tau = float(s["step_size"]) / 255.0
    for slot in ("f", "e"):
        try:
            spec = kernel_spec(s, slot)
            out.append(build(spec, tau=tau) if spec is not None else None)
        except VizError as exc:
            f = exc.field or ""
            key = f if f.startswith(slot + "_") else field_key(f or None, slot)
            slots.error(key, str(exc))
            if problems is not None:
                problems.append(ui_message(str(exc)))
            out.append(None)
    return out


def panel_key(*kernels: Kernel | None) -> str:
    """What tells kernel panels apart: each kernel's spec, parameter and scale."""
    return repr([None if k is None else (k.spec, k.param, k.scale) for k in kernels])


@dataclass
class RunPlan:
    """The run the settings define: its configuration (None when invalid), the batch
    (diversity samples), the reasons it cannot run, the panel's two kernels and the
    scheme's label ("" when invalid)."""

    cfg: RunConfig | None = None
    cfgs: list[RunConfig] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    kernels: list[Kernel | None] = field(default_factory=lambda: [None, None])
    label: str = ""


def plan_run(s: Mapping[str, Any], model: Any, image_label: str | None,
             reference: np.ndarray | None, slots: ErrorSlots) -> RunPlan:
    """:class:`RunPlan` of the settings ``s`` on ``model`` (None: it did not load): a
    setting that fails goes under its control and into the errors, as do a missing model,
    an inversion without an image (eq. 2) and, without octaves, a kernel that cannot be
    built at this step size (with octaves each stage builds its own)."""
    plan = RunPlan()
    try:
        plan.cfg = settings_to_config(s, image_path=image_label)
        if model is not None:
            check_against_model(plan.cfg, model)
        plan.cfgs = diversity_configs(plan.cfg, s)
    except VizError as exc:
        slots.error(exc.field or "run", str(exc))
        plan.errors.append(ui_message(str(exc)))
        plan.cfg = None
    if model is None:
        plan.errors.append("the model could not be loaded (see the sidebar)")
    if s["task"] == "inversion" and reference is None and model is not None:
        plan.errors.append("no valid image to invert (see the sidebar)")
    plan.kernels = build_kernels(s, slots, None if s["octaves_on"] else plan.errors)
    plan.label = plan.cfg.scheme_label if plan.cfg is not None else ""
    return plan


def header_markdown(cfg: RunConfig | None, model: Any, model_name: str, label: str) -> str:
    """The line above the run: what it aims at (a class by its name, even before the
    network's weights are here), the scheme and the model, every name as text."""
    from dashboard import resources  # at call time: this module imports no Streamlit

    aim = ""
    if cfg is not None:
        classes = model.classes if model else resources.zoo_classes(model_name)
        aim = target_words(cfg.to_dict(), classes,
                           model.spec.default_layer if model else None)
    return ((f"#### {name(aim[0].upper() + aim[1:])}\n\n" if aim else "")  # projector
            + f"**{label or 'invalid settings'}**"
            + (f" · {name(model.label)}" if model else ""))


def make_job(label: str, cfgs: list[RunConfig], model: Any, reference: np.ndarray | None,
             model_name: str) -> Job:
    """The one job of a Run click: the batch (diversity samples named by their names),
    the reference of an inversion, and the networks whose verdicts the pre-images get
    (the model and the independent judge, Sec. 3.2)."""
    from dashboard import resources  # at call time: this module imports no Streamlit

    labels = [c.name for c in cfgs] if len(cfgs) > 1 else [label]
    return Job(label, cfgs, model, reference=reference, labels=labels,
               judges=resources.verdict_models(model, model_name))


def sample_caption(rec: RunRecord, i: int) -> str:
    """The caption of diversity sample ``i`` (counted from 0): its number and step."""
    return f"sample {i + 1} · step {rec.shown_step(i)} / {rec.total}"


def preimage_caption(rec: RunRecord, what: str) -> str:
    """The caption of a lone pre-image: the run's target ``what`` (plain text) and the
    step shown."""
    what = name(what)
    return (f"{what + ' · ' if what else ''}pre-image · step "
            f"{rec.shown_step()} / {rec.total}")


def sample_size(n: int) -> int:
    """The size each of ``n`` pre-images is drawn at: two fit side by side at full size."""
    return IMAGE_SIZE if n <= 2 else SAMPLE_SIZE


def spectrum_series(rec: RunRecord) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The radial power spectra of the first pre-image and, in an inversion, of the
    reference: ``(name, freq, power)`` each."""
    freq, power = spectra.radial_power_spectrum(rec.images[0])
    series = [("pre-image", freq, power)]
    if rec.reference is not None:
        rf, rp = spectra.radial_power_spectrum(rec.reference[0])
        series.append(("reference image", rf, rp))
    return series
