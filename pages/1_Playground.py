"""Playground: tweak the demons update (eq. 18) and watch the pre-image evolve."""

from __future__ import annotations

import time

import streamlit as st

from dashboard import plots
from dashboard.controls import (
    always_in_link,
    kernel_controls,
    link_task,
    target_controls,
)
from dashboard.messages import field_key, ui_message
from dashboard.model_controls import model_controls
from dashboard.page import (
    draw_curves,
    guard,
    guard_callback,
    session_figure,
    setup_page,
    show_image,
    show_progress,
)
from dashboard.playground_view import metrics_table, run_target, with_upload
from dashboard.resources import available, verdict_models, zoo_classes
from dashboard.results import target_words
from dashboard.run_history import store_finished_run  # noqa: F401 (the hook)
from dashboard.run_panel import Job, RunPanel
from dashboard.runs import RunRecord, run_json_from_png
from dashboard.scheme_names import SCHEMES
from dashboard.settings.checks import check_against_model
from dashboard.settings.diversity import diversity_configs
from dashboard.settings.labels import (
    OCTAVES_HELP,
    STEP_SIZE_HELP,
    STEP_SIZE_LABEL,
    run_activation_label,
)
from dashboard.settings.playground import (
    PLAYGROUND_CHOICES,
    config_to_settings,
    kernel_spec,
    playground_defaults,
    settings_from_json,
    settings_to_config,
)
from dashboard.text import name, plain
from dashboard.uploads import check_size
from dashboard.urlstate import max_jitter
from dashboard.widgets import Controls, apply_settings, bind, commit, current, show_notices
from viz_core import presets, spectra
from viz_core.errors import VizError
from viz_core.kernels import build
from viz_core.transforms import parse_octaves

P = "pg_"
D = playground_defaults()
SCHEME_LABELS = {"plain": "none (plain GD)", "fluid": "fluid", "elastic": "elastic",
                 "fluid-elastic": "fluid-elastic"}
GRAD_LABELS = {"mean_abs": "normalised by mean|g|", "none": "raw"}
OPTIMIZER_LABELS = {"demons": "paper's step rule", "adam": "Adam (Kf filters its direction)"}
INIT_LABELS = {"noise": "noise (the paper's)",
               "class_conditional": "class-conditional (data prior)"}
ADVANCED = ("grad_norm", "init_std", "tv_eps", "border", "p")
NO_RECIPE = "-"
IMAGE_SIZE = 256  # pre-image and reference are drawn at this size, side by side
SAMPLE_SIZE = 160  # each of 3 or more diversity samples

setup_page("Playground")


def _recipes() -> dict[str, object]:
    """Each classic recipe twice: on a shipped offline model, and with the original
    paper's network (marked when its weights must be downloaded first)."""
    out = {}
    for p in presets.presets_for("playground"):
        out[f"{p.title} · offline ({p.offline[0].configs[0].model})"] = p.offline[0].configs[0]
        c = p.batches[0].configs[0]
        need = "" if available([c.model]) else ", weights to download"
        out[f"{p.title} · as published ({c.model}{need})"] = c
    return out


def _load_recipe() -> None:
    choice = st.session_state.get(P + "recipe", NO_RECIPE)
    st.session_state[P + "recipe"] = NO_RECIPE
    if choice == NO_RECIPE:
        return
    cfg = _recipes()[choice]
    s, notes = config_to_settings(cfg)
    apply_settings(P, s)
    st.session_state[P + "json_msg"] = ("info", f"loaded '{choice}'. " + " ".join(notes))


def _restore_run() -> None:
    """A run JSON, or a pre-image PNG downloaded from the dashboard (its text chunk holds
    the run JSON), restores every setting."""
    up = st.session_state.get(P + "json_file")
    if up is None:
        return
    try:
        data = check_size(up.getvalue())
        if data.startswith(b"\x89PNG"):
            data = run_json_from_png(data)
        s, notes = settings_from_json(data)
    except VizError as exc:
        st.session_state[P + "json_msg"] = ("error", str(exc))
        return
    apply_settings(P, s)
    st.session_state[P + "json_msg"] = ("info", f"restored every setting from {up.name}. "
                                        + " ".join(notes))


