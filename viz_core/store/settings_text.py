"""Stored runs in a person's words: where a run came from (a page, the CLI, a sweep), its
class target by the class's name, its octave stages, the judges' verdict in a few words,
the metrics by the registry's labels, and a run's settings sorted into those that define
what it computes (eq. 18 and its data term, eqs. 1-4), those that do not, and the
dashboard's own copy of them (its widgets' state).

Class names come from the run itself first (its verdicts carry the names the network had
when it ran, Sec. 3.2), else from the model's description when it needs no weights (the
zoo, a team's ``demons-viz.toml``), so any model with class names is named, not only the
zoo's. Nothing here loads a network or imports torch (a fitted kernel parameter is
computed by the kernels' rule when asked for)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from viz_core.store.verdict_words import isolate

#: Pages that store runs, by the name their runs record (``dashboard <page>``).
PAGES = {"playground": "Playground", "compare": "Compare", "presets": "Paper presets",
         "sweeps": "Sweeps"}
#: Metrics outside the registry that stored runs carry, in words.
OTHER_METRICS = {"model_target_prob": "model: target probability",
                 "grad_norm": "|grad D| (last step)"}
#: The prefix of the dashboard's copy of the settings (its widgets' state).
UI_PREFIX = "extra.ui."
#: The start of the temporary folder a dashboard sweep writes to (named by its axes here).
TEMP_SWEEP = "demons-viz-sweep-"


class Fitted(float):
    """A kernel parameter (sigma, gamma) the run did not set but fitted to its kernel size
    (Sec. 2.7): the number, which reads "3.933 (fitted)".

    >>> str(Fitted(3.9326)), Fitted(3.9326) == 3.9326
    ('3.933 (fitted)', True)
    """

    def __str__(self) -> str:
        return f"{float(self):.4g} (fitted)"


def fitted_param(kind: Any, size: Any, order: Any = 1) -> Fitted | None:
    """The sigma / gamma that the rule of Sec. 2.7 fits to a Gaussian or Sobolev kernel of
    ``size`` (what a run without a set parameter computed with), marked :class:`Fitted`;
    None for another kind, the untruncated Sobolev operator, or a size it cannot fit.

    >>> str(fitted_param("sobolev", 21)), fitted_param("identity", 11)
    ('3.933 (fitted)', None)
    """
    if kind not in ("gaussian", "sobolev") or not isinstance(size, int) or size < 1:
        return None
    from viz_core.kernel_fitting import fit_parameter

    try:
        return Fitted(fit_parameter(kind, size, int(order)))
    except Exception:  # noqa: BLE001 - a size this rule cannot fit: shown as not set
        return None


def odd_ones(values: Sequence[Any]) -> list[bool]:
    """Which of one setting's values (one per run) stand out: those that differ from the
    value most runs share, else (no single most common value) from the first run's.

    >>> odd_ones([5, 5, 2]), odd_ones([1, 2]), odd_ones([1, 2, 3]), odd_ones([1, 2, 2])
    ([False, False, True], [False, True], [False, True, True], [True, False, False])
    """
    counts = [sum(v == w for w in values) for v in values]
    top = max(counts, default=0)
    common = [v for v, c in zip(values, counts) if c == top]
    ref = common[0] if all(v == common[0] for v in common) else values[0]
    return [v != ref for v in values]




def origin(run: Any) -> str:
    """Where a stored run came from, in a few words: the page (with the start of its Run
    click's id where one click stored several runs), the CLI, or the sweep by its folder's
    name.

    >>> from viz_core.store.records import RunRecord
    >>> r = lambda cmd, g="": RunRecord(config={}, model="m", task="am", scheme="tv",
    ...                                command=cmd, group_id=g)
    >>> origin(r("dashboard presets", "presets ed249279"))
    'Paper presets ed2492'
    >>> origin(r("dashboard sweeps", "sweep path a1b2c3")), origin(r("dashboard playground"))
    ('Sweep path', 'Playground')
    >>> origin(r("demons-viz visualize --model x")), origin(r("demons-viz sweep --out s",
    ...                                                        "sweep s 0f0f0f"))
    ('CLI', 'CLI sweep s')
    """
    command, group = str(run.command or ""), str(run.group_id or "")
    kind = group.partition(" ")[0]
    if kind == "sweep":
        text = group_text(group)  # "Sweep <folder>"; a dashboard's: "Sweep <axes>"
        axes = sweep_axes(cell_label(run))
        if text.startswith("Sweep " + TEMP_SWEEP) and axes:
            text = "Sweep " + axes
        return "CLI sweep" + text[len("Sweep"):] if command.startswith("demons-viz") else text
    if command.startswith("dashboard "):
        page = command.split(" ", 1)[1]
        return group_text(group) if kind == page else PAGES.get(page, page)
    if command.startswith("demons-viz"):
        words = command.split()
        sub = words[1] if len(words) > 1 else ""
        head = "CLI" if sub in ("", "visualize") else f"CLI {sub}"
        return group_text(group) if kind == "visualize" else head
    return group_text(group) if group else command


def group_text(group: str) -> str:
    """A group of runs (one Run click, one sweep) in words: the page and the start of the
    click's id, the sweep by its folder's name.

    >>> group_text("compare 1e34a10f99"), group_text("sweep my path 0a1b2c")
    ('Compare 1e34a1', 'Sweep my path')
    >>> group_text("visualize 9f8e7d6c")
    'CLI samples 9f8e7d'
    """
    kind, _, rest = str(group or "").partition(" ")
    if kind == "sweep":  # "sweep <folder name> <hash of its path>"
        return "Sweep " + (rest.rsplit(" ", 1)[0] if " " in rest else rest)
    name = "CLI samples" if kind == "visualize" else PAGES.get(kind, kind)
    return f"{name} {rest[:6]}".strip()


def cell_label(run: Any) -> str:
    """A sweep cell's varied values, "gamma=0.1, step_size=5" (its cell id, which the
    sweep stores as the configuration's name); "" for a run of no sweep, or without them.

    >>> from viz_core.store.records import RunRecord
    >>> cell_label(RunRecord(config={"name": "gamma=0.1,step_size=5"}, model="m", task="am",
    ...                      scheme="tv", group_id="sweep s 0a1b2c"))
    'gamma=0.1, step_size=5'
    """
    if str(run.group_id or "").partition(" ")[0] != "sweep":
        return ""
    name = str((run.config if isinstance(run.config, Mapping) else {}).get("name") or "")
    return ", ".join(name.split(",")) if "=" in name else ""


def sweep_axes(label: str) -> str:
    """The settings a sweep varied, from a cell's :func:`cell_label`: "gamma x step_size".

    >>> sweep_axes("gamma=0.1, step_size=5"), sweep_axes("")
    ('gamma x step_size', '')
    """
    return " x ".join(p.split("=")[0].strip() for p in label.split(",") if "=" in p)


def _spec_class_names(model: str) -> tuple[str, ...]:
    """The class names a model's description gives without loading weights: a zoo model's,
    a team's model's (``demons-viz.toml``, read again when it changes); () for any other."""
    names = _zoo_class_names(model)
    if names or not model:
        return names
    try:
        from viz_core.models.team import team_file

        p = team_file()
        return _team_class_names(str(p), p.stat().st_mtime).get(model, ()) if p else ()
    except Exception:  # noqa: BLE001 - no team list, or one that does not parse
        return ()


@functools.lru_cache(maxsize=256)
def _zoo_class_names(model: str) -> tuple[str, ...]:
    try:
        from viz_core import zoo

        if zoo.is_zoo_name(model):
            return tuple(str(c) for c in zoo.class_names(zoo.get_spec(model)))
    except Exception:  # noqa: BLE001 - a description this version cannot read
        pass
    return ()


@functools.lru_cache(maxsize=8)
def _team_class_names(path: str, mtime: float) -> dict[str, tuple[str, ...]]:
    """Name -> class names of a team's model list (``path`` at modification time
    ``mtime``: a changed file is read again)."""
    from viz_core.models.team import team_models

    return {name: tuple(m.classes or ()) for name, m in team_models().items()}


def _is_index_name(text: str) -> bool:
    """A verdict's name for a class without a name ("class 3", "3")."""
    return text.isdigit() or (text.startswith("class ") and text[6:].isdigit())


