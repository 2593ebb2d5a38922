"""Kernels & spectra: Gaussian vs Sobolev filters without any network (Sec. 2.2-2.4, 2.7).

One visual vocabulary on every chart: the **colour** says which kernel (Gaussian blue,
Sobolev red, higher-order Sobolev in oranges, the equal-variance Gaussian light blue), the
**dash** says fluid (dotted) or elastic (solid); charts without a fluid/elastic distinction
draw solid lines. Every sentence with a comparison is computed from the current settings.
"""

from __future__ import annotations

import streamlit as st

from dashboard import kernel_plots, kernel_texts, plots, teaching
from dashboard.page import guard, setup_page
from dashboard.settings.explainers import GAMMA_RANGE, KERNELS_DEFAULTS, SIGMA_RANGE
from dashboard.text import plain
from dashboard.widgets import Controls, bind, commit, show_notices
from viz_core.errors import VizError
from viz_core.kernel_fitting import FIT_THRESHOLD
from viz_core.kernels import Kernel, KernelSpec, build

P = "kx_"
D = KERNELS_DEFAULTS
GAUSS, SOBOLEV, EQUAL_VAR = "#1f77b4", "#d62728", "#8fc1e8"
ORDER_COLORS = ("#d62728", "#e6550d", "#fd8d3c", "#fdae6b", "#8c2d04", "#a63603",
                "#f16913", "#fdd0a2")
FLUID_DASH = "dot"

setup_page("Kernels & spectra")


def _hand_from_fit() -> None:
    """Fit turned off: the hand sliders start at the sigma and gamma just fitted to the
    current size (Sec. 2.7), clamped to their ranges, so no chart jumps to other kernels."""
    if st.session_state.get(P + "fit", True):
        return
    size = st.session_state.get(P + "size", D["size"])
    for name, kind, (lo, hi) in (("sigma", "gaussian", SIGMA_RANGE),
                                 ("gamma", "sobolev", GAMMA_RANGE)):
        try:
            st.session_state[P + name] = teaching.start_value(
                build(KernelSpec(kind, None, int(size))), lo, hi)
        except (VizError, TypeError, ValueError):  # an unusable size: the defaults stay
            return


def _sidebar(ctl: Controls) -> None:
    st.sidebar.subheader("Kernels")
    ctl.slider("size", "Kernel size", 3, 31, 2)
    ctl.toggle("fit", "Fit sigma and gamma to the size (Sec. 2.7)", on_change=_hand_from_fit)
    if not st.session_state[P + "fit"]:
        ctl.slider("sigma", "Gaussian sigma (px)", *SIGMA_RANGE, 0.01, format="%.4g")
        ctl.slider("gamma", "Sobolev gamma (px²)", *GAMMA_RANGE, 0.01, format="%.4g")
    ctl.slider("order", "Higher Sobolev order k: (I - gamma Lap)^-k", 1, 8, 1,
               help="1: the first charts compare the Gaussian and the Sobolev filter of the "
                    "paper (k = 1); a higher k adds that order's kernel to them. The section "
                    "on higher orders at the bottom shows several either way.")
    st.sidebar.subheader("Elastic compounding")
    ctl.slider("n", "Elastic steps n", 1, 30, 1)
    ctl.toggle("log", "Log scale for profiles")


def _order_color(k: int) -> str:
    return ORDER_COLORS[(k - 1) % len(ORDER_COLORS)]


def _shade(color: str, t: float) -> str:
    """``color`` mixed with white: t = 1 full colour, t = 0 white (for K^m, m = 1..n)."""
    rgb = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * t):02x}" for c in rgb)


def _intro(fit: bool, g: Kernel, s1: Kernel, st_g: teaching.KernelStats,
           st_s: teaching.KernelStats, note: str, both_identity: bool) -> None:
    how = ("both fitted to the kernel size by the rule of Sec. 2.7 (unit sum, outermost ring "
           f"<= {FIT_THRESHOLD:g}, largest parameter)" if fit else
           f"set by hand (sigma = {g.param:.3g}, gamma = {s1.param:.3g}; the fit is off)")
    text = ("The fluid and elastic kernels of the demons update: the **Gaussian** "
            r"$G_\sigma$ (eqs. 6, 8) and the **Sobolev** filter "
            r"$S_\gamma = (I - \gamma\Delta)^{-1}\delta$ (eqs. 16-17), " + how + ".")
    if not both_identity:
        text += (" With these settings the Sobolev filter passes " + teaching.gain_phrase(
            st_s.nyquist_gain, st_g.nyquist_gain, "of the highest frequency (Nyquist)",
            "the Gaussian") + f"; its centre tap is {st_s.center:.3f} against "
            f"{st_g.center:.3f}.")
    st.markdown(text)
    if note:
        st.info(note)
    cut = [x for x in (st_g, st_s) if x.truncated]
    if cut:
        st.warning("Truncated: " + "; ".join(
            f"{x.label}'s outermost ring holds up to {x.edge:.2g} of the weight (the fitting "
            f"rule allows {FIT_THRESHOLD:g})" for x in cut) +
            ". The kernel is cut off by its size: its width and spectrum are those of the "
            "cut kernel, not of the parameter alone.")