def _schedule_text(octaves: str) -> str:
    try:
        octs = parse_octaves(octaves)
    except VizError:
        return "the octave schedule sets the steps and tau (fix it below)"
    stages = " → ".join(f"tau {o.tau:g} for {o.steps} steps"
                        + (f" at scale {o.scale:g}" if o.scale != 1 else "") for o in octs)
    return f"the octave schedule runs {sum(o.steps for o in octs)} steps: {stages}"


def _sidebar(ctl: Controls, adv_open: bool):
    sb = st.sidebar
    sb.selectbox("Load a classic recipe", [NO_RECIPE] + list(_recipes()), key=P + "recipe",
                 on_change=_load_recipe,
                 help="Simonyan, Mahendran & Vedaldi, Yosinski, DeepDream, Distill as "
                      "settings of the one demons update")
    sb.subheader("Model and target")
    model = model_controls(ctl)
    target = target_controls(ctl, model, diversity=True)
    size = model.spec.input_size if model is not None else 64

    sb.subheader("Scheme: u ← Ke * (u − τ Kf * ∇D)")
    scheme = ctl.radio("scheme", "Scheme", SCHEMES, fmt=SCHEME_LABELS.get,
                       help="fluid filters the update (eq. 8), elastic the solution (eq. 6), "
                            "fluid-elastic both (eq. 18)")
    if ctl.toggle("tv_on", "+ total variation (eqs. 19-20)"):
        ctl.slider("tv", "TV weight lambda", 0.0, 3.0, 0.01)
    if scheme in ("fluid", "fluid-elastic"):
        sb.markdown("**Fluid kernel Kf** (filters the update)")
        kernel_controls(ctl, "f", size)
    if scheme in ("elastic", "fluid-elastic"):
        sb.markdown("**Elastic kernel Ke** (filters the solution)")
        kernel_controls(ctl, "e", size)

    sb.subheader("Optimization")
    octaves = ctl.toggle("octaves_on", "Octaves / step schedule (scale:steps:tau, ...)")
    if octaves:
        ctl.text("octaves", "Octave schedule", help=OCTAVES_HELP)
        sb.caption(_schedule_text(str(st.session_state.get(P + "octaves", ""))))
    off = " (set by the schedule)" if octaves else ""
    ctl.radio("optimizer", "Optimizer", PLAYGROUND_CHOICES["optimizer"],
              fmt=OPTIMIZER_LABELS.get)
    # no largest step size here: a step too large to run is what the divergence record
    # shows and names (Sec. 2.5's step-size remark), a lesson the Playground can give
    ctl.number("step_size", f"{STEP_SIZE_LABEL}{off}", 1e-6, None, 0.5, format="%g",
               disabled=octaves, help=STEP_SIZE_HELP)
    ctl.number("steps", f"Steps{off}", 1, 100_000, 10, disabled=octaves)
    ctl.number("jitter", "Jitter (pixels; < 1 = fraction of the input)", 0.0,
               max_jitter(size), 1.0, format="%g")
    ctl.number("seed", "Seed", 0, 2**31 - 1, 1)
    if st.session_state[P + "task"] == "am":
        # the data prior exists for the classes of the Fashion-MNIST models only
        fmnist_class = (model is not None and model.spec.family == "offline"
                        and model.spec.channels == 1
                        and st.session_state.get(P + "layer") == "logits")
        inits = [i for i in PLAYGROUND_CHOICES["init"]
                 if fmnist_class or i != "class_conditional"]
        ctl.radio("init", "Start", inits, fmt=INIT_LABELS.get,
                  help="the paper's start is small noise around the mean image; the "
                       "class-conditional start draws from a Gaussian fitted to the class's "
                       "Fashion-MNIST training images (Santurkar et al. 2019): a data prior, "
                       "so the picture shows the class before the network does anything")
    ctl.slider("every", "Stream a frame every k steps", 1, 50, 1)
    with sb.expander("Advanced", expanded=adv_open):
        adv = Controls(P, st.container())
        adv.radio("grad_norm", "Gradient", PLAYGROUND_CHOICES["grad_norm"],
                  fmt=GRAD_LABELS.get)
        adv.number("init_std", "Initial noise std", 0.0, 1.0, 0.01, format="%g")
        if st.session_state.get(P + "tv_on"):  # a setting of TV only (eqs. 19-20)
            adv.number("tv_eps", "TV epsilon", 1e-6, None, 0.01, format="%g")
        adv.select("border", "Border mode", PLAYGROUND_CHOICES["border"])
        if st.session_state[P + "task"] == "inversion":  # the feature error's norm (eq. 2)
            adv.radio("p", "Inversion exponent p", (1, 2))
    ctl.slots.update(adv.slots)
    ctl.notices += adv.notices

    sb.subheader("Restore settings")
    sb.file_uploader("Upload a run JSON or a downloaded pre-image PNG", type=["json", "png"],
                     key=P + "json_file",
                     on_change=guard_callback(_restore_run, P + "json_msg"),
                     help="the JSON or PNG downloaded after a run restores every setting")
    msg = st.session_state.get(P + "json_msg")
    if msg:
        (sb.error if msg[0] == "error" else sb.info)(plain(ui_message(msg[1])))
    return model, target


