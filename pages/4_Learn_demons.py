"""Learn demons: the unified update, its special cases, Table 2 and a live 1D example."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from dashboard import plots, teaching
from dashboard.page import guard, setup_page
from dashboard.settings.explainers import LEARN_CHOICES, LEARN_DEFAULTS
from dashboard.text import plain
from dashboard.widgets import Controls, bind, commit, show_notices
from viz_core.errors import VizError
from viz_core.kernels import Kernel

P = "learn_"
D = LEARN_DEFAULTS
TARGET = "target w"
PARAM_RANGE = (0.05, 10.0)  # the hand slider of sigma / gamma
MAX_STEPS = 500
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
        ctl.slider("param", "sigma / gamma", *PARAM_RANGE, 0.05)
    ctl.slider("tau", "Step size tau", 0.01, 1.5, 0.01)
    steps = ctl.slider("steps", "Steps", 1, MAX_STEPS, 1)
    ctl.slider("step", "Show step t", 0, int(steps), 1)
    ctl.slider("noise", "Initial noise std", 0.0, 1.0, 0.05)
    ctl.number("seed", "Seed", 0, 2**31 - 1, 1)


def _theory() -> None:
    st.markdown(r"Every regularizer in this tool is a setting of **one update** (eq. 18): "
                r"take a gradient step filtered by the *fluid* kernel $K_f$, then filter the "
                r"whole solution with the *elastic* kernel $K_e$:")
    st.latex(r"u_{t+\tau} = K_e * \left(u_t - \tau\, K_f * \nabla_u D_t\right)"
             r"\qquad (18)")
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


@st.cache_data(max_entries=32, show_spinner=False)
def _run(kind: str, size: int, param: float | None, tau: float, steps: int, task: str,
         noise: float, seed: int) -> teaching.ToyRun:
    return teaching.run_toy(kind, size, param, tau, steps, task, noise=noise, seed=seed)


def _share(a: float, b: float) -> str:
    """``a / b`` as a percentage, with a digit more below 10% (0.4% does not read 0%)."""
    if not b > 0:
        return "n/a"
    r = a / b
    return f"{r:.0%}" if r >= 0.095 or r == 0 else f"{r:.1%}" if r >= 0.001 else "< 0.1%"


def _reading_inversion(step: int, steps: int, run: teaching.ToyRun, bands: dict,
                       noise: float) -> str:
    """What the signals at ``step`` (of ``steps``) show, from their band energies and
    errors: fluid (eq. 8) changes the path, elastic (eqs. 6, 18) the solution (eq. 12)."""
    if step == 0:
        return ("**Reading it (t = 0):** every scheme starts from the same signal; move "
                "*Show step t* to see them part.")
    now = run.at(step)
    err = {k: float(np.sqrt(np.mean((v - run.target) ** 2))) for k, v in now.items()}
    tf, tc = bands[TARGET]["fine"], bands[TARGET]["coarse"]
    fl, el = bands["fluid"]["fine"], bands["elastic"]["fine"]
    out = [f"**Reading it (step t = {step}):** plain GD is at RMS error {err['plain']:.3f} "
           f"from the target, fluid at {err['fluid']:.3f}."]
    if fl < 0.8 * tf:
        out.append(f"The fluid scheme has built up only {_share(fl, tf)} of the target's "
                   "fine-band energy: its filtered updates bring the coarse scales first and "
                   "the fine ones last, a smoother path to the same minimizer.")
    elif fl > 1.2 * tf and noise > 0:
        out.append(f"The fluid scheme carries {_share(fl, tf)} of the target's fine-band "
                   f"energy: the fine noise of the start (std {noise:g}) is still there, "
                   "because the filtered update barely touches those frequencies.")
    elif fl > 1.2 * tf:  # no noise to keep: the kernel pushes those frequencies away
        out.append(f"The fluid scheme carries {_share(fl, tf)} of the target's fine-band "
                   "energy, from a start without noise: where the kernel's frequency "
                   "response is negative (a wide Gaussian cut to a small size is nearly a box "
                   "filter), the filtered update moves those frequencies away from the "
                   "target at every step.")
    else:
        out.append("The fluid scheme has caught up in every band (fine-band energy "
                   f"{_share(fl, tf)} of the target's).")
    coarse, fe = bands["elastic"]["coarse"], bands["fluid-elastic"]["fine"]
    have = (f"{_share(coarse, tc)} of the target's coarse energy and {_share(el, tf)} "
            f"(elastic) and {_share(fe, tf)} (fluid-elastic) of its fine energy")
    if coarse > 1.5 * max(el, fe) * tc / max(tf, 1e-30):  # coarse kept, fine held back
        out.append(f"The elastic schemes keep {_share(coarse, tc)} of the coarse energy but "
                   f"only {_share(el, tf)} (elastic) and {_share(fe, tf)} (fluid-elastic) of "
                   "the fine: they filter the whole solution every step and stop at a "
                   "*regularized* solution, not only on another path.")
    elif step < steps:
        out.append(f"The elastic schemes have so far {have}; move *Show step t* on to see "
                   "whether they keep the coarse scales and hold back the fine ones.")
    else:  # the last step: no hint to move a slider that is at its end
        held = max(el, fe) / max(tf, 1e-30) < coarse / max(tc, 1e-30)
        out.append(f"At this last step the elastic schemes have {have}: with this kernel "
                   "they hold the fine scales back " +
                   ("only a little" if held else "no more than the coarse ones") +
                   (" so far; more *Steps* run them further." if steps < MAX_STEPS else "."))
    return " ".join(out)


def _reading_identity(step: int, run: teaching.ToyRun, task: str) -> str:
    """The reading when the kernel filters nothing: every scheme of eq. 18 is then plain
    gradient descent (eq. 5), so the four signals are the same."""
    now = run.at(step)
    if step == 0:
        return ("**Reading it (t = 0):** every scheme starts from the same signal, and with "
                "the identity kernel they take the same steps from there.")
    if task == "inversion":
        err = float(np.sqrt(np.mean((now["plain"] - run.target) ** 2)))
        what = f"all at RMS error {err:.3f} from the target"
    else:
        sat = float(np.mean(np.abs(now["plain"]) > 0.99))
        what = f"all with {sat:.0%} of the samples at the bounds"
    return (f"**Reading it (step t = {step}):** with the identity kernel the four schemes "
            f"are the same plain gradient descent, {what}.")


def _identity_note(s: dict, kernel: Kernel) -> str:
    """Why the four panels agree when the kernel filters nothing
    (:func:`dashboard.teaching.is_identity_like`); at size 3 the fitting rule of Sec. 2.7
    leaves only the centre tap above 1e-4."""
    name = "sigma" if s["kind"] == "gaussian" else "gamma"
    why = (f"at size {int(s['size'])} the fitting rule of Sec. 2.7 (outermost ring <= 1e-4) "
           "leaves only the centre tap" if s["fit"] else
           f"{name} = {kernel.param:.3g} is far below a pixel")
    return (f"**Nothing is filtered here:** {why}, so the kernel is the identity (every "
            f"frequency passes with at least {1 - teaching.IDENTITY_TOL:.0%}) and fluid, "
            "elastic and fluid-elastic demons are all plain gradient descent (eq. 18 with "
            r"$K_f = K_e = \delta$ is eq. 5): the four panels are the same. " +
            ("Pick kernel size 5 or larger to see them differ." if s["fit"] else
             f"Raise {name} to see them differ."))


def _reading_am(step: int, run: teaching.ToyRun, bands: dict) -> str:
    now = run.at(step)
    sat = {k: float(np.mean(np.abs(v) > 0.99)) for k, v in now.items()}
    pf = bands["plain"]["fine"]
    return (f"**Reading it (step t = {step}):** with a linear 'neuron' $w$ and clipping to "
            f"$[-1, 1]$, plain GD drives {sat['plain']:.0%} of the samples to the bounds, "
            f"copying the sign of every wiggle of $w$; fluid demons {sat['fluid']:.0%}. "
            f"The elastic schemes filter the solution every step: {sat['elastic']:.0%} "
            f"(elastic) and {sat['fluid-elastic']:.0%} (fluid-elastic) saturate, with "
            f"{_share(bands['elastic']['fine'], pf)} and "
            f"{_share(bands['fluid-elastic']['fine'], pf)} of plain GD's fine-band energy.")


def _example(s: dict) -> None:
    st.subheader("Try it: where do the schemes put coarse and fine scales?")
    t0 = time.perf_counter()
    try:
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
        st.info(_identity_note(s, kernel))
        reading = _reading_identity(step, run, s["task"])
    elif s["task"] == "inversion":
        reading = _reading_inversion(step, int(s["steps"]), run, bands, float(s["noise"]))
    else:
        reading = _reading_am(step, run, bands)
    st.markdown(reading)
    c1, c2 = st.columns(2)
    c1.plotly_chart(plots.bars_figure(bands, "energy per frequency band (coarse < 1/32, "
                                      "fine > 1/8 cycles/sample)", "energy (variance)"),
                    key="learn_bands")
    c2.plotly_chart(plots.small_multiples_figure(spec, "amplitude spectrum", "cycles / sample",
                                                 "|U(f)|", log_y=True, colors=SCHEME_COLORS,
                                                 height=400), key="learn_spectra")
    st.caption(f"256 samples, 4 schemes x {int(s['steps'])} steps through the engine's "
               f"update (eq. 18) in {ms:.0f} ms (cached when only t changes).")


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
