"""One remembered run: what it was asked to do (the validated configuration), what did it
(model label, a hash of its weights, package version, git commit), how it ended (status,
times), what it produced (final pre-image, a few frames, final metrics with their floors,
curves over the steps) and what the judges said (Table 1's recognisability, Sec. 3.2).

:class:`RunRecord` is plain data; :class:`CurveRecorder` collects the curves from the
engine's frames; :func:`provenance` and :func:`weights_hash` say which code and weights
made a run.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import subprocess
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATUSES = ("done", "stopped", "diverged", "error")
#: Curves the engine reports per frame (eqs. 1-3: data term, target activation, |grad D|).
CURVE_KEYS = ("objective", "activation", "grad_norm")
#: The metric of the independent judge's verdict (viz_core.metrics.METRICS).
JUDGE_METRIC = "judge_target_prob"
#: Whether the judge's top class is the target (viz_core.metrics.METRICS).
JUDGE_HIT = "judge_hit"


def storable(text: str) -> str:
    r"""``text`` as UTF-8 can hold it: a file name's undecodable bytes (legal on Linux; Python
    keeps them as surrogates) become U+FFFD.

    >>> storable("bad\udcffname.png")
    'bad\ufffdname.png'
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def new_id() -> str:
    """A fresh run id: 12 hex digits (any unique prefix of it names the run)."""
    return secrets.token_hex(6)


@dataclass
class RunRecord:
    """A run as the store keeps it. ``image`` is the final pre-image as PNG bytes,
    ``frames`` a few (step, PNG) pairs of the trajectory; ``curves`` maps ``step`` and
    each of :data:`CURVE_KEYS` to lists of equal length; ``floors`` gives, per metric, the
    value that no reconstruction at all would reach (flat image, chance); ``batch_size``:
    how many runs its engine batch computed together."""

    config: dict
    model: str
    task: str
    scheme: str
    status: str = "done"
    started: float = field(default_factory=time.time)
    ended: float = field(default_factory=time.time)
    id: str = field(default_factory=new_id)
    model_label: str = ""
    weights_hash: str = ""
    metrics: dict[str, float | None] = field(default_factory=dict)
    floors: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list] = field(default_factory=dict)
    verdicts: list[dict] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    note: str = ""
    group_id: str = ""
    version: str = ""
    git_commit: str = ""
    command: str = ""
    message: str = ""
    image: bytes | None = None
    frames: list[tuple[int, bytes]] = field(default_factory=list)
    thumb: bytes | None = None
    mlflow: str = ""
    deleted: float | None = None
    #: How many runs shared its engine batch, itself included (a batch's sums differ from a
    #: lone run's in the last digits); None where the store does not know (older runs).
    batch_size: int | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got "
                             f"{self.status!r}")
        # the independent judge's verdict is also the metric ``judge_target_prob`` (the
        # registry's key for the recognisability of Sec. 3.2): one key whichever page or
        # command wrote the run, so that History sorts and compares every run by it (the
        # Playground, Compare and the CLI kept it in their verdicts only)
        for v in self.verdicts:
            p = v.get("target_prob")
            if v.get("role") != "judge" or p is None:
                continue
            if self.metrics.get(JUDGE_METRIC) is None:
                self.metrics[JUDGE_METRIC] = float(p)
            top = v.get("top") or []
            if self.metrics.get(JUDGE_HIT) is None and top and v.get("target"):
                self.metrics[JUDGE_HIT] = float(str(top[0][0]) == str(v["target"]))

    @property
    def seconds(self) -> float:
        """How long the run took (``ended - started``, never negative)."""
        return max(0.0, self.ended - self.started)

    def summary(self) -> dict[str, Any]:
        """The JSON-able fields (no image bytes): what ``history show --json`` prints."""
        return {"id": self.id, "status": self.status, "model": self.model,
                "model_label": self.model_label, "weights_hash": self.weights_hash,
                "task": self.task, "scheme": self.scheme, "started": self.started,
                "ended": self.ended, "seconds": round(self.seconds, 3),
                "metrics": self.metrics, "floors": self.floors, "verdicts": self.verdicts,
                "tags": self.tags, "note": self.note, "group_id": self.group_id,
                "version": self.version, "git_commit": self.git_commit,
                "command": self.command, "message": self.message, "mlflow": self.mlflow,
                "batch_size": self.batch_size, "config": self.config, "curves": self.curves}


class CurveRecorder:
    """Collects the curves of sample ``index`` from the engine's frames (pass it as, or
    call it from, a ``progress`` callback)."""

    def __init__(self, index: int = 0) -> None:
        self.index = index
        self.curves: dict[str, list] = {"step": [], **{k: [] for k in CURVE_KEYS}}

    def __call__(self, frame: Any) -> None:
        import numpy as np  # not at import: `history list` starts without numpy

        if self.curves["step"] and self.curves["step"][-1] == frame.step:
            return
        self.curves["step"].append(int(frame.step))
        for k in CURVE_KEYS:
            v = float(np.asarray(getattr(frame, k))[self.index])
            self.curves[k].append(v if np.isfinite(v) else None)


def status_of(frame: Any, index: int = 0) -> str:
    """done / stopped / diverged for a final engine frame."""
    if frame.diverged and frame.diverged[index]:
        return "diverged"
    return "stopped" if getattr(frame, "stopped", False) else "done"


_hashes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def weights_hash(net: Any) -> str:
    """SHA-256 (first 16 hex digits) of a network's parameters and buffers, in state-dict
    order: the same weights give the same hash wherever they were loaded from. Cached per
    network object."""
    try:
        return _hashes[net]
    except (KeyError, TypeError):
        pass
    h = hashlib.sha256()
    for name, t in net.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    out = h.hexdigest()[:16]
    try:
        _hashes[net] = out
    except TypeError:
        pass
    return out


@functools.lru_cache(maxsize=1)
def provenance() -> tuple[str, str]:
    """(package version, git commit of the source tree or "")."""
    from viz_core import __version__

    root = Path(__file__).resolve().parents[2]
    commit = ""
    if (root / ".git").exists():
        try:
            out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                                 capture_output=True, text=True, timeout=5)
            commit = out.stdout.strip() if out.returncode == 0 else ""
        except (OSError, subprocess.SubprocessError):
            commit = ""
    return __version__, commit