def _equal_variance(fit: bool, g: Kernel, s1: Kernel, st_g: teaching.KernelStats,
                    st_s: teaching.KernelStats, both_identity: bool) -> None:
    ge = teaching.equal_variance_gaussian(s1)
    st_e = teaching.kernel_stats(ge, "Gaussian, equal variance")
    st.subheader("Is Sobolev sharper than Gaussian? Two comparisons")
    st.dataframe([{"kernel": x.label, "size": k.size, "variance (px²)": round(x.std**2, 3),
                   "centre tap": round(x.center, 4),
                   "|H| at f = 1/4": teaching.percent(x.half_nyquist_gain),
                   "|H| at Nyquist": teaching.percent(x.nyquist_gain)}
                  for x, k in ((st_s, s1), (st_g, g), (st_e, ge))],
                 hide_index=True, width="stretch")
    same_size = kernel_texts.same_size(fit, g.size, st_g, st_s, both_identity)
    size_more = teaching.compare(st_s.nyquist_gain, st_g.nyquist_gain) == "more"
    sharper = (st_s.center > st_e.center
               and teaching.compare(st_s.nyquist_gain, st_e.nyquist_gain) == "more")
    matched = abs(st_e.std**2 - st_s.std**2) <= 0.1 * st_s.std**2
    equal = (f"**Equal variance** (Gaussian sigma = {ge.param:.3g} px): the Sobolev kernel's "
             f"centre tap is {st_s.center:.3f} against {st_e.center:.3f} and it passes "
             + teaching.gain_phrase(st_s.nyquist_gain, st_e.nyquist_gain, "at Nyquist",
                                    "this Gaussian") + ". ")
    if both_identity:
        equal = ("**Equal variance**: nothing to compare either; a Gaussian of the Sobolev "
                 "kernel's variance is the identity as well.")
    elif not matched:  # a sampled Gaussian this narrow is a delta: no comparison to draw
        equal = (f"**Equal variance**: not possible at this size. The Sobolev kernel's "
                 f"variance is {kernel_texts.px2(st_s.std**2)}; a Gaussian sampled on the "
                 f"pixel grid with sigma = {ge.param:.3g} px has "
                 f"{kernel_texts.px2(st_e.std**2)}, so the "
                 "comparison would be against another width. " +
                 ("Choose a larger kernel size." if fit else "Raise gamma or the size."))
    elif sharper:
        equal += ("So it is sharper by its shape too (a peak with heavy tails), not only by "
                  "its width." if size_more else
                  "So at equal width it is sharper by its shape (a peak with heavy tails), "
                  "although at the same size it passes " + teaching.gain_phrase(
                      st_s.nyquist_gain, st_g.nyquist_gain, "at Nyquist", "the Gaussian")
                  + ".")
    else:
        equal += ("At equal width it is not sharper: the difference at equal size is width."
                  if size_more else "At equal width it is not sharper either.")
    st.markdown(same_size + "\n\n" + equal)
    x = {"Sobolev k=1": plots.kernel_profile(s1), "Gaussian, equal variance":
         plots.kernel_profile(ge)}
    colors = {"Sobolev k=1": SOBOLEV, "Gaussian, equal variance": EQUAL_VAR}
    c1, c2 = st.columns(2)
    c1.plotly_chart(plots.lines_figure(x, "centre profiles at equal variance", "pixel",
                                       "weight", colors=colors, markers=True),
                    key="kx_eqvar_prof")
    c2.plotly_chart(plots.lines_figure(
        {"Sobolev k=1": teaching.axial_response(s1), "Gaussian, equal variance":
         teaching.axial_response(ge)}, "frequency response at equal variance",
        "cycles / pixel", "|H|", log_y=True, colors=colors), key="kx_eqvar_freq")


def _fluid_elastic(base: dict, curves, fluid: str, elastic: str) -> tuple[dict, dict, dict]:
    """Series, colours and dashes of a fluid (dotted) and an elastic curve per kernel:
    ``curves(kernel)`` gives (x, fluid y, elastic y)."""
    series, colors, dash = {}, {}, {}
    for name, (k, col) in base.items():
        x, fl, el = curves(k)
        series[f"{name} {fluid}"], series[f"{name} {elastic}"] = (x, fl), (x, el)
        colors[f"{name} {fluid}"] = colors[f"{name} {elastic}"] = col
        dash[f"{name} {fluid}"] = FLUID_DASH
    return series, colors, dash


