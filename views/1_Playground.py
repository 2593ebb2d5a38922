"""Playground: tweak the demons update (eq. 18) and watch the pre-image evolve."""

from __future__ import annotations

import time

import streamlit as st
import torch

from dashboard import plots
from dashboard import state as ui_state
from dashboard.common import (
    Controls,
    RunRecord,
    apply_settings,
    bind,
    commit,
    current,
    downloads,
    guard,
    setup_page,
    show_image,
    status_message,
    stream,
)
from dashboard.controls import kernel_controls, model_controls, target_controls
from viz_core import presets, spectra
from viz_core.errors import VizError
from viz_core.kernels import build

P = "pg_"
D = ui_state.PLAYGROUND_DEFAULTS
SCHEME_LABELS = {"plain": "none (plain GD)", "fluid": "fluid", "elastic": "elastic",
                 "fluid-elastic": "fluid-elastic"}
ADVANCED = ("grad_norm", "init_std", "tv_eps", "border", "p")
NO_RECIPE = "-"

setup_page("Playground")


def _recipes() -> dict[str, object]:
    out = {}
    for p in presets.presets_for("playground"):
        out[f"{p.title} · offline ({p.offline[0].configs[0].model})"] = p.offline[0].configs[0]
        out[f"{p.title} · paper ({p.batches[0].configs[0].model})"] = p.batches[0].configs[0]
    return out


def _load_recipe() -> None:
    choice = st.session_state.get(P + "recipe", NO_RECIPE)
    st.session_state[P + "recipe"] = NO_RECIPE
    if choice == NO_RECIPE:
        return
    cfg = _recipes()[choice]
    s, notes = ui_state.config_to_settings(cfg)
    apply_settings(P, s)
    st.session_state[P + "json_msg"] = ("info", f"loaded '{choice}'. " + " ".join(notes))


def _restore_json() -> None:
    up = st.session_state.get(P + "json_file")
    if up is None:
        return
    try:
        s, notes = ui_state.settings_from_json(up.getvalue())
    except VizError as exc:
        st.session_state[P + "json_msg"] = ("error", str(exc))
        return
    apply_settings(P, s)
    st.session_state[P + "json_msg"] = ("info", f"restored every setting from {up.name}. "
                                        + " ".join(notes))


