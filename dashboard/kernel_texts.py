"""The Kernels & spectra page's sentences, chosen from the kernels' numbers (no Streamlit):
the formulas and units behind its |H| charts, what a kernel that filters nothing means
(Sec. 2.7's fit at size 3), and the equal-size comparison of the Gaussian (eqs. 6, 8) and
Sobolev (eqs. 16-17) filters, each clause chosen from their widths and Nyquist gains so that
no sentence contradicts the numbers shown.
"""

from __future__ import annotations

import numpy as np

from dashboard import teaching
from viz_core.kernel_fitting import FIT_THRESHOLD
from viz_core.kernels import Kernel, gaussian_transfer, sobolev_fourier, sobolev_symbol

__all__ = ["formulas", "gaussian_gap", "identity_note", "px2", "same_size", "sampled_gaussian"]


def px2(v: float) -> str:
    """A variance in px², without scientific notation for one far below a pixel."""
    return f"{v:.3g} px²" if v >= 1e-3 else "practically 0 px²"


def identity_note(fit: bool, size: int, ks: dict[str, tuple[Kernel, teaching.KernelStats]]
                   ) -> str:
    """What the kernels that filter nothing (:func:`dashboard.teaching.is_identity_like`)
    mean for the page; empty when both filter. With the fit on that is size 3: the rule of
    Sec. 2.7 leaves only the centre tap above 1e-4."""
    same = [name for name, (k, _) in ks.items() if teaching.is_identity_like(k)]
    if not same:
        return ""
    if len(same) == len(ks):
        centre = min(x.center for _, x in ks.values())
        what = (f"**Nothing is filtered at size {size}.** The fitting rule of Sec. 2.7 lets "
                f"the outermost ring hold at most {FIT_THRESHOLD:g} of the weight, and at this "
                "size every tap but the centre is on that ring" if fit else
                "**Nothing is filtered with these parameters.** sigma = "
                f"{ks['Gaussian'][0].param:.3g} and gamma = {ks['Sobolev'][0].param:.3g} are "
                "far below a pixel")
        return (f"{what}: both kernels are the identity (centre tap {centre:.4f} or more; "
                "every frequency passes with at least "
                f"{1 - teaching.IDENTITY_TOL:.0%}), so every demons scheme with them is plain "
                "gradient descent (eq. 5) and there is no difference between them to show. "
                + ("Pick kernel size 5 or larger." if fit else
                   "Raise sigma and gamma (or turn the fit on at size 5 or larger)."))
    k, x = ks[same[0]]
    return (f"The {same[0]} kernel is practically the identity with {x.param_name} = "
            f"{k.param:.3g} (every frequency passes with at least "
            f"{1 - teaching.IDENTITY_TOL:.0%}): it filters nothing.")


def same_size(fit: bool, size: int, st_g: teaching.KernelStats,
               st_s: teaching.KernelStats, both_identity: bool) -> str:
    """The equal-size comparison in words, each clause chosen from the widths and the
    Nyquist gains (Sec. 2.7 fits both kernels to one size)."""
    vs, vg = st_s.std**2, st_g.std**2
    if both_identity:
        return (f"**Same size** ({size}x{size}): both kernels are the identity here "
                f"(variance {px2(vs)} and {px2(vg)}), so there is no width or shape to "
                "compare.")
    head = (f"**Same size** ({size}x{size}, {'as fitted' if fit else 'set by hand'}): the "
            f"Sobolev kernel has variance {vs:.2f} px² and the Gaussian {vg:.2f} px²")
    a, b = st_s.nyquist_gain, st_g.nyquist_gain
    gain, nums = teaching.compare(a, b), f"({teaching.percent(a)} vs {teaching.percent(b)})"
    width = ("narrower" if st_s.std < 0.9 * st_g.std else
             "wider" if st_g.std < 0.9 * st_s.std else "close")
    if width == "close":
        text = (f"{head}, close enough that this comparison is one of shape: the Sobolev "
                "filter passes " + teaching.gain_phrase(a, b, "at Nyquist", "the Gaussian")
                + ".")
    else:
        text = head + ", so this comparison mixes shape and width: " + {
            ("narrower", "more"): f"part of the Sobolev filter's extra high-frequency gain "
                                  f"{nums} is only that it is narrower.",
            ("narrower", "less"): f"though it is the narrower kernel, the Sobolev filter "
                                  f"passes less of the highest frequency {nums}, so width "
                                  "does not explain the difference here.",
            ("narrower", "same"): "though it is the narrower kernel, the Sobolev filter "
                                  f"passes about as much of the highest frequency {nums}.",
            ("wider", "more"): f"though it is the wider kernel, the Sobolev filter passes "
                               f"more of the highest frequency {nums}: that extra gain is "
                               "not from its width.",
            ("wider", "less"): f"part of the Sobolev filter's lower high-frequency gain "
                               f"{nums} is only that it is wider.",
            ("wider", "same"): "though it is the wider kernel, the Sobolev filter passes "
                               f"about as much of the highest frequency {nums}.",
        }[width, gain]
    cut = [x.label for x in (st_s, st_g) if x.truncated]
    if cut:
        text += (f" {' and '.join(cut)} {'is' if len(cut) == 1 else 'are'} cut off by the "
                 "size (the warning above), which changes the spectrum too.")
    return text


