"""The engine: runs one configuration, or a batch of them as one forward/backward pass, and
yields :class:`Frame` s of the evolving pre-images.

Per step, for every sample of the batch:

1. take the network-sized crop of the canvas (octaves) and roll it by the jitter;
2. ``g = grad D(u)`` by autograd (eqs. 1-4, :mod:`viz_core.objectives`);
3. the demons update of :mod:`viz_core.schemes` (eq. 18 with TV, eqs. 19-20), with the
   step-size convention of :mod:`viz_core.config`, then clipping to [0, 1];
4. a sample whose update is not finite keeps its last finite pre-image and stops updating
   (divergence); this is recorded on the device, so nothing synchronises with the host
   except on the steps that yield a frame.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from viz_core.config import PIXEL_SCALE, RunConfig
from viz_core.devices import resolve_device
from viz_core.errors import VizError
from viz_core.objectives import FeatureModel, check_target, make_objective, parse_objective
from viz_core.schemes import SchemeBank, tv_gradient
from viz_core.transforms import canvas_sizes, draw_offsets, jitter_pixels, resize, roll


@dataclass
class Frame:
    """A snapshot of a run (all configurations of a batch)."""

    step: int                    # steps done so far (over all octaves)
    total: int                   # total steps
    octave: int                  # index of the current octave
    images: np.ndarray           # (B, C, H, W) float32 in [0, 1]: the current pre-images
    objective: np.ndarray        # (B,) data term D (minimised)
    activation: np.ndarray       # (B,) target activation (AM) / relative feature error (inv.)
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


_BATCH_KEYS = ("model", "weights", "task", "layer", "image", "jitter", "seed", "grad_norm",
               "border", "steps", "optimizer", "adam_betas", "adam_eps", "octave_mode",
               "objective")


def check_batchable(configs: list[RunConfig]) -> None:
    """A batch shares model, task, layer, image, objective, octave scales/steps, jitter and
    seed; each member may differ in scheme, kernels, step sizes, TV, class/channel, p and
    init. Seeds may differ when nothing moves the canvas (no jitter, no octaves): the seed
    then only draws the initial noise, so each member runs as it would alone (a batch of
    samples for ``diversity``)."""
    c0 = configs[0]
    still = not c0.jitter and not c0.octaves
    for c in configs[1:]:
        for k in _BATCH_KEYS:
            if getattr(c, k) != getattr(c0, k) and not (k == "steps" and c.octaves) \
                    and not (k == "seed" and still):
                raise VizError(f"configurations in one batch must share {k!r} "
                               f"({getattr(c0, k)!r} != {getattr(c, k)!r})", field=k)
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


def load_reference(config: RunConfig, model: FeatureModel) -> torch.Tensor:
    """The image to invert, sized for ``model``: (1, C, S, S) in [0, 1]."""
    from viz_core.images import load_image

    if not config.image:
        raise VizError("feature inversion needs an image (--image PATH)", field="image")
    t, _ = load_image(config.image, model.spec.input_size, model.spec.channels)
    return t


def run(
    configs: RunConfig | list[RunConfig],
    model: FeatureModel | None = None,
    *,
    reference: torch.Tensor | None = None,
    stop: threading.Event | Callable[[], bool] | None = None,
    every: int | None = None,
) -> Iterator[Frame]:
    """Run configurations (one batch) and yield a :class:`Frame` at step 0, every ``every``
    steps (default ``config.every``), at octave ends and at the end.

    ``model``: a loaded model (else loaded from the first config); ``reference``: the image
    to invert as a (1|B, C, S, S) tensor in [0, 1] (else read from ``config.image``);
    ``stop``: checked between steps; when set, the run ends with a final frame marked
    ``stopped``. Closing the generator also ends the run between steps.
    """
    cfgs = [configs] if isinstance(configs, RunConfig) else list(configs)
    if not cfgs:
        raise VizError("no configuration to run", field="config")
    for c in cfgs:
        c.validate()
    check_batchable(cfgs)
    c0 = cfgs[0]
    if model is None:
        model = prepare_model(c0)
    dev = model.device
    spec = model.spec
    size = spec.input_size
    # D(u): a composable objective (objectives.algebra) or the task's targets
    expr = parse_objective(c0.objective) if c0.objective else None
    targets = [c.target_spec(spec.default_layer) for c in cfgs] if expr is None else []
    for t in targets:
        check_target(model, t)
    if (expr.needs_reference if expr else c0.task == "inversion") and reference is None:
        reference = load_reference(c0, model)
    objective = expr.bind(model, reference) if expr else make_objective(model, targets,
                                                                        reference)
    jpx = jitter_pixels(c0.jitter, size)
    should_stop = stop.is_set if isinstance(stop, threading.Event) else stop
    every = every or c0.every
    schedules = [c.schedule for c in cfgs]
    total = sum(o.steps for o in schedules[0])
    labels = [c.name or c.scheme.label for c in cfgs]
    n = len(cfgs)
    raw_grad = c0.grad_norm == "none"
    use_adam = c0.optimizer == "adam"

    # initial pre-images: small noise around the mean image, one generator per config (CPU,
    # so that a seed gives the same start on every device)
    center = torch.tensor(spec.mean, dtype=torch.float32, device=dev).view(1, -1, 1, 1)
    inits = []
    for c in cfgs:
        g = torch.Generator().manual_seed(c.seed)
        inits.append(torch.randn(spec.channels, size, size, generator=g) * c.init_std)
    u = (torch.stack(inits).to(dev) + center).clamp(0, 1)
    offsets = torch.Generator().manual_seed(c0.seed + 1)

    col = (n, 1, 1, 1)
    tv = torch.tensor([c.tv for c in cfgs], device=dev, dtype=u.dtype).view(col)
    eps = torch.tensor([c.tv_eps for c in cfgs], device=dev, dtype=u.dtype).view(col)
    health = _Health(n, dev)
    t_start = time.perf_counter()
    step = 0

    def frame(oi: int, done: bool = False, stopped: bool = False) -> Frame:
        return Frame(step, total, oi, u.detach().float().cpu().numpy().copy(),
                     *health.numbers(), time.perf_counter() - t_start, labels,
                     health.messages(cfgs), done, stopped)

    yield frame(0)
    x = g = None
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
            adam = _Adam(u, c0.adam_betas, c0.adam_eps) if use_adam else None
            moves = bool(jpx) or canvas > size
            for _ in range(stage[0].steps):
                if should_stop is not None and should_stop():
                    yield frame(oi, done=True, stopped=True)
                    return
                cy, cx, sy, sx = draw_offsets(offsets, jpx, canvas - size, mode) if moves \
                    else (0, 0, 0, 0)
                window = (..., slice(cy, cy + size), slice(cx, cx + size))
                x = u[window].detach().requires_grad_(True)
                with torch.enable_grad():
                    d, act = objective(roll(x, sy, sx))
                    (g,) = torch.autograd.grad(d.sum(), x)
                x = x.detach()
                # 1 / mean|g| (config), a factor of the step size as the kernels are linear;
                # a NaN or Inf gradient makes the update non-finite
                scale = 1.0 if raw_grad else g[0].numel() / torch.linalg.vector_norm(
                    g, 1, dim=(1, 2, 3), keepdim=True).clamp_min(1e-30)
                if adam is None:
                    new = bank.step(x, g, step, center, tau * scale, tv_coef, eps)
                else:
                    d_tv = torch.addcmul(g * scale, tv, tv_gradient(x, eps)) if bank.any_tv \
                        else g * scale
                    new = bank.step(x, adam.direction(d_tv, window), step, center, tau, None,
                                    eps)
                new = new.clamp_(0, 1)
                new = health.keep_finite(step, x, new, d.detach(), act, g)
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


class _Adam:
    """Adam's moments over a canvas (Kingma and Ba; torch.optim.Adam's arithmetic): the
    descent direction ``m_hat / (sqrt(v_hat) + eps)`` of the pixels in ``window``."""

    def __init__(self, u: torch.Tensor, betas: tuple[float, float], eps: float) -> None:
        self.m = torch.zeros_like(u)
        self.v = torch.zeros_like(u)
        self.b1, self.b2 = float(betas[0]), float(betas[1])
        self.eps = float(eps)
        self.t = 0

    def direction(self, d: torch.Tensor, window: tuple) -> torch.Tensor:
        self.t += 1
        m, v = self.m[window], self.v[window]  # views: updated in place
        m.lerp_(d, 1.0 - self.b1)
        v.mul_(self.b2).addcmul_(d, d, value=1.0 - self.b2)
        denom = (v.sqrt() / math.sqrt(1.0 - self.b2 ** self.t)).add_(self.eps)
        return m / denom / (1.0 - self.b1 ** self.t)


class _Health:
    """Divergence bookkeeping of a batch, on the device (no host synchronisation): a sample
    whose update is not finite keeps its last finite pre-image and stops updating, and
    frames report the numbers of its last finite step.

    There is no separate CPU fast path: skipping this bookkeeping while every sample is
    finite saved 0.18-0.36 ms on a 2.9 ms fmnist_vgg step in ``bench/overhead.py``
    (results/bench_overhead_cpu.md), inside that benchmark's run-to-run noise."""

    def __init__(self, n: int, dev: torch.device) -> None:
        self.alive = torch.ones(n, dtype=torch.bool, device=dev)
        self.first_bad = torch.full((n,), -1, dtype=torch.long, device=dev)
        self.d = torch.full((n,), float("nan"), device=dev)
        self.act = torch.full((n,), float("nan"), device=dev)
        self.gn = torch.zeros(n, device=dev)

    def keep_finite(self, step: int, x: torch.Tensor, new: torch.Tensor, d: torch.Tensor,
                    act: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """``new`` where the sample is (still) finite, else its previous pre-image ``x``."""
        gn = g.flatten(1).norm(dim=1)
        ok = torch.isfinite(new).flatten(1).all(1) & torch.isfinite(d) & torch.isfinite(gn)
        self.first_bad = torch.where(self.alive & ~ok, step + 1, self.first_bad)
        self.alive = self.alive & ok
        self.d = torch.where(self.alive, d, self.d)
        self.act = torch.where(self.alive, act, self.act)
        self.gn = torch.where(self.alive, gn, self.gn)
        return torch.where(self.alive.view(-1, 1, 1, 1), new, x)

    def numbers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(objective, activation, gradient norm) of each sample's last finite step."""
        return self.d.cpu().numpy(), self.act.cpu().numpy(), self.gn.cpu().numpy()

    def messages(self, cfgs: list[RunConfig]) -> list[str | None]:
        return [None if b < 0 else _divergence_message(b, cfgs[i])
                for i, b in enumerate(self.first_bad.tolist())]


def _divergence_message(step: int, cfg: RunConfig) -> str:
    cause = ("p=1 inversion at zero error or a too large step size" if cfg.p == 1 and
             cfg.task == "inversion" else "the step size is probably too large")
    return (f"diverged at step {step}: the update produced NaN or Inf ({cause}); "
            f"kept the last finite pre-image")


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
