"""The one demons update (eq. 18) with optional total variation (eqs. 19-20).

    u <- c + Ke * (u - c - tau * Kf * (g + lambda * grad TV_eps(u)))      (eq. 18 + eq. 5)

with ``c`` the mean image (unit-sum kernels commute with adding a constant, so for them
this is exactly eq. 18; it makes L2 decay shrink towards the mean image as in Simonyan et
al.'s mean-subtracted space). Special cases, all settings of the same update:

* plain gradient descent (eq. 5): ``Kf = Ke = delta``;
* fluid demons (eqs. 8, 17): ``Ke = delta``;
* elastic demons (eq. 6): ``Kf = delta``;
* fluid-elastic demons (eq. 18): both;
* TV (eqs. 19-20): ``lambda > 0``, with any of the above;
* Yosinski et al.'s "blur every k steps": ``elastic_every = k``;
* Simonyan et al.'s L2 decay: ``Ke = (1 - lambda tau) delta`` (kernel kind ``decay``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from viz_core.errors import VizError
from viz_core.fused_step import FusedBank, descend
from viz_core.kernel_batch import KernelBatch
from viz_core.kernels import (
    BORDERS,
    SIZED_KINDS,
    Kernel,
    KernelSpec,
    build,
    validate_spec,
)
from viz_core.tv import tv_energy, tv_gradient, tv_work

# ----------------------------------------------------------------------------- registry

#: The structures of eq. 18 (which slots hold a kernel), plus TV (eqs. 19-20).
STRUCTURES = ("plain", "fluid", "elastic", "fluid-elastic", "tv")
#: Which slots (fluid Kf, elastic Ke) hold a kernel in each structure of eq. 18.
STRUCTURE_SLOTS: dict[str, tuple[bool, bool]] = {
    "plain": (False, False), "fluid": (True, False), "elastic": (False, True),
    "fluid-elastic": (True, True)}
#: Kernel kinds allowed in each slot (Sec. 2.2-2.4; ``spectral`` is the Fourier
#: preconditioner of Lucid/Lucent, ``decay`` Simonyan et al.'s L2 decay).
FLUID_KINDS = ("identity", "gaussian", "sobolev", "spectral")
ELASTIC_KINDS = ("identity", "gaussian", "sobolev", "decay")
#: The value of :func:`scheme_of` for a configuration that is no named scheme.
CUSTOM = "custom"

_KIND_TITLES = {"gaussian": "Gaussian", "sobolev": "Sobolev", "spectral": "spectral"}

__all__ = ["BORDERS", "CUSTOM", "ELASTIC_KINDS", "FIG1_ROWS", "FIG1_SCHEMES", "FLUID_KINDS",
           "OFFLINE_SCHEMES", "PAPER_INVERSION_SCHEMES", "SCHEME_REGISTRY", "SIZED_KINDS",
           "STRUCTURES", "STRUCTURE_SLOTS", "TABLE1_SCHEMES", "NamedScheme", "Scheme",
           "SchemeBank", "demons_step", "get_scheme", "scheme_aliases", "scheme_key", "scheme_of",
           "structure_of", "tv_energy", "tv_gradient"]


def structure_of(fluid: bool, elastic: bool) -> str:
    """The structure of eq. 18 whose filled slots are ``fluid`` (Kf) and ``elastic`` (Ke):
    ``plain`` (eq. 5), ``fluid`` (eqs. 8, 17), ``elastic`` (eq. 6) or ``fluid-elastic``."""
    return {v: k for k, v in STRUCTURE_SLOTS.items()}[(bool(fluid), bool(elastic))]


@dataclass(frozen=True)
class NamedScheme:
    """One named regularization scheme: a structure of eq. 18 and the kernel kind in its
    filled slot(s). ``key`` is the one canonical name, used in result files and URLs;
    ``title`` is what people read. Kernel parameters are not part of the name: they are
    fitted to a size (Sec. 2.7) or tuned per preset."""

    key: str
    title: str
    structure: str                 # one of STRUCTURES
    kind: str | None = None        # gaussian / sobolev / spectral; None for plain and TV
    label: str = ""                # short name of a grid cell or a run ("Sobolev fluid")
    param: float | None = None     # a kernel parameter the scheme fixes (None: fitted)

    @property
    def fluid_kind(self) -> str | None:
        return self.kind if STRUCTURE_SLOTS.get(self.structure, (False, False))[0] else None

    @property
    def elastic_kind(self) -> str | None:
        return self.kind if STRUCTURE_SLOTS.get(self.structure, (False, False))[1] else None

    @property
    def uses_tv(self) -> bool:
        return self.structure == "tv"

    def kernels(self, size: int) -> tuple[KernelSpec | None, KernelSpec | None]:
        """The fluid and elastic kernel specs, parameter fitted to ``size`` (Sec. 2.7)
        unless the scheme fixes it."""
        f, e = self.fluid_kind, self.elastic_kind
        return (KernelSpec(f, self.param, size) if f else None,
                KernelSpec(e, self.param, size) if e else None)


def named_scheme(structure: str, kind: str | None = None, label: str = "") -> NamedScheme:
    """The registry entry of ``structure`` (one of :data:`STRUCTURES`) with ``kind`` in its
    filled slot(s): key ``fluid_sobolev``, title "fluid demons, Sobolev" and so on."""
    if kind is None:
        title = {"plain": "plain gradient descent", "tv": "total variation"}[structure]
        return NamedScheme(structure, title, structure, None,
                           label or {"plain": "no regularization", "tv": "TV"}[structure])
    key = f"{structure.replace('-', '_')}_{kind}"
    title = _KIND_TITLES.get(kind, kind)
    return NamedScheme(key, f"{structure} demons, {title}", structure, kind,
                       label or f"{title} {structure}")


#: Every named scheme: Gaussian / Sobolev x fluid / elastic / fluid-elastic, TV, plain
#: gradient descent and the spectral preconditioner. A new scheme is one entry here (its
#: key is then accepted by configs, sweeps, the CLI and the dashboard).
SCHEME_REGISTRY: dict[str, NamedScheme] = {s.key: s for s in [
    *(named_scheme(st, kind) for kind in SIZED_KINDS
      for st in ("fluid", "elastic", "fluid-elastic")),
    named_scheme("tv"), named_scheme("plain"),
    named_scheme("fluid", "spectral", "spectral (Distill)"),
]}

# ----------------------------------------------------------------------------- named groups

#: Fig. 1's grid by rows, as the paper's caption has them: the Sobolev row first, the
#: Gaussian row second (fluid / elastic / fluid-elastic each), then two baselines that
#: Fig. 1 does not show, TV and plain gradient descent.
FIG1_ROWS: dict[str, tuple[str, ...]] = {
    "Sobolev S_gamma": ("fluid_sobolev", "elastic_sobolev", "fluid_elastic_sobolev"),
    "Gaussian G_sigma": ("fluid_gaussian", "elastic_gaussian", "fluid_elastic_gaussian"),
    "Baselines": ("tv", "plain"),
}
#: Fig. 1's eight cells, row by row.
FIG1_SCHEMES: tuple[str, ...] = tuple(k for row in FIG1_ROWS.values() for k in row)
#: Fig. 1's six demons cells (the two kernel rows, without the baselines).
FIG1_DEMONS: tuple[str, ...] = FIG1_ROWS["Sobolev S_gamma"] + FIG1_ROWS["Gaussian G_sigma"]
#: The paper's three inversion methods (Fig. 4 and Table 1, Sec. 3.2).
PAPER_INVERSION_SCHEMES: tuple[str, ...] = ("tv", "fluid_sobolev", "fluid_elastic_sobolev")
#: The five methods of Table 1 here: the paper's three, plus the Gaussian counterparts.
TABLE1_SCHEMES: tuple[str, ...] = PAPER_INVERSION_SCHEMES + ("fluid_gaussian",
                                                             "fluid_elastic_gaussian")
#: The schemes tuned for the offline models (:mod:`viz_core.offline_presets`).
OFFLINE_SCHEMES: tuple[str, ...] = (
    "plain", "fluid_sobolev", "elastic_sobolev", "fluid_elastic_sobolev", "fluid_gaussian",
    "elastic_gaussian", "fluid_elastic_gaussian", "tv", "fluid_spectral")


def scheme_aliases() -> dict[str, str]:
    """Every accepted spelling -> canonical key, computed from the registry (so a new entry
    is accepted everywhere at once). Older result files and run JSONs used
    ``fluid-sobolev`` and ``spectral`` (offline presets), ``sobolev-fluid`` (Compare cells)
    and ``none``."""
    out = {"none": "plain", "plain_gd": "plain", "total_variation": "tv",
           "spectral": "fluid_spectral"}
    for s in SCHEME_REGISTRY.values():
        out[s.key] = s.key
        out[s.label.lower().replace(" ", "_")] = s.key  # "Sobolev fluid-elastic", "TV"
        if s.kind:
            st, k = s.structure, s.kind
            for alias in (f"{st}-{k}", f"{k}-{st}", f"{k}_{st.replace('-', '_')}"):
                out[alias] = s.key
    return out


def scheme_key(name: str) -> str:
    """The canonical key of a scheme name or alias (VizError, field "scheme", if unknown)."""
    key = scheme_aliases().get(str(name).strip().lower().replace(" ", "_"))
    if key is None:
        raise VizError(f"unknown scheme {name!r}; known: {', '.join(SCHEME_REGISTRY)}",
                       field="scheme")
    return key


def get_scheme(name: str) -> NamedScheme:
    """The registry entry of a scheme name or alias."""
    return SCHEME_REGISTRY[scheme_key(name)]


def scheme_label(key: str) -> str:
    """How a stored scheme key reads: the registry's label for a registry key, else the
    text as it is (``custom``, or a name stored before keys were).

    >>> scheme_label("fluid_elastic_sobolev"), scheme_label("plain GD")
    ('Sobolev fluid-elastic', 'plain GD')
    """
    entry = SCHEME_REGISTRY.get(key)
    return entry.label if entry is not None else key


def scheme_of(config: Any) -> str:
    """The registry key of the named scheme a configuration (anything with ``fluid``,
    ``elastic`` and ``tv``: a :class:`~viz_core.config.RunConfig` or a :class:`Scheme`)
    runs, or :data:`CUSTOM`. One answer for every configuration:

    * an identity kernel is an empty slot (``K = delta``, eq. 5), so a fluid identity
      kernel is ``plain`` (or ``tv`` with a TV weight);
    * with no kernel: ``tv`` when the TV weight lambda > 0 (eqs. 19-20), else ``plain``;
    * with kernels of one kind: the registry entry of the filled slots and that kind
      (``fluid_elastic_sobolev``); a TV weight on top does not change it (it is the
      configuration's ``tv``, not part of the scheme's name);
    * different kinds in the two slots (Gaussian fluid + Sobolev elastic), or a kind no
      entry names (``decay``, unless an entry is added for it): :data:`CUSTOM`.
    """
    slots = [getattr(config, "fluid", None), getattr(config, "elastic", None)]
    filled = [k is not None and k.kind != "identity" for k in slots]
    kinds = {k.kind for k, on in zip(slots, filled) if on}
    if not kinds:
        return "tv" if float(getattr(config, "tv", 0.0) or 0.0) > 0 else "plain"
    if len(kinds) > 1:
        return CUSTOM
    structure, kind = structure_of(*filled), kinds.pop()
    return next((s.key for s in SCHEME_REGISTRY.values()
                 if (s.structure, s.kind) == (structure, kind)), CUSTOM)


@dataclass(frozen=True)
class Scheme:
    """Which kernels sit in the fluid and elastic slots, plus TV weight and cadence."""

    fluid: KernelSpec | None = None
    elastic: KernelSpec | None = None
    tv: float = 0.0
    tv_eps: float = 0.05
    elastic_every: int = 1
    border: str = "reflect"

    @property
    def name(self) -> str:
        """The paper's name: plain GD, fluid / elastic / fluid-elastic demons, + TV."""
        structure = structure_of(*(k is not None and k.kind != "identity"
                                   for k in (self.fluid, self.elastic)))
        base = "plain GD" if structure == "plain" else f"{structure} demons"
        if self.tv > 0:
            base = "TV" if base == "plain GD" else f"{base} + TV"
        return base

    @property
    def label(self) -> str:
        parts = [self.name]
        if self.fluid is not None and self.fluid.kind != "identity":
            parts.append(f"Kf={self.fluid.label}")
        if self.elastic is not None and self.elastic.kind != "identity":
            every = f" every {self.elastic_every}" if self.elastic_every > 1 else ""
            parts.append(f"Ke={self.elastic.label}{every}")
        if self.tv > 0:
            parts.append(f"lambda_TV={self.tv:g}")
        return ", ".join(parts)

    def validate(self) -> None:
        for spec in (self.fluid, self.elastic):
            if spec is not None:
                validate_spec(spec)
        if self.fluid is not None and self.fluid.kind == "decay":
            raise VizError("decay is an elastic kernel (it scales the solution), not a fluid one",
                           field="fluid")
        if self.elastic is not None and self.elastic.kind == "spectral":
            raise VizError("the spectral preconditioner is a fluid kernel (it filters the "
                           "gradient), not an elastic one", field="elastic")
        if not (isinstance(self.tv, (int, float)) and math.isfinite(self.tv) and self.tv >= 0):
            raise VizError(f"TV weight lambda must be a finite number >= 0, got {self.tv!r}",
                           field="tv")
        if not (math.isfinite(self.tv_eps) and self.tv_eps > 0):
            raise VizError(f"TV epsilon must be a finite number > 0, got {self.tv_eps!r}",
                           field="tv_eps")
        if not (isinstance(self.elastic_every, int) and self.elastic_every >= 1):
            raise VizError(f"elastic_every must be an integer >= 1, got {self.elastic_every!r}",
                           field="elastic_every")


