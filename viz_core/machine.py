"""A one-line description of the machine, written next to every timed result (evaluation
reports and ``bench/``), since the figures depend on it."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

__all__ = ["load_average", "machine_description"]


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
    gpu = ""
    if torch.cuda.is_available():
        gpu = f", GPU {torch.cuda.get_device_name(0)}"
    return (f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads{gpu}, Python {platform.python_version()}")


def load_average() -> float | None:
    """1-minute load average (how busy the machine was: the timings depend on it)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None
