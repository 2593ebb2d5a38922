"""The Learn demons page's readings of its 1D example (eq. 18 on a signal, no Streamlit):
each sentence chosen from the computed band energies, errors and curves at the step shown,
so that none says more than the numbers do: the fluid scheme (eq. 8) changes the path, the
elastic schemes (eqs. 6, 18) the solution (eqs. 11-12), and "stop at a regularized
solution" only once their curves have settled (:func:`dashboard.teaching.settled`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from dashboard import teaching
from viz_core.kernels import Kernel

__all__ = ["MAX_STEPS", "TARGET", "identity_note", "reading_am", "reading_identity",
           "reading_inversion", "share"]

TARGET = "target w"
MAX_STEPS = 500  # the Steps slider's maximum


def share(a: float, b: float) -> str:
    """``a / b`` as a percentage, with a digit more below 10% and two significant digits
    below 1% (0.4% does not read 0%, and two small shares do not read alike)."""
    if not b > 0:
        return "n/a"
    r = a / b
    return f"{r:.0%}" if r >= 0.095 else teaching.percent(r)


def reading_inversion(step: int, steps: int, run: teaching.ToyRun, bands: dict,
                      noise: float) -> str:
    """What the signals at ``step`` (of ``steps``) show, from their band energies and
    errors: fluid (eq. 8) changes the path, elastic (eqs. 6, 18) the solution (eq. 12);
    "stop at a regularized solution" only once the elastic curves have settled
    (:func:`dashboard.teaching.settled`)."""
    if step == 0:
        return ("**Reading it (t = 0):** every scheme starts from the same signal; move "
                "*Show step t* to see them part.")
    now = run.at(step)
    err = {k: float(np.sqrt(np.mean((v - run.target) ** 2))) for k, v in now.items()}
    return " ".join([f"**Reading it (step t = {step}):** plain GD is at RMS error "
                     f"{err['plain']:.3f} from the target, fluid at {err['fluid']:.3f}.",
                     _fluid(bands, noise, teaching.settled(run.signals["fluid"], step)),
                     _elastic(step, steps, run, bands)])


def _fluid(bands: dict, noise: float, rest: bool) -> str:
    """The fluid scheme (eq. 8) against the target, band by band; ``rest``: its curve has
    settled (:func:`dashboard.teaching.settled`)."""
    tf, tc = bands[TARGET]["fine"], bands[TARGET]["coarse"]
    fl, fc = bands["fluid"]["fine"], bands["fluid"]["coarse"]
    if fl < 0.8 * tf:
        if fc / max(tc, 1e-30) > 1.2 * fl / max(tf, 1e-30):
            return (f"The fluid scheme has built up {share(fc, tc)} of the target's "
                    f"coarse-band energy but only {share(fl, tf)} of its fine-band "
                    "energy: its filtered updates bring the coarse scales first and the fine "
                    "ones last, a smoother path to the same minimizer" +
                    (", which it has all but stopped approaching: the kernel passes the "
                     "fine frequencies so weakly that they would take far more steps."
                     if rest else "."))
        return (f"The fluid scheme has built up {share(fl, tf)} of the target's fine-band "
                f"energy and {share(fc, tc)} of its coarse-band energy so far.")
    if fl > 1.2 * tf and noise > 0:
        return (f"The fluid scheme carries {share(fl, tf)} of the target's fine-band "
                f"energy: the fine noise of the start (std {noise:g}) is still there, "
                "because the filtered update barely touches those frequencies.")
    if fl > 1.2 * tf:  # no noise to keep: the kernel pushes those frequencies away
        return (f"The fluid scheme carries {share(fl, tf)} of the target's fine-band "
                "energy, from a start without noise: where the kernel's frequency "
                "response is negative (a wide Gaussian cut to a small size is nearly a box "
                "filter), the filtered update moves those frequencies away from the "
                "target at every step.")
    if all(0.8 * v <= bands["fluid"][b] <= 1.2 * v for b, v in bands[TARGET].items()):
        return ("The fluid scheme has caught up in every band (fine-band energy "
                f"{share(fl, tf)} of the target's, coarse {share(fc, tc)}).")
    return (f"The fluid scheme has {share(fl, tf)} of the target's fine-band energy but "
            f"{share(fc, tc)} of its coarse-band energy so far.")


def _elastic(step: int, steps: int, run: teaching.ToyRun, bands: dict) -> str:
    """The elastic schemes (eqs. 6, 18): where they have settled, what they keep (the
    regularized solution, eq. 12); before that, what they have so far."""
    tf, tc = bands[TARGET]["fine"], bands[TARGET]["coarse"]
    coarse, el, fe = (bands["elastic"]["coarse"], bands["elastic"]["fine"],
                      bands["fluid-elastic"]["fine"])
    c_share, f_share = coarse / max(tc, 1e-30), max(el, fe) / max(tf, 1e-30)
    held = c_share > 1.5 * f_share  # coarse kept, fine held back
    fine = f"{share(el, tf)} (elastic) and {share(fe, tf)} (fluid-elastic)"
    if all(teaching.settled(run.signals[k], step) for k in ("elastic", "fluid-elastic")):
        if held:
            return (f"The elastic schemes have settled: they keep {share(coarse, tc)} of the "
                    f"coarse energy but only {fine} of the fine: they filter the whole "
                    "solution every step and stop at a *regularized* solution, not only on "
                    "another path.")
        return (f"The elastic schemes have settled with {share(coarse, tc)} of the "
                f"target's coarse energy and {fine} of its fine energy: with this kernel "
                "they hold the fine scales back " +
                ("only a little." if f_share < c_share else "no more than the coarse ones."))
    if held:
        text = (f"The elastic schemes have so far built up {share(coarse, tc)} of the "
                f"target's coarse energy but only {fine} of its fine energy: they filter "
                "the whole solution every step, so the fine scales lag behind")
    else:
        text = (f"The elastic schemes have so far {share(coarse, tc)} of the target's "
                f"coarse energy and {fine} of its fine energy")
    if step < steps:
        return text + ("; move *Show step t* on to see where they settle." if held else
                       "; move *Show step t* on to see whether they keep the coarse scales "
                       "and hold back the fine ones.")
    # the last step: no hint to move a slider that is at its end
    return text + ("; they have not settled by this last step" +
                   ("; more *Steps* run them further." if steps < MAX_STEPS else "."))


def reading_identity(step: int, run: teaching.ToyRun, task: str) -> str:
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


def identity_note(s: Mapping[str, Any], kernel: Kernel) -> str:
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


def reading_am(step: int, run: teaching.ToyRun, bands: dict) -> str:
    """Activation maximization (eq. 4) with a linear 'neuron': how many samples reach the
    bounds, and how much fine structure the elastic schemes let through; "copying every
    wiggle" only once plain GD has saturated most samples."""
    now = run.at(step)
    sat = {k: float(np.mean(np.abs(v) > 0.99)) for k, v in now.items()}
    pf = bands["plain"]["fine"]
    head = (f"**Reading it (step t = {step}):** with a linear 'neuron' $w$ and clipping to "
            "$[-1, 1]$, ")
    if sat["plain"] >= 0.5:
        plain_gd = (f"plain GD drives {sat['plain']:.0%} of the samples to the bounds, "
                    f"copying the sign of every wiggle of $w$; fluid demons "
                    f"{sat['fluid']:.0%}.")
    else:
        plain_gd = (f"plain GD has {sat['plain']:.0%} of the samples at the bounds so far "
                    f"(fluid demons {sat['fluid']:.0%}): every sample moves towards the sign "
                    "of $w$, fine wiggles included.")
    rest = all(teaching.settled(run.signals[k], step) for k in ("elastic", "fluid-elastic"))
    return (head + plain_gd + " The elastic schemes filter the solution every step: "
            f"{sat['elastic']:.0%} (elastic) and {sat['fluid-elastic']:.0%} (fluid-elastic) "
            f"of the samples are at the bounds{'' if rest else ' so far'}, with "
            f"{share(bands['elastic']['fine'], pf)} and "
            f"{share(bands['fluid-elastic']['fine'], pf)} of plain GD's fine-band energy.")
