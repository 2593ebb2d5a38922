"""The Sweeps page's settings and figures, without Streamlit (unit-tested directly).

The page keeps a flat dict of settings (in the URL like every page): a base setting (model,
task, target or image, scheme, step size, steps, seed) and one or two axes given as text
(``gamma`` / ``0.05,0.2,0.8``). :func:`sweep_of` turns them into a
:class:`~viz_core.sweeps.Sweep`; :func:`ready_settings` fills in one of the four
ready-made sweeps; :func:`from_playground` takes the Playground's current setting;
:func:`metric_choices` and :func:`metric_option_label` are the heatmap metrics a task
offers, in its words (the labels themselves: :mod:`dashboard.sweep_labels`);
:func:`playground_params` is the link that opens a cell in the Playground, and
:func:`open_help` says that a cell computed in a batch can differ when it runs alone;
:func:`ready_change` and :func:`take_playground` are the sidebar's two loaders with what they
say, :func:`cascade_view` the committed model-randomisation test in words and pictures.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from dashboard.samples import sample_name, sample_path
from dashboard.settings.playground import (
    DASHBOARD_MODEL,
    config_to_settings,
    dashboard_model,
    playground_defaults,
    settings_to_config,
)
from dashboard.sweep_labels import (  # noqa: F401 - the page's and the tests' names
    INVERSION_JUDGE_TITLES,
    metric_title,
    option_name,
    table_rows,
    target_text,
    value_text,
)
from dashboard.text import name
from dashboard.urlstate import encode, max_jitter
from viz_core.config import RunConfig, scheme_config
from viz_core.errors import VizError
from viz_core.evaluation.sanity_report import cascade_rows, load_sanity
from viz_core.kernel_fitting import MAX_KERNEL_SIZE, SIZED_KINDS
from viz_core.kernel_fitting import largest_fitted_size as largest
from viz_core.metrics import METRICS
from viz_core.models import assets_dir
from viz_core.objectives import TASKS
from viz_core.schemes import SCHEME_REGISTRY, get_scheme, scheme_of
from viz_core.store.compare import BATCH_WHY
from viz_core.sweeps import AXES, Axis, Sweep
from viz_core.sweeps.ready import READY, path_scheme, ready_axes
from viz_core.sweeps.spec import kernel_size_of

NO_AXIS = "none"
CUSTOM = "custom"

_STATIC_DEFAULTS: dict[str, Any] = {
    "ready": CUSTOM,
    "model": DASHBOARD_MODEL,  # replaced by dashboard_model() on first use
    "task": "am",
    "target": 7,
    "layer": "",
    "image": "",
    "scheme": "elastic_sobolev",
    "size": 11,
    "step_size": 5.0,
    "steps": 60,
    "seed": 0,
    "jitter": 0.0,
    "axis1": "gamma",
    "values1": "0.05,0.2,0.8",
    "axis2": "step_size",
    "values2": "2,5,10",
    "metric": "activation",
}


@functools.cache
def _defaults() -> dict[str, Any]:
    return {**_STATIC_DEFAULTS, "model": dashboard_model()}


def sweep_defaults() -> Mapping[str, Any]:
    """Every Sweeps control with its default, read-only; the model is the dashboard's
    (:func:`~dashboard.settings.playground.dashboard_model`), looked up on first use."""
    return MappingProxyType(_defaults())
SWEEP_CHOICES: dict[str, Sequence[Any]] = {
    "ready": (CUSTOM, *READY),
    "task": TASKS,
    "scheme": tuple(SCHEME_REGISTRY),
    "axis1": tuple(AXES),
    "axis2": (NO_AXIS, *AXES),
    "metric": tuple(METRICS),
}


#: Metrics with nothing to say for a task: an AM run has no original to compare with (PSNR,
#: SSIM, the relative feature error of eq. 3); an inversion's activation *is* its relative
#: feature error, offered once under that name.
_NOT_FOR = {"am": ("psnr", "ssim", "feature_error"), "inversion": ("activation",)}
#: What a heatmap shows instead of a metric the task does not offer.
_INSTEAD = {"am": "activation", "inversion": "feature_error"}


def metric_choices(task: str) -> tuple[str, ...]:
    """The heatmap metrics a ``task``'s sweep offers, in registry order.

    >>> "psnr" in metric_choices("am"), "activation" in metric_choices("inversion")
    (False, False)
    >>> metric_choices("inversion")[:2]
    ('objective', 'hf_fraction')
    """
    return tuple(k for k in METRICS if k not in _NOT_FOR.get(task, ()))


def metric_option_label(key: str, task: str) -> str:
    """The heatmap-metric box's label of ``key`` in a ``task`` sweep: the name the rest of
    the page gives the metric (:func:`dashboard.sweep_labels.option_name`: ``PSNR (dB)``,
    AM's target activation, eq. 4), only what applies to that task.

    >>> metric_option_label("activation", "am"), metric_option_label("psnr", "inversion")
    ('target activation', 'PSNR (dB)')
    """
    return option_name(key, task)


def metric_instead(task: str) -> str:
    """The metric a heatmap shows when the chosen one does not apply to ``task``."""
    return _INSTEAD.get(task, "activation")


def base_config(s: Mapping[str, Any]) -> RunConfig:
    """The base run configuration of the page's settings (VizError names the control)."""
    s = {**sweep_defaults(), **s}
    am = s["task"] == "am"
    image = None
    if not am:
        image = sample_path(str(s["image"])) if s["image"] else None
        if not image:
            raise VizError("feature inversion needs an image: pick a sample", field="image")
    base = RunConfig(model=str(s["model"]), task=str(s["task"]),
                     target=int(s["target"]) if am else None,
                     layer=None if am else (str(s["layer"]) or None), image=image,
                     step_size=float(s["step_size"]), steps=int(s["steps"]),
                     seed=int(s["seed"]), jitter=float(s["jitter"]), every=int(s["steps"]))
    try:
        base = scheme_config(base, str(s["scheme"]), int(s["size"]))
    except VizError as exc:
        raise VizError(str(exc), field="size" if exc.field == "kernel_size" else "scheme"
                       ) from None
    return base.validate()


def max_kernel_size(scheme: str) -> int:
    """The largest kernel size ``scheme``'s fitted kernels run with (Sec. 2.7): 37 for a
    Sobolev kernel, every size up to 63 for a Gaussian.

    >>> max_kernel_size("elastic_sobolev"), max_kernel_size("fluid_gaussian")
    (37, 63)
    """
    try:
        specs = get_scheme(scheme).kernels(11)
    except VizError:
        return MAX_KERNEL_SIZE
    return min([largest(k.kind) for k in specs
                if k is not None and k.kind in SIZED_KINDS and k.param is None],
               default=MAX_KERNEL_SIZE)


def model_jitter(model: str) -> float | None:
    """The largest jitter ``model``'s input runs with; None when only loading it tells."""
    from viz_core.models import get_spec

    try:
        return max_jitter(get_spec(model).input_size)
    except VizError:
        return None


def axes_of(s: Mapping[str, Any]) -> list[Axis]:
    s = {**sweep_defaults(), **s}
    out = []
    for i in ("1", "2"):
        name = str(s[f"axis{i}"])
        if name == NO_AXIS:
            continue
        try:
            out.append(Axis.parse(f"{name}={s[f'values{i}']}"))
        except VizError as exc:
            raise VizError(str(exc), field=f"values{i}") from None
    if not out:
        raise VizError("choose at least one axis", field="axis1")
    return out


def sweep_of(s: Mapping[str, Any], batch_size: int = 8) -> Sweep:
    """The sweep the settings describe (validated: every cell is a valid run)."""
    s = {**sweep_defaults(), **s}
    sweep = Sweep(base_config(s), axes_of(s), batch_size=batch_size)
    try:
        return sweep.validate()
    except VizError as exc:
        raise VizError(str(exc), field=exc.field if exc.field in _STATIC_DEFAULTS
                       else _values_slot(str(exc), s)) from None


#: Under the title of a custom sweep (a ready-made one asks its question instead).
INTRO = ("A base setting times one or two axes: every cell is a run; cells that share a model "
         "and a layer run as one batch. The same sweep runs from the command line "
         "(`demons-viz sweep`), also on a Ray cluster.")


def cells_text(sweep: Sweep) -> str:
    """How many cells and steps a sweep runs: ``9 cells · 60 steps each``, or the range
    where the cells' steps differ (a ``steps`` axis): ``6 cells · 20-60 steps (per cell)``."""
    steps = sorted({c.config.total_steps for c in sweep.cells()})
    each = (f"{steps[0]} steps each" if len(steps) == 1
            else f"{steps[0]}-{steps[-1]} steps (per cell)")
    return f"{len(sweep)} cells · {each}"


def _values_slot(message: str, s: Mapping[str, Any]) -> str:
    """The values box of the axis a core message names (``axis 'target': ...``), else the
    rows' box."""
    for i in ("1", "2"):
        if s[f"axis{i}"] != NO_AXIS and message.startswith(f"axis {str(s[f'axis{i}'])!r}"):
            return f"values{i}"
    return "values1"


def _values_text(values: Sequence[Any]) -> str:
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def ready_settings(key: str, s: Mapping[str, Any]) -> dict[str, Any]:
    """``s`` changed into the ready-made sweep ``key`` (its task, scheme and axes)."""
    out = {**sweep_defaults(), **s, "ready": key}
    info = READY[key]
    if info.task:
        out["task"] = info.task
    if out["task"] == "inversion" and not out["image"]:
        out["image"] = default_sample_name(str(out["model"]))
    if key == "regularization_path":
        out["scheme"] = path_scheme(base_config(out))
    axes = ready_axes(key, base_config(out))
    out["axis1"], out["values1"] = axes[0][0], _values_text(axes[0][1])
    if len(axes) > 1:
        out["axis2"], out["values2"] = axes[1][0], _values_text(axes[1][1])
    else:
        out["axis2"], out["values2"] = NO_AXIS, ""
    if key == "inversion_depth":  # "recognisable": the judge's probability of the
        # original's class (Table 1's test, Sec. 3.2), SSIM where no judge's weights are here
        from dashboard.results import judge_for

        out["metric"] = "judge_target_prob" if judge_for(str(out["model"])) else "ssim"
    elif out["metric"] not in metric_choices(out["task"]):
        out["metric"] = metric_instead(out["task"])
    return out


def ready_change(key: str, s: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The settings of the ready-made sweep ``key`` chosen on ``s`` (None for a custom
    sweep) and, when they cannot be made, why (the settings then None)."""
    if key == CUSTOM:
        return None, ""
    try:
        return ready_settings(key, s), ""
    except VizError as exc:
        return None, f"cannot load {READY[key].title}: {exc}"


def take_playground(pg: Mapping[str, Any] | None, s: Mapping[str, Any]
                    ) -> tuple[dict[str, Any] | None, str]:
    """``s`` with the Playground's settings ``pg`` as the base (:func:`from_playground`),
    or None, and what the page says about it."""
    if not pg:
        return None, ("the Playground has no setting yet in this session: open it once (or "
                      "use a link to it) first")
    try:
        return from_playground(pg, s), "took the Playground's current setting as the base"
    except VizError as exc:
        return None, f"the Playground's setting is not valid: {exc}"


def default_sample_name(model: str) -> str:
    """The first shipped sample that fits ``model``'s channels (a sample name)."""
    from viz_core.models import get_spec
    from viz_core.samples import sample_paths

    samples = sample_paths(get_spec(model).channels)
    return sample_name(samples[0]) if samples else ""


def from_playground(pg: Mapping[str, Any], s: Mapping[str, Any]) -> dict[str, Any]:
    """``s`` with the base setting taken from the Playground's settings ``pg`` (an octave
    schedule becomes one stage with its total number of steps and first step size)."""
    cfg = settings_to_config({**playground_defaults(), **pg})
    out = {**sweep_defaults(), **s, "ready": CUSTOM, "model": cfg.model, "task": cfg.task,
           "step_size": float(cfg.step_size), "steps": int(cfg.total_steps),
           "seed": int(cfg.seed), "jitter": float(cfg.jitter),
           "size": kernel_size_of(cfg, int(s.get("size", 11)))}
    if cfg.task == "am":
        out["target"] = int(cfg.target if cfg.target is not None else 0)
    else:
        out["layer"] = cfg.layer or ""
        out["image"] = sample_name(cfg.image or "")
    key = scheme_of(cfg)
    if key in SCHEME_REGISTRY:
        out["scheme"] = key
    return out


def playground_params(row: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters that open a cell's configuration in the Playground."""
    cfg = RunConfig.from_json(str(row["config"]))
    s, _ = config_to_settings(cfg)
    if cfg.image:
        s["image"] = sample_name(cfg.image)
    return encode(s, playground_defaults())


def committed_sanity(model: str) -> tuple[dict | None, list]:
    """The committed model-randomisation check of ``model`` (``results/sanity_<model>.json``
    from ``demons-viz sanity``) and its cascade, one (scheme, picture row) per scheme; (None,
    []) when none is committed."""
    data = load_sanity(assets_dir().parent / "results", model)
    return (data, cascade_rows(data)) if data else (None, [])


def cascade_view(model: str) -> tuple[str, list[str], list[tuple[str, Any]]]:
    """The committed model-randomisation test of ``model`` (:func:`committed_sanity`) as
    the page shows it: the verdict (Markdown), captions (the logit spread with the command
    that made it, the order of each row's pictures) and one (scheme's verdict, picture
    row) per scheme; without a committed test, what to run instead and nothing else."""
    data, rows = committed_sanity(model)
    if data is None:
        return (f"No committed test for {name(model)}: run demons-viz sanity --model "
                f"{name(model)} (committed: results/sanity_fmnist_vgg*.md)."), [], []
    spread = ("Std of the logits over real images: " + ", ".join(
        f"{k} {v:.3g}" for k, v in data["logit_spread"].items())
        + f". Command: `{data['command']}`.")
    cols = ["trained"] + [f"random down to {c}" for c in data["cascade"]]
    order = ("Each row, left to right: " + " | ".join(cols)
             + f" (seed 0, class {data['class_names'][0]}).")
    schemes = [(f"**{scheme}**: {data['verdicts'][scheme][1].split(': ', 1)[1]}", img)
               for scheme, img in rows]
    return data["verdict"].split(" Logit spread")[0], [spread, order], schemes


def batch_sizes(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Batch id -> how many of ``rows`` were computed in it (one batched pass)."""
    return dict(Counter(str(r["batch_id"]) for r in rows if r.get("batch_id")))


#: Above the montage: a cell computed in a batch can differ when it runs alone.
BATCH_NOTE = ("Cells that share a model, a layer and a schedule run in batches (one batched "
              "pass each). Open in Playground runs a cell alone, where its result can differ "
              f"visibly: {BATCH_WHY}.")


def open_help(row: Mapping[str, Any], sizes: Mapping[str, int]) -> str:
    """The help of a cell's "Open in Playground" button: its batch, and that alone it can
    differ (:data:`BATCH_NOTE`).

    >>> open_help({"cell_id": "c1", "batch_id": "b0"}, {"b0": 1})
    'c1 with its settings. Computed here alone, as the Playground runs it.'
    """
    n = sizes.get(str(row.get("batch_id") or ""), 0)
    head = f"{row.get('cell_id')} with its settings. "
    if n == 1:
        return head + "Computed here alone, as the Playground runs it."
    return (head + f"Computed here in a batch of {n or 'several'} cells: the Playground "
            f"runs it alone, where it can differ visibly ({BATCH_WHY}).")
