"""Evaluation: the paper's Table 1 protocol (Sec. 3.2) and per-scheme metrics.

**Table 1.** For N images, reconstruct each from a layer of network A by feature inversion
(eq. 3, ``p = 2``, Mahendran-Vedaldi normalisation) with every regularization method,
quantise the reconstruction to 8 bits, classify it with network B and report top-1 / top-5
per method and direction (A -> B and B -> A), next to B's accuracy on the original images.
Each batch of the engine holds ``batch_images`` images x all methods (one forward/backward
per step for all of them); batches of both directions can run concurrently (``workers``).

Paper settings (Sec. 3.2) and their mapping to this implementation:

* 300 iterations, kernel size 11 (sigma / gamma fitted to the size, Sec. 2.7), no octaves,
  no jitter, initialisation: small noise (std 0.02) around the mean image;
* step 20: the paper's keras VGG19 works in 0-255 pixel units, and here ``tau`` is the mean
  absolute change of a pixel per step in 0-255 units (``tau / mean|g|``, :mod:`config`), so
  20 carries over literally for the ImageNet pair. For the 64 x 64 Fashion-MNIST pair the
  default is :data:`OFFLINE_STEP_SIZE` (see its comment for the measurement behind it);
* TV: the paper gives no weight; :data:`TV_LAMBDA` with ``eps`` :data:`TV_EPS` (explicit TV
  steps are stable for ``tau/255 * lambda / eps <= 1/4``).

**Scheme metrics.** :func:`scheme_metrics` turns the final frame of any batch of runs into
per-scheme numbers: final objective, target activation, high-frequency fraction, coarse
fraction, total variation and, for inversion, PSNR and SSIM against the original.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import platform
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.kernels import KernelSpec
from viz_core.metrics import image_metrics

__all__ = [
    "ALL_METHODS",
    "IMAGENET_PAIR",
    "METHODS",
    "OFFLINE_PAIR",
    "ImageSet",
    "Method",
    "Table1Settings",
    "classify",
    "fashion_mnist_images",
    "folder_images",
    "fuse_model",
    "get_methods",
    "metrics_markdown",
    "paper_claims",
    "read_table1_csv",
    "run_table1",
    "scheme_metrics",
    "scheme_metrics_markdown",
    "standard_schemes",
    "table1_markdown",
    "write_table1",
]

# Paper Sec. 3.2: 300 iterations, step 20, filter size 11.
PAPER_STEPS = 300
PAPER_STEP_SIZE = 20.0
PAPER_KERNEL_SIZE = 11
# Step size for the 64 x 64 offline pair (0-255 units per step, mean|g| normalisation).
OFFLINE_STEP_SIZE = 20.0
# TV weight relative to the mean-|g|-normalised data gradient, and its relaxation epsilon.
TV_LAMBDA = 0.1
TV_EPS = 0.05

OFFLINE_PAIR = (("fmnist_vgg", None), ("fmnist_resnet", None))  # (model, layer=default)
IMAGENET_PAIR = (("vgg19", "block5_conv1"), ("densenet121", "conv5_block12_0_bn"))


# ----------------------------------------------------------------------------- methods

@dataclass(frozen=True)
class Method:
    """One regularization method of Table 1: kernels in the fluid / elastic slots, TV."""

    key: str
    label: str
    fluid: str | None = None     # kernel kind of Kf ("gaussian" / "sobolev"), None = delta
    elastic: str | None = None   # kernel kind of Ke
    tv: bool = False

    def config(self, base: RunConfig, kernel_size: int, tv: float, tv_eps: float) -> RunConfig:
        """``base`` with this method's scheme (sigma / gamma fitted to ``kernel_size``)."""
        def spec(kind: str | None) -> KernelSpec | None:
            return KernelSpec(kind, None, kernel_size) if kind else None

        return replace(base, fluid=spec(self.fluid), elastic=spec(self.elastic),
                       tv=tv if self.tv else 0.0, tv_eps=tv_eps, name=self.key)


METHODS: dict[str, Method] = {m.key: m for m in [
    Method("tv", "total variation", tv=True),
    Method("fluid_sobolev", "fluid demons, Sobolev", fluid="sobolev"),
    Method("fluid_elastic_sobolev", "fluid-elastic demons, Sobolev", "sobolev", "sobolev"),
    Method("fluid_gaussian", "fluid demons, Gaussian", fluid="gaussian"),
    Method("fluid_elastic_gaussian", "fluid-elastic demons, Gaussian", "gaussian", "gaussian"),
]}
EXTRA_METHODS: dict[str, Method] = {m.key: m for m in [
    Method("plain", "plain gradient descent"),
    Method("elastic_sobolev", "elastic demons, Sobolev", elastic="sobolev"),
    Method("elastic_gaussian", "elastic demons, Gaussian", elastic="gaussian"),
]}
ALL_METHODS = {**METHODS, **EXTRA_METHODS}


def get_methods(keys: Iterable[str] | str | None) -> list[Method]:
    """Methods by key (comma-separated string or list); ``None`` = the five of Table 1."""
    if keys is None:
        return list(METHODS.values())
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    keys = list(keys)
    if not keys:
        raise VizError("no method given", field="methods")
    bad = [k for k in keys if k not in ALL_METHODS]
    if bad:
        raise VizError(f"unknown method(s) {', '.join(bad)}; known: {', '.join(ALL_METHODS)}",
                       field="methods")
    if len(set(keys)) != len(keys):
        raise VizError("a method is listed twice", field="methods")
    return [ALL_METHODS[k] for k in keys]


