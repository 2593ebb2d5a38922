"""Learn demons: the unified update, its special cases, Table 2 and a live 1D example."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from dashboard import learn_texts, plots, teaching
from dashboard.page import guard, setup_page
from dashboard.settings.explainers import GAMMA_RANGE, LEARN_CHOICES, LEARN_DEFAULTS, SIGMA_RANGE
from dashboard.text import plain
from dashboard.widgets import Controls, bind, commit, show_notices
from viz_core.errors import VizError

P = "learn_"
D = LEARN_DEFAULTS
TARGET = learn_texts.TARGET
#: The hand slider of sigma / gamma: the Playground's two ranges in one (they hold the
#: value fitted at every size, Sec. 2.7), so turning the fit off keeps the kernel.
PARAM_RANGE = (min(SIGMA_RANGE[0], GAMMA_RANGE[0]), max(SIGMA_RANGE[1], GAMMA_RANGE[1]))
MAX_STEPS = learn_texts.MAX_STEPS
SCHEME_COLORS = {"plain": "#7f7f7f", "fluid": "#1f77b4", "elastic": "#2ca02c",
                 "fluid-elastic": "#d62728", TARGET: "#000000"}

setup_page("Learn demons")

TABLE2_ROWS = [
    ("", "explicit regularization (a term $R(u)$ in the energy)",
     "implicit regularization (another function space or metric)"),
    ("---", "---", "---"),
    ("**demons**", r"**elastic demons with Gaussian**, "
     r"corresponding to $\int \|\nabla u\|^2$ [24, 25]",
     "**fluid demons with Gaussian** [16]; **fluid demons with Sobolev filter**; **elastic and "
     "fluid-elastic demons with Sobolev filter**"),
    ("**others**", "**total variation** $TV(u)$ [4]; bilateral filter [26] (non-linear in $u$)",
     "multiscale representations [27] (wavelet-type parametrization); function spaces "
     "parametrized by trained or untrained CNNs [28, 29, 17, 30]"),
]
TABLE2 = "\n".join("| " + " | ".join(r) + " |" for r in TABLE2_ROWS)
#: Why elastic Sobolev demons sit in the implicit column although the theory above calls
#: elastic (Gaussian) filtering an explicit regularizer (eq. 7).
TABLE2_NOTE = (
    r"The paper files elastic Sobolev demons as implicit (Sec. 4.2). As a step, "
    r"$S_\gamma * v$ with $v = u_t - \tau \nabla_u D_t$ is exactly a proximal step: it "
    r"minimizes $\frac{1}{2}\|u - v\|^2 + \frac{\gamma}{2}\|\nabla u\|^2$, since "
    r"$(I - \gamma\Delta)\,u = v$ (for the untruncated filter). So elastic Sobolev demons "
    r"are proximal gradient descent on $D + \frac{\gamma}{2\tau}\|\nabla u\|^2$, an "
    r"explicit $H^1$ penalty, and can be read both ways; the table keeps the paper's "
    r"placement.")
#: The step-size convention of this page against the Playground's.
STEP_NOTE = ("Step size: eqs. 5 and 18 and the 1D example below use a raw tau (the gradient "
             "as it is). The Playground's tau is instead the mean change of a pixel per step "
             "in 0-255 grey levels: there the data gradient is first divided by its mean "
             "|g| (DeepDream's normalisation), so one tau means the same on every network.")
TAU_HELP = ("The raw step of eq. 18: u <- Ke * (u - tau Kf * grad D), with the gradient as "
            "it is (not the Playground's normalised tau in 0-255 levels).")

#: The paper's references cited on this page (numbers as in the paper, arXiv:1805.00071).
REFERENCES = [
    "[4] A. Mahendran, A. Vedaldi: Visualizing deep convolutional neural networks using "
    "natural pre-images. IJCV 120(3), 233-255 (2016).",
    "[16] A. Nguyen, J. Yosinski, J. Clune: Deep neural networks are easily fooled: high "
    "confidence predictions for unrecognizable images. CVPR 2015, 427-436.",
    "[17] A. Nguyen, J. Yosinski, Y. Bengio, A. Dosovitskiy, J. Clune: Plug & play "
    "generative networks. arXiv:1612.00005 (2016).",
    "[24, 25] works that blur the pre-image or its update with a Gaussian filter (the "
    "paper, Sec. 1.2 and 2.2; [25] is also its source of the 2-pixel jitter, Sec. 3).",
    "[26] a bilateral-filter regularizer; [27] jitter and multiscale representations; "
    "[28, 29, 30] pre-images parametrized by trained or untrained CNNs and "
    "auto-encoders (the paper, Sec. 1.2).",
]


def _param_from_fit() -> None:
    """Fit turned off: the hand slider starts at the parameter just fitted to the current
    kind and size (Sec. 2.7), clamped to its range, so the example keeps its kernel."""
    if st.session_state.get(P + "fit", True):
        return
    kind = st.session_state.get(P + "kind", D["kind"])
    size = st.session_state.get(P + "size", D["size"])
    try:
        st.session_state[P + "param"] = teaching.start_value(
            teaching.toy_kernel(kind, int(size)), *PARAM_RANGE)
    except (VizError, TypeError, ValueError):  # an unusable kind or size: the default stays
        return


def _sidebar(ctl: Controls) -> None:
    st.sidebar.subheader("1D example")
    ctl.radio("task", "Data term", LEARN_CHOICES["task"],
              fmt={"inversion": "inversion: ||u - w||² / 2",
                   "am": "maximize <w, u>, u in [-1, 1]"}.get)
    ctl.radio("kind", "Kernel (same for Kf and Ke)", LEARN_CHOICES["kind"],
              fmt={"gaussian": "Gaussian", "sobolev": "Sobolev"}.get)
    ctl.slider("size", "Kernel size", 3, 31, 2)
    if not ctl.toggle("fit", "Fit parameter to size (Sec. 2.7)", on_change=_param_from_fit):
        ctl.slider("param", "sigma / gamma", *PARAM_RANGE, 0.01, format="%.4g")
    ctl.slider("tau", "Step size tau", 0.01, 1.5, 0.01, help=TAU_HELP)
    steps = ctl.slider("steps", "Steps", 1, MAX_STEPS, 1)
    ctl.slider("step", "Show step t", 0, int(steps), 1)
    ctl.slider("noise", "Initial noise std", 0.0, 1.0, 0.05)
    ctl.number("seed", "Seed", 0, 2**31 - 1, 1)


def _theory() -> None:
    st.markdown(r"Every demons scheme in this tool is a setting of **one update** (eq. 18): "
                r"take a gradient step filtered by the *fluid* kernel $K_f$, then filter the "
                r"whole solution with the *elastic* kernel $K_e$. Total variation is not a "
                r"setting of it: it is an explicit term whose gradient (eqs. 19-20) is added "
                r"to $\nabla_u D_t$ inside the same update.")
    st.latex(r"u_{t+\tau} = K_e * \left(u_t - \tau\, K_f * \nabla_u D_t\right)"
             r"\qquad (18)")
    st.caption(STEP_NOTE)
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(r"**plain gradient descent** (eq. 5, $R = 0$): $K_f = K_e = \delta$")
        st.latex(r"u_{t+\tau} = u_t - \tau \nabla_u D_t")
        st.markdown(r"**elastic demons** (eq. 6): $K_f = \delta$, $K_e = G_\sigma$. This "
                    r"corresponds to the explicit regularizer "
                    r"$R(u) = \int \|\nabla u\|^2$ (eq. 7; Sec. 2.2)")
        st.latex(r"u_{t+\tau} = G_\sigma * \left(u_t - \tau \nabla_u D_t\right)")
        st.markdown(r"**total variation** (eqs. 19-20), explicit, added to any scheme; "
                    r"relaxed here as $\sqrt{\|\nabla u\|^2 + \varepsilon^2}$ where the "
                    r"paper mentions $\|\nabla u\| + \varepsilon$ (Sec. 2.6)")
        st.latex(r"\nabla_u TV(u) = -\operatorname{div}\frac{\nabla u}"
                 r"{\sqrt{\|\nabla u\|^2 + \varepsilon^2}}")
    with c2:
        st.markdown(r"**fluid demons** (eq. 8): $K_f = G_\sigma$, $K_e = \delta$: only the "
                    r"update is smoothed, once (eqs. 9-10)")
        st.latex(r"u_{t+\tau} = u_t - \tau\, G_\sigma * \nabla_u D_t")
        st.markdown(r"**Sobolev gradient flow** (eq. 17): $K_f = S_\gamma$, the $H^1$ "
                    r"gradient $(I - \gamma\Delta)^{-1}\nabla D$ (eq. 16). It corresponds, "
                    r"roughly speaking, to another metric on the same space (Sec. 2.4)")
        st.latex(r"u_{t+\tau} = u_t - \tau\, S_\gamma * \nabla_u D_t")
        st.markdown(r"**fluid-elastic demons** (eq. 18): both kernels, e.g. "
                    r"$K_f = K_e = S_\gamma$")
    st.markdown(r"Elastic filtering compounds: $n$ steps filter the start by $K_e^n$ and an "
                r"$m$-step-old update by $K_e^m$ (eqs. 11-12), while fluid filtering is "
                r"applied to each update once (eq. 10). The **Kernels & spectra** page "
                r"plots this.")
    st.subheader("Explicit and implicit regularization (Table 2)")
    st.markdown(TABLE2)
    st.caption("Bold: the approaches the paper discusses (and this tool implements). Jitter "
               "is the one common regularizer that fits neither column.")
    st.markdown(TABLE2_NOTE)


@st.cache_data(max_entries=32, show_spinner=False)
def _run(kind: str, size: int, param: float | None, tau: float, steps: int, task: str,
         noise: float, seed: int) -> teaching.ToyRun:
    return teaching.run_toy(kind, size, param, tau, steps, task, noise=noise, seed=seed)


def _example(s: dict) -> None:
    st.subheader("Try it: where do the schemes put coarse and fine scales?")
    t0 = time.perf_counter()
    try:
        with st.spinner(f"Running the 1D example: 4 schemes x {int(s['steps'])} steps of "
                        "eq. 18 ..."):
            run = _run(s["kind"], int(s["size"]), None if s["fit"] else float(s["param"]),
                       float(s["tau"]), int(s["steps"]), s["task"], float(s["noise"]),
                       int(s["seed"]))
    except VizError as exc:
        st.error(plain(str(exc)))
        return
    step = min(int(s["step"]), int(s["steps"]))
    kernel = teaching.toy_kernel(s["kind"], int(s["size"]),
                                 None if s["fit"] else float(s["param"]))
    identity = teaching.is_identity_like(kernel)
    now = run.at(step)
    bands = {TARGET: teaching.band_energy(run.target)}
    bands.update({k: teaching.band_energy(v) for k, v in now.items()})
    ms = (time.perf_counter() - t0) * 1000
    x = np.arange(run.target.size)
    ft, at_ = teaching.amplitude_spectrum(run.target)
    sig = {k: {TARGET: (x, run.target), k: (x, v)} for k, v in now.items()}
    spec = {k: {TARGET: (ft, at_), k: teaching.amplitude_spectrum(v)} for k, v in now.items()}
    st.plotly_chart(plots.small_multiples_figure(
        sig, f"signals at step t = {step} (black: target w; start: "
        + (f"noise of std {float(s['noise']):g})" if float(s["noise"]) > 0
           else "zero, no noise)"), "sample", "u", colors=SCHEME_COLORS, height=440),
        key="learn_signals")
    if identity:
        st.info(learn_texts.identity_note(s, kernel))
        reading = learn_texts.reading_identity(step, run, s["task"])
    elif s["task"] == "inversion":
        reading = learn_texts.reading_inversion(step, int(s["steps"]), run, bands,
                                                 float(s["noise"]))
    else:
        reading = learn_texts.reading_am(step, run, bands)
    st.markdown(reading)
    c1, c2 = st.columns(2)
    c1.plotly_chart(plots.bars_figure(bands, "energy per frequency band (coarse < 1/32, "
                                      "fine > 1/8 cycles/sample)", "energy (variance)"),
                    key="learn_bands")
    c2.plotly_chart(plots.small_multiples_figure(spec, "amplitude spectrum", "cycles / sample",
                                                 "|U(f)|", log_y=True, colors=SCHEME_COLORS,
                                                 height=400), key="learn_spectra")
    st.caption(f"{run.target.size} samples, 4 schemes x {int(s['steps'])} steps of eq. 18 "
               f"with the engine's kernels in {ms:.0f} ms (cached when only t changes). "
               f"Border: periodic (sample {run.target.size - 1} wraps around to sample 0, as "
               f"the engine's circular border mode), and the target ends at "
               f"{run.target[-1]:.2f} but starts at {run.target[0]:.2f}: the filters smooth "
               "across that jump, so the fluid and elastic curves bend near both ends.")


def _references() -> None:
    with st.expander("References (numbers as in the paper)"):
        st.markdown("\n".join(f"- {r}" for r in REFERENCES) +
                    "\n\nFull entries: the paper's reference list, "
                    "[arXiv:1805.00071](https://arxiv.org/abs/1805.00071).")


def main() -> None:
    notices = bind(P, D, LEARN_CHOICES)
    ctl = Controls(P)
    _sidebar(ctl)
    s = commit(P, D)
    st.title("Learn demons")
    show_notices(P, notices + ctl.notices, s)
    _theory()
    _example(s)
    _references()


guard(main)
