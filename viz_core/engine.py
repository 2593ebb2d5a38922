"""The engine: runs one configuration, or a batch of them as one forward/backward pass, and
yields :class:`Frame` s of the evolving pre-images.

Per step, for every sample of the batch:

1. take the network-sized crop of the canvas (octaves) and roll it by the jitter;
2. ``g = grad D(u)`` by autograd (eqs. 1-4, :mod:`viz_core.objectives`);
3. the demons update of :mod:`viz_core.schemes` (eq. 18 with TV, eqs. 19-20), with the
   step-size convention of :mod:`viz_core.config`, then clipping to [0, 1];
4. a sample whose update is not finite stops updating and keeps the pre-image of its last
   frame before the failure (:mod:`viz_core.divergence`), checked on the device and read
   at frames only, so nothing synchronises with the host between frames.

On small images on a CPU the kernels run as a few matrix products prepared once per stage
(:mod:`viz_core.fused_step`). The final frame's D and activation are its pictures' own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from viz_core import step_graph
from viz_core.adam import Adam, stage_adam
from viz_core.class_prior import initial_images
from viz_core.config import PIXEL_SCALE, RunConfig
from viz_core.devices import resolve_device
from viz_core.divergence import Health
from viz_core.errors import VizError
from viz_core.objectives import FeatureModel, check_target, make_objective, parse_objective
from viz_core.schemes import SchemeBank
from viz_core.transforms import canvas_sizes, draw_offsets, jitter_pixels, resize, roll
from viz_core.zoo import image_mean


@dataclass
class Frame:
    """A snapshot of a run (all configurations of a batch)."""

    step: int                    # steps done so far (over all octaves)
    total: int                   # total steps
    octave: int                  # index of the current octave
    images: np.ndarray           # (B, C, H, W) float32 in [0, 1]: the current pre-images
    objective: np.ndarray        # (B,) data term D (minimised)
    # (B,) target activation (eq. 4) / relative feature error (eq. 3) that the last step's
    # forward pass measured, before its update (one step behind ``images``; NaN at step 0);
    # a run's final frame measures its ``images`` (as ``objective``)
    activation: np.ndarray
    grad_norm: np.ndarray        # (B,) L2 norm of the raw data gradient
    elapsed: float               # seconds since the run started
    labels: list[str] = field(default_factory=list)
    diverged: list[str | None] = field(default_factory=list)  # per sample: message or None
    done: bool = False
    stopped: bool = False        # ended early by the stop signal

    @property
    def image(self) -> np.ndarray:
        """The first configuration's pre-image (C, H, W)."""
        return self.images[0]

    @property
    def no_gradient(self) -> list[str | None]:
        """Per sample: why a sample that did not diverge still produced nothing (its target
        gave no gradient at the last step: an inactive unit, eq. 4), else None; what the CLI
        exits 3 for and the dashboard says instead of "done"."""
        from viz_core.divergence import no_gradient_message

        return [None if self.diverged and self.diverged[i] else
                no_gradient_message(self.step, float(g), float(a))
                for i, (g, a) in enumerate(zip(self.grad_norm, self.activation))]


BATCH_KEYS = ("model", "weights", "task", "layer", "image", "jitter", "seed", "grad_norm",
               "border", "steps", "optimizer", "adam_betas", "adam_eps", "octave_mode",
               "objective")


def has_diversity(objective: str) -> bool:
    """Whether a composable objective has a ``diversity`` term (it couples a batch)."""
    return any(lf.name == "diversity" for _, lf in parse_objective(objective).parts)


def seeds_may_differ(config: RunConfig) -> bool:
    """Whether the members of a batch led by ``config`` may differ in seed (the rule of
    :func:`check_batchable`, also used by the sweeps' grouping): only when the seed does
    not also draw a random network, and only when nothing moves the canvas or a composable
    objective couples the members (``diversity``)."""
    return config.weights != "random" and (
        (not config.jitter and not config.octaves)
        or (bool(config.objective) and has_diversity(config.objective)))