def _compounding(g: Kernel, s1: Kernel, n: int, size: int, log: bool,
                 both_identity: bool = False) -> None:
    st.subheader("Elastic steps compound, fluid steps do not (eqs. 9-12)")
    st.markdown(
        r"A fluid scheme filters every update **once** (eq. 10): after $n$ steps the "
        r"solution is $u_0 - \tau K * \sum_t \nabla D_t$. An elastic scheme filters the "
        r"whole solution every step (eq. 11), so an update made $m$ steps ago has been "
        r"filtered $m$ times, by $K^m$ (eq. 12): for a Gaussian "
        r"$K^m = G_{\sqrt{m}\,\sigma}$ (variances add under convolution; the paper's "
        r"eq. 12 writes $G_{n\sigma}$, but the width grows as $\sqrt{n}$), for Sobolev "
        r"$(I - \gamma\Delta)^{-m}$. Old coarse structure survives, old fine structure is "
        rf"damped exponentially, and the initial noise is smoothed by $K^n$. Below: $n = {n}$.")
    ns = sorted({1, 2, max(1, n // 2), n})
    e1, e2, e3 = st.columns(3)
    base = {"Gaussian": (g, GAUSS), "Sobolev": (s1, SOBOLEV)}
    with e1:
        series, colors = {}, {}
        for name, (k, col) in base.items():
            for j, (m, prof) in enumerate(teaching.elastic_powers(k, ns).items()):
                series[f"{name} K^{m}"] = prof
                colors[f"{name} K^{m}"] = _shade(col, 0.35 + 0.65 * (j + 1) / len(ns))
        half = 3 * max(teaching.kernel_std(g), teaching.kernel_std(s1)) * n**0.5 + 2
        st.plotly_chart(plots.lines_figure(series, "centre profile of K^m (m elastic steps)",
                                           "pixel", "weight", log_y=log, colors=colors,
                                           x_range=(-half, half), legend_per_row=1),
                        key="kx_powers")
        st.caption("blue: Gaussian, red: Sobolev; lighter = fewer steps m")
    with e2:
        growth, gcol, gdash = _fluid_elastic(base, lambda k: teaching.std_growth(k, n),
                                             "fluid", "elastic")
        st.plotly_chart(plots.lines_figure(growth, "width of the filter on an m-step-old "
                                           "update", "m (steps ago)", "std (px)",
                                           colors=gcol, dash=gdash, legend_per_row=1),
                        key="kx_growth")
        st.caption("dotted: fluid, solid: elastic")
    with e3:
        acc, acol, adash = _fluid_elastic(base, lambda k: teaching.accumulated_responses(k, n),
                                          "fluid (eq. 10)", "elastic (eq. 12)")
        st.plotly_chart(plots.lines_figure(acc, f"effective filter of {n} steps on a "
                                           "constant gradient", "cycles / pixel",
                                           "gain (1 at f = 0)", log_y=True, colors=acol,
                                           dash=adash, legend_per_row=1), key="kx_acc")
        st.caption("dotted: fluid, solid: elastic")
    wide = n * (size - 1) + 1
    st.caption(f"K^{n} of the {size}x{size} kernels is {wide}x{wide} pixels wide; its std is "
               f"sqrt({n}) times that of K ({teaching.kernel_std(g):.2f} px for the Gaussian, "
               f"{teaching.kernel_std(s1):.2f} px for Sobolev)." +
               (" Both kernels are the identity here, so K^n is too: nothing compounds."
                if both_identity else ""))


def _orders(g: Kernel, s: dict, size: int, order: int, fit: bool, log: bool) -> None:
    st.subheader("Higher-order Sobolev filters (the paper's future work)")
    orders = sorted({1, 2, 4, order} | ({8} if order < 8 else set()))
    hk = {f"k={k}": build(KernelSpec("sobolev", None if fit else float(s["gamma"]), size, k))
          for k in orders}
    var = {k: teaching.kernel_std(v) ** 2 for k, v in hk.items()}
    gam = {k: v.param for k, v in hk.items()}
    how = ("Here gamma is refitted to the size for each k, so every order fills the same "
           "support" if fit else "Here gamma is the same for every k, so k gamma, and with it "
           "the width, grows with k")
    st.markdown(
        r"$(I - \gamma\Delta)^{-k}$ is a Matérn kernel, positive with unit sum. Its "
        r"variance per axis is $2k\gamma$ (before truncation), so with $k\gamma$ held fixed "
        r"it tends to the Gaussian of variance $2k\gamma$ as $k$ grows: the order "
        r"interpolates between the sharp $H^1$ filter ($k = 1$) and the Gaussian. "
        f"{how}: " + ", ".join(
            f"k = {k[2:]}: gamma = {gam[k]:.3g}, 2 k gamma = {2 * int(k[2:]) * gam[k]:.3g}, "
            f"measured variance {kernel_texts.px2(var[k])}" for k in hk) +
        f" (Gaussian: {kernel_texts.px2(teaching.kernel_std(g) ** 2)}).")
    hk["Gaussian"] = g
    colors = {f"k={k}": _order_color(k) for k in orders} | {"Gaussian": GAUSS}
    h1, h2 = st.columns(2)
    h1.plotly_chart(plots.lines_figure({k: plots.kernel_profile(v) for k, v in hk.items()},
                                       "centre profiles", "pixel", "weight", log_y=log,
                                       colors=colors), key="kx_orders")
    h2.plotly_chart(plots.lines_figure({k: teaching.axial_response(v) for k, v in hk.items()},
                                       "frequency response along f_x", "cycles / pixel", "|H|",
                                       log_y=log, colors=colors), key="kx_orders_freq")
    st.caption("blue: Gaussian; reds to oranges: Sobolev orders k")


def main() -> None:
    notices = bind(P, D)
    ctl = Controls(P)
    _sidebar(ctl)
    s = commit(P, D)
    st.title("Kernels & spectra")
    show_notices(P, notices + ctl.notices, s)
    size, order, n, log = int(s["size"]), int(s["order"]), int(s["n"]), bool(s["log"])
    fit = bool(s["fit"])
    try:
        g = build(KernelSpec("gaussian", None if fit else float(s["sigma"]), size))
        s1 = build(KernelSpec("sobolev", None if fit else float(s["gamma"]), size, 1))
        sk = build(KernelSpec("sobolev", None if fit else float(s["gamma"]), size, order))
    except VizError as exc:
        ctl.error({"sigma": "sigma", "gamma": "gamma", "order": "order"}.get(exc.field, "size"),
                  str(exc))
        st.error(plain(str(exc)))
        return
    kernels = {"Gaussian": g, "Sobolev k=1": s1}
    if order > 1:
        kernels[f"Sobolev k={order}"] = sk
    colors = {"Gaussian": GAUSS, "Sobolev k=1": SOBOLEV, f"Sobolev k={order}":
              _order_color(order)}

    stats = {name: teaching.kernel_stats(k, name) for name, k in kernels.items()}
    st_g, st_s = stats["Gaussian"], stats["Sobolev k=1"]
    note = kernel_texts.identity_note(fit, size, {"Gaussian": (g, st_g), "Sobolev": (s1, st_s)})
    both_identity = teaching.is_identity_like(g) and teaching.is_identity_like(s1)
    _intro(fit, g, s1, st_g, st_s, note, both_identity)
    st.dataframe([{"kernel": x.label, "parameter": f"{x.param_name} = {x.param:.4g}",
                   "centre tap": round(x.center, 4), "variance (px²)": round(x.std**2, 3),
                   "|H| at Nyquist": teaching.percent(x.nyquist_gain),
                   "outer ring": f"{x.edge:.1e}" + (" (truncated)" if x.truncated else "")}
                  for x in stats.values()], hide_index=True, width="stretch")

    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(kernel_plots.heatmaps_figure([(k, v.weights.numpy()) for k, v in
                                                      kernels.items()], height=280,
                                                     shared_scale=True), key="kx_heat")
        st.plotly_chart(plots.lines_figure(
            {k: plots.kernel_profile(v) for k, v in kernels.items()},
            "centre profiles", "pixel", "weight", log_y=log, markers=True, colors=colors),
            key="kx_prof")
    with c2:
        st.plotly_chart(kernel_plots.heatmaps_figure(
            [(k, v.frequency_response(64)) for k, v in kernels.items()], frequency=True,
            height=280), key="kx_freq2d")
        st.plotly_chart(plots.lines_figure(
            {k: teaching.axial_response(v, 128) for k, v in kernels.items()},
            "frequency response along f_x", "cycles / pixel", "|H|", log_y=log,
            colors=colors), key="kx_freq1d")
    with st.expander("Formulas and units of these charts"):
        st.markdown(kernel_texts.formulas(g, s1))
    _equal_variance(fit, g, s1, st_g, st_s, both_identity)
    _compounding(g, s1, n, size, log, both_identity)
    _orders(g, s, size, order, fit, log)


guard(main)
