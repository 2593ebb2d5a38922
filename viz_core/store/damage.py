"""Damage to a run store's file: a file that is no SQLite database (:func:`header_damage`,
read before SQLite opens it), one SQLite itself finds damaged (:func:`damaged`), and a
store found damaged in the middle of its use: SQLite reads a store's header and
schema when it opens, and meets a damaged page only when a query reaches it. Every public
operation of :class:`viz_core.store.db.RunStore` runs under :func:`recovering`: a damaged
file is moved aside (never overwritten) and the operation runs again on a new store, as
at opening; any other database error becomes one :class:`~viz_core.errors.VizError` line
instead of a traceback.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from viz_core.errors import VizError

F = TypeVar("F", bound=Callable[..., Any])
SQLITE_HEADER = b"SQLite format 3\x00"


def busy(exc: BaseException) -> bool:
    """A lock held by another writer (wait or retry), not damage."""
    return "locked" in str(exc) or "busy" in str(exc)


def open_here(path: Path) -> bool:
    """Does this process hold a file descriptor of ``path`` (another RunStore)?"""
    try:
        target = os.stat(path)
    except OSError:
        return False
    for fd in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else []:
        try:
            st = os.stat(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
            return True
    return False


def damaged(path: Path, timeout: float) -> bool:
    """Does SQLite itself find the file damaged (``PRAGMA quick_check``)?"""
    try:
        con = sqlite3.connect(path, timeout=timeout)
        try:
            return con.execute("PRAGMA quick_check").fetchone()[0] != "ok"
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return not busy(exc)


def header_damage(path: Path) -> tuple[str, str] | None:
    """Why the file cannot be a store before SQLite opens it (None: it may be one).
    The header is read only while this process has no descriptor of the file open:
    closing one would drop the POSIX locks SQLite holds on it in this process, and other
    writers could then corrupt it (SQLite's "How To Corrupt" notes, section 2.2)."""
    if open_here(path):
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise VizError(f"cannot read run store {str(path)!r}: {exc.strerror or exc}",
                       field="store") from None
    if not head:
        return None  # an empty file: SQLite makes it a database
    if head != SQLITE_HEADER:
        return ("damaged", "not an SQLite database (a damaged or foreign file)")
    return None


def recovering(method: F) -> F:
    """Run a store ``method``; on a database error that SQLite confirms as damage
    (``store._recover``), once more on the new store; else a VizError naming the store."""
    @functools.wraps(method)
    def run(store: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(store, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if not busy(exc) and store._recover(exc):
                return method(store, *args, **kwargs)
            raise VizError(f"run store {str(store.path)!r}: {exc}", field="store") from None

    return run  # type: ignore[return-value]