def check_batchable(configs: list[RunConfig]) -> None:
    """A batch shares model, task, layer, image, objective, octave scales/steps, jitter and
    seed; each member may differ in scheme, kernels, step sizes, TV, class/channel, p and
    init. Seeds may differ when nothing moves the canvas (no jitter, no octaves): the seed
    then only draws the initial noise, so each member runs as it would alone (its update
    bit for bit; the network's batched pass may round differently from a lone one). A
    ``diversity`` objective couples the members anyway (its samples differ by their seeds'
    initial noise), so there the seeds may differ with jitter and octaves too: the canvas
    moves as the first member's seed draws it."""
    c0 = configs[0]
    still = seeds_may_differ(c0)
    for c in configs[1:]:
        for k in BATCH_KEYS:
            if getattr(c, k) != getattr(c0, k) and not (k == "steps" and c.octaves) \
                    and not (k == "seed" and still):
                why = "" if k != "seed" else ": the seed draws the random network" if \
                    c0.weights == "random" else (": jitter and octaves move the batch's canvas "
                                                 "by the first seed; run each seed alone")
                raise VizError(f"configurations in one batch must share {k!r} "
                               f"({getattr(c0, k)!r} != {getattr(c, k)!r}){why}", field=k)
        s0 = [(o.scale, o.steps) for o in c0.schedule]
        if [(o.scale, o.steps) for o in c.schedule] != s0:
            raise VizError("configurations in one batch must share octave scales and steps",
                           field="octaves")


def prepare_model(config: RunConfig, device: torch.device | None = None) -> FeatureModel:
    """Load the model a configuration names: a zoo name, a network registered with
    ``models.from_module``, a ``.pt2`` / TorchScript file, ``package.module:factory`` or
    ``timm:NAME`` (``models.open_model``); ``config.extra`` holds a file's contract
    (input_size, channels, mean, std, classes)."""
    from viz_core import models

    extra = config.extra
    return models.open_model(config.model, weights=config.weights,
                             device=device or resolve_device(config.device), seed=config.seed,
                             input_size=extra.get("input_size"), channels=extra.get("channels"),
                             mean=extra.get("mean"), std=extra.get("std"),
                             classes=extra.get("classes"))


def check_names_model(config: RunConfig, model: FeatureModel) -> None:
    """Refuse a configuration naming a known model (``models.is_known_name``) other than
    the ``model`` it runs on: its records and verdicts would name another network."""
    from viz_core.models import is_known_name
    name = getattr(model.spec, "name", "")
    if config.model != name and is_known_name(config.model):
        raise VizError(f"the configuration names model {config.model!r} but runs on "
                       f"{name!r}: give RunConfig(model={name!r}, ...)", field="model")


def check_run(configs: RunConfig | list[RunConfig], model: FeatureModel) -> None:
    """The checks :func:`run` makes of a batch on ``model`` before its first step, for a
    caller that starts a progress display only for a run that will start (the objective's
    layers and the image to invert are checked when :func:`run` binds them)."""
    cfgs = [configs] if isinstance(configs, RunConfig) else list(configs)
    _check_configs(cfgs)
    _check_on_model(cfgs, model)


def _check_configs(cfgs: list[RunConfig]) -> None:
    """Each configuration's fields and the batch rules (before any model is loaded)."""
    for c in cfgs:
        c.validate()
    check_batchable(cfgs)


def _check_on_model(cfgs: list[RunConfig], model: FeatureModel) -> None:
    """What needs the model: its name, the objective's syntax or the targets, the jitter."""
    c0 = cfgs[0]
    check_names_model(c0, model)
    if c0.objective:
        parse_objective(c0.objective)
    else:
        for c in cfgs:
            check_target(model, c.target_spec(model.spec.default_layer))
    jitter_pixels(c0.jitter, model.spec.input_size)


def load_reference(config: RunConfig, model: FeatureModel) -> torch.Tensor:
    """The image to invert, sized for ``model``: (1, C, S, S) in [0, 1]."""
    from viz_core.images import load_image

    if not config.image:
        raise VizError("feature inversion needs an image (image=)", field="image")
    t, _ = load_image(config.image, model.spec.input_size, model.spec.channels)
    return t


