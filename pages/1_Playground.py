"""Playground: tweak the demons update (eq. 18) and watch the pre-image evolve."""

from __future__ import annotations

import time

import streamlit as st

from dashboard import kernel_plots, plots
from dashboard import playground_page as pp
from dashboard.controls import (
    always_in_link,
    kernel_controls,
    link_task,
    target_controls,
)
from dashboard.messages import ui_message
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
from dashboard.run_history import store_finished_run  # noqa: F401 (the hook)
from dashboard.run_panel import RunPanel
from dashboard.runs import RunRecord
from dashboard.scheme_names import SCHEMES
from dashboard.settings.labels import (
    OCTAVES_HELP,
    STEP_SIZE_HELP,
    STEP_SIZE_LABEL,
    run_activation_label,
)
from dashboard.settings.playground import PLAYGROUND_CHOICES, playground_defaults
from dashboard.text import plain
from dashboard.urlstate import max_jitter
from dashboard.widgets import Controls, apply_settings, bind, commit, current, show_notices

P = "pg_"
D = playground_defaults()

setup_page("Playground")


def _load_recipe() -> None:
    """The recipe chosen in the box loads into every setting; the box goes back to "-"."""
    choice = st.session_state.get(P + "recipe", pp.NO_RECIPE)
    st.session_state[P + "recipe"] = pp.NO_RECIPE
    loaded = pp.recipe_settings(choice)
    if loaded is not None:
        apply_settings(P, loaded[0])
        st.session_state[P + "json_msg"] = ("info", loaded[1])


def _restore_run() -> None:
    """A run JSON, or a pre-image PNG downloaded from the dashboard, restores every
    setting (:func:`dashboard.playground_page.restored_settings`)."""
    up = st.session_state.get(P + "json_file")
    if up is None:
        return
    s, msg = pp.restored_settings(up.getvalue(), up.name)
    if s is not None:
        apply_settings(P, s)
    st.session_state[P + "json_msg"] = msg


def _sidebar(ctl: Controls, adv_open: bool):
    sb = st.sidebar
    sb.selectbox("Load a classic recipe", [pp.NO_RECIPE] + list(pp.recipes()), key=P + "recipe",
                 on_change=_load_recipe, help=pp.RECIPE_HELP)
    sb.subheader("Model and target")
    model = model_controls(ctl)
    target = target_controls(ctl, model, diversity=True)
    size = model.spec.input_size if model is not None else 64

    sb.subheader("Scheme: u ← Ke * (u − τ Kf * ∇D)")
    scheme = ctl.radio("scheme", "Scheme", SCHEMES, fmt=pp.SCHEME_LABELS.get, help=pp.SCHEME_HELP)
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
        sb.caption(pp.schedule_text(str(st.session_state.get(P + "octaves", ""))))
    off = " (set by the schedule)" if octaves else ""
    ctl.radio("optimizer", "Optimizer", PLAYGROUND_CHOICES["optimizer"],
              fmt=pp.OPTIMIZER_LABELS.get)
    # no largest step size here: a step too large to run is what the divergence record
    # shows and names (Sec. 2.5's step-size remark), a lesson the Playground can give
    ctl.number("step_size", f"{STEP_SIZE_LABEL}{off}", 1e-6, None, 0.5, format="%g",
               disabled=octaves, help=STEP_SIZE_HELP)
    ctl.number("steps", f"Steps{off}", 1, 100_000, 10, disabled=octaves)
    ctl.number("jitter", "Jitter (pixels; < 1 = fraction of the input)", 0.0,
               max_jitter(size), 1.0, format="%g")
    ctl.number("seed", "Seed", 0, 2**31 - 1, 1)
    if st.session_state[P + "task"] == "am":
        inits = pp.init_choices(model, st.session_state.get(P + "layer"),
                                PLAYGROUND_CHOICES["init"])
        ctl.radio("init", "Start", inits, fmt=pp.INIT_LABELS.get, help=pp.INIT_HELP)
    ctl.slider("every", "Stream a frame every k steps", 1, 50, 1)
    with sb.expander("Advanced", expanded=adv_open):
        adv = Controls(P, st.container())
        adv.radio("grad_norm", "Gradient", PLAYGROUND_CHOICES["grad_norm"],
                  fmt=pp.GRAD_LABELS.get)
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
                     on_change=guard_callback(_restore_run, P + "json_msg"), help=pp.RESTORE_HELP)
    msg = st.session_state.get(P + "json_msg")
    if msg:
        (sb.error if msg[0] == "error" else sb.info)(plain(ui_message(msg[1])))
    return model, target


