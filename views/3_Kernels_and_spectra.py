"""Kernels & spectra: Gaussian vs Sobolev filters without any network (Sec. 2.2-2.4, 2.7)."""

from __future__ import annotations

import streamlit as st

from dashboard import plots, teaching
from dashboard import state as ui_state
from dashboard.common import Controls, bind, commit, guard, setup_page
from viz_core.errors import VizError
from viz_core.kernels import KernelSpec, build

P = "kx_"
D = ui_state.KERNELS_DEFAULTS

setup_page("Kernels & spectra")


def _sidebar(ctl: Controls) -> None:
    st.sidebar.subheader("Kernels")
    ctl.slider("size", "Kernel size", 3, 31, 2)
    ctl.toggle("fit", "Fit sigma and gamma to the size (Sec. 2.7)")
    if not st.session_state[P + "fit"]:
        ctl.slider("sigma", "Gaussian sigma", 0.05, 6.0, 0.01)
        ctl.slider("gamma", "Sobolev gamma", 0.01, 10.0, 0.01)
    ctl.slider("order", "Higher Sobolev order k: (I - gamma Lap)^-k", 1, 8, 1)
    st.sidebar.subheader("Elastic compounding")
    ctl.slider("n", "Elastic steps n", 1, 30, 1)
    ctl.toggle("log", "Log scale for profiles")


