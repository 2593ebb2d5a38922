"""The one device resolver of the library (CLI, dashboard, engine and model loading)."""

from __future__ import annotations

import torch

from viz_core.errors import VizError

#: Device choices of a run configuration, the CLI and the dashboard.
DEVICES = ("auto", "cpu", "cuda", "mps")


def available_devices(auto: bool = True) -> tuple[str, ...]:
    """The device choices this machine can run: ``auto`` (unless ``auto=False``), ``cpu``,
    and ``cuda`` / ``mps`` only where present (what a menu should offer)."""
    present = {"auto": auto, "cpu": True, "cuda": torch.cuda.is_available(),
               "mps": torch.backends.mps.is_available()}
    return tuple(d for d in DEVICES if present[d])


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cpu``, ``cuda[:i]`` or ``mps`` as named.

    A device that this machine lacks (or a name torch does not know) is a :class:`VizError`
    with ``field="device"``, never a silent fallback.
    """
    if isinstance(name, str) and name.strip().lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name.strip().lower() if isinstance(name, str) else name)
    except (RuntimeError, TypeError):
        raise VizError(f"unknown device {name!r}; use one of {', '.join(DEVICES)}",
                       field="device") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise VizError("device 'cuda' requested but no CUDA GPU is available; use cpu or auto",
                       field="device")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise VizError("device 'mps' requested but MPS is not available; use cpu or auto",
                       field="device")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise VizError(f"device must be one of {', '.join(DEVICES)}, got {name!r}",
                       field="device")
    return dev
