"""The paper's Table 1 protocol (Sec. 3.2).

For N images, reconstruct each from a layer of network A by feature inversion (eq. 3,
``p = 2``, Mahendran-Vedaldi normalisation) with every regularization method (schemes of
:data:`viz_core.schemes.TABLE1_SCHEMES` by default), quantise the reconstruction to 8 bits,
classify it with network B and report top-1 / top-5 per method and direction (A -> B and
B -> A), next to B's accuracy on the original images.

The unit of work is :func:`table1_batch`: one batch of images of one direction (model
names, layer, images and settings in; per-image results out), a plain picklable function
that an executor may run anywhere. Each batch is one engine batch of ``batch_images`` images
x all methods (one forward/backward per step for all of them). The local executor runs the
batches of both directions on ``workers`` threads of this process.

Paper settings (Sec. 3.2) and their mapping to this implementation:

* 300 iterations, kernel size 11 (sigma / gamma fitted to the size, Sec. 2.7), no octaves,
  no jitter, initialisation: small noise (std 0.02) around the mean image;
* step 20: the paper's keras VGG19 works in 0-255 pixel units, and here ``tau`` is the mean
  absolute change of a pixel per step in 0-255 units (the step-size convention of
  :mod:`viz_core.config`), so 20 carries over literally for the ImageNet pair. For the
  64 x 64 Fashion-MNIST pairs the default is :data:`OFFLINE_STEP_SIZE`;
* TV: the paper gives no weight; :data:`TV_LAMBDA` with ``eps`` :data:`TV_EPS` (explicit TV
  steps are stable for ``tau/255 * lambda / eps <= 1/4``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import torch

from viz_core import models, zoo
from viz_core.config import RunConfig, scheme_config
from viz_core.devices import resolve_device
from viz_core.engine import run
from viz_core.errors import VizError
from viz_core.evaluation.imagesets import ImageSet
from viz_core.evaluation.table1_rows import direction_rows
from viz_core.fusion import autocast_model, fuse_model
from viz_core.judging import classify, quantize, topk_hits
from viz_core.machine import load_average
from viz_core.metrics import image_metrics
from viz_core.schemes import SCHEME_REGISTRY, TABLE1_SCHEMES, scheme_key
from viz_core.sweeps.executors import EXECUTORS

# Paper Sec. 3.2: 300 iterations, step 20, filter size 11.
PAPER_STEPS = 300
PAPER_STEP_SIZE = 20.0
PAPER_KERNEL_SIZE = 11
# Step size for the 64 x 64 offline pairs (0-255 units per step, mean|g| normalisation).
OFFLINE_STEP_SIZE = 20.0
# TV weight relative to the mean-|g|-normalised data gradient, and its relaxation epsilon.
TV_LAMBDA = 0.1
TV_EPS = 0.05

#: The paper's Table 1 layers (Sec. 3.2); other models use their deepest block (None).
TABLE1_LAYERS = {"vgg19": "block5_conv1", "densenet121": "conv5_block12_0_bn"}
#: Network pairs ((model A, layer), (model B, layer)) of :func:`viz_core.zoo.pair`.
PAIRS = {p: tuple((m, TABLE1_LAYERS.get(m)) for m in zoo.pair(p)) for p in zoo.PAIR_NAMES}
OFFLINE_PAIR = PAIRS["offline"]
IMAGENET_PAIR = PAIRS["imagenet"]
DIRECTIONS = ("both", "ab", "ba")
PRECISIONS = ("fp32", "bf16")


def method_keys(keys: Iterable[str] | str | None) -> list[str]:
    """Canonical scheme keys from keys or aliases (comma-separated string or list);
    ``None`` = the five of Table 1."""
    if keys is None:
        return list(TABLE1_SCHEMES)
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    keys = list(keys)
    if not keys:
        raise VizError("no method given", field="methods")
    out, bad = [], []
    for k in keys:
        try:
            out.append(scheme_key(k))
        except VizError:
            bad.append(k)
    if bad:
        raise VizError(f"unknown method(s) {', '.join(bad)}; known: "
                       f"{', '.join(SCHEME_REGISTRY)}", field="methods")
    if len(set(out)) != len(out):
        raise VizError("a method is listed twice", field="methods")
    return out


@dataclass
class Table1Settings:
    """Protocol parameters (defaults: the paper's, mapped as the module docstring says)."""

    n: int = 1000
    steps: int = PAPER_STEPS
    step_size: float | None = None      # None: PAPER_STEP_SIZE (ImageNet) / OFFLINE_STEP_SIZE
    kernel_size: int = PAPER_KERNEL_SIZE
    tv: float = TV_LAMBDA
    tv_eps: float = TV_EPS
    methods: list[str] = field(default_factory=lambda: list(TABLE1_SCHEMES))
    batch_images: int = 20             # images per engine batch (x methods samples)
    workers: int = 1                    # batches run concurrently (threads, both directions)
    seed: int = 0
    init_std: float = 0.02
    p: int = 2
    fuse: bool = True
    precision: str = "fp32"             # one of PRECISIONS (autocast of the reconstructing net)
    directions: str = "both"            # one of DIRECTIONS

    def validate(self) -> Table1Settings:
        for name in ("n", "steps", "batch_images", "kernel_size", "workers"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise VizError(f"{name} must be an integer >= 1, got {v!r}", field=name)
        if self.step_size is not None and not (math.isfinite(self.step_size)
                                               and self.step_size > 0):
            raise VizError(f"step size must be > 0, got {self.step_size}", field="step_size")
        if self.kernel_size % 2 == 0:
            raise VizError(f"kernel size must be odd, got {self.kernel_size}",
                           field="kernel_size")
        if self.precision not in PRECISIONS:
            raise VizError(f"precision must be one of {', '.join(PRECISIONS)}, got "
                           f"{self.precision!r}", field="precision")
        if self.directions not in DIRECTIONS:
            raise VizError(f"directions must be one of {', '.join(DIRECTIONS)}",
                           field="directions")
        self.methods = method_keys(self.methods)
        return self

    def tau(self, family: str) -> float:
        """The step size of a reconstructing network of this model family."""
        return self.step_size or (OFFLINE_STEP_SIZE if family == "offline"
                                  else PAPER_STEP_SIZE)


@dataclass(frozen=True)
class ModelRef:
    """How to load a network anywhere: zoo name (or file), weights, seed, device."""

    name: str
    weights: str | None = None
    seed: int = 0
    device: str = "cpu"

    def load(self) -> models.LoadedModel:
        return models.load_model(self.name, weights=self.weights,
                                 device=resolve_device(self.device), seed=self.seed)


@dataclass
class Table1Batch:
    """One unit of work: a batch of images of one direction (picklable: tensors, names)."""

    k: int                              # index of the direction in this run
    direction: str                      # "A -> B"
    rec: ModelRef                       # reconstructing network A
    cls: ModelRef                       # classifying network B
    layer: str                          # A's resolved layer
    first: int                          # index of the first image in the image set
    images: torch.Tensor                # (n, C, S, S) in [0, 1] at A's input size
    images_cls: torch.Tensor | None     # the same images at B's input size (None: same)
    labels: np.ndarray
    ids: list[str]
    settings: Table1Settings


def prepare(rec: models.LoadedModel, cls: models.LoadedModel, layer: str,
            settings: Table1Settings) -> tuple[models.LoadedModel, models.LoadedModel]:
    """(reconstructing, classifying) models ready for the protocol: BatchNorm folded
    (unless ``fuse`` is off), autocast for bf16, every feature module used built (traced)
    now: fx tracing patches ``nn.Module.__call__`` process-wide, so it must not overlap
    running batches."""
    run_model = fuse_model(rec, [layer]) if settings.fuse else rec
    cls_model = fuse_model(cls) if settings.fuse else cls
    if settings.precision == "bf16":
        run_model = autocast_model(run_model, torch.bfloat16)
    for m, layers in ((run_model, (layer, "logits")), (cls_model, ("logits",))):
        for name in layers:
            m.features(name)
    return run_model, cls_model


@lru_cache(maxsize=4)
def _prepared_by_ref(rec: ModelRef, cls: ModelRef, layer: str, fuse: bool,
                     precision: str) -> tuple[models.LoadedModel, models.LoadedModel]:
    """Per process (a remote worker): load and prepare once, reuse for every batch."""
    settings = Table1Settings(fuse=fuse, precision=precision)
    return prepare(rec.load(), cls.load(), layer, settings)


def reconstruct(model: models.LoadedModel, layer: str, images: torch.Tensor,
                methods: list[str], settings: Table1Settings, step_size: float,
                progress: Callable[[int], None] | None = None) -> dict:
    """Invert ``images`` (n, C, S, S) from ``layer`` with every method in one engine batch
    (n x len(methods) samples). Returns per method: final images, relative feature error,
    divergence flags. The model is passed to the engine, so the configurations name it but
    do not load it."""
    n = images.shape[0]
    base = RunConfig(model=model.spec.name, task="inversion", layer=layer, p=settings.p,
                     step_size=step_size, steps=settings.steps, seed=settings.seed,
                     init_std=settings.init_std, device=model.device.type)
    cfgs = [scheme_config(base, m, settings.kernel_size, settings.tv, settings.tv_eps)
            for m in methods for _ in range(n)]
    reference = images.repeat(len(methods), 1, 1, 1)
    last_step, final = 0, None
    for f in run(cfgs, model, reference=reference, every=max(1, settings.steps // 10)):
        if progress is not None and f.step > last_step:
            progress(f.step - last_step)
        last_step, final = f.step, f
    out = {}
    for j, m in enumerate(methods):
        sl = slice(j * n, (j + 1) * n)
        out[m] = {"images": final.images[sl], "rel_error": final.activation[sl],
                  "diverged": np.array([d is not None for d in final.diverged[sl]])}
    return out


def table1_batch(job: Table1Batch, prepared: tuple | None = None,
                 progress: Callable[[int], None] | None = None) -> dict:
    """The unit of work: reconstruct one batch with A, quantise to 8 bits, classify with B
    (and A). ``prepared``: the (reconstructing, classifying) models; None loads them from
    the job's references once per process. Returns per-image results of the batch."""
    s = job.settings
    run_model, cls_model = prepared or _prepared_by_ref(job.rec, job.cls, job.layer, s.fuse,
                                                        s.precision)
    t0 = time.perf_counter()
    x, y = job.images, job.labels
    xb = x if job.images_cls is None else job.images_cls
    lo = classify(cls_model, xb)
    orig = {"top1": topk_hits(lo, y, 1), "top5": topk_hits(lo, y, 5), **image_metrics(x)}
    tau = s.tau(run_model.spec.family)
    res = reconstruct(run_model, job.layer, x, s.methods, s, tau, progress)
    acc: dict[str, dict] = {}
    samples: list[dict] = []
    examples: dict = {}
    for m in s.methods:
        r = res[m]
        q = quantize(r["images"])
        lg, ls = classify(cls_model, q), classify(run_model, q)
        met = image_metrics(r["images"], x)
        hit1, hit5 = topk_hits(lg, y, 1), topk_hits(lg, y, 5)
        acc[m] = {"top1": hit1, "top5": hit5, "self_top1": topk_hits(ls, y, 1),
                  "rel_error": r["rel_error"], "diverged": r["diverged"], **met}
        for i in range(len(y)):
            samples.append({"direction": job.direction, "method": m, "image": job.first + i,
                            "id": job.ids[i], "label": int(y[i]), "pred": int(lg[i].argmax()),
                            "top1": bool(hit1[i]), "top5": bool(hit5[i]),
                            "rel_error": float(r["rel_error"][i]),
                            "psnr": float(met["psnr"][i]), "ssim": float(met["ssim"][i]),
                            "diverged": bool(r["diverged"][i])})
        if job.first == 0:
            examples.setdefault(job.direction, {"original": x[:8].numpy()})[m] = \
                r["images"][:8]
    return {"k": job.k, "direction": job.direction, "first": job.first, "tau": tau, "acc": acc,
            "orig": orig, "samples": samples, "examples": examples,
            "seconds": time.perf_counter() - t0}


def run_table1(model_a: models.LoadedModel, model_b: models.LoadedModel, images: ImageSet,
               settings: Table1Settings, layer_a: str | None = None,
               layer_b: str | None = None,
               progress: Callable[[int, str], None] | None = None,
               executor: str = "local", refs: tuple[ModelRef, ModelRef] | None = None,
               ray_address: str | None = None, ray_timeout: float | None = None) -> dict:
    """Run the Table 1 protocol. Returns ``{"rows": [...], "samples": [...], "seconds":
    {...}, "examples": {...}}``; one row per direction and method plus an ``original`` row
    per direction (network B on the original images).

    ``executor="local"``: batches of images (of both directions, interleaved) run on
    ``settings.workers`` threads (give each ``cores / workers`` torch threads: on a CPU that
    beats one batch with all threads). ``"ray"``: each batch is a task of
    ``viz_core.sweeps.executors`` (needs ``refs``, how to load A and B on a worker;
    ``ray_timeout``: seconds to join ``ray_address``). A direction's ``seconds`` is the
    sum of its batches' times."""
    settings.validate()
    if executor not in EXECUTORS:
        raise VizError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}",
                       field="executor")
    if list(model_a.classes) != list(model_b.classes):
        raise VizError("the two networks must be trained on the same classes "
                       f"({model_a.spec.name}: {len(model_a.classes)}, {model_b.spec.name}: "
                       f"{len(model_b.classes)})", field="models")
    if len(images) < settings.n:
        raise VizError(f"asked for {settings.n} images but the set has {len(images)}",
                       field="n")
    ref_a, ref_b = refs or (ModelRef(model_a.spec.name), ModelRef(model_b.spec.name))
    la = model_a.resolve_layer(layer_a or model_a.spec.default_layer)
    lb = model_b.resolve_layer(layer_b or model_b.spec.default_layer)
    todo = {"ab": [(model_a, ref_a, la, model_b, ref_b)],
            "ba": [(model_b, ref_b, lb, model_a, ref_a)]}
    todo["both"] = todo["ab"] + todo["ba"]
    dirs = todo[settings.directions]
    labels = np.asarray(images.labels[:settings.n])
    load_start, wall0 = load_average(), time.perf_counter()
    # one job per batch of images, the directions interleaved: the workers share them, so
    # the faster direction's worker helps with the slower one instead of idling at the end
    jobs = [_job(k, d, images, labels, b0, settings)
            for b0 in range(0, settings.n, settings.batch_images) for k, d in enumerate(dirs)]
    if executor == "ray":
        done = _run_remote(jobs, settings, progress, refs, ray_address, ray_timeout)
    else:
        prepared = [prepare(d[0], d[3], d[2], settings) for d in dirs]
        done = _run_local(jobs, prepared, settings, progress)
    out: dict = {"rows": [], "samples": [], "seconds": {}, "examples": {}}
    for k, (rec, _, layer, cls, _) in enumerate(dirs):
        name = f"{rec.spec.name} -> {cls.spec.name}"
        part = direction_rows(name, rec, layer, cls, settings,
                               sorted((r for r in done if r["k"] == k),
                                      key=lambda r: r["first"]))
        for key in ("rows", "samples"):
            out[key] += part[key]
        out["seconds"][name] = part["seconds"]
        out["examples"].update(part["examples"])
    return {**out, "settings": asdict(settings), "images": images.name,
            "load_average": [load_start, load_average()], "threads": torch.get_num_threads(),
            "wall_seconds": time.perf_counter() - wall0, "executor": executor}


def _job(k: int, d: tuple, images: ImageSet, labels: np.ndarray, b0: int,
         settings: Table1Settings) -> Table1Batch:
    rec, ref_rec, layer, cls, ref_cls = d
    idx = list(range(b0, min(settings.n, b0 + settings.batch_images)))
    x = images.load(idx, rec.spec.input_size, rec.spec.channels)
    same = (cls.spec.input_size, cls.spec.channels) == (rec.spec.input_size, rec.spec.channels)
    xb = None if same else images.load(idx, cls.spec.input_size, cls.spec.channels)
    return Table1Batch(k, f"{rec.spec.name} -> {cls.spec.name}", ref_rec, ref_cls, layer, b0, x,
                       xb, labels[idx], [images.ids[i] if images.ids else str(i) for i in idx],
                       settings)


def _run_local(jobs: list[Table1Batch], prepared: list[tuple], settings: Table1Settings,
               progress: Callable[[int, str], None] | None) -> list[dict]:
    failed = threading.Event()

    def one(job: Table1Batch) -> dict:
        if failed.is_set():
            raise VizError("stopped: another batch failed", field="evaluate")
        tick = None if progress is None else (lambda k: progress(k, job.direction))
        try:
            return table1_batch(job, prepared[job.k], tick)
        except BaseException:
            failed.set()
            raise

    if settings.workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=min(settings.workers, len(jobs))) as pool:
            return list(pool.map(one, jobs))
    return [one(j) for j in jobs]


def _run_remote(jobs: list[Table1Batch], settings: Table1Settings,
                progress: Callable[[int, str], None] | None,
                refs: tuple[ModelRef, ModelRef] | None, address: str | None,
                timeout: float | None = None) -> list[dict]:
    """Each batch as a task of the sweeps' Ray executor (evaluation uses the sweeps'
    executors; the sweeps never import evaluation); a batch that fails for good is one
    VizError naming its direction and images."""
    from viz_core.sweeps.executors import ItemFailed, get_executor  # Ray only when used

    if refs is None:
        raise VizError("the ray executor needs model references (how a worker loads A "
                       "and B)", field="executor")
    extra = {} if timeout is None else {"connect_timeout": timeout}
    ex = get_executor("ray", address=address, **extra)
    done = []
    try:
        for res in ex.map(table1_batch, jobs):
            done.append(res)
            if progress is not None:
                progress(settings.steps, res["direction"])
    except ItemFailed as exc:
        job = jobs[exc.index] if exc.index is not None else None
        what = (f"the batch of images {job.first}-{job.first + len(job.labels) - 1} "
                f"({job.direction})" if job is not None else "a batch")
        raise VizError(f"{what} failed: {exc.reason}; nothing was written (Table 1 needs "
                       "every batch)", field="executor") from None
    finally:
        ex.close()
    return done