def standard_schemes(base: RunConfig, kernel_size: int = PAPER_KERNEL_SIZE,
                     tv: float = TV_LAMBDA, tv_eps: float = TV_EPS) -> list[RunConfig]:
    """The comparison set for scheme metrics: plain GD, fluid / elastic / fluid-elastic
    demons with Sobolev and Gaussian filters, and TV, all on ``base``'s task (one batch)."""
    order = ["plain", "fluid_sobolev", "elastic_sobolev", "fluid_elastic_sobolev",
             "fluid_gaussian", "elastic_gaussian", "fluid_elastic_gaussian", "tv"]
    return [ALL_METHODS[k].config(base, kernel_size, tv, tv_eps) for k in order]


# ----------------------------------------------------------------------------- settings

@dataclass
class Table1Settings:
    """Protocol parameters (defaults: the paper's, mapped as the module docstring says)."""

    n: int = 1000
    steps: int = PAPER_STEPS
    step_size: float | None = None      # None: PAPER_STEP_SIZE (ImageNet) / OFFLINE_STEP_SIZE
    kernel_size: int = PAPER_KERNEL_SIZE
    tv: float = TV_LAMBDA
    tv_eps: float = TV_EPS
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    batch_images: int = 20             # images per engine batch (x methods samples)
    workers: int = 1                    # batches run concurrently (threads, both directions)
    seed: int = 0
    init_std: float = 0.02
    p: int = 2
    fuse: bool = True
    precision: str = "fp32"             # "fp32" | "bf16" (autocast of the reconstructing net)
    directions: str = "both"            # "both" | "ab" | "ba"

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
        if self.precision not in ("fp32", "bf16"):
            raise VizError(f"precision must be fp32 or bf16, got {self.precision!r}",
                           field="precision")
        if self.directions not in ("both", "ab", "ba"):
            raise VizError("directions must be both, ab or ba", field="directions")
        get_methods(self.methods)
        return self


# ----------------------------------------------------------------------------- image sets

@dataclass
class ImageSet:
    """N labelled images; ``load(indices, size, channels)`` gives (n, C, size, size) in [0, 1]."""

    name: str
    labels: np.ndarray                                   # (N,) int64 class indices
    load: Callable[[Sequence[int], int, int], torch.Tensor]
    ids: list[str] = field(default_factory=list)         # per image: index / file name

    def __len__(self) -> int:
        return len(self.labels)