def _sidebar(ctl: Controls, adv_open: bool):
    sb = st.sidebar
    sb.selectbox("Load a classic recipe", [NO_RECIPE] + list(_recipes()), key=P + "recipe",
                 on_change=_load_recipe,
                 help="Simonyan, Mahendran & Vedaldi, Yosinski, DeepDream, Distill as "
                      "settings of the one demons update")
    sb.subheader("Model and target")
    model = model_controls(ctl)
    target = target_controls(ctl, model)
    size = model.spec.input_size if model is not None else 64

    sb.subheader("Scheme: u ← Ke * (u − τ Kf * ∇D)")
    scheme = ctl.radio("scheme", "Scheme", ui_state.SCHEMES, fmt=SCHEME_LABELS.get,
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
    ctl.number("step_size", "Step size tau (mean change per step, 0-255 levels)", 1e-6, None,
               0.5, format="%g")
    ctl.number("steps", "Steps", 1, 100_000, 10)
    if ctl.toggle("octaves_on", "Octaves (scale:steps:tau, ...)"):
        ctl.text("octaves", "Octave schedule", help="e.g. 1.0:100:5,1.1:50:2,1.2:10:1 - "
                 "absolute canvas scales with random crops; replaces steps and tau")
    ctl.number("jitter", "Jitter (pixels; < 1 = fraction of the input)", 0.0, None, 1.0,
               format="%g")
    ctl.number("seed", "Seed", 0, 2**31 - 1, 1)
    ctl.slider("every", "Stream a frame every k steps", 1, 50, 1)
    with sb.expander("Advanced", expanded=adv_open):
        adv = Controls(P, st.container())
        adv.radio("grad_norm", "Gradient", ui_state.PLAYGROUND_CHOICES["grad_norm"],
                  fmt={"mean_abs": "normalised by mean|g|", "none": "raw"}.get)
        adv.number("init_std", "Initial noise std", 0.0, 1.0, 0.01, format="%g")
        adv.number("tv_eps", "TV epsilon", 1e-6, None, 0.01, format="%g")
        adv.select("border", "Border mode", ui_state.PLAYGROUND_CHOICES["border"])
        adv.radio("p", "Inversion exponent p", (1, 2))
    ctl.slots.update(adv.slots)
    ctl.notices += adv.notices

    sb.subheader("Restore settings")
    sb.file_uploader("Upload a run JSON", type=["json"], key=P + "json_file",
                     on_change=_restore_json,
                     help="the JSON downloaded after a run restores every setting")
    msg = st.session_state.get(P + "json_msg")
    if msg:
        (sb.error if msg[0] == "error" else sb.info)(msg[1])
    return model, target


def _kernels(cfg_or_settings: dict, slots: Controls):
    """Build the two kernels for the panel; errors go under their controls."""
    out = []
    tau = float(cfg_or_settings["step_size"]) / 255.0
    for slot in ("f", "e"):
        try:
            spec = ui_state.kernel_spec(cfg_or_settings, slot)
            out.append(build(spec, tau=tau) if spec is not None else None)
        except VizError as exc:
            f = exc.field or ""
            key = f if f.startswith(slot + "_") else ui_state.field_key(f or None, slot)
            slots.error(key, str(exc))
            out.append(None)
    return out


def _draw(ph: dict, rec: RunRecord, full: bool, key: str) -> None:
    img = rec.images[0]
    show_image(ph["image"], img, f"step {rec.step} / {rec.total}")
    ph["progress"].progress(min(1.0, rec.step / max(rec.total, 1)),
                            text=f"step {rec.step} / {rec.total} · {rec.elapsed:.1f} s")
    if not full:
        return
    steps, obj, act = rec.curves()
    task = ph["act_name"]
    with ph["metrics"].container():
        c = st.columns(2) + st.columns(2)
        c[0].metric(task, f"{act[-1, 0]:.4g}" if len(steps) else "-")
        c[1].metric("high-freq. energy", f"{spectra.high_frequency_fraction(img):.1%}",
                    help="share of spectral energy above half Nyquist (0.25 cycles/pixel)")
        c[2].metric("total variation", f"{spectra.total_variation(img):.4f}",
                    help="mean |grad u| per pixel (eq. 19)")
        c[3].metric("time per step", f"{1000 * rec.elapsed / max(rec.step, 1):.0f} ms")
    if len(steps):
        ph["curves"].plotly_chart(plots.curves_figure(steps, obj, act, rec.labels, task),
                                  key=f"{key}_curves")
    freq, power = spectra.radial_power_spectrum(img)
    series = [("pre-image", freq, power)]
    if ph.get("reference") is not None:
        rf, rp = spectra.radial_power_spectrum(ph["reference"][0])
        series.append(("reference image", rf, rp))
    ph["spectrum"].plotly_chart(plots.spectrum_figure(series), key=f"{key}_spectrum")


def main() -> None:
    t_script = time.perf_counter()  # a Run click starts this script: time to first frame
    notices = bind(P, D, ui_state.PLAYGROUND_CHOICES)
    s0 = current(P, D)
    adv_open = False
    try:
        ui_state.settings_to_config(s0, image_path="x")
    except VizError as exc:
        adv_open = ui_state.field_key(exc.field) in ADVANCED
    ctl = Controls(P)
    model, target = _sidebar(ctl, adv_open)
    s = commit(P, D)
    for n in notices + ctl.notices:
        st.toast(n)

    st.title("Playground")
    errors: list[str] = []
    cfg = None
    try:
        cfg = ui_state.settings_to_config(s, image_path=target.image_label)
        if model is not None:
            ui_state.check_against_model(cfg, model)
    except VizError as exc:
        ctl.error(exc.field or "run", str(exc))
        errors.append(str(exc))
        cfg = None
    if model is None:
        errors.append("the model could not be loaded (see the sidebar)")
    if s["task"] == "inversion" and target.reference is None and model is not None:
        errors.append("no valid image to invert (see the sidebar)")
    fluid, elastic = _kernels(s, ctl)
    label = cfg.scheme.label if cfg is not None else ""
    st.markdown(f"**{label or 'invalid settings'}** · {model.label if model else ''}")

    left, right = st.columns([3, 2], gap="large")
    with right:
        st.plotly_chart(plots.kernel_panel(fluid, elastic), key="pg_kernels")
        st.caption("Kf filters the data gradient (fluid, implicit regularization), Ke the "
                   "updated solution (elastic, explicit). |H| < 1 damps that frequency.")
    with left:
        b1, b2, b3 = st.columns([1, 1, 3])
        run = b1.button("Run", type="primary", key=P + "run", disabled=bool(errors),
                        width="stretch")
        b2.button("Stop", key=P + "stop", width="stretch",
                  help="ends the run between steps and keeps the last pre-image (changing "
                       "any control also ends a running run)")
        if errors:
            b3.error(errors[0], icon="⚠️")
        ph = {"progress": st.empty()}
        c_img, c_met = st.columns([1, 1])
        ph["image"] = c_img.empty()
        ph["metrics"] = c_met.empty()
        ph["status"] = st.container()
        ph["curves"] = st.empty()
        ph["spectrum"] = st.empty()
        ph["downloads"] = st.container()
        ph["reference"] = target.reference
        ph["act_name"] = ("relative feature error" if s["task"] == "inversion"
                          else "target activation")

    rec: RunRecord | None = st.session_state.get(P + "record")
    if rec is not None:
        rec.mark_interrupted()
    if run and cfg is not None and model is not None:
        rec = RunRecord([label], [cfg.to_json()], model.label, cfg.total_steps,
                        started=t_script)
        st.session_state[P + "record"] = rec
        ref = torch.from_numpy(target.reference) if target.reference is not None else None
        stream([cfg], model, rec, lambda r, f, full: _draw(ph, r, full, f"run{len(r.steps)}"),
               reference=ref, every=cfg.every)
    if rec is not None and rec.images is not None:
        if not run:
            _draw(ph, rec, True, "static")
        with ph["status"]:
            status_message(rec)
        with ph["downloads"]:
            downloads(rec, 0, "pg_dl", "demons-preimage")
    elif rec is not None:
        with ph["status"]:
            status_message(rec)
    else:
        ph["image"].info("Press **Run** to start; the pre-image streams here.")


guard(main)
