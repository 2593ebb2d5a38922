"""One validated run configuration and its JSON round trip.

**Step size convention** (the one place it is written; everything else refers here), so
that the paper's keras recipes carry over: the pre-image lives in
pixel space [0, 1] and every step uses the data gradient normalised by its mean absolute
value (DeepDream / deepdraw's ``tau / mean|g|``), so ``step_size`` tau is the mean absolute
change of a pixel per step in **0-255 units**: ``u <- u - (tau/255) * g / mean|g|``. The
paper's VGG19 / ResNet50 values (keras "caffe" mode, 0-255 scale) therefore mean the same
here; DenseNet121's tiny values (keras "torch" mode, ~58x smaller pixel scale) should be
multiplied by ~58 (the presets do this). ``grad_norm="none"`` uses the raw gradient instead:
``u <- u - (tau/255) * g``.

**Optimiser.** ``optimizer="demons"`` (default) is the paper's step rule above.
``optimizer="adam"`` replaces the normalised gradient by Adam's direction (Kingma and Ba,
as Lucid and Lucent use it), computed from the same data gradient plus ``lambda`` times the
TV gradient; the fluid kernel filters that direction and the elastic kernel acts on the
solution as before, so every scheme keeps its meaning (eq. 18):
``u <- c + Ke * (u - c - (tau/255) * Kf * adam(g / mean|g| + lambda grad TV))``. Adam's
learning rate is therefore ``tau / 255``, again roughly the mean change of a pixel per
step in 0-255 units; its moments carry over between octave stages at the same scale
and restart where the canvas changes size.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from viz_core.class_prior import INITS
from viz_core.devices import DEVICES
from viz_core.errors import VizError
from viz_core.kernels import KernelSpec
from viz_core.objectives import CLASS_SCORES, TASKS, Target
from viz_core.schemes import Scheme, get_scheme
from viz_core.transforms import OCTAVE_MODES, Octave, validate_octaves

DEFAULT_MODEL = "fmnist_vgg"
#: The keys of ``RunConfig.extra`` that state a network file's or an import string's input
#: (what ``engine.prepare_model`` opens it with; ``viz_core.models.CONTRACT``).
CONTRACT_KEYS = ("input_size", "channels", "mean", "std", "classes")
GRAD_NORMS = ("mean_abs", "none")
OPTIMIZERS = ("demons", "adam")
PIXEL_SCALE = 255.0
"""Pixel levels per unit of the pre-image: a step size tau (0-255 units, see the module
docstring) moves a pixel by ``tau / PIXEL_SCALE`` per step on average."""
TV_STABILITY = 0.25
"""An explicit step of the relaxed TV flow (eqs. 19-20) is stable while
``tau lambda / eps <= TV_STABILITY`` with tau in [0, 1] pixel units."""


def tv_stability_ratio(tau: float, tv: float, eps: float) -> float:
    """``tau lambda / eps`` of an explicit TV step (eqs. 19-20), tau in 0-255 units (converted
    by :data:`PIXEL_SCALE`); stable while it is <= :data:`TV_STABILITY`."""
    return (tau / PIXEL_SCALE) * tv / eps


def tv_stability_limit(tau: float, eps: float) -> float:
    """The largest TV weight lambda whose explicit step (eqs. 19-20) is stable for step size
    ``tau`` (0-255 units) and relaxation ``eps``: ratio :data:`TV_STABILITY`."""
    return TV_STABILITY / tv_stability_ratio(tau, 1.0, eps)

#: The TV weight lambda of the presets (a choice of this tool: the paper gives none), lowered
#: by :func:`stable_tv` where the step size asks for it.
TV_WEIGHT = 0.3


def stable_tv(tau: float, eps: float = 0.05, weight: float = TV_WEIGHT) -> float:
    """``weight``, lowered where needed so that the explicit step of the relaxed TV flow
    (eqs. 19-20) stays stable, tau lambda / eps <= 1/4 with tau in [0, 1] pixel units, with
    a 20 % margin: the TV weight the presets use for a step size ``tau`` (0-255 units)."""
    limit = 0.8 * tv_stability_limit(tau, eps)
    return float(f"{min(weight, limit):.3g}")


@dataclass
class RunConfig:
    """Everything that defines a run; ``validate()`` checks it without loading a model."""

    model: str = DEFAULT_MODEL
    weights: str | None = None          # None/"default" pretrained, "random", or a file
    task: str = "am"                    # "am" | "inversion"
    target: int | None = None           # class index (AM of a logit)
    class_score: str = "logit"          # "logit" (eq. 4) | "log_prob" (objectives.CLASS_SCORES)
    layer: str | None = None            # layer name (torchvision dotted name or paper alias)
    channel: int | None = None          # channel of ``layer`` (AM)
    unit: tuple[int, int] | None = None  # (y, x) of a single unit of ``channel``
    image: str | None = None            # image to invert
    objective: str | None = None        # composable objective (objectives.grammar): replaces
    #                                     task / target / layer / channel when given
    p: int = 2                          # inversion exponent
    fluid: KernelSpec | None = None
    elastic: KernelSpec | None = None
    tv: float = 0.0
    tv_eps: float = 0.05
    elastic_every: int = 1
    border: str = "reflect"
    step_size: float = 5.0              # tau; with octaves each stage has its own (and steps)
    steps: int = 100
    octaves: list[Octave] | None = None
    octave_mode: str = "absolute"       # "absolute" | "deepdraw" (transforms)
    jitter: float = 0.0
    seed: int = 0
    init_std: float = 0.02
    init: str = "noise"                 # "noise" (the paper's start) | "class_conditional"
    grad_norm: str = "mean_abs"
    optimizer: str = "demons"           # "demons" (the paper's step rule) | "adam"
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    device: str = "auto"
    every: int = 10                     # stream a frame every k steps
    name: str = ""                      # free label (e.g. a cell of the comparison grid)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for slot in ("fluid", "elastic"):  # "KIND[:PARAM]" text and dicts as in a run JSON
            k = getattr(self, slot)
            if isinstance(k, str):
                setattr(self, slot, KernelSpec.parse(k))
            elif isinstance(k, dict):
                setattr(self, slot, KernelSpec.from_dict(k))
            elif k is not None and not isinstance(k, KernelSpec):
                raise VizError(f"{slot} must be a KernelSpec, a text KIND[:PARAM] (e.g. "
                               f"'sobolev:0.38') or None, got {k!r}", field=slot)
        if self.octaves:  # (scale, steps, tau) triples as well as Octave stages
            try:
                self.octaves = [o if isinstance(o, Octave) else
                                Octave(float(o[0]), int(o[1]), float(o[2]))
                                for o in self.octaves]
            except (TypeError, ValueError, IndexError, KeyError):
                raise VizError(f"octaves must be (scale, steps, tau) stages, got "
                               f"{self.octaves!r}", field="octaves") from None

    # ------------------------------------------------------------------ derived
    @property
    def scheme(self) -> Scheme:
        """The update's kernels, TV weight and border as one :class:`Scheme` (eq. 18)."""
        return Scheme(self.fluid, self.elastic, self.tv, self.tv_eps, self.elastic_every,
                      self.border)

    @property
    def scheme_label(self) -> str:
        """The scheme's label, naming the optimizer when it is not the paper's step rule
        (eq. 18): ``"Sobolev fluid-elastic, Adam"``."""
        label = self.scheme.label
        return f"{label}, Adam" if self.optimizer == "adam" else label

    @property
    def schedule(self) -> list[Octave]:
        """The octave schedule; without octaves one stage (1.0, steps, step_size)."""
        return list(self.octaves) if self.octaves else [Octave(1.0, self.steps, self.step_size)]

    @property
    def total_steps(self) -> int:
        """The steps of every stage of :attr:`schedule` together."""
        return sum(o.steps for o in self.schedule)

    def target_spec(self, default_layer: str = "logits") -> Target:
        """What the data term reads (eqs. 1-4): the inverted layer, a channel (or one unit) of
        ``layer``, or a class logit; ``default_layer`` where no layer is given."""
        if self.task == "inversion":
            return Target("inversion", self.layer or default_layer, None, None, self.p)
        if self.channel is not None:
            return Target("am", self.layer or default_layer, self.channel,
                          tuple(self.unit) if self.unit is not None else None)
        return Target("am", self.layer or "logits", self.target, None, score=self.class_score)

    # ------------------------------------------------------------------ validation
    def validate(self) -> RunConfig:
        """Raise :class:`VizError` naming the first bad parameter (or one the run would not
        use, such as a ``unit`` beside a class); return self."""
        if not isinstance(self.model, str) or not self.model:
            raise VizError("model name is empty", field="model")
        if self.task not in TASKS:
            raise VizError(f"unknown task {self.task!r}; allowed: {', '.join(TASKS)}",
                           field="task")
        for name in ("target", "channel", "seed", "steps", "every", "elastic_every", "p"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, numbers.Integral) or isinstance(v, bool)):
                raise VizError(f"{name} must be an integer, got {v!r}", field=name)
            if v is not None and type(v) is not int:  # numpy's integers, from a notebook
                setattr(self, name, int(v))
        if self.objective is not None:
            from viz_core.objectives import Term, parse_objective

            if isinstance(self.objective, Term):  # a Python expression: kept as its text
                if any(not lf.name for _, lf in self.objective.parts):
                    raise VizError("a bare leaf(...) term has no name to run by: return it "
                                   "from a function decorated with @objective (the function's "
                                   "name and arguments are its text in the run JSON)",
                                   field="objective")
                self.objective = str(self.objective)
            parse_objective(self.objective)
        if self.task == "am" and self.objective is None:
            if self.target is None and self.channel is None:
                raise VizError("activation maximization needs a class (target=) or a layer "
                               "channel (layer= and channel=)", field="target")
            if self.target is not None and self.target < 0:
                raise VizError(f"class index must be >= 0, got {self.target}", field="target")
            if self.channel is not None and self.channel < 0:
                raise VizError(f"channel must be >= 0, got {self.channel}", field="channel")
            if self.layer not in (None, "logits") and self.channel is None:
                raise VizError(f"layer {self.layer!r} needs a channel to maximise (channel=)",
                               field="channel")
        if self.class_score not in CLASS_SCORES:
            raise VizError(f"class_score must be one of {', '.join(CLASS_SCORES)}, got "
                           f"{self.class_score!r}", field="class_score")
        if self.class_score != "logit" and (self.task != "am" or self.channel is not None):
            raise VizError("the log-probability score applies to activation maximization of a "
                           "class, not to channels or inversion", field="class_score")
        if self.unit is not None:
            if (len(self.unit) != 2 or any(not isinstance(v, numbers.Integral)
                                           or isinstance(v, bool) or v < 0 for v in self.unit)):
                raise VizError(f"unit must be two integers y, x >= 0, got {self.unit!r}",
                               field="unit")
            self.unit = (int(self.unit[0]), int(self.unit[1]))
        for name, why in self._unused_fields()[:1]:
            raise VizError(why, field=name)
        if self.task == "inversion" and self.p not in (1, 2):
            raise VizError(f"inversion exponent p must be 1 or 2, got {self.p}", field="p")
        _positive(self.step_size, "step_size")
        if not 1 <= self.steps <= 100_000:
            raise VizError(f"steps must be in 1..100000, got {self.steps}", field="steps")
        if self.octaves is not None:
            validate_octaves(list(self.octaves))
        if self.octave_mode not in OCTAVE_MODES:
            raise VizError(f"octave_mode must be one of {', '.join(OCTAVE_MODES)}, got "
                           f"{self.octave_mode!r}", field="octave_mode")
        if not (isinstance(self.jitter, (int, float)) and math.isfinite(self.jitter)
                and self.jitter >= 0):
            raise VizError(f"jitter must be >= 0 pixels (or a fraction < 1 of the image size), "
                           f"got {self.jitter!r}", field="jitter")
        if not 0 <= self.seed < 2**63:
            raise VizError(f"seed must be in 0..2^63-1, got {self.seed}", field="seed")
        if not (math.isfinite(self.init_std) and 0 <= self.init_std <= 1):
            raise VizError(f"init_std must be in [0, 1], got {self.init_std}", field="init_std")
        if self.init not in INITS:
            raise VizError(f"init must be one of {', '.join(INITS)}, got {self.init!r}",
                           field="init")
        if self.init == "class_conditional" and (self.task != "am" or self.channel is not None):
            raise VizError("the class-conditional start needs class activation maximization "
                           "(task am with a class target)", field="init")
        if self.grad_norm not in GRAD_NORMS:
            raise VizError(f"grad_norm must be one of {', '.join(GRAD_NORMS)}",
                           field="grad_norm")
        if self.optimizer not in OPTIMIZERS:
            raise VizError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got "
                           f"{self.optimizer!r}", field="optimizer")
        betas = self.adam_betas
        if (not isinstance(betas, (tuple, list)) or len(betas) != 2
                or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
            raise VizError(f"adam_betas must be two numbers in [0, 1), got {betas!r}",
                           field="adam_betas")
        _positive(self.adam_eps, "adam_eps")
        if self.device not in DEVICES:
            raise VizError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}",
                           field="device")
        if not 1 <= self.every <= 100_000:
            raise VizError(f"every must be >= 1, got {self.every}", field="every")
        self.scheme.validate()
        return self

    def _unused_fields(self) -> list[tuple[str, str]]:
        """Each field set to a value the run would not use, with what to do instead
        (:func:`viz_core.config_fields.unused_fields`): :meth:`validate` refuses the first,
        :meth:`from_dict` drops them (a stored run)."""
        from viz_core.config_fields import unused_fields

        return unused_fields(self)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """Every field as JSON values (kernels as dicts, octaves and unit as lists): the keys
        of a run JSON, read back by :meth:`from_dict`."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["fluid"] = self.fluid.to_dict() if self.fluid else None
        d["elastic"] = self.elastic.to_dict() if self.elastic else None
        d["octaves"] = [o.to_list() for o in self.octaves] if self.octaves else None
        d["unit"] = list(self.unit) if self.unit is not None else None
        d["adam_betas"] = list(self.adam_betas)
        return d

    @classmethod
    def from_dict(cls, d: dict, strict: bool = False) -> RunConfig:
        """Build from a dict (e.g. a run's JSON, which may carry extra result keys). A field
        the run did not use (a stored run of an earlier version: a ``unit`` beside a class,
        a ``target`` beside an objective, an ``image`` beside an AM) is dropped, as the run
        dropped it, to its default; ``strict`` refuses it as :meth:`validate` does."""
        if not isinstance(d, dict):
            raise VizError("a run configuration must be a JSON object", field="config")
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        try:
            for slot in ("fluid", "elastic"):
                if kw.get(slot) is not None:
                    kw[slot] = (KernelSpec.from_dict(kw[slot]) if isinstance(kw[slot], dict)
                                else KernelSpec.parse(str(kw[slot])))
            if kw.get("octaves"):
                kw["octaves"] = [Octave(float(o[0]), int(o[1]), float(o[2]))
                                 for o in kw["octaves"]]
            if kw.get("unit") is not None:
                kw["unit"] = tuple(int(v) for v in kw["unit"])
            if kw.get("adam_betas") is not None:  # absent in JSONs written before Adam
                kw["adam_betas"] = tuple(float(v) for v in kw["adam_betas"])
            cfg = cls(**kw)
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            if isinstance(exc, VizError):
                raise
            raise VizError(f"invalid run configuration: {exc}", field="config") from None
        for name, _ in [] if strict else cfg._unused_fields():
            setattr(cfg, name, next(f.default for f in fields(cls) if f.name == name))
        return cfg.validate()

    def to_json(self, **results) -> str:
        """The run JSON: :meth:`to_dict` and the keys ``results`` adds (e.g. metrics)."""
        return json.dumps({**self.to_dict(), **results}, indent=2, default=_json_default)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        """One run from a run JSON (``--json``) or from a history export of one run (an
        object, or a list of one); an export of several runs is refused with their ids
        (:meth:`all_from_json` reads them all)."""
        runs = cls.all_from_json(text)
        if len(runs) != 1:
            ids = ", ".join(cls.stored_id(r) or "?" for r in json.loads(text))
            raise VizError(f"this file holds {len(runs)} runs ({ids}), a history export of "
                           f"several: export the one to reproduce, e.g. `demons-viz history "
                           f"export --format json --out run.json ID`", field="config")
        return runs[0]

    @classmethod
    def all_from_json(cls, text: str) -> list[RunConfig]:
        """Every run of a run JSON (one) or a history export (``--format json``: a list)."""
        try:
            d = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise VizError(f"not a valid run JSON: {exc}", field="config") from None
        if isinstance(d, list):
            if not d:
                raise VizError("this file holds an empty list, not a run", field="config")
            return [cls.from_dict(x) for x in d]
        return [cls.from_dict(d)]

    @staticmethod
    def stored_id(d: object) -> str | None:
        """The run id a history export records for one run JSON (``stored_run.id``)."""
        run = d.get("stored_run") if isinstance(d, dict) else None
        return str(run["id"]) if isinstance(run, dict) and "id" in run else None

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        """:meth:`from_json` of a file."""
        return cls.from_json(cls._read(path))

    @classmethod
    def load_all(cls, path: str | Path) -> list[RunConfig]:
        """:meth:`all_from_json` of a file."""
        return cls.all_from_json(cls._read(path))

    @staticmethod
    def _read(path: str | Path) -> str:
        p = Path(path)
        if not p.is_file():
            what = "is a folder, not a file" if p.is_dir() else "does not exist"
            raise VizError(f"config file {str(p)!r} {what}", field="config")
        return p.read_text(encoding="utf-8", errors="replace")


def _positive(value, name: str) -> None:
    if (not isinstance(value, (int, float)) or isinstance(value, bool)
            or not math.isfinite(value) or value <= 0):
        raise VizError(f"{name} must be a finite number > 0, got {value!r}", field=name)


def _json_default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    return str(o)


def scheme_config(base: RunConfig, scheme: str, size: int, tv: float | None = None,
                  tv_eps: float | None = None) -> RunConfig:
    """``base`` with one named scheme of :data:`viz_core.schemes.SCHEME_REGISTRY` (any key
    or alias), its kernels fitted to ``size`` (Sec. 2.7) and named by the scheme's label
    (:func:`viz_core.schemes.scheme_of` gives its key back). The TV weight ``tv`` applies
    to the TV scheme only; ``tv=None``: :func:`stable_tv` for the largest step size of
    ``base``'s schedule. ``tv_eps=None`` keeps ``base``'s relaxation eps (eqs. 19-20).
    Of ``base.extra`` only a network file's input contract (:data:`CONTRACT_KEYS`) stays."""
    named = get_scheme(scheme)
    eps = base.tv_eps if tv_eps is None else tv_eps
    if tv is None:
        tv = stable_tv(max(o.tau for o in base.schedule), eps)
    fluid, elastic = named.kernels(size)
    return replace(base, fluid=fluid, elastic=elastic, tv_eps=eps,
                   tv=tv if named.uses_tv else 0.0, name=named.label,
                   extra={k: v for k, v in (base.extra or {}).items() if k in CONTRACT_KEYS})
