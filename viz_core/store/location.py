"""Where the run store lives, and how a damaged or foreign file is moved aside (never
overwritten, never deleted)."""

from __future__ import annotations

import os
import time
from pathlib import Path

#: The environment variable that names the store's file.
ENV = "DEMONS_VIZ_STORE"

def default_path() -> Path:
    """``$DEMONS_VIZ_STORE``, else ``$XDG_DATA_HOME/demons-viz/runs.sqlite``."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "demons-viz" / "runs.sqlite"


def move_aside(path: Path, why: str) -> Path:
    """Move ``path`` (and its -wal / -shm) to a fresh ``<name>.<why>-<time>`` name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        dest = path.with_name(f"{path.name}.{why}-{stamp}" + (f"-{i}" if i else ""))
        if not dest.exists():
            break
    try:
        os.rename(path, dest)  # on POSIX never replaces: dest was checked just above
    except FileNotFoundError:  # another process moved it first
        return dest
    for ext in ("-wal", "-shm"):
        side = Path(str(path) + ext)
        if side.exists():
            os.rename(side, Path(str(dest) + ext))
    return dest