@dataclass
class SchemeBank:
    """The kernels of a batch of schemes, built once per octave (they depend on tau only for
    L2 decay), and the per-sample update. ``taus`` are in the pixel units of the pre-image."""

    schemes: list[Scheme]
    taus: list[float]
    fluid: list[Kernel | None] = field(init=False)
    elastic: list[Kernel | None] = field(init=False)

    def __post_init__(self) -> None:
        self.fluid = [build(s.fluid) if s.fluid else None for s in self.schemes]
        self.elastic = [build(s.elastic, tau=t) if s.elastic else None
                        for s, t in zip(self.schemes, self.taus)]
        self.any_tv = any(s.tv > 0 for s in self.schemes)
        border = self.schemes[0].border
        self._fluid = KernelBatch(self.fluid, border)
        self._elastic: dict[tuple[bool, ...], KernelBatch] = {}
        self._border = border
        # the kernels in a few matrix products where they allow it (fused_step)
        self._fused = FusedBank.build(self.fluid, self.elastic, border,
                                      [s.elastic_every for s in self.schemes])
        self._tv_work: dict[tuple, tuple[torch.Tensor, ...]] = {}
        self._rows: dict[tuple[int, ...], SchemeBank] = {}

    def tv_gradient(self, u: torch.Tensor, eps: float | torch.Tensor) -> torch.Tensor:
        """:func:`tv_gradient` (eqs. 19-20) with this bank's work buffers for ``u``'s
        shape (built on the first step of a stage, reused by the others)."""
        key = (u.shape, u.device, u.dtype)
        work = self._tv_work.get(key)
        if work is None:
            work = self._tv_work[key] = tv_work(u)
        return tv_gradient(u, eps, work)

    def step(self, u: torch.Tensor, g: torch.Tensor, step: int, center: torch.Tensor,
             coef: float | torch.Tensor, tv_coef: torch.Tensor | None, eps: torch.Tensor,
             den: torch.Tensor | None = None) -> torch.Tensor:
        """One update of every sample (eq. 18): ``u - Kf * (coef g / den + tv_coef grad
        TV(u))``, then the elastic kernel. ``coef`` is the step size for the raw gradient
        ``g`` (tau, times the normalisation factor), ``tv_coef = tau * lambda``; (N,1,1,1)
        tensors. ``den`` (N,1,1,1), if given, divides the gradient term inside the update's
        own operation (the engine's ``||g||_1`` normalisation, with ``coef`` a number:
        ``tau |u|``). ``tv_coef=None``: ``g`` is a descent direction that already holds the
        TV term (Adam's, :mod:`viz_core.config`)."""
        plans = self._fused.plans(u) if self._fused is not None else None
        with_tv = self.any_tv and tv_coef is not None
        if plans is not None:
            tv = (tv_coef, self.tv_gradient(u, eps)) if with_tv else None
            general = None  # one group (a one-scheme run): no general path, nothing built
            if len(plans) > 1:
                def general(idx: torch.Tensor, key: tuple[int, ...]) -> torch.Tensor:
                    """The samples ``idx`` (``key``) of the general path, by a bank of their
                    own."""
                    def rows(t):
                        return t.index_select(0, idx) if isinstance(t, torch.Tensor) and \
                            t.shape[0] > 1 else t

                    return self._subset(key).step(rows(u), rows(g), step, center,
                                                  rows(coef), rows(tv_coef), rows(eps),
                                                  rows(den))

            return self._fused.step(u, g, coef, den, plans, tv, general)
        if with_tv:
            d = descend(tv_coef * self.tv_gradient(u, eps), g, coef, den, 1.0)
            v = u - self._fluid(d)
        else:
            v = descend(u, self._fluid(g), coef, den)
        due = tuple(k is not None and (step + 1) % s.elastic_every == 0
                    for k, s in zip(self.elastic, self.schemes))
        if any(due):
            if due not in self._elastic:
                self._elastic[due] = KernelBatch(
                    [k if on else None for k, on in zip(self.elastic, due)], self._border)
            v = self._elastic[due].about(v, center)  # c + Ke * (v - c), or Ke * v
        return v

    def _subset(self, key: tuple[int, ...]) -> SchemeBank:
        """A bank of the samples ``key`` alone (built once per set of samples)."""
        if key not in self._rows:
            self._rows[key] = SchemeBank([self.schemes[i] for i in key],
                                         [self.taus[i] for i in key])
        return self._rows[key]


