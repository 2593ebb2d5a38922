"""A run store found damaged in the middle of its use: SQLite reads a store's header and
schema when it opens, and meets a damaged page only when a query reaches it. Every public
operation of :class:`viz_core.store.db.RunStore` runs under :func:`recovering`: a damaged
file is moved aside (never overwritten) and the operation runs again on a new store, as
at opening; any other database error becomes one :class:`~viz_core.errors.VizError` line
instead of a traceback.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from viz_core.errors import VizError

F = TypeVar("F", bound=Callable[..., Any])


def busy(exc: BaseException) -> bool:
    """A lock held by another writer (wait or retry), not damage."""
    return "locked" in str(exc) or "busy" in str(exc)


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
