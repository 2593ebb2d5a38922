"""``demons-viz visualize --samples N``: N samples of one configuration, seeds
``seed .. seed+N-1``, as one batch of the engine (what a ``diversity`` term compares: Olah
et al., Distill 2017), written side by side, left to right; and the output-name check of
the files visualize writes."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from viz_core import engine
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.objectives import parse_objective

__all__ = ["MAX_SAMPLES", "SUFFIXES", "check_suffix", "diversity_weight", "recorded_samples",
           "sample_configs",
           "samples_of", "side_by_side"]

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
    """The batch ``--samples n`` runs: ``[cfg]``, or n copies with seeds ``seed .. seed+n-1``
    named "sample i" (the engine's rule for a batch whose seeds differ,
    :func:`viz_core.engine.seeds_may_differ`, decides whether they can run as one)."""
    if n == 1:
        return [cfg]
    why = None
    if not cfg.objective:
        why = ("a batch of seeds needs a composable objective (--objective, e.g. "
               "\"channel(block3,3) - 0.1*diversity(block3)\")")
    elif cfg.weights == "random":
        why = ("with --weights random the seed draws the network, so each sample would be "
               "another network")
    elif not engine.seeds_may_differ(cfg):
        why = ("with --jitter or --octaves the samples share one canvas motion, drawn by the "
               "first seed, which only an objective with a diversity term allows")
    if why:
        raise VizError(f"--samples {n}: {why}", field="samples")
    label = f"{cfg.name} " if cfg.name else ""
    out = [dataclasses.replace(cfg, seed=cfg.seed + i, name=f"{label}sample {i + 1}",
                               extra=dict(cfg.extra)) for i in range(n)]
    for c in out:
        c.validate()
    return out


def diversity_weight(cfg: RunConfig) -> float:
    """The summed weight of the objective's ``diversity`` terms (0 without any)."""
    if not cfg.objective:
        return 0.0
    return sum(c for c, lf in parse_objective(cfg.objective).parts if lf.name == "diversity")


def side_by_side(images: np.ndarray) -> np.ndarray:
    """The pre-images of a batch (N, C, H, W) as one (C, H, N*W) picture, left to right."""
    return images[0] if len(images) == 1 else np.concatenate(list(images), axis=-1)
