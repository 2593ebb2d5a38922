"""Rows of the run store as records, and the store's JSON: the sort clause, the date
filter, a row as a :class:`~viz_core.store.records.RunRecord`, tag cleaning, and JSON
without NaN."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from viz_core.errors import VizError
from viz_core.store.records import RunRecord

#: The separator of the tags in one column (ASCII unit separator).
SEP = "\x1f"
#: Columns the runs can be sorted by, besides any metric key.
SORT_COLUMNS = ("started", "ended", "model", "task", "scheme", "status")
METRIC_KEY = re.compile(r"^[A-Za-z0-9_.\- ]{1,64}$")

def order_by(sort: str, descending: bool) -> tuple[str, list]:
    """The SQL ``ORDER BY`` clause and its parameters for a column or a metric key (runs
    without that metric last)."""
    d = "DESC" if descending else "ASC"
    if sort in SORT_COLUMNS:
        return f"{sort} {d}, id", []
    if not METRIC_KEY.match(sort):
        raise VizError(f"cannot sort by {sort!r}: give a column ({', '.join(SORT_COLUMNS)}) "
                       "or a metric key", field="sort")
    path = f'$."{sort}"'
    return (f"json_extract(metrics, ?) IS NULL, json_extract(metrics, ?) {d}, started DESC",
            [path, path])


def _moment(text: str, flag: str, end: bool, today: dt.date) -> float:
    """The start time ``--since TEXT`` / ``--until TEXT`` means (local time); ``end``: a
    whole day counts to its end (``--until 2024-05-01`` includes that day)."""
    word = text.strip().lower()
    day = {"today": today, "yesterday": today - dt.timedelta(days=1)}.get(word)
    if day is None:
        try:
            when = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise VizError(f"{flag} {text!r} is not a date: give YYYY-MM-DD, "
                           "YYYY-MM-DDTHH:MM, today or yesterday", field=flag[2:]) from None
        if len(text.strip()) > 10:  # a time of day: that very moment
            return when.timestamp()
        day = when.date()
    return dt.datetime.combine(day + dt.timedelta(days=int(end)), dt.time()).timestamp()


def date_range(since: str | None, until: str | None, today: dt.date | None = None
               ) -> tuple[float | None, float | None]:
    """``--since`` / ``--until`` as the store's ``since`` / ``until`` (Unix times; runs
    started at or after ``since`` and before ``until``): ISO dates (``--until`` includes
    its day, as the History page's date range does), ISO date-times, ``today`` or
    ``yesterday``.

    >>> import datetime as dt
    >>> a, b = date_range("2024-05-01", "2024-05-01")
    >>> round((b - a) / 3600)
    24
    """
    today = today or dt.date.today()
    lo = None if since is None else _moment(since, "--since", False, today)
    hi = None if until is None else _moment(until, "--until", True, today)
    if lo is not None and hi is not None and lo >= hi:
        raise VizError(f"--since {since} is not before --until {until}: no run can match",
                       field="since")
    return lo, hi


def record_of(r: tuple) -> RunRecord:
    """A :class:`RunRecord` from a row of the listing query (its columns, then the tags;
    tags split, no config)."""
    rec = RunRecord(config={}, id=r[0], started=r[1], ended=r[2], status=r[3], model=r[4],
                    model_label=r[5], weights_hash=r[6], task=r[7], scheme=r[8],
                    metrics=json.loads(r[9]), floors=json.loads(r[10]), note=r[11],
                    group_id=r[12], version=r[13], git_commit=r[14], command=r[15],
                    message=r[16], mlflow=r[17], deleted=r[18], batch_size=r[19])
    rec.tags = sorted(r[20].split(SEP)) if r[20] else []
    return rec


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags without surrounding blanks, empty ones dropped, sorted without repeats."""
    return sorted({t.strip() for t in tags if t and t.strip()})


def dumps(obj: Any) -> str:
    """JSON text for a column: NaN / inf as null (:func:`json_finite`), numpy values as
    numbers and lists."""
    return json.dumps(json_finite(obj), default=_default, allow_nan=False)


def json_finite(obj: Any) -> Any:
    """NaN / inf -> None (JSON's null), recursively through mappings, lists and tuples
    (JSON has neither; null is also a gap in a plotly.js trace)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: json_finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_finite(v) for v in obj]
    return obj


def _default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (tuple, set)):
        return list(o)
    if hasattr(o, "to_dict"):
        return o.to_dict()
    raise TypeError(f"cannot store {type(o).__name__} as JSON")