def class_name(config: Mapping[str, Any], verdicts: Sequence[Mapping[str, Any]] = (),
               target: Any = None) -> str | None:
    """The name of class ``target`` (default: the configuration's) of the run's model:
    from the run's verdicts on its class target (the model's first, then the judge's), else
    from the model's description (:func:`_spec_class_names`); None without a name.

    >>> class_name({"model": "fmnist_vgg", "target": 7})
    'Sneaker'
    >>> class_name({"model": "mine", "target": 1}, [{"role": "model", "target": "Banana"}])
    'Banana'
    >>> class_name({"model": "mine.pt2", "target": 1}, [{"role": "model", "target": "class 1"}])
    """
    own = config.get("target") if isinstance(config, Mapping) else None
    target = own if target is None else target
    try:
        index = int(target)
    except (TypeError, ValueError):
        return None
    if index == own and not (isinstance(config, Mapping) and config.get("task") == "inversion"):
        ranked = sorted(verdicts or (), key=lambda v: v.get("role") != "model")
        for v in ranked:  # an inversion's verdict names the original's class instead
            name = str(v.get("target") or "")
            if name and not v.get("target_from") and not _is_index_name(name):
                return name
    names = _spec_class_names(str(config.get("model") or "")) if isinstance(config, Mapping) \
        else ()
    return names[index] if 0 <= index < len(names) else None


