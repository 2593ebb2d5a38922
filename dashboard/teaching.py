"""Numerics for the explanatory pages: kernel statistics and a tiny 1D demons example.

Kernel explorer (Sec. 2.2-2.4, 2.7): fitted Gaussian vs Sobolev parameters, axial
frequency responses (the formulas they follow: :mod:`dashboard.kernel_texts`), and how n
elastic steps compound a kernel (``K^n``, eqs. 11-12) while a fluid scheme filters every
gradient once (eqs. 9-10).

1D example (eq. 18 on a signal of 256 samples): a target with coarse, medium and fine
structure and a noisy start, optimised by plain GD (eq. 5), fluid (eq. 8), elastic (eq. 6)
and fluid-elastic (eq. 18) demons with the same kernel, so a page can show where each
scheme puts coarse and fine scales. The kernels are the engine's own
(:func:`viz_core.kernels.build`), acting as on an image that is constant along y with the
periodic border; the four schemes run at once through their transfer functions, the same
numbers as the engine's update (:func:`viz_core.schemes.demons_step`) in microseconds a step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from viz_core.errors import VizError
from viz_core.kernel_fitting import FIT_THRESHOLD, SIZED_KINDS, ring_max
from viz_core.kernels import Kernel, KernelSpec, build
from viz_core.schemes import STRUCTURE_SLOTS

TOY_SCHEMES = ("plain", "fluid", "elastic", "fluid-elastic")
TOY_TASKS = ("inversion", "am")
#: A kernel passing every frequency with at least 1 - IDENTITY_TOL filters nothing.
IDENTITY_TOL = 0.01
BANDS = (("coarse", 0.0, 1 / 32), ("medium", 1 / 32, 1 / 8), ("fine", 1 / 8, 0.5 + 1e-9))
#: A trajectory has settled when its last steps moved it less than this share of the way it
#: has come (:func:`settled`).
SETTLED_TOL = 0.005


# ----------------------------------------------------------------------------- kernels

def axial_response(kernel: Kernel, n: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """|H| along the horizontal frequency axis, 0 .. 0.5 cycles/pixel (Nyquist)."""
    resp = kernel.frequency_response(n)
    c = resp.shape[0] // 2
    row = resp[c, c:]
    return np.arange(row.size) / resp.shape[0], row


def kernel_std(kernel: Kernel) -> float:
    """Per-axis standard deviation (pixels) of a spatial kernel, 0 for spectral ones."""
    if kernel.weights is None:
        return 0.0
    w = kernel.weights.double().numpy()
    w = w / w.sum()
    r = np.arange(w.shape[0]) - w.shape[0] // 2
    return float(math.sqrt((w.sum(axis=0) * r**2).sum()))


@dataclass
class KernelStats:
    """What the explorer tabulates for one kernel."""

    label: str
    param_name: str
    param: float
    center: float
    std: float
    nyquist_gain: float
    half_nyquist_gain: float
    edge: float

    @property
    def truncated(self) -> bool:
        """True when the outermost ring holds more than the fitting rule allows (Sec. 2.7)."""
        return self.edge > FIT_THRESHOLD * (1 + 1e-6)


def edge_weight(kernel: Kernel) -> float:
    """Largest entry of the outermost ring of the unit-sum kernel: the fitting rule of
    Sec. 2.7 keeps it <= 1e-4; above that, the kernel is cut off by its size."""
    if kernel.weights is None or kernel.size < 3:
        return 0.0
    w = kernel.weights.double().numpy()
    return ring_max(w / w.sum())


def kernel_stats(kernel: Kernel, label: str) -> KernelStats:
    """Fitted parameter, centre tap, std, axial gains at Nyquist and at half of it, and the
    edge weight (truncation) of a kernel."""
    name = {"gaussian": "sigma", "sobolev": "gamma"}.get(kernel.spec.kind, "param")
    centre = (float(kernel.weights[kernel.size // 2, kernel.size // 2])
              if kernel.weights is not None else float("nan"))
    _, resp = axial_response(kernel, 128)
    return KernelStats(label, name, kernel.param, centre, kernel_std(kernel), float(resp[-1]),
                       float(resp[resp.size // 2]), edge_weight(kernel))


def equal_variance_gaussian(kernel: Kernel) -> Kernel:
    """The Gaussian of the same per-axis variance as ``kernel``, on a grid of the same size
    (or larger, up to 3 sigma each side), so the two can be compared at equal width."""
    sigma = max(kernel_std(kernel), 1e-3)
    size = max(kernel.size, 2 * math.ceil(3 * sigma) + 1)
    return build(KernelSpec("gaussian", sigma, size))


def comparison_kernels(size: int, order: int = 2) -> dict[str, Kernel]:
    """Gaussian, Sobolev (k = 1) and Sobolev of ``order`` fitted to ``size`` (Sec. 2.7)."""
    out = {"Gaussian": build(KernelSpec("gaussian", None, size)),
           "Sobolev k=1": build(KernelSpec("sobolev", None, size, 1))}
    if order > 1:
        out[f"Sobolev k={order}"] = build(KernelSpec("sobolev", None, size, order))
    return out


def elastic_powers(kernel: Kernel, ns: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Centre profiles of ``K^n`` (n elastic steps, eqs. 11-12): {n: (x, profile)}.

    The same values as :func:`viz_core.kernels.power`, computed through the FFT on a grid
    exactly the support of ``K^n`` (``n*(s-1)+1``, centred), so there is no wrap-around."""
    if kernel.weights is None or not ns:
        return {}
    w = kernel.weights.double().numpy() * kernel.scale
    s = w.shape[0]
    out = {}
    for m in sorted(set(ns)):
        size = m * (s - 1) + 1
        grid = np.zeros((size, size))
        grid[:s, :s] = w
        h = np.fft.rfft2(grid)
        km = np.fft.irfft2(h**m, s=(size, size))
        row = km[size // 2]
        out[m] = (np.arange(size) - size // 2, row)
    return out


def accumulated_responses(kernel: Kernel, n: int, grid: int = 128
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How n steps weight a constant gradient, per frequency, normalised to 1 at f = 0.

    Fluid (eq. 10): every update is filtered once, sum = n H -> ``H``. Elastic (eq. 12):
    the update of step i is filtered n - i + 1 times, sum_m H^m -> ``sum_{m=1..n} H^m / n``,
    which falls off exponentially at frequencies where H < 1. Returns (freq, fluid, elastic).
    """
    if n < 1:
        raise VizError("number of steps n must be >= 1", field="n")
    freq, h = axial_response(kernel, grid)
    h = np.clip(h, 0.0, 1.0)
    elastic = np.array([np.sum(v ** np.arange(1, n + 1)) / n for v in h])
    return freq, h, elastic


def std_growth(kernel: Kernel, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Width (std) of the filter applied to an update m = 1..n steps old: fluid stays at
    std(K); elastic grows like sqrt(m) std(K) (variances add under convolution, so the
    paper's footnote 'G_2sigma = G_sigma * G_sigma' is really G_sqrt2 sigma)."""
    m = np.arange(1, n + 1)
    s = kernel_std(kernel)
    return m, np.full(n, s), np.sqrt(m) * s


def is_identity_like(kernel: Kernel, tol: float = IDENTITY_TOL) -> bool:
    """True when ``kernel`` passes every frequency with at least ``1 - tol`` of its amplitude:
    it filters nothing, and eq. 18 with it in both slots is plain gradient descent (eq. 5).

    The fitting rule of Sec. 2.7 gives such a kernel at size 3 (every tap but the centre is
    on the outermost ring, which may hold at most 1e-4 each), as does a hand-set sigma or
    gamma far below a pixel."""
    return float(kernel.frequency_response(64).min()) >= 1.0 - tol


def start_value(kernel: Kernel, lo: float, hi: float) -> float:
    """The parameter of a fitted ``kernel`` (Sec. 2.7) as a hand slider's start value:
    clamped to ``[lo, hi]`` and rounded down to 6 significant digits (a short URL; rounding
    down keeps the outermost ring within the fitting rule's 1e-4, so the kernel is not
    flagged as truncated).

    >>> start_value(build(KernelSpec("gaussian", None, 21)), 0.05, 6.0)
    3.13448
    >>> start_value(build(KernelSpec("sobolev", None, 3)), 0.01, 10.0)
    0.01
    """
    p = float(kernel.param)
    if p > 0:
        q = 10.0 ** (math.floor(math.log10(p)) - 5)
        p = math.floor(p / q * (1 + 1e-12)) * q
        p = float(f"{p:.6g}")
    return min(max(p, lo), hi)


# ----------------------------------------------------------------------------- wording

def percent(x: float) -> str:
    """A gain as a percentage with enough digits that a small one does not read 0.0%:
    one decimal from 1% up, two significant digits below.

    >>> percent(0.3957), percent(0.0339), percent(0.000193), percent(0.0), percent(1e-9)
    ('39.6%', '3.4%', '0.019%', '0%', '< 0.0001%')
    """
    p = 100.0 * x
    if p == 0:
        return "0%"
    if abs(p) >= 1:
        return f"{p:.1f}%"
    if abs(p) < 1e-4:
        return "< 0.0001%"
    return f"{p:.{1 - math.floor(math.log10(abs(p)))}f}%"


def times_as_much(ratio: float) -> str:
    """A ratio > 1 in words, never in scientific notation.

    >>> times_as_much(1.6), times_as_much(129.4), times_as_much(2050.0)
    ('1.6 times as much', '129 times as much', 'over 1,000 times as much')
    """
    if ratio >= 1000:
        return "over 1,000 times as much"
    return f"{ratio:.1f} times as much" if ratio < 10 else f"{ratio:.0f} times as much"


def compare(a: float, b: float, margin: float = 1.25) -> str:
    """``"more"``, ``"less"`` or ``"same"``: ``a`` against ``b`` with a margin of 25%."""
    if a > margin * b:
        return "more"
    return "less" if b > margin * a else "same"


def gain_phrase(a: float, b: float, what: str, other: str) -> str:
    """"more / less <what> than <other>" or "about as much <what> as <other>", with both
    gains and, for more, the factor: the words follow the numbers.

    >>> gain_phrase(0.396, 0.00019, "at Nyquist", "the Gaussian")
    'more at Nyquist than the Gaussian (39.6% vs 0.019%, over 1,000 times as much)'
    >>> gain_phrase(0.962, 1.0, "at Nyquist", "the Gaussian")
    'about as much at Nyquist as the Gaussian (96.2% vs 100.0%)'
    """
    nums = f"{percent(a)} vs {percent(b)}"
    how = compare(a, b)
    if how == "more":
        return f"more {what} than {other} ({nums}, {times_as_much(a / max(b, 1e-300))})"
    if how == "less":
        return f"less {what} than {other} ({nums})"
    return f"about as much {what} as {other} ({nums})"


# ----------------------------------------------------------------------------- 1D example

def toy_kernel(kind: str, size: int, param: float | None = None, order: int = 1) -> Kernel:
    """The engine's 2D kernel of the 1D example (:func:`viz_core.kernels.build`); ``param=None``
    fits it to ``size`` by the rule of Sec. 2.7. Identity for ``kind="identity"``."""
    if kind == "identity":
        return build(KernelSpec("identity", None, 1))
    if kind not in SIZED_KINDS:
        raise VizError(f"the 1D example uses gaussian or sobolev kernels, not {kind!r}",
                       field="kind")
    return build(KernelSpec(kind, param, size, order if kind == "sobolev" else 1))


def kernel_1d(kernel: Kernel) -> np.ndarray:
    """The 1D filter a 2D kernel applies to a signal that is constant along y: the sum of
    its rows (exactly the sampled 1D Gaussian for ``G_sigma``, which is separable)."""
    if kernel.weights is None:
        raise VizError("spectral kernels have no spatial 1D profile", field="kind")
    return kernel.weights.double().sum(0).numpy() * kernel.scale


def toy_target(n: int = 256) -> np.ndarray:
    """A target signal with coarse (a wide bump and a step), medium (a wave packet) and
    fine (a high-frequency burst) structure, in [-1, 1]."""
    x = np.arange(n) / n
    coarse = 0.6 * np.exp(-((x - 0.25) / 0.09) ** 2) + 0.4 * (x > 0.55) - 0.2
    medium = 0.3 * np.sin(2 * np.pi * 10 * x) * np.exp(-((x - 0.7) / 0.08) ** 2)
    fine = 0.3 * np.sin(2 * np.pi * 48 * x) * ((x > 0.38) & (x < 0.5))
    return np.clip(coarse + medium + fine, -1, 1)


@dataclass
class ToyRun:
    """Trajectories of the four schemes: ``signals[scheme]`` is (steps + 1, n)."""

    target: np.ndarray
    start: np.ndarray
    signals: dict[str, np.ndarray]
    kernel: np.ndarray

    def at(self, step: int) -> dict[str, np.ndarray]:
        return {k: v[min(step, v.shape[0] - 1)] for k, v in self.signals.items()}


def transfer_1d(kernel: Kernel, n: int) -> np.ndarray:
    """The transfer function (rfft, ``n // 2 + 1`` values) of the 1D filter
    :func:`kernel_1d` of ``kernel`` on ``n`` samples with the periodic border: filtering a
    signal is multiplying its spectrum by this (circular convolution)."""
    k = kernel_1d(kernel)
    wrapped = np.zeros(n)
    np.add.at(wrapped, (np.arange(k.size) - k.size // 2) % n, k)
    return np.fft.rfft(wrapped)


def toy_multipliers(kernel: Kernel, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Fluid and elastic transfer functions of the four schemes of :data:`TOY_SCHEMES`
    (one row each, (4, n // 2 + 1)); an empty slot of eq. 18 (``K = delta``) passes all."""
    h = transfer_1d(kernel, n)
    one = np.ones_like(h)
    slots = [STRUCTURE_SLOTS[name] for name in TOY_SCHEMES]
    return (np.stack([h if f else one for f, _ in slots]),
            np.stack([h if e else one for _, e in slots]))


def run_toy(kind: str = "gaussian", size: int = 9, param: float | None = None,
            tau: float = 0.3, steps: int = 100, task: str = "inversion", order: int = 1,
            noise: float = 0.3, seed: int = 0, n: int = 256) -> ToyRun:
    """Run plain / fluid / elastic / fluid-elastic demons on the 1D toy problem: eq. 18,
    ``u <- Ke * (u - tau Kf * grad D(u))``, for the four schemes at once.

    The kernels are the engine's own (:func:`toy_kernel`), acting along x as their row sums
    (:func:`kernel_1d`) with the periodic border, as on an image constant along y; the
    filtering is a product with their transfer functions (:func:`toy_multipliers`), so a
    step costs a few microseconds (the same numbers as the engine's update,
    :func:`viz_core.schemes.demons_step` with ``border="circular"``; a test checks it).
    ``task="inversion"``: D(u) = ||u - w||^2 / 2, gradient u - w (eq. 3 with Phi = Id),
    linear, so the whole run stays in the frequency domain; ``task="am"``: D(u) = -<w, u>
    with u clipped to [-1, 1] after each step (eq. 4 with a linear "neuron" w and the
    pixel-range clipping of the real engine). ``tau`` is the raw step (no normalisation).
    """
    if task not in TOY_TASKS:
        raise VizError(f"task must be one of {', '.join(TOY_TASKS)}", field="task")
    if not (math.isfinite(tau) and 0 < tau <= 2):
        raise VizError(f"step size tau must be in (0, 2], got {tau}", field="tau")
    if not 1 <= steps <= 2000:
        raise VizError(f"steps must be in 1..2000, got {steps}", field="steps")
    kernel = toy_kernel(kind, size, param, order)
    hf, he = toy_multipliers(kernel, n)
    w = toy_target(n)
    u0 = np.random.default_rng(seed).normal(0.0, noise, n)
    m = len(TOY_SCHEMES)
    w_hat = np.fft.rfft(w)
    if task == "inversion":  # u <- He (u - tau Hf (u - w)) = a u + b, per frequency
        a, b = he * (1 - tau * hf), tau * he * hf * w_hat
        spec = np.empty((m, steps + 1, w_hat.size), dtype=complex)
        spec[:, 0] = np.fft.rfft(u0)
        for t in range(steps):
            spec[:, t + 1] = a * spec[:, t] + b
        hist = np.fft.irfft(spec, n, axis=-1)
    else:  # u <- clip(Ke * (u + tau Kf * w)): the clip is per sample, a step at a time
        push = tau * hf * w_hat
        hist = np.empty((m, steps + 1, n))
        hist[:, 0] = u0
        for t in range(steps):
            step = np.fft.irfft(he * (np.fft.rfft(hist[:, t], axis=-1) + push), n, axis=-1)
            hist[:, t + 1] = np.clip(step, -1.0, 1.0)
    return ToyRun(w, u0, dict(zip(TOY_SCHEMES, hist)), kernel_1d(kernel))


def settled(signal: np.ndarray, step: int, tol: float = SETTLED_TOL) -> bool:
    """Whether a trajectory (steps + 1, n) has come to rest at ``step``: over its last
    ``min(10, ceil(step / 2))`` steps it moved less than ``tol`` of the way it has come
    from the start (RMS). Never at steps 0 and 1 (the change is then the whole way)."""
    step = min(step, signal.shape[0] - 1)
    if step < 2:
        return False
    k = min(10, (step + 1) // 2)
    moved = float(np.sqrt(np.mean((signal[step] - signal[0]) ** 2)))
    last = float(np.sqrt(np.mean((signal[step] - signal[step - k]) ** 2)))
    return moved > 0 and last <= tol * moved


def band_energy(u: np.ndarray) -> dict[str, float]:
    """Energy of a 1D signal (mean removed) in the coarse / medium / fine frequency bands
    (< 1/32, 1/32..1/8, > 1/8 cycles per sample); the three sum to the signal's variance."""
    u = np.asarray(u, dtype=np.float64)
    n = u.size
    p = np.abs(np.fft.rfft(u - u.mean())) ** 2
    p[1:(n + 1) // 2] *= 2  # one-sided spectrum
    f = np.fft.rfftfreq(n)
    return {name: float(p[(f >= lo) & (f < hi)].sum() / n**2) for name, lo, hi in BANDS}


def amplitude_spectrum(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frequency in cycles/sample, |U(f)|) of a 1D signal for f > 0."""
    u = np.asarray(u, dtype=np.float64)
    return np.fft.rfftfreq(u.size)[1:], np.abs(np.fft.rfft(u))[1:] / u.size