def sampled_gaussian(sigma: float, f: float) -> float:
    """|H(f)| of G_sigma sampled on the pixel grid, unit sum, not truncated: the formula
    plus its copies shifted by whole cycles / pixel (aliasing; Poisson's summation
    formula), over their sum at f = 0. At Nyquist it is up to twice the formula's gain.

    >>> round(sampled_gaussian(1.0, 0.5) / float(gaussian_transfer(1.0, 0.5)), 3)
    2.0
    >>> round(sampled_gaussian(0.05, 0.5), 6)  # a sampled G_0.05 is the identity
    1.0
    """
    k = np.arange(-int(3 / (np.pi * sigma)) - 3, int(3 / (np.pi * sigma)) + 4)
    return float(abs(gaussian_transfer(sigma, f + k).sum()) / gaussian_transfer(sigma, k).sum())


def gaussian_gap(plotted: float, formula: float, sampled: float) -> str:
    """Why the Gaussian's plotted gain at Nyquist differs from the formula's, in words:
    ``sampled`` (:func:`sampled_gaussian`) less the formula is aliasing, ``plotted`` less
    ``sampled`` is truncation; the larger one is named (both where the smaller is over a
    quarter of it), with the ratio to the formula while that is a readable number (past
    1000 times, more than aliasing's 2 times: truncation).

    >>> gaussian_gap(0.0089, 0.00443, 0.00886)
    "about 2 times the formula's gain, from aliasing"
    >>> gaussian_gap(7.7e-5, 8e-7, 1.75e-6)
    "about 96 times the formula's gain, mostly from truncation"
    >>> gaussian_gap(3.5e-4, 8.8e-22, 1.8e-21)
    "the formula's gain is practically 0 here, so the plotted gain is truncation"
    """
    alias, cut = abs(sampled - formula), abs(plotted - sampled)
    cause = ("from aliasing and truncation" if min(alias, cut) > 0.25 * max(alias, cut) else
             "from aliasing" if alias > cut else "mostly from truncation")
    if formula > 0 and abs(plotted / formula - 1) <= 0.1:
        return "within 10% of the formula's gain"
    if plotted < formula:
        return f"less than the formula's gain, {cause}"
    if formula > 0 and plotted / formula <= 1000:
        return f"about {plotted / formula:.2g} times the formula's gain, {cause}"
    return "the formula's gain is practically 0 here, so the plotted gain is truncation"


def formulas(g: Kernel, s: Kernel) -> str:
    """The formulas the |H| charts follow and their units, with the values at Nyquist for
    the Gaussian ``g`` and the Sobolev kernel ``s`` shown: the plotted DFT of the kernel as
    built, the discrete symbol of eq. 16 (5-point Laplacian), eq. 16's continuous Fourier
    form, and the Gaussian's transfer function."""
    gamma, sigma, k = s.param, g.param, s.spec.order
    power = "" if k == 1 else f"^{{{k}}}"
    nyq = {name: float(teaching.axial_response(x, 128)[1][-1]) for name, x in
           (("s", s), ("g", g))}
    pct = teaching.percent
    formula, sampled = float(gaussian_transfer(sigma, 0.5)), sampled_gaussian(sigma, 0.5)
    return (
        r"**Units.** $\sigma$ in pixels, $\gamma$ in px² ($\Delta$ is the 5-point "
        r"Laplacian, in px⁻²), frequency $f$ in cycles / pixel (Nyquist: $f = 1/2$; "
        r"$\omega = 2\pi f$ in radians / pixel), variances in px²." "\n\n"
        r"**What the |H| charts show:** the magnitude of the discrete Fourier transform of "
        r"each kernel as built (its size x size grid, unit sum, truncation included). It "
        r"follows these formulas (along $f_x$, $f_y = 0$):" "\n\n"
        r"- **Sobolev**, eq. 16 with the discrete Laplacian: $H(f) = 1 / \left(1 + 4\gamma"
        r"\,[\sin^2(\pi f_x) + \sin^2(\pi f_y)]\right)" + power + r"$, the symbol of "
        r"the discrete operator (exact for the untruncated filter; order $k$: its $k$-th "
        r"power). Eq. 16's continuous "
        r"Fourier form $1 / (1 + \gamma |\omega|^2)" + power + r"$ agrees at low "
        r"frequencies ($4 \sin^2(\pi f) \approx (2\pi f)^2$) and falls lower towards "
        r"Nyquist, where it has $\pi^2 \approx 9.87$ in place of 4." "\n"
        r"- **Gaussian**: $H(f) = e^{-2\pi^2\sigma^2 |f|^2}$, the transfer function of "
        r"$G_\sigma$. The kernel as built departs from it near Nyquist for two reasons. "
        r"*Aliasing*: sampled on the pixel grid, its spectrum is the formula plus copies "
        r"of it shifted by whole cycles / pixel; at $f = 1/2$ the nearest copy equals the "
        r"formula itself, so the gain there is up to twice the formula's (a visible gain "
        r"only while $\sigma$ is below about 1.5 px). *Truncation*: the kernel is cut off "
        r"at its size, and the fit of Sec. 2.7 leaves up to "
        f"{FIT_THRESHOLD:g}" r" of the weight per tap on the outermost ring; that edge "
        r"passes a small gain of its own, which with the fit grows with the size and is "
        r"practically all of the plotted gain at Nyquist from size 13 up, where the "
        r"formula's is practically 0." "\n\n"
        f"At these settings, at Nyquist: Sobolev ($\\gamma$ = {gamma:.3g}"
        + ("" if k == 1 else f", k = {k}") + f") plotted {pct(nyq['s'])}, discrete "
        f"formula {pct(float(sobolev_symbol(gamma, 0.5, order=k)))}, continuous form "
        f"{pct(float(sobolev_fourier(gamma, 0.5, k)))}; Gaussian ($\\sigma$ = "
        f"{sigma:.3g} px) plotted {pct(nyq['g'])}, formula {pct(formula)}, sampled without "
        f"truncation {pct(sampled)}: {gaussian_gap(nyq['g'], formula, sampled)}.")