def _kernels(cfg_or_settings: dict, slots: Controls, problems: list[str] | None = None):
    """Build the two kernels for the panel; errors go under their controls (and into
    ``problems``: a kernel that cannot be built at this step size blocks Run)."""
    out = []
    tau = float(cfg_or_settings["step_size"]) / 255.0
    for slot in ("f", "e"):
        try:
            spec = kernel_spec(cfg_or_settings, slot)
            out.append(build(spec, tau=tau) if spec is not None else None)
        except VizError as exc:
            f = exc.field or ""
            key = f if f.startswith(slot + "_") else field_key(f or None, slot)
            slots.error(key, str(exc))
            if problems is not None:
                problems.append(ui_message(str(exc)))
            out.append(None)
    return out


@st.cache_resource(max_entries=32, show_spinner=False)
def _kernel_panel(key: str, _fluid, _elastic):
    """The kernel panel of ``key`` (the two kernels' specs, parameters and scales), built
    once per process: a plotly figure costs ~0.1 s to build, and every rerun (each click,
    each Run) would rebuild the same one. Shared by sessions, only read (serialised)."""
    return plots.kernel_panel(_fluid, _elastic)


def _panel_key(*kernels) -> str:
    return repr([None if k is None else (k.spec, k.param, k.scale) for k in kernels])


def _draw(ph: dict, rec: RunRecord, full: bool, key: str) -> None:
    ph["act_name"] = run_activation_label(rec.configs)  # the run's task, not the sidebar's
    img = rec.images[0]
    if len(rec.images) > 1:  # the samples of a diversity batch, side by side
        box = ph["image"].container(horizontal=True, gap="small")
        size = IMAGE_SIZE if len(rec.images) <= 2 else SAMPLE_SIZE
        for i, sample in enumerate(rec.images):
            show_image(box, sample, f"sample {i + 1} · step {rec.shown_step(i)} / "
                       f"{rec.total}", size)
    else:  # the run's target named under its picture (a stale one's too)
        what = name(ph.setdefault("target", run_target(rec)))
        show_image(ph["image"], img, f"{what + ' · ' if what else ''}pre-image · step "
                   f"{rec.shown_step()} / {rec.total}", IMAGE_SIZE)
    rec.mark_shown()
    show_progress(ph["progress"], rec, full)
    if rec.reference is not None:
        show_image(ph["reference"], rec.reference[0], "reference image", IMAGE_SIZE)
    if not full:
        return
    # the verdicts of the model and the independent judge come with the final frame
    ph["metrics"].markdown(metrics_table(rec, ph["act_name"],
                                         rec.verdicts[0] if rec.verdicts else []))
    draw_curves(ph, rec, key)
    freq, power = spectra.radial_power_spectrum(img)
    series = [("pre-image", freq, power)]
    if rec.reference is not None:
        rf, rp = spectra.radial_power_spectrum(rec.reference[0])
        series.append(("reference image", rf, rp))
    fig = session_figure(("spectrum", tuple(s[0] for s in series)),
                         lambda: plots.spectrum_figure(series),
                         lambda f: plots.set_spectra(f, series))
    ph["spectrum"].plotly_chart(fig, key=f"{key}_spectrum")


