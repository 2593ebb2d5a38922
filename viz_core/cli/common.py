"""Shared pieces of the ``demons-viz`` subcommands: the argument parser class, number
parsers, choice lists (imported from the core, never retyped), the one output-path check,
the one progress bar, and the command line as typed (for result files)."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from tqdm import tqdm

from viz_core.cli.parser import VizParser, check_out, check_writable
from viz_core.config import GRAD_NORMS
from viz_core.devices import DEVICES
from viz_core.errors import VizError
from viz_core.objectives import TASKS
from viz_core.schemes import ELASTIC_KINDS, FLUID_KINDS

__all__ = ["DEVICES", "GRAD_NORMS", "KERNEL_KINDS", "TASKS", "VizParser", "add_device",
           "add_threads", "check_out", "check_writable", "command_line", "finite_or_none",
           "float_arg", "int_arg", "progress_bar", "set_threads"]

#: Kernel kinds ``demons-viz kernels`` writes: those allowed in both slots of eq. 18
#: (identity, Gaussian, Sobolev; Sec. 2.2-2.4).
KERNEL_KINDS = tuple(k for k in FLUID_KINDS if k in ELASTIC_KINDS)


def int_arg(text: str) -> int:
    """argparse type: an integer, with a one-line message otherwise."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def seed_arg(text: str) -> int:
    """argparse type: a random seed, a non-negative integer (numpy refuses negative ones).

    >>> seed_arg("7")
    7
    """
    value = int_arg(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is a non-negative integer, got {text!r}")
    return value


def stem_arg(text: str) -> str:
    """A file stem (``--name``): the files go into ``--out``, so no folder in it (a
    ``../../x`` wrote outside ``--out``) and not empty.

    >>> stem_arg("table1_mine")
    'table1_mine'
    """
    if not text.strip() or "/" in text or "\\" in text or text.strip(".") == "":
        raise argparse.ArgumentTypeError(f"{text!r} is no file stem: give a name without a "
                                         "folder (the files go into --out)")
    return text


def float_arg(text: str) -> float:
    """argparse type: a number, with a one-line message otherwise."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def add_device(p: argparse.ArgumentParser, default: str | None = "auto") -> None:
    p.add_argument("--device", choices=DEVICES, default=default)


def add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int_arg, default=0, help="torch CPU threads (0: default)")


def set_threads(n: int) -> None:
    """Apply ``--threads`` (0 keeps torch's default)."""
    if n < 0:
        raise VizError(f"--threads must be >= 0, got {n}", field="threads")
    if n:
        torch.set_num_threads(n)


@contextmanager
def progress_bar(total: int, desc: str, quiet: bool = False,
                 unit: str = "step") -> Iterator[tqdm]:
    """The one progress bar of the CLI (tqdm on stderr; a silent one with ``quiet``),
    closed on exit even when the work fails."""
    bar = tqdm(total=total, unit=unit, file=sys.stderr, desc=desc, dynamic_ncols=True,
               disable=quiet)
    try:
        yield bar
    finally:
        bar.close()


def command_line(args: argparse.Namespace) -> str:
    """``demons-viz ...`` as typed (recorded in result files): the arguments :func:`main`
    parsed (``args.argv``)."""
    return "demons-viz " + shlex.join(getattr(args, "argv", sys.argv[1:]))


def finite_or_none(x) -> float | None:
    """A float for JSON, ``None`` for NaN / inf."""
    x = float(x)
    return x if np.isfinite(x) else None
