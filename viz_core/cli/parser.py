"""The argument parser class of ``demons-viz`` (no heavy imports: ``history`` starts fast)."""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from viz_core.errors import VizError

#: reST markup of the docstrings that texts of ``--help`` come from: a role
#: (``:mod:`x```, ``:func:`~a.b```) or a literal (````x````).
_ROLE = re.compile(r":[a-z]+:`(~?)([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain(text: str) -> str:
    """``text`` without reST markup, as a terminal shows it.

    >>> plain("``demons-viz sanity``: see :mod:`viz_core.evaluation.sanity` and :func:`~a.b`")
    'demons-viz sanity: see viz_core.evaluation.sanity and b'
    """
    text = _ROLE.sub(lambda m: m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2),
                     text)
    return _LITERAL.sub(r"\1", text)


class VizParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one-line :class:`VizError` s and whose
    help shows no reST markup (its texts come from docstrings: :func:`plain`)."""

    def error(self, message: str):  # one line, no usage dump
        raise VizError(f"{self.prog}: {message}")

    def format_help(self) -> str:
        return plain(super().format_help())


def _existing_ancestor(p: Path) -> Path:
    """The nearest ancestor of ``p`` (or ``p`` itself) that exists."""
    q = p.absolute()
    while not q.exists() and q != q.parent:
        q = q.parent
    return q


def check_writable(path: str | Path, field: str = "out", shown: str | Path | None = None
                   ) -> None:
    """Whether a folder can be created at ``path`` (or written into, when it exists), found
    out by creating and removing a probe folder in the nearest existing ancestor: an
    unwritable place (``/proc/x``, a read-only mount, a folder without write permission,
    a path under a file) is a :class:`VizError` before any work starts. ``shown``: the
    path the user gave, named in the message (default ``path``)."""
    p = Path(path)
    shown = path if shown is None else shown
    anc = _existing_ancestor(p)
    if not anc.is_dir():
        raise VizError(f"--{field} {str(shown)!r}: {str(anc)!r} is a file, not a folder",
                       field=field)
    try:
        probe = Path(tempfile.mkdtemp(prefix=".demons-viz-probe-", dir=anc))
        probe.rmdir()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise VizError(f"--{field} {str(shown)!r} is not writable ({why} in {str(anc)!r})",
                       field=field) from None


def check_out(path: str | None, folder: bool = False, field: str = "out") -> Path | None:
    """The one output-path check: a file whose folder exists (``folder=False``), or a folder
    that is not a file (``folder=True``, created later by the writer), in a place this
    process can write (:func:`check_writable`). ``None`` passes."""
    if not path:
        return None
    p = Path(path)
    if folder:
        if p.exists() and not p.is_dir():
            raise VizError(f"--{field} {path!r} is a file, not a folder", field=field)
        check_writable(p, field)
        return p
    if p.is_dir():
        raise VizError(f"--{field} {path!r} is a folder, not a file", field=field)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise VizError(f"--{field} {path!r}: its folder {str(parent)!r} does not exist",
                       field=field)
    check_writable(parent, field, shown=path)
    return p