def main() -> None:
    notices = bind(P, D, PLAYGROUND_CHOICES)
    link_task(P, st.query_params.to_dict())
    s0 = current(P, D)
    adv_open = False
    try:
        settings_to_config(s0, image_path="x")
    except VizError as exc:
        adv_open = field_key(exc.field) in ADVANCED
    ctl = Controls(P)
    model, target = _sidebar(ctl, adv_open)
    s = commit(P, D, always_in_link(P, D))

    st.title("Playground")
    show_notices(P, notices + ctl.notices, s)
    errors: list[str] = []
    cfg = None
    cfgs: list = []
    try:
        cfg = settings_to_config(s, image_path=target.image_label)
        if model is not None:
            check_against_model(cfg, model)
        cfgs = diversity_configs(cfg, s)
    except VizError as exc:
        ctl.error(exc.field or "run", str(exc))
        errors.append(ui_message(str(exc)))
        cfg = None
    if model is None:
        errors.append("the model could not be loaded (see the sidebar)")
    if s["task"] == "inversion" and target.reference is None and model is not None:
        errors.append("no valid image to invert (see the sidebar)")
    # the panel's kernels at tau = the step size: with octaves each stage builds its own
    fluid, elastic = _kernels(s, ctl, None if s["octaves_on"] else errors)
    label = cfg.scheme_label if cfg is not None else ""
    aim = target_words(cfg.to_dict(), model.classes if model else zoo_classes(s["model"]),
                       model.spec.default_layer if model else None) if cfg else ""
    st.markdown((f"#### {name(aim[0].upper() + aim[1:])}\n\n" if aim else "")  # projector
                + f"**{label or 'invalid settings'}**"
                + (f" · {name(model.label)}" if model else ""))

    _run_area(s, cfg, cfgs, model, target, errors, label)
    st.subheader("Kernels")
    st.plotly_chart(_kernel_panel(_panel_key(fluid, elastic), fluid, elastic),
                    key="pg_kernels")
    st.caption("Kf filters the data gradient (fluid: implicit regularization, a change of "
               "the metric, Sec. 2.4), Ke the updated solution (elastic: with a Gaussian an "
               "explicit regularizer added to the energy, Sec. 2.2; elastic and fluid-elastic "
               "Sobolev count as implicit in the paper's Table 2). |H| < 1 damps that "
               "frequency.")


@st.fragment
def _run_area(s: dict, cfg, cfgs: list, model, target, errors: list[str], label: str) -> None:
    """Run, Stop and what a run shows, as a fragment: a Run or Stop click reruns only this
    part of the page (the sidebar, the title and the kernel panel are neither recomputed
    nor sent to the browser again), so the run starts at once; a change of any setting
    reruns the whole page, this part with it."""
    guard(lambda: _run_body(s, cfg, cfgs, model, target, errors, label))


def _run_body(s: dict, cfg, cfgs: list, model, target, errors: list[str], label: str
              ) -> None:
    t_script = time.perf_counter()  # a Run click starts this fragment: time to first frame
    panel = RunPanel(P, autorun=True)
    run = panel.buttons(errors) is not None
    inversion = s["task"] == "inversion"
    ph = {"progress": st.empty(), "status": st.empty()}
    row = st.container(horizontal=True, gap="medium")
    ph["image"] = row.empty()
    ph["reference"] = row.empty()
    ph["metrics"] = row.container(width=420).empty()
    ph["downloads"] = st.empty()
    c_curves, c_spec = st.columns(2)
    ph["curves"], ph["spectrum"] = c_curves.empty(), c_spec.empty()

    s = with_upload(s, target.image_label, target.reference)
    recs = panel.restore(s)  # a run a settings change ended says which setting
    if run and cfg is not None and model is not None:
        labels = [c.name for c in cfgs] if len(cfgs) > 1 else [label]
        job = Job(label, cfgs, model, reference=target.reference, labels=labels,
                  judges=verdict_models(model, s["model"]))
        recs = panel.run([job], lambda i, r, full: _draw(ph, r, full, f"run{len(r.steps)}"),
                         settings=s, started=t_script, plots_after=True)
    rec = recs[0] if recs else None
    if rec is not None and rec.images is not None:
        with ph["status"].container():  # "done" first, then the plots and the verdicts
            panel.status(rec, s)
        if run:
            panel.after_other_runs(ph["curves"])
        _draw(ph, rec, True, "final" if run else "static")
        with ph["downloads"].container():
            panel.downloads(recs)  # named after the run
    elif rec is not None:
        with ph["status"].container():
            panel.status(rec, s)
    elif errors:  # nothing to run: the reason is beside the Run button, not "press Run"
        ph["image"].caption("Nothing to run until the problem above is fixed.")
    else:
        ph["image"].info("Press **Run** to start; the pre-image streams here.")
        if inversion and target.reference is not None:
            show_image(ph["reference"], target.reference[0], "reference image", IMAGE_SIZE)


guard(main)