@st.cache_resource(max_entries=32, show_spinner=False)
def _kernel_panel(key: str, _fluid, _elastic):
    """The kernel panel of ``key`` (the two kernels' specs, parameters and scales), built
    once per process: a plotly figure costs ~0.1 s to build, and every rerun (each click,
    each Run) would rebuild the same one. Shared by sessions, only read (serialised)."""
    return kernel_plots.kernel_panel(_fluid, _elastic)


def _draw(ph: dict, rec: RunRecord, full: bool, key: str) -> None:
    ph["act_name"] = run_activation_label(rec.configs)  # the run's task, not the sidebar's
    img = rec.images[0]
    if len(rec.images) > 1:  # the samples of a diversity batch, side by side
        box = ph["image"].container(horizontal=True, gap="small")
        for i, sample in enumerate(rec.images):
            show_image(box, sample, pp.sample_caption(rec, i), pp.sample_size(len(rec.images)))
    else:  # the run's target named under its picture (a stale one's too)
        show_image(ph["image"], img, pp.preimage_caption(
            rec, ph.setdefault("target", run_target(rec))), pp.IMAGE_SIZE)
    rec.mark_shown()
    show_progress(ph["progress"], rec, full)
    if rec.reference is not None:
        show_image(ph["reference"], rec.reference[0], "reference image", pp.IMAGE_SIZE)
    if not full:
        return
    # the verdicts of the model and the independent judge come with the final frame
    ph["metrics"].markdown(metrics_table(rec, ph["act_name"],
                                         rec.verdicts[0] if rec.verdicts else []))
    draw_curves(ph, rec, key)
    series = pp.spectrum_series(rec)
    fig = session_figure(("spectrum", tuple(s[0] for s in series)),
                         lambda: plots.spectrum_figure(series),
                         lambda f: plots.set_spectra(f, series))
    ph["spectrum"].plotly_chart(fig, key=f"{key}_spectrum")


def main() -> None:
    notices = bind(P, D, PLAYGROUND_CHOICES)
    link_task(P, st.query_params.to_dict())
    adv_open = pp.advanced_open(current(P, D))
    ctl = Controls(P)
    model, target = _sidebar(ctl, adv_open)
    s = commit(P, D, always_in_link(P, D))

    st.title("Playground")
    show_notices(P, notices + ctl.notices, s)
    # the config, its batch and what blocks Run; the panel's kernels at tau = the step size
    plan = pp.plan_run(s, model, target.image_label, target.reference, ctl)
    st.markdown(pp.header_markdown(plan.cfg, model, s["model"], plan.label))

    _run_area(s, plan, model, target)
    st.subheader("Kernels")
    fluid, elastic = plan.kernels
    st.plotly_chart(_kernel_panel(pp.panel_key(fluid, elastic), fluid, elastic),
                    key="pg_kernels")
    st.caption(pp.KERNELS_CAPTION)


@st.fragment
def _run_area(s: dict, plan: pp.RunPlan, model, target) -> None:
    """Run, Stop and what a run shows, as a fragment: a Run or Stop click reruns only this
    part of the page (the sidebar, the title and the kernel panel are neither recomputed
    nor sent to the browser again), so the run starts at once; a change of any setting
    reruns the whole page, this part with it."""
    guard(lambda: _run_body(s, plan, model, target))


def _run_body(s: dict, plan: pp.RunPlan, model, target) -> None:
    t_script = time.perf_counter()  # a Run click starts this fragment: time to first frame
    panel = RunPanel(P, autorun=True)
    run = panel.buttons(plan.errors) is not None
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
    if run and plan.cfg is not None and model is not None:
        job = pp.make_job(plan.label, plan.cfgs, model, target.reference, s["model"])
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
    elif plan.errors:  # nothing to run: the reason is beside the Run button, not "press Run"
        ph["image"].caption("Nothing to run until the problem above is fixed.")
    else:
        ph["image"].info("Press **Run** to start; the pre-image streams here.")
        if inversion and target.reference is not None:
            show_image(ph["reference"], target.reference[0], "reference image", pp.IMAGE_SIZE)


guard(main)