def balanced_order(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Indices in a seeded random order, round-robin over classes: every prefix is as
    class-balanced as the data allow (the paper samples one image per ImageNet class)."""
    labels = np.asarray(labels)
    perm = np.random.default_rng(seed).permutation(len(labels))
    rank = np.empty(len(labels), dtype=np.int64)
    counts: dict[int, int] = {}
    for i in perm:
        c = int(labels[i])
        rank[i] = counts.get(c, 0)
        counts[c] = rank[i] + 1
    pos = np.empty(len(labels), dtype=np.int64)
    pos[perm] = np.arange(len(labels))
    return np.lexsort((pos, rank))


def _subset(n: int, labels: np.ndarray, seed: int) -> np.ndarray:
    if n > len(labels):
        raise VizError(f"asked for {n} images but only {len(labels)} are available", field="n")
    return np.asarray(balanced_order(labels, seed)[:n], dtype=np.int64)


def fashion_mnist_images(n: int, seed: int = 0, root: str | Path | None = None,
                         split: str = "test") -> ImageSet:
    """N class-balanced Fashion-MNIST test images, preprocessed as in training
    (``datasets.to_model_input``: /255, bilinear resize)."""
    from viz_core.datasets import load_fashion_mnist, to_model_input

    x, y = load_fashion_mnist(split, root)
    idx = _subset(n, y.numpy(), seed)
    xs, ys = x[torch.from_numpy(idx)], y.numpy()[idx]

    def load(indices: Sequence[int], size: int, channels: int) -> torch.Tensor:
        t = to_model_input(xs[torch.as_tensor(list(indices), dtype=torch.long)], size)
        return t.expand(-1, channels, -1, -1).contiguous() if channels != 1 else t

    return ImageSet(f"Fashion-MNIST {split}", ys, load, [f"{split}:{i}" for i in idx])


IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")


def _norm_name(s: str) -> str:
    return re.sub(r"[\s_\-]+", " ", s.strip().lower())


def _label_index(text: str, classes: list[str], where: str) -> int:
    t = text.strip()
    if re.fullmatch(r"\d+", t):
        v = int(t)
        if v >= len(classes):
            raise VizError(f"{where}: class index {v} out of range 0..{len(classes) - 1}",
                           field="labels")
        return v
    names = {_norm_name(c): i for i, c in enumerate(classes)}
    if _norm_name(t) in names:
        return names[_norm_name(t)]
    raise VizError(f"{where}: {t!r} is neither a class index nor a class name of the model",
                   field="labels")


def folder_images(path: str | Path, classes: list[str], n: int | None = None, seed: int = 0,
                  labels_file: str | Path | None = None) -> ImageSet:
    """Images from a folder: ImageFolder layout (one subfolder per class, named by class
    index, class name, or WordNet id when there is one folder per class, sorted as
    torchvision's ImageNet indices) or a flat folder with a labels file (``NAME LABEL`` per
    line, separated by whitespace, comma or tab; LABEL an index or class name)."""
    root = Path(path)
    if not root.is_dir():
        raise VizError(f"image folder {str(root)!r} does not exist", field="images")
    files: list[Path] = []
    labels: list[int] = []
    if labels_file is not None:
        lf = Path(labels_file)
        if not lf.is_file():
            raise VizError(f"labels file {str(lf)!r} does not exist", field="labels")
        for ln, line in enumerate(lf.read_text(encoding="utf-8", errors="replace").splitlines(),
                                  1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p for p in re.split(r"[,\t]|\s+", line) if p]
            if len(parts) < 2:
                raise VizError(f"{lf.name} line {ln}: expected 'NAME LABEL', got {line!r}",
                               field="labels")
            name, lab = parts[0], " ".join(parts[1:])
            if ln == 1 and lab.lower() in ("label", "class", "target"):
                continue  # header
            f = root / name
            if not f.is_file():
                raise VizError(f"{lf.name} line {ln}: image {name!r} not found in {root}",
                               field="labels")
            files.append(f)
            labels.append(_label_index(lab, classes, f"{lf.name} line {ln}"))
    else:
        dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not dirs:
            raise VizError(f"{root} has no class subfolders; use the ImageFolder layout or "
                           "pass a labels file (--labels)", field="images")
        names = [d.name for d in dirs]
        if all(re.fullmatch(r"\d+", s) for s in names):
            idx = [_label_index(s, classes, f"folder {s}") for s in names]
        elif all(_norm_name(s) in {_norm_name(c) for c in classes} for s in names):
            idx = [_label_index(s, classes, f"folder {s}") for s in names]
        elif len(names) == len(classes) and all(re.fullmatch(r"n\d{8}", s) for s in names):
            idx = list(range(len(names)))
        else:
            raise VizError(f"cannot map the subfolders of {root} to classes: name them by "
                           "class index or class name, use one WordNet-id folder per class "
                           f"({len(classes)}), or pass a labels file", field="images")
        for d, c in zip(dirs, idx):
            for f in sorted(d.iterdir()):
                if f.suffix.lower() in IMAGE_EXTS and f.is_file():
                    files.append(f)
                    labels.append(c)
    if not files:
        raise VizError(f"no images found in {root}", field="images")
    lab = np.asarray(labels, dtype=np.int64)
    sel = _subset(n or len(files), lab, seed)
    chosen = [files[i] for i in sel]

    def load(indices: Sequence[int], size: int, channels: int) -> torch.Tensor:
        from viz_core.images import load_image

        return torch.cat([load_image(chosen[i], size, channels)[0] for i in indices])

    return ImageSet(f"folder {root.name}", lab[sel], load,
                    [str(f.relative_to(root)) for f in chosen])


# ----------------------------------------------------------------------------- models

def _fold_conv_bn(net: nn.Module) -> int:
    """Fold every eval-mode BatchNorm2d registered right after a Conv2d in the same parent
    into that convolution (the BN is replaced by Identity). Returns the number folded."""
    count = 0
    for parent in net.modules():
        names = list(parent._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = parent._modules[a], parent._modules[b]
            if not (type(conv) is nn.Conv2d and type(bn) is nn.BatchNorm2d
                    and bn.track_running_stats and bn.running_var is not None):
                continue
            with torch.no_grad():
                s = (bn.weight if bn.affine else torch.ones_like(bn.running_var)) / torch.sqrt(
                    bn.running_var + bn.eps)
                shift = bn.bias if bn.affine else torch.zeros_like(s)
                w = conv.weight * s.view(-1, 1, 1, 1)
                bias = (conv.bias if conv.bias is not None else 0.0) * s + shift \
                    - bn.running_mean * s
            conv.weight = nn.Parameter(w.detach().clone(), requires_grad=False)
            conv.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)
            parent._modules[b] = nn.Identity()
            count += 1
    return count


def fuse_model(model, layers: Sequence[str] = (), channels_last: bool = True,
               rtol: float = 1e-3):
    """A copy of a loaded model prepared for fast inference: convolution + BatchNorm pairs
    folded (exact up to rounding) and weights in channels-last memory format (faster on
    CPUs). The copy is checked against the original on a random batch at ``layers`` and the
    logits; on any mismatch (or a TorchScript model) the original is returned unchanged."""
    from viz_core.models import LoadedModel

    if not isinstance(model, LoadedModel) or model.is_script:
        return model
    net = copy.deepcopy(model.net)
    folded = _fold_conv_bn(net)
    if channels_last and model.device.type == "cpu":
        net = net.to(memory_format=torch.channels_last)
    if not folded and not channels_last:
        return model
    fused = LoadedModel(model.spec, net.eval(), model.classes, model.layers, model.aliases,
                        model.pretrained, model.label, model.device)
    spec = model.spec
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, spec.channels, spec.probe_size, spec.probe_size, generator=gen)
    x = model.normalize(x.to(model.device))
    try:
        with torch.no_grad():
            for layer in [*layers, "logits"]:
                a, b = model.features(layer)(x), fused.features(layer)(x)
                if not torch.allclose(a, b, rtol=rtol, atol=rtol * float(a.abs().max()) + 1e-6):
                    return model
    except Exception:  # noqa: BLE001 - any problem: keep the original network
        return model
    return fused


class _Autocast(nn.Module):
    """Run a feature module under autocast (reduced precision), return float32."""

    def __init__(self, inner: nn.Module, device_type: str, dtype: torch.dtype) -> None:
        super().__init__()
        self.inner, self.device_type, self.dtype = inner, device_type, dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device_type, dtype=self.dtype):
            y = self.inner(x)
        return y.float()


def autocast_model(model, dtype: torch.dtype = torch.bfloat16):
    """A view of a loaded model whose feature modules run under ``torch.autocast(dtype)``
    (same network and parameters; the pre-image, gradient and update stay float32)."""
    from viz_core.models import LoadedModel

    class _AutocastModel(LoadedModel):
        def features(self, layer: str) -> nn.Module:
            return _Autocast(super().features(layer), self.device.type, dtype)

    return _AutocastModel(model.spec, model.net, model.classes, model.layers, model.aliases,
                          model.pretrained, f"{model.label} [{dtype}]", model.device)


@torch.no_grad()
def classify(model, images: torch.Tensor, batch: int = 250) -> torch.Tensor:
    """Logits of ``model`` for images (N, C, H, W) in [0, 1] (resized to its input size)."""
    s = model.spec.input_size
    head = model.features("logits")
    outs = []
    for i in range(0, len(images), batch):
        x = images[i:i + batch].to(model.device, torch.float32)
        if x.shape[1] != model.spec.channels:
            x = x.mean(1, keepdim=True) if model.spec.channels == 1 else \
                x.expand(-1, model.spec.channels, -1, -1)
        if x.shape[-1] != s or x.shape[-2] != s:
            x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False,
                              antialias=True)
        outs.append(head(model.normalize(x)).float().cpu())
    return torch.cat(outs)


def quantize(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """8-bit quantisation as a saved pre-image (``images.to_uint8``), back to [0, 1]."""
    from viz_core.images import to_uint8

    arr = np.stack([to_uint8(im) for im in np.asarray(images)])
    arr = arr[:, None] if arr.ndim == 3 else arr.transpose(0, 3, 1, 2)
    return torch.from_numpy(arr.astype(np.float32) / 255.0)


def topk_hits(logits: torch.Tensor, labels: np.ndarray, k: int) -> np.ndarray:
    k = min(k, logits.shape[1])
    top = logits.topk(k, dim=1).indices.numpy()
    return (top == np.asarray(labels)[:, None]).any(1)


# ----------------------------------------------------------------------------- protocol

@dataclass
class Direction:
    """One direction of Table 1: reconstruct with ``rec`` at ``layer``, classify with ``cls``."""

    rec: object
    layer: str
    cls: object

    @property
    def name(self) -> str:
        return f"{self.rec.spec.name} -> {self.cls.spec.name}"


def reconstruct(model, layer: str, images: torch.Tensor, methods: list[Method],
                settings: Table1Settings, step_size: float,
                progress: Callable[[int], None] | None = None) -> dict:
    """Invert ``images`` (n, C, S, S) from ``layer`` with every method in one engine batch
    (n x len(methods) samples). Returns per method: final images, relative feature error,
    divergence flags."""
    from viz_core.engine import run

    n = images.shape[0]
    base = RunConfig(model=model.spec.name, weights="evaluate", task="inversion", layer=layer,
                     p=settings.p, step_size=step_size, steps=settings.steps,
                     seed=settings.seed, init_std=settings.init_std, device=model.device.type)
    cfgs = [m.config(base, settings.kernel_size, settings.tv, settings.tv_eps)
            for m in methods for _ in range(n)]
    reference = images.repeat(len(methods), 1, 1, 1)
    every = max(1, settings.steps // 10)
    last_step, final = 0, None
    for f in run(cfgs, model, reference=reference, every=every):
        if progress is not None and f.step > last_step:
            progress(f.step - last_step)
        last_step, final = f.step, f
    out = {}
    for j, m in enumerate(methods):
        sl = slice(j * n, (j + 1) * n)
        out[m.key] = {"images": final.images[sl], "rel_error": final.activation[sl],
                      "diverged": np.array([d is not None for d in final.diverged[sl]])}
    return out


def _mean(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else float("nan")


def run_table1(model_a, model_b, images: ImageSet, settings: Table1Settings,
               layer_a: str | None = None, layer_b: str | None = None,
               progress: Callable[[int, str], None] | None = None) -> dict:
    """Run the Table 1 protocol. Returns ``{"rows": [...], "samples": [...], "seconds":
    {...}, "examples": {...}}``; one row per direction and method plus an ``original`` row
    per direction (network B on the original images). With ``settings.workers > 1``
    batches of images (of both directions, interleaved) run concurrently in threads (give
    each ``cores / workers`` torch threads: on a CPU that beats one batch with all threads).
    A direction's ``seconds`` is the sum of its batches' times."""
    settings.validate()
    methods = get_methods(settings.methods)
    if list(model_a.classes) != list(model_b.classes):
        raise VizError("the two networks must be trained on the same classes "
                       f"({model_a.spec.name}: {len(model_a.classes)}, {model_b.spec.name}: "
                       f"{len(model_b.classes)})", field="models")
    if len(images) < settings.n:
        raise VizError(f"asked for {settings.n} images but the set has {len(images)}",
                       field="n")
    la = model_a.resolve_layer(layer_a or model_a.spec.default_layer)
    lb = model_b.resolve_layer(layer_b or model_b.spec.default_layer)
    dirs = {"ab": [Direction(model_a, la, model_b)], "ba": [Direction(model_b, lb, model_a)],
            "both": [Direction(model_a, la, model_b), Direction(model_b, lb, model_a)]}
    todo = dirs[settings.directions]
    labels = np.asarray(images.labels[:settings.n])
    load_start = _loadavg()
    wall0 = time.perf_counter()

    # models are prepared (copied, fused, fx-traced) here, one after the other: fx tracing
    # patches torch.nn.Module.__call__ process-wide, so it must not overlap the workers
    prepared = [_prepare_direction(d, settings) for d in todo]
    failed = threading.Event()
    # one job per batch of images, the directions interleaved: the workers share them, so
    # the faster direction's worker helps with the slower one instead of idling at the end
    starts = range(0, settings.n, settings.batch_images)
    jobs = [(k, b0) for b0 in starts for k in range(len(todo))]

    def one(job: tuple[int, int]) -> dict:
        k, b0 = job
        if failed.is_set():
            raise VizError("stopped: another batch failed", field="evaluate")
        try:
            return _run_batch(todo[k], prepared[k], images, labels, methods, settings, b0,
                              progress)
        except BaseException:
            failed.set()
            raise

    if settings.workers > 1 and len(jobs) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(settings.workers, len(jobs))) as pool:
            done = list(pool.map(one, jobs))
    else:
        done = [one(j) for j in jobs]
    parts = [_direction_rows(d, prepared[k][2], methods, settings,
                             [r for (kk, _), r in zip(jobs, done) if kk == k])
             for k, d in enumerate(todo)]
    out = {"rows": [], "samples": [], "seconds": {}, "examples": {}}
    for part in parts:
        out["rows"] += part["rows"]
        out["samples"] += part["samples"]
        out["seconds"].update(part["seconds"])
        out["examples"].update(part["examples"])
    return {**out, "settings": asdict(settings), "images": images.name,
            "load_average": [load_start, _loadavg()], "threads": torch.get_num_threads(),
            "wall_seconds": time.perf_counter() - wall0}


def _loadavg() -> float | None:
    """1-minute load average (how busy the machine was: the timings depend on it)."""
    import os

    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def _prepare_direction(d: Direction, settings: Table1Settings) -> tuple:
    """(reconstructing model, classifying model, tau) of one direction, with every feature
    module it will use built (traced) now."""
    fam = d.rec.spec.family
    tau = settings.step_size or (OFFLINE_STEP_SIZE if fam == "offline" else PAPER_STEP_SIZE)
    run_model = fuse_model(d.rec, [d.layer]) if settings.fuse else d.rec
    cls_model = fuse_model(d.cls) if settings.fuse else d.cls
    if settings.precision == "bf16":
        run_model = autocast_model(run_model, torch.bfloat16)
    for m, layers in ((run_model, (d.layer, "logits")), (cls_model, ("logits",))):
        for layer in layers:
            m.features(layer)
    return run_model, cls_model, tau


def _run_batch(d: Direction, prepared: tuple, images: ImageSet, labels: np.ndarray,
               methods: list[Method], settings: Table1Settings, b0: int,
               progress: Callable[[int, str], None] | None) -> dict:
    """One batch of one direction: reconstruct, quantise, classify; per-image results."""
    run_model, cls_model, tau = prepared
    t0 = time.perf_counter()
    tick = None if progress is None else (lambda k: progress(k, d.name))
    same_input = (d.cls.spec.input_size, d.cls.spec.channels) == \
        (d.rec.spec.input_size, d.rec.spec.channels)
    acc: dict[str, dict[str, list]] = {m.key: {} for m in methods}
    orig: dict[str, list] = {}
    samples: list[dict] = []
    examples: dict = {}
    idx = list(range(b0, min(settings.n, b0 + settings.batch_images)))
    x = images.load(idx, d.rec.spec.input_size, d.rec.spec.channels)
    y = labels[idx]
    xb = x if same_input else images.load(idx, d.cls.spec.input_size, d.cls.spec.channels)
    lo = classify(cls_model, xb)
    _extend(orig, {"top1": topk_hits(lo, y, 1), "top5": topk_hits(lo, y, 5),
                   **image_metrics(x)})
    res = reconstruct(run_model, d.layer, x, methods, settings, tau, tick)
    for m in methods:
        r = res[m.key]
        q = quantize(r["images"])
        lg = classify(cls_model, q)
        ls = classify(run_model, q)
        met = image_metrics(r["images"], x)
        hit1, hit5 = topk_hits(lg, y, 1), topk_hits(lg, y, 5)
        _extend(acc[m.key], {"top1": hit1, "top5": hit5, "self_top1": topk_hits(ls, y, 1),
                             "rel_error": r["rel_error"], "diverged": r["diverged"], **met})
        for i, gi in enumerate(idx):
            samples.append({"direction": d.name, "method": m.key, "image": gi,
                            "id": images.ids[gi] if images.ids else str(gi),
                            "label": int(y[i]), "pred": int(lg[i].argmax()),
                            "top1": bool(hit1[i]), "top5": bool(hit5[i]),
                            "rel_error": float(r["rel_error"][i]),
                            "psnr": float(met["psnr"][i]), "ssim": float(met["ssim"][i]),
                            "diverged": bool(r["diverged"][i])})
        if b0 == 0:
            examples.setdefault(d.name, {"original": x[:8].numpy()})[m.key] = r["images"][:8]
    return {"acc": acc, "orig": orig, "samples": samples, "examples": examples,
            "seconds": time.perf_counter() - t0}


def _direction_rows(d: Direction, tau: float, methods: list[Method],
                    settings: Table1Settings, batches: list[dict]) -> dict:
    """One direction's rows of Table 1 from its batches (in image order)."""
    acc: dict[str, dict[str, list]] = {m.key: {} for m in methods}
    orig: dict[str, list] = {}
    samples: list[dict] = []
    examples: dict = {}
    for b in batches:
        _extend(orig, b["orig"])
        for m in methods:
            _extend(acc[m.key], b["acc"][m.key])
        samples += b["samples"]
        examples.update(b["examples"])
    secs = sum(b["seconds"] for b in batches)  # the direction's own compute time
    base = {"direction": d.name, "rec_model": d.rec.spec.name, "rec_layer": d.layer,
            "cls_model": d.cls.spec.name, "n": settings.n, "step_size": tau,
            "steps": settings.steps, "clean_top1": _mean(orig["top1"]) * 100,
            "clean_top5": _mean(orig["top5"]) * 100}
    rows = [{**base, "method": "original", "label": "original images",
             "top1": base["clean_top1"], "top5": base["clean_top5"],
             "self_top1": float("nan"), "rel_error": 0.0, "psnr": float("inf"), "ssim": 1.0,
             "hf_fraction": _mean(orig["hf_fraction"]),
             "coarse_fraction": _mean(orig["coarse_fraction"]), "tv": _mean(orig["tv"]),
             "diverged": 0, "seconds": secs}]
    for m in methods:
        a = acc[m.key]
        rows.append({**base, "method": m.key, "label": m.label,
                     "top1": _mean(a["top1"]) * 100, "top5": _mean(a["top5"]) * 100,
                     "self_top1": _mean(a["self_top1"]) * 100,
                     "rel_error": _mean(a["rel_error"]), "psnr": _mean(a["psnr"]),
                     "ssim": _mean(a["ssim"]), "hf_fraction": _mean(a["hf_fraction"]),
                     "coarse_fraction": _mean(a["coarse_fraction"]), "tv": _mean(a["tv"]),
                     "diverged": int(np.sum(a["diverged"])), "seconds": secs})
    return {"rows": rows, "samples": samples, "seconds": {d.name: secs},
            "examples": examples}


def _extend(acc: dict[str, list], values: dict) -> None:
    for k, v in values.items():
        acc.setdefault(k, []).extend(np.atleast_1d(np.asarray(v)).tolist())


# ----------------------------------------------------------------------------- writers

ROW_COLUMNS = ["direction", "rec_model", "rec_layer", "cls_model", "method", "label", "n",
               "steps", "step_size", "top1", "top5", "clean_top1", "clean_top5", "self_top1",
               "rel_error", "psnr", "ssim", "hf_fraction", "coarse_fraction", "tv", "diverged",
               "seconds"]
SAMPLE_COLUMNS = ["direction", "method", "image", "id", "label", "pred", "top1", "top5",
                  "rel_error", "psnr", "ssim", "diverged"]


def _fmt(v, digits: int = 4) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf"
        return f"{v:.{digits}g}"
    return str(v)


def to_csv(rows: list[dict], columns: list[str] = ROW_COLUMNS) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_fmt(r.get(c, ""), 6) for c in columns])
    return buf.getvalue()


