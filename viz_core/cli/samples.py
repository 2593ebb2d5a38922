"""``demons-viz visualize --samples N``: N samples of one configuration, seeds
``seed .. seed+N-1``, one after another, each exactly as its seed gives it alone, or as one
batch of the engine when a ``diversity`` term compares them (Olah et al., Distill 2017),
written side by side, left to right; and the output-name check of
the files visualize writes."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from viz_core import engine
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.objectives import parse_objective

__all__ = ["MAX_SAMPLES", "SUFFIXES", "check_suffix", "diversity_weight", "recorded_samples",
           "run_samples", "sample_configs", "samples_of", "side_by_side", "together"]

#: The most samples ``--samples`` runs in one batch.
MAX_SAMPLES = 64
#: The suffix of each file flag's format (the PNG and GIF writers).
SUFFIXES = {"out": ".png", "gif": ".gif"}

def check_suffix(path: str | None, flag: str) -> None:
    """Refuse ``--out`` / ``--gif`` names whose suffix is not the format written (PNG,
    GIF), before any work starts; a name without a suffix passes."""
    if not path:
        return
    suffix = Path(path).suffix
    if suffix and suffix.lower() != SUFFIXES[flag]:
        raise VizError(f"--{flag} {path!r}: this writes a {SUFFIXES[flag][1:].upper()} file; "
                       f"name it *{SUFFIXES[flag]}", field=flag)


def samples_of(args: argparse.Namespace) -> int:
    """``--samples``, else the ``samples`` a ``--config`` run JSON records, else 1."""
    n = args.samples
    if n is None and args.config:
        try:
            n = recorded_samples(json.loads(Path(args.config).read_text(
                encoding="utf-8", errors="replace")))
        except (OSError, ValueError):
            n = 1  # RunConfig.load has said what is wrong with the file already
    n = 1 if n is None else n
    if not 1 <= n <= MAX_SAMPLES:
        raise VizError(f"--samples must be 1..{MAX_SAMPLES}, got {n}", field="samples")
    return n


def recorded_samples(d: object) -> int:
    """The ``samples`` a run JSON of ``visualize --samples N`` records (a parsed JSON
    value), else 1."""
    n = d.get("samples") if isinstance(d, dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1


def sample_configs(cfg: RunConfig, n: int) -> list[RunConfig]:
    """The samples ``--samples n`` runs: ``[cfg]``, or n copies with seeds ``seed ..
    seed+n-1`` named "sample i" (:func:`run_samples` runs them)."""
    if n == 1:
        return [cfg]
    if cfg.weights == "random":
        raise VizError(f"--samples {n}: with --weights random the seed draws the network, "
                       "so each sample would be another network", field="samples")
    label = f"{cfg.name} " if cfg.name else ""
    out = [dataclasses.replace(cfg, seed=cfg.seed + i, name=f"{label}sample {i + 1}",
                               extra=dict(cfg.extra)) for i in range(n)]
    for c in out:
        c.validate()
    return out


def together(cfgs: list[RunConfig]) -> bool:
    """Whether the samples run as one batch of the engine: one sample, or an objective with
    a ``diversity`` term, which compares the samples of one batch (its canvas moves as the
    first seed draws it). Otherwise each runs alone, one after another: sample ``i`` is then
    exactly the picture ``--seed seed+i`` gives (a batch's sums differ from a lone run's in
    the last digits, and a long run can grow that into a visible difference)."""
    return len(cfgs) == 1 or diversity_weight(cfgs[0]) != 0


def run_samples(cfgs: list[RunConfig], model: Any, *, every: int, keep_frames: bool,
                progress: Callable[[engine.Frame], None],
                tick: Callable[[int, float], None] | None = None) -> engine.Result:
    """Run the samples (:func:`together`: as one batch, else one after another) and give
    ``progress`` every frame of the whole batch, sample ``i`` at index ``i``. Apart, the
    frames of the samples are joined step by step when all have run (a sample that ended
    early, diverged, repeats its last frame), and ``tick(steps done, objective)`` follows
    the runs meanwhile."""
    if together(cfgs):
        return engine.run_to_end(cfgs if len(cfgs) > 1 else cfgs[0], model, every=every,
                                 keep_frames=keep_frames, progress=progress)
    parts, seconds, done = [], 0.0, 0
    for c in cfgs:
        seen: list[engine.Frame] = []  # every frame; without keep_frames, the pre-images
        # of the first and the last only (64 samples at 224 px kept ~0.8 GB of frames)

        def follow(f: engine.Frame, done: int = done, seen: list = seen) -> None:
            if not keep_frames and len(seen) > 1:
                seen[-1] = dataclasses.replace(seen[-1], images=None)
            seen.append(f)
            if tick is not None:
                tick(done + f.step, float(f.objective[0]))
        result = engine.run_to_end(c, model, every=every, keep_frames=False, progress=follow)
        parts.append(seen)
        seconds += result.seconds
        done += result.final.step
    frames = [_joined([p[min(k, len(p) - 1)] for p in parts])
              for k in range(max(len(p) for p in parts))]
    for f in frames:
        progress(f)
    if not keep_frames:
        frames = [frames[0], frames[-1]] if len(frames) > 1 else frames
    return engine.Result(frames[-1], frames, seconds)


def _joined(fs: list[engine.Frame]) -> engine.Frame:
    """The frames of samples run apart as one frame of their batch."""
    cat = [None if any(getattr(f, k) is None for f in fs)  # pre-images not kept
           else np.concatenate([np.asarray(getattr(f, k)) for f in fs])
           for k in ("images", "objective", "activation", "grad_norm")]
    return dataclasses.replace(
        fs[0], step=max(f.step for f in fs), images=cat[0], objective=cat[1],
        activation=cat[2], grad_norm=cat[3], elapsed=sum(f.elapsed for f in fs),
        labels=[x for f in fs for x in f.labels], diverged=[x for f in fs for x in f.diverged],
        done=all(f.done for f in fs), stopped=any(f.stopped for f in fs))


def diversity_weight(cfg: RunConfig) -> float:
    """The summed weight of the objective's ``diversity`` terms (0 without any)."""
    if not cfg.objective:
        return 0.0
    return sum(c for c, lf in parse_objective(cfg.objective).parts if lf.name == "diversity")


def side_by_side(images: np.ndarray) -> np.ndarray:
    """The pre-images of a batch (N, C, H, W) as one (C, H, N*W) picture, left to right."""
    return images[0] if len(images) == 1 else np.concatenate(list(images), axis=-1)