def run(
    configs: RunConfig | list[RunConfig],
    model: FeatureModel | None = None,
    *,
    reference: torch.Tensor | None = None,
    stop: threading.Event | Callable[[], bool] | None = None,
    every: int | None = None,
    static_step: bool | None = None,
) -> Iterator[Frame]:
    """Run configurations (one batch); yield a :class:`Frame` at step 0, every ``every`` steps
    (default ``config.every``, counted over all octaves) and at the end.

    ``model``: a loaded model (else loaded from the first config); ``reference``: the image
    to invert as a (1|B, C, S, S) tensor in [0, 1] (else read from ``config.image``);
    ``stop``: checked between steps; when set (or the generator closed), the run ends
    between steps, with a final frame marked ``stopped``.
    ``static_step``: None (default) replays a stage's steps as a CUDA graph where possible
    (:mod:`viz_core.step_graph`); True: the same in-place step on any device; False never.
    """
    cfgs = [configs] if isinstance(configs, RunConfig) else list(configs)
    if not cfgs:
        raise VizError("no configuration to run", field="config")
    _check_configs(cfgs)
    c0 = cfgs[0]
    if model is None:
        model = prepare_model(c0)
    _check_on_model(cfgs, model)  # check_run's checks, once
    dev = model.device
    spec = model.spec
    size = spec.input_size
    # D(u): a composable objective (objectives.algebra) or the task's targets
    expr = parse_objective(c0.objective) if c0.objective else None
    targets = [c.target_spec(spec.default_layer) for c in cfgs] if expr is None else []
    if (expr.needs_reference if expr else c0.task == "inversion") and reference is None:
        reference = load_reference(c0, model)
    objective = expr.bind(model, reference) if expr else make_objective(model, targets,
                                                                        reference)
    jpx = jitter_pixels(c0.jitter, size)
    should_stop = stop.is_set if isinstance(stop, threading.Event) else stop
    every = every or c0.every
    schedules = [c.schedule for c in cfgs]
    total = sum(o.steps for o in schedules[0])
    labels = [c.name or c.scheme_label for c in cfgs]
    n = len(cfgs)
    raw_grad = c0.grad_norm == "none"
    use_adam = c0.optimizer == "adam"

    # initial pre-images: the paper's small noise around the mean image, or the labelled
    # class-conditional start (viz_core.class_prior)
    mean = image_mean(spec.mean)  # the mean image c (mid-grey without a data mean)
    center = torch.tensor(mean, dtype=torch.float32, device=dev).view(1, -1, 1, 1)
    u = initial_images([c.init for c in cfgs],
                       [c.target if c.task == "am" and c.channel is None else None for c in cfgs],
                       [c.seed for c in cfgs], [c.init_std for c in cfgs], mean,
                       spec.channels, size, spec.family == "offline").to(dev)
    offsets = torch.Generator().manual_seed(c0.seed + 1)

    col = (n, 1, 1, 1)
    tv = torch.tensor([c.tv for c in cfgs], device=dev, dtype=u.dtype).view(col)
    eps = torch.tensor([c.tv_eps for c in cfgs], device=dev, dtype=u.dtype).view(col)
    health = Health(n, min(every, total), dev)
    numel = float(u[0].numel())
    t_start = time.perf_counter()
    step = 0

    def frame(oi: int, done: bool = False, stopped: bool = False) -> Frame:
        health.check(u, step)  # puts diverged samples' last frame back into u
        if done and step and u.shape[-1] == size:  # D, activation: the pictures' own
            with torch.no_grad():
                health.measured(*objective(u))
        images = (u if u.dtype == torch.float32 and u.is_cpu and not u.requires_grad
                  else u.detach().float().cpu()).numpy().copy()
        health.images = images
        return Frame(step, total, oi, images, *health.numbers(), time.perf_counter() - t_start,
                     labels, health.messages(cfgs), done, stopped)

    yield frame(0)
    x = g = adam = None
    mode = c0.octave_mode
    canvases = canvas_sizes([o.scale for o in schedules[0]], size, mode)
    try:
        for oi, stage in enumerate(zip(*schedules)):
            canvas = canvases[oi]
            u = resize(u, canvas)
            taus = [o.tau / PIXEL_SCALE for o in stage]
            bank = SchemeBank([c.scheme for c in cfgs], taus)
            tau = torch.tensor(taus, device=dev, dtype=u.dtype).view(col)
            tv_coef = tau * tv
            # the normalised step tau |u| / ||g||_1: a number over the norm, divided inside
            # the update's own operation, when the batch shares tau; else one number per
            # sample, rounded once from the same product, in the same operation: each
            # member's update is then the one it gets alone, bit for bit
            tau_numel = taus[0] * numel if len(set(taus)) == 1 else torch.tensor(
                [t * numel for t in taus], device=dev, dtype=u.dtype).view(col)
            adam = stage_adam(adam, u, c0) if use_adam else None
            moves = bool(jpx) or canvas > size

            def update(xv: torch.Tensor, sy: int, sx: int, window: tuple, step: int,
                       out: torch.Tensor | None = None,
                       bank: SchemeBank = bank, adam: Adam | None = adam,
                       tau: torch.Tensor = tau, tau_numel: float | torch.Tensor = tau_numel,
                       tv_coef: torch.Tensor = tv_coef) -> tuple:
                """One demons step of the pixels ``xv`` (eq. 18): (x, clipped update,
                ||g||_1, D, activation, g); the update is clipped into ``out`` if given
                (the divergence record's ring, :meth:`Health.slot`), else in place."""
                x = xv.detach().requires_grad_(True)
                with torch.enable_grad():
                    d, act = objective(roll(x, sy, sx))
                    (g,) = torch.autograd.grad(d.sum(), x)
                x.requires_grad_(False)  # the update is no part of the gradient
                # ||g||_1: the normalisation 1 / mean|g| (config), a factor of the step size
                # as the kernels are linear; non-finite for a NaN or Inf gradient (health);
                # clamped in place (a zero gradient moves nothing; NaN and Inf stay); (N,),
                # and (N,1,1,1) as the divisor of the update (one sample: (1,) broadcasts)
                g_l1 = torch.linalg.vector_norm(g, 1, dim=(1, 2, 3)).clamp_(min=1e-30)
                den = g_l1 if n == 1 else g_l1.view(col)
                if adam is None:
                    if raw_grad:
                        new = bank.step(x, g, step, center, tau, tv_coef, eps)
                    else:
                        new = bank.step(x, g, step, center, tau_numel, tv_coef, eps, den)
                else:
                    gs = g if raw_grad else g * (numel / den)
                    d_tv = torch.addcmul(gs, tv, bank.tv_gradient(x, eps)) if bank.any_tv else gs
                    new = bank.step(x, adam.direction(d_tv, window), step, center, tau, None,
                                    eps)
                new = new.clamp_(0, 1) if out is None else torch.clamp(new, 0, 1, out=out)
                return x, new, g_l1, d.detach(), act, g

            # the same step in place on static buffers, replayable as a CUDA graph
            # (step_graph): nothing in it changes from one step to the next
            stepper = None
            if (not moves and adam is None and health.mask is None
                    and all(c.elastic_every == 1 for c in cfgs)
                    and (static_step or (static_step is None and step_graph.usable(
                        dev, stage[0].steps)))):
                last: list = [None]
                u = u.contiguous()

                def in_place(u: torch.Tensor = u, last: list = last, update=update) -> None:
                    _, new, g_l1, d, act, g = update(u, 0, 0, (...,), 0)
                    health.record_static(new, g_l1, d)
                    u.copy_(new)
                    last[0] = (d, act, g)

                health.sync_index()
                stepper = (step_graph.GraphedStep(in_place) if dev.type == "cuda"
                           else step_graph.EagerStep(in_place))
            for _ in range(stage[0].steps):
                if should_stop is not None and should_stop():
                    yield frame(oi, done=True, stopped=True)
                    return
                if stepper is not None and health.mask is None:
                    stepper.step()
                    health.count(last[0])
                else:
                    cy, cx, sy, sx = draw_offsets(offsets, jpx, canvas - size, mode) \
                        if moves else (0, 0, 0, 0)
                    window = (..., slice(cy, cy + size), slice(cx, cx + size))
                    xv = u if canvas == size else u[window]
                    x, new, g_l1, d, act, g = update(xv, sy, sx, window, step,
                                                     health.slot(xv))
                    new = health.record(x, new, g_l1, d, act, g)
                    if canvas == size:
                        u = new
                    else:
                        u[window] = new
                step += 1
                if step % every == 0 and step < total:
                    f = frame(oi)
                    yield f
                    if all(m is not None for m in f.diverged):
                        yield frame(oi, done=True, stopped=True)
                        return
        yield frame(len(schedules[0]) - 1, done=True)
    except torch.OutOfMemoryError:
        u = x = g = None  # drop references before emptying the cache
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        raise VizError(
            f"out of {dev.type.upper()} memory at step {step} with a batch of {n} at "
            f"{size}x{size}: try a smaller image, fewer schemes in one batch, or the CPU",
            field="device") from None
    finally:
        if dev.type == "cuda":  # a finished or cancelled run gives its memory back
            torch.cuda.empty_cache()


@dataclass
class Result:
    """Everything a finished run produced (for the CLI, evaluation and tests)."""

    final: Frame
    frames: list[Frame]
    seconds: float


def run_to_end(configs: RunConfig | list[RunConfig], model: FeatureModel | None = None, *,
               reference: torch.Tensor | None = None, every: int | None = None,
               keep_frames: bool = True, progress: Callable[[Frame], None] | None = None
               ) -> Result:
    """Run to completion and collect frames (``keep_frames=False`` keeps first and last)."""
    frames: list[Frame] = []
    t0 = time.perf_counter()
    last = None
    for f in run(configs, model, reference=reference, every=every):
        if keep_frames or not frames:
            frames.append(f)
        last = f
        if progress is not None:
            progress(f)
    if not keep_frames and frames[-1] is not last:
        frames.append(last)
    return Result(last, frames, time.perf_counter() - t0)