def read_table1_csv(path: str | Path) -> list[dict]:
    """Rows of a ``table1*.csv`` written by :func:`write_table1` (numbers as floats), e.g.
    to redraw :func:`table1_figure` on the dashboard."""
    p = Path(path)
    if not p.is_file():
        raise VizError(f"results file {str(p)!r} does not exist", field="results")
    rows = []
    with p.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            row: dict = {}
            for k, v in r.items():
                try:
                    row[k] = float(v) if k not in ("direction", "rec_model", "rec_layer",
                                                   "cls_model", "method", "label") else v
                except (TypeError, ValueError):
                    row[k] = float("nan") if v == "" else v
            rows.append(row)
    missing = {"direction", "method", "label", "top1", "top5"} - set(rows[0] if rows else {})
    if missing:
        raise VizError(f"{p.name} is not a Table 1 results file (missing columns "
                       f"{', '.join(sorted(missing))})", field="results")
    return rows


def _pct(v: float) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1f}%"


def table1_markdown(rows: list[dict]) -> str:
    """The paper's Table 1 layout: methods x (direction: top-1, top-5)."""
    directions = list(dict.fromkeys(r["direction"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    by = {(r["direction"], r["method"]): r for r in rows}
    head = "| method | " + " | ".join(
        f"{d.split(' -> ')[0]} rec. -> {d.split(' -> ')[1]} top-1 | top-5" for d in directions)
    lines = [head + " |", "|---|" + "---:|---:|" * len(directions)]
    for m in methods:
        cells = []
        label = next(r["label"] for r in rows if r["method"] == m)
        if m == "original":
            label = "original images (classifier's accuracy)"
        for d in directions:
            r = by.get((d, m))
            cells += [_pct(r["top1"]), _pct(r["top5"])] if r else ["", ""]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def metrics_markdown(rows: list[dict]) -> str:
    """Per direction and method: the reconstruction metrics (means over the N images)."""
    cols = [("direction", "direction"), ("label", "method"), ("self_top1", "A's top-1"),
            ("rel_error", "rel. feature error"), ("psnr", "PSNR dB"), ("ssim", "SSIM"),
            ("hf_fraction", "HF fraction"), ("coarse_fraction", "coarse fraction"),
            ("tv", "TV"), ("diverged", "diverged")]
    lines = ["| " + " | ".join(c[1] for c in cols) + " |",
             "|" + "---|" * 2 + "---:|" * (len(cols) - 2)]
    for r in rows:
        vals = []
        for k, _ in cols:
            v = r.get(k)
            vals.append(_pct(v) if k == "self_top1" else _fmt(v, 3))
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines)


def machine_description() -> str:
    """CPU model, cores, torch version and thread count (for results and benchmarks)."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    gpu = ""
    if torch.cuda.is_available():
        gpu = f", GPU {torch.cuda.get_device_name(0)}"
    return (f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads{gpu}, Python {platform.python_version()}")


def table1_figure(rows: list[dict]):
    """Plotly grouped bar chart: top-1 / top-5 per method, one panel per direction, with
    the classifier's accuracy on the originals as a dashed line."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    directions = list(dict.fromkeys(r["direction"] for r in rows))
    fig = make_subplots(rows=1, cols=len(directions), shared_yaxes=True,
                        subplot_titles=[f"{d.replace(' -> ', ' rec. -> ')}" for d in directions])
    colors = {"top1": "#1f77b4", "top5": "#aec7e8"}
    for j, d in enumerate(directions, 1):
        rs = [r for r in rows if r["direction"] == d and r["method"] != "original"]
        clean = next((r for r in rows if r["direction"] == d and r["method"] == "original"),
                     None)
        for k, name in (("top1", "top-1"), ("top5", "top-5")):
            fig.add_trace(go.Bar(x=[r["label"] for r in rs], y=[r[k] for r in rs], name=name,
                                 marker_color=colors[k], showlegend=j == 1,
                                 text=[f"{r[k]:.1f}" for r in rs], textposition="outside"),
                          row=1, col=j)
        if clean is not None:
            for k, dash in (("top1", "dash"), ("top5", "dot")):
                fig.add_hline(y=clean[k], line_dash=dash, line_color="gray", row=1, col=j,
                              annotation_text=f"originals {k[:3]}-{k[3:]} {clean[k]:.1f}%",
                              annotation_position="bottom right")
    fig.update_layout(barmode="group", yaxis_title="accuracy of the other network (%)",
                      yaxis_range=[0, 105], title="Table 1 protocol: reconstructions "
                      "classified by the other network", template="plotly_white",
                      height=480, width=max(700, 520 * len(directions)))
    return fig


def examples_png(examples: dict, path: str | Path, scale: int | None = None) -> None:
    """A grid of the first reconstructions: per direction, rows = original + methods
    (small images are enlarged ``scale`` times, default 2 below 128 px)."""
    from PIL import Image, ImageDraw

    from viz_core.images import to_uint8

    tiles = []
    for d, ex in examples.items():
        for key, imgs in ex.items():
            tiles.append((f"{d}: {key}", [to_uint8(im) for im in imgs]))
    if not tiles:
        return
    h, w = tiles[0][1][0].shape[:2]
    scale = scale or (2 if max(h, w) < 128 else 1)
    label_w, cols = 260, max(len(t[1]) for t in tiles)
    mode = "L" if all(im.ndim == 2 for _, ims in tiles for im in ims) else "RGB"
    canvas = Image.new(mode, (label_w + cols * w * scale, len(tiles) * h * scale), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (label, imgs) in enumerate(tiles):
        draw.text((4, r * h * scale + 4), label, fill="black")
        for c, im in enumerate(imgs):
            pil = Image.fromarray(im).convert(mode).resize((w * scale, h * scale),
                                                            Image.NEAREST)
            canvas.paste(pil, (label_w + c * w * scale, r * h * scale))
    canvas.save(path, optimize=True)


def write_table1(result: dict, out_dir: str | Path, stem: str, command: str = "",
                 per_sample: bool = False, plotly_js: str = "cdn") -> list[Path]:
    """Write ``<stem>.csv``, ``.md``, ``.html`` (plotly bar chart), ``.json`` (settings,
    timing, machine) and ``_examples.png``; ``_samples.csv`` with ``per_sample``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = result["rows"]
    total = sum(result["seconds"].values())
    s = result["settings"]
    paths = []
    p = out / f"{stem}.csv"
    p.write_text(to_csv(rows), encoding="utf-8")
    paths.append(p)
    if per_sample:
        p = out / f"{stem}_samples.csv"
        p.write_text(to_csv(result["samples"], SAMPLE_COLUMNS), encoding="utf-8")
        paths.append(p)
    steps = rows[0]["steps"] if rows else s["steps"]
    taus = ", ".join(f"{d}: {r['step_size']:g}" for d, r in
                     {r["direction"]: r for r in rows}.items())
    md = [f"# Table 1 protocol (Baust et al. Sec. 3.2) on {result['images']}, "
          f"N = {s['n']}", ""]
    if command:
        md += ["Command:", "", f"    {command}", ""]
    md += [f"Settings: {steps} iterations, step size tau ({taus}; 0-255 units per step, "
           f"mean|g| normalisation), kernel size {s['kernel_size']} (sigma / gamma fitted), "
           f"TV lambda {s['tv']:g} (eps {s['tv_eps']:g}), no octaves or jitter, seed "
           f"{s['seed']}, {s['batch_images']} images x {len(s['methods'])} methods per batch, "
           f"{s['precision']}, BatchNorm folded: {s['fuse']}, concurrent batches (workers): "
           f"{s['workers']}. Reconstructions are quantised to 8 bits before "
           "classification.", "",
           f"Machine: {machine_description()}. Time: "
           + ", ".join(f"{d} {v / 60:.1f} min" for d, v in result["seconds"].items())
           + f", total {total / 60:.1f} min (wall {result.get('wall_seconds', total) / 60:.1f} "
           f"min); torch threads per worker {result.get('threads')}; 1-min load average at "
           f"start / end {result.get('load_average')}.", "",
           "## Top-1 / top-5 of the other network on the reconstructions", "",
           table1_markdown(rows), "",
           "## Reconstruction metrics (means over the N images)", "",
           "A's top-1: the reconstructing network's own accuracy on its reconstructions; rel. "
           "feature error: ||Phi(u) - Phi0|| / ||Phi0|| at the end; HF fraction: spectral "
           "energy above half Nyquist; coarse fraction: energy at wavelengths >= 16 px; TV: "
           "mean isotropic total variation (eq. 19).", "",
           metrics_markdown(rows), ""]
    p = out / f"{stem}.md"
    p.write_text("\n".join(md), encoding="utf-8")
    paths.append(p)
    fig = table1_figure(rows)
    p = out / f"{stem}.html"
    fig.write_html(str(p), include_plotlyjs=plotly_js, full_html=True)
    paths.append(p)
    meta = {"settings": s, "images": result["images"], "seconds": result["seconds"],
            "total_seconds": total, "wall_seconds": result.get("wall_seconds"),
            "load_average": result.get("load_average"), "threads": result.get("threads"),
            "machine": machine_description(), "command": command,
            "rows": rows}
    p = out / f"{stem}.json"
    p.write_text(json.dumps(meta, indent=2, default=_json_default) + "\n", encoding="utf-8")
    paths.append(p)
    if result.get("examples"):
        p = out / f"{stem}_examples.png"
        examples_png(result["examples"], p)
        paths.append(p)
    return paths


def _json_default(o):
    if isinstance(o, float) and not math.isfinite(o):
        return str(o)
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


# ----------------------------------------------------------------------------- scheme metrics

def scheme_metrics(frame, configs: Sequence[RunConfig] | None = None,
                   reference: torch.Tensor | np.ndarray | None = None) -> list[dict]:
    """Per sample of a (final) :class:`~viz_core.engine.Frame`: scheme, final objective,
    target activation (AM) or relative feature error (inversion), high-frequency fraction,
    coarse fraction, total variation and, given the inverted ``reference`` (1|B, C, H, W),
    PSNR and SSIM."""
    imgs = np.asarray(frame.images)
    ref = None
    if reference is not None:
        ref = torch.as_tensor(np.asarray(reference, dtype=np.float32))
        ref = ref[None] if ref.ndim == 3 else ref
    met = image_metrics(imgs, ref)
    rows = []
    for i in range(imgs.shape[0]):
        cfg = configs[i] if configs is not None else None
        row = {"label": frame.labels[i] if i < len(frame.labels) else str(i),
               "scheme": cfg.scheme.name if cfg is not None else "",
               "kernels": cfg.scheme.label if cfg is not None else "",
               "task": cfg.task if cfg is not None else "",
               "objective": float(frame.objective[i]),
               "activation": float(frame.activation[i]),
               "hf_fraction": float(met["hf_fraction"][i]),
               "coarse_fraction": float(met["coarse_fraction"][i]),
               "tv": float(met["tv"][i]),
               "diverged": frame.diverged[i] if i < len(frame.diverged) else None}
        if ref is not None:
            row["psnr"] = float(met["psnr"][i])
            row["ssim"] = float(met["ssim"][i])
        rows.append(row)
    return rows


def scheme_metrics_markdown(rows: list[dict]) -> str:
    inv = any(r.get("task") == "inversion" for r in rows)
    cols = [("label", "scheme"), ("objective", "final objective"),
            ("activation", "rel. feature error" if inv else "target activation"),
            ("hf_fraction", "HF fraction"), ("coarse_fraction", "coarse fraction"), ("tv", "TV")]
    if any("psnr" in r for r in rows):
        cols += [("psnr", "PSNR dB"), ("ssim", "SSIM")]
    lines = ["| " + " | ".join(c[1] for c in cols) + " |",
             "|---|" + "---:|" * (len(cols) - 1)]
    for r in rows:
        lab = r["label"] + (" (diverged)" if r.get("diverged") else "")
        lines.append("| " + " | ".join([lab] + [_fmt(r.get(k), 4) for k, _ in cols[1:]])
                     + " |")
    return "\n".join(lines)


def paper_claims(rows: list[dict]) -> list[str]:
    """Check the paper's qualitative claims (Sec. 4.1) on scheme-metric rows named by
    :func:`standard_schemes`: Sobolev sharper than Gaussian (higher HF fraction, per slot
    combination), elastic and fluid-elastic keep more coarse scales than fluid (higher
    coarse fraction, per kernel)."""
    by = {r["label"]: r for r in rows}
    out = []
    for slots in ("fluid", "elastic", "fluid_elastic"):
        s, g = by.get(f"{slots}_sobolev"), by.get(f"{slots}_gaussian")
        if s and g:
            ok = s["hf_fraction"] > g["hf_fraction"]
            out.append(f"Sobolev sharper than Gaussian ({slots.replace('_', '-')} demons): "
                       f"HF fraction {s['hf_fraction']:.4f} vs {g['hf_fraction']:.4f} -> "
                       f"{'yes' if ok else 'no'}")
    for kern in ("sobolev", "gaussian"):
        f = by.get(f"fluid_{kern}")
        for other in ("elastic", "fluid_elastic"):
            o = by.get(f"{other}_{kern}")
            if f and o:
                ok = o["coarse_fraction"] > f["coarse_fraction"]
                out.append(f"{other.replace('_', '-')} keeps more coarse scales than fluid "
                           f"({kern}): coarse fraction {o['coarse_fraction']:.4f} vs "
                           f"{f['coarse_fraction']:.4f} -> {'yes' if ok else 'no'}")
    return out
