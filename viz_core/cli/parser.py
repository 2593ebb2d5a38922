"""The argument parser class of ``demons-viz`` (no heavy imports: ``history`` starts fast)."""

from __future__ import annotations

import argparse
from pathlib import Path

from viz_core.errors import VizError


class VizParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one-line :class:`VizError` s."""

    def error(self, message: str):  # one line, no usage dump
        raise VizError(f"{self.prog}: {message}")


def check_out(path: str | None, folder: bool = False, field: str = "out") -> Path | None:
    """The one output-path check: a file whose folder exists (``folder=False``), or a folder
    that is not a file (``folder=True``, created later by the writer). ``None`` passes."""
    if not path:
        return None
    p = Path(path)
    if folder:
        if p.exists() and not p.is_dir():
            raise VizError(f"--{field} {path!r} is a file, not a folder", field=field)
        return p
    if p.is_dir():
        raise VizError(f"output path {path!r} is a directory", field=field)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise VizError(f"output folder {str(parent)!r} does not exist", field=field)
    return p
