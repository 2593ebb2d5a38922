"""Where the run store lives, and how a damaged or foreign file is moved aside (never
overwritten, never deleted)."""

from __future__ import annotations

import os
import time
from pathlib import Path

#: The environment variable that names the store's file.
ENV = "DEMONS_VIZ_STORE"

#: File suffixes a run store never has (an image, a run JSON, a network, a report, ...): a
#: new store named so is a mistyped path (``--store photo.png`` made an SQLite file there).
NOT_STORE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp",
                      ".svg", ".npy", ".npz", ".json", ".csv", ".parquet", ".txt", ".md",
                      ".html", ".htm", ".pdf", ".pt", ".pt2", ".pth", ".ts", ".jit", ".onnx",
                      ".ckpt", ".safetensors", ".py", ".toml", ".yaml", ".yml", ".zip",
                      ".gz", ".tar", ".sh")


def check_new_store(path: str | os.PathLike, named: str = "run store") -> None:
    """Refuse a store that does not exist yet and whose suffix says it is something else
    (:data:`NOT_STORE_SUFFIXES`): opening it would create an SQLite database under that
    name. ``named``: how the message names the path (``--store``, ``$DEMONS_VIZ_STORE``)."""
    from viz_core.errors import VizError

    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    if suffix in NOT_STORE_SUFFIXES and not p.exists():
        raise VizError(f"{named} {str(path)!r} does not exist, and a new run store there "
                       f"would be an SQLite database named like a {suffix} file: give the "
                       "path of a run store (a .sqlite file, new or existing)", field="store")


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