def demons_step(u: torch.Tensor | np.ndarray, g: torch.Tensor | np.ndarray, tau: float,
                fluid: KernelSpec | Kernel | None = None,
                elastic: KernelSpec | Kernel | None = None, *, tv: float = 0.0,
                tv_eps: float = 0.05, border: str = "reflect",
                center: float = 0.0) -> torch.Tensor | np.ndarray:
    """One demons update (eq. 18, with TV of eqs. 19-20) on plain arrays, through the
    engine's own :meth:`SchemeBank.step`:

        u <- c + Ke * (u - c - tau * Kf * (g + tv * grad TV_eps(u)))

    ``u`` and ``g`` are NumPy arrays or tensors of the same shape: a 1D signal (W,), an
    image (H, W), (C, H, W) or a batch (N, C, H, W). A 1D signal is filtered as an image
    that is constant along y (the 2D kernel acts as its row sums). ``tau`` is the raw step
    in the units of ``u`` (no gradient normalisation here: the engine's convention is in
    :data:`viz_core.config.PIXEL_SCALE`). Returns the same kind and shape as ``u``.
    """
    as_numpy = not isinstance(u, torch.Tensor)
    ut = torch.as_tensor(np.asarray(u) if as_numpy else u)
    gt = torch.as_tensor(np.asarray(g) if not isinstance(g, torch.Tensor) else g).to(ut)
    if gt.shape != ut.shape:
        raise VizError(f"u and g differ in shape: {tuple(ut.shape)} vs {tuple(gt.shape)}",
                       field="shape")
    if not 1 <= ut.ndim <= 4:
        raise VizError(f"expected a signal or an image, got shape {tuple(ut.shape)}",
                       field="shape")
    spec = [k.spec if isinstance(k, Kernel) else k for k in (fluid, elastic)]
    scheme = Scheme(spec[0], spec[1], tv, tv_eps, 1, border)
    scheme.validate()
    x, d = ut, gt
    while x.ndim < 4:
        x, d = x[None], d[None]
    n = x.shape[0]
    bank = SchemeBank([scheme] * n, [float(tau)] * n)
    if ut.ndim == 1:  # constant along y: enough rows for the largest kernel's border
        rows = max([k.size for k in bank.fluid + bank.elastic if k is not None] + [1])
        x, d = (t.expand(n, 1, rows, t.shape[-1]).clone() for t in (x, d))
    col = torch.ones(n, 1, 1, 1, dtype=x.dtype, device=x.device)
    out = bank.step(x, d, 0, col * center, col * tau, col * (tau * tv), col * tv_eps)
    if ut.ndim == 1:
        out = out[:, :, :1]
    out = out.reshape(ut.shape)
    return out.numpy() if as_numpy else out