def target_label(config: Mapping[str, Any], verdicts: Sequence[Mapping[str, Any]] = (),
                 target: Any = None) -> str:
    """A class target as the Playground's class box shows it, "7 · Sneaker"; the bare index
    where the model has no class names; "-" for none.

    >>> target_label({"model": "fmnist_vgg", "target": 1}), target_label({"target": None})
    ('1 · Trouser', '-')
    """
    value = config.get("target") if target is None else target
    if value is None:
        return "-"
    name = class_name(config, verdicts, value)
    return f"{value} · {isolate(name)}" if name else str(value)


def octaves_text(value: Any) -> str:
    """An octave schedule as its stages, "x1.0 120 steps tau 10; x1.2 50 steps tau 5"
    ((scale, steps, tau) each); "-" for none.

    >>> octaves_text([[1.0, 120, 10.0], [1.25, 50, 5.0]])
    'x1.0 120 steps tau 10; x1.25 50 steps tau 5'
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if not value:
        return "-"
    try:
        return "; ".join(f"x{_scale(float(s))} {int(n)} steps tau {float(t):g}"
                         for s, n, t in value)
    except (TypeError, ValueError):
        return str(value)


def _scale(s: float) -> str:
    return f"{s:.1f}" if round(s, 1) == s else f"{s:g}"


def setting_text(key: str, value: Any, run: Any = None) -> str:
    """A setting's value for a person: a class target by its name (the run's own,
    :func:`target_label`), a shipped sample image by its name, not a machine's folder
    (:func:`~viz_core.store.compare.image_name`), octaves as stages, a boolean as yes / no,
    ``-`` for none, four significant digits for a float."""
    if value is None:
        return "-"
    if isinstance(value, Fitted):
        return str(value)
    if key in ("target", UI_PREFIX + "target") and run is not None:
        return target_label(run.config, run.verdicts, value)
    if key in ("image", UI_PREFIX + "image") and isinstance(value, str):
        from viz_core.store.compare import image_name

        return image_name(value)
    if key == "octaves":
        return octaves_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def metric_text(key: str) -> str:
    """A metric key as the registry labels it (:data:`viz_core.metrics.METRICS`), and the
    few others stored runs carry in words.

    >>> metric_text("hf_fraction"), metric_text("model_target_prob")
    ('HF fraction', 'model: target probability')
    """
    from viz_core.metrics import METRICS

    m = METRICS.get(key)
    return m.label if m is not None else OTHER_METRICS.get(key, key)


def applies(key: str, flat: Mapping[str, Any]) -> bool:
    """Whether a flat setting takes part in what the run computes: not display-only (frame
    cadence, a free label, the device, the dashboard's copy ``extra.ui.*``:
    :func:`~viz_core.store.compare.display_only`), set (not None), and used by this run (Adam's
    moments only with Adam, the TV smoothing only with TV, eqs. 19-20, the octave mode only
    with octaves, whose stages replace the steps and the step size, how often Ke applies
    only with an elastic kernel, the inversion exponent only in an inversion, the class
    score only for a class, eq. 4).

    >>> flat = {"task": "am", "target": 1, "steps": 60, "octaves": "[[1.0, 30, 5.0]]",
    ...         "tv": 0.0, "tv_eps": 0.05, "every": 10, "extra.ui.steps": 60}
    >>> [k for k in flat if applies(k, flat)]
    ['task', 'target', 'octaves', 'tv']
    """
    from viz_core.store.compare import display_only

    if display_only(key):
        return False
    if flat.get(key) is None or flat.get(key) == "":
        return False
    unused = {"adam_betas": flat.get("optimizer") != "adam",
              "adam_eps": flat.get("optimizer") != "adam",
              "tv_eps": not flat.get("tv"),
              "octave_mode": not flat.get("octaves"),
              "steps": bool(flat.get("octaves")),  # the stages give steps and tau
              "step_size": bool(flat.get("octaves")),
              "elastic_every": not any(k.startswith("elastic.") for k in flat),
              "p": flat.get("task") != "inversion",
              "class_score": flat.get("task") == "inversion"
              or (flat.get("target") is None and not flat.get("objective"))}
    return not unused.get(key, False)