def main() -> None:
    bind(P, D)
    ctl = Controls(P)
    _sidebar(ctl)
    s = commit(P, D)
    size, order, n, log = int(s["size"]), int(s["order"]), int(s["n"]), bool(s["log"])
    fit = bool(s["fit"])
    try:
        g = build(KernelSpec("gaussian", None if fit else float(s["sigma"]), size))
        s1 = build(KernelSpec("sobolev", None if fit else float(s["gamma"]), size, 1))
        sk = build(KernelSpec("sobolev", None if fit else float(s["gamma"]), size, order))
    except VizError as exc:
        ctl.error({"sigma": "sigma", "gamma": "gamma", "order": "order"}.get(exc.field, "size"),
                  str(exc))
        st.error(str(exc))
        return
    kernels = {"Gaussian": g, "Sobolev k=1": s1}
    if order > 1:
        kernels[f"Sobolev k={order}"] = sk

    st.title("Kernels & spectra")
    st.markdown(
        "The fluid and elastic kernels of the demons update. **Gaussian** G_sigma "
        "(eqs. 6, 8) vs the **Sobolev** filter S_gamma = (I - gamma Lap)^-1 delta "
        "(eqs. 16-17), both fitted to the kernel size by the rule of Sec. 2.7 (unit sum, "
        "outermost ring <= 1e-4, largest parameter). Sobolev has a sharp peak and heavy "
        "tails and passes much more of the high frequencies; higher orders k move it towards "
        "a Gaussian.")
    stats = [teaching.kernel_stats(k, name) for name, k in kernels.items()]
    st.dataframe([{"kernel": x.label, "parameter": f"{x.param_name} = {x.param:.4g}",
                   "centre tap": round(x.center, 4), "std (px)": round(x.std, 3),
                   "|H| at Nyquist": f"{x.nyquist_gain:.2%}"} for x in stats],
                 hide_index=True, width="stretch")

    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(plots.heatmaps_figure([(k, v.weights.numpy()) for k, v in
                                               kernels.items()], height=280,
                                              shared_scale=True), key="kx_heat")
        st.plotly_chart(plots.lines_figure(
            {k: plots.kernel_profile(v) for k, v in kernels.items()},
            "centre profiles", "pixel", "weight", log_y=log, markers=True), key="kx_prof")
    with c2:
        st.plotly_chart(plots.heatmaps_figure([(k, v.frequency_response(64)) for k, v in
                                               kernels.items()], frequency=True, height=280),
                        key="kx_freq2d")
        st.plotly_chart(plots.lines_figure(
            {k: teaching.axial_response(v, 128) for k, v in kernels.items()},
            "frequency response along f_x", "cycles / pixel", "|H|", log_y=log),
            key="kx_freq1d")

    st.subheader("Elastic steps compound, fluid steps do not (eqs. 9-12)")
    st.markdown(
        f"A fluid scheme filters every update **once** (eq. 10): after n steps the "
        f"solution is u0 - tau K * sum of the gradients. An elastic scheme filters the "
        f"whole solution every step (eq. 11), so an update made m steps ago has been filtered "
        f"m times, by K^m (eq. 12): for a Gaussian K^m = G_(sqrt(m) sigma) (variances add), "
        f"for Sobolev (I - gamma Lap)^-m. Old coarse structure survives, old fine structure "
        f"is damped exponentially, and the initial noise is smoothed by K^n. Below: n = {n}.")
    ns = sorted({1, 2, max(1, n // 2), n})
    e1, e2, e3 = st.columns(3)
    with e1:
        series, colors = {}, {}
        for name, k in (("Gaussian", g), ("Sobolev", s1)):
            for j, (m, (x, prof)) in enumerate(teaching.elastic_powers(k, ns).items()):
                series[f"{name} K^{m}"] = (x, prof)
                colors[f"{name} K^{m}"] = j
        dash = {lab: "dot" for lab in series if lab.startswith("Sobolev")}
        half = 3 * max(teaching.kernel_std(g), teaching.kernel_std(s1)) * n**0.5 + 2
        st.plotly_chart(plots.lines_figure(series, "centre profile of K^m (m elastic steps)",
                                           "pixel", "weight", log_y=log, dash=dash,
                                           colors=colors, x_range=(-half, half)),
                        key="kx_powers")
        st.caption("solid: Gaussian, dotted: Sobolev; one colour per m")
    with e2:
        growth, gcol = {}, {}
        for j, (name, k) in enumerate((("Gaussian", g), ("Sobolev", s1))):
            m, fl, el = teaching.std_growth(k, n)
            growth[f"{name} fluid"] = (m, fl)
            growth[f"{name} elastic"] = (m, el)
            gcol[f"{name} fluid"] = gcol[f"{name} elastic"] = j
        st.plotly_chart(plots.lines_figure(growth, "width of the filter on an m-step-old "
                                           "update", "m (steps ago)", "std (px)", colors=gcol,
                                           dash={k: "dot" for k in growth if "fluid" in k}),
                        key="kx_growth")
    with e3:
        acc, acol = {}, {}
        for j, (name, k) in enumerate((("Gaussian", g), ("Sobolev", s1))):
            f, fl, el = teaching.accumulated_responses(k, n)
            acc[f"{name} fluid (eq. 10)"] = (f, fl)
            acc[f"{name} elastic (eq. 12)"] = (f, el)
            acol[f"{name} fluid (eq. 10)"] = acol[f"{name} elastic (eq. 12)"] = j
        st.plotly_chart(plots.lines_figure(acc, f"effective filter of {n} steps on a constant "
                                           "gradient", "cycles / pixel", "gain (1 at f = 0)",
                                           log_y=True, colors=acol,
                                           dash={k: "dot" for k in acc if "fluid" in k}),
                        key="kx_acc")
    wide = n * (size - 1) + 1
    st.caption(f"K^{n} of the {size}x{size} kernels is {wide}x{wide} pixels wide; its std is "
               f"sqrt({n}) times that of K ({teaching.kernel_std(g):.2f} px for the Gaussian, "
               f"{teaching.kernel_std(s1):.2f} px for Sobolev).")

    st.subheader("Higher-order Sobolev filters (the paper's future work)")
    st.markdown("(I - gamma Lap)^-k is a Matern kernel, positive with unit sum; with gamma / k "
                "fixed it tends to a Gaussian of variance 2 gamma as k grows, so the order "
                "interpolates between the sharp H1 filter (k = 1) and the Gaussian. Here gamma "
                "is refitted to the size for each k: higher orders lower the peak and the "
                "gain at high frequencies towards the Gaussian's.")
    orders = sorted({1, 2, 4, order} | ({8} if order < 8 else set()))
    hk = {}
    for k in orders:
        hk[f"k={k}"] = build(KernelSpec("sobolev", None if fit else float(s["gamma"]), size, k))
    hk["Gaussian"] = g
    h1, h2 = st.columns(2)
    h1.plotly_chart(plots.lines_figure({k: plots.kernel_profile(v) for k, v in hk.items()},
                                       "centre profiles", "pixel", "weight", log_y=log,
                                       dash={"Gaussian": "dash"}), key="kx_orders")
    h2.plotly_chart(plots.lines_figure({k: teaching.axial_response(v) for k, v in hk.items()},
                                       "frequency response along f_x", "cycles / pixel", "|H|",
                                       log_y=log, dash={"Gaussian": "dash"}),
                    key="kx_orders_freq")


guard(main)
