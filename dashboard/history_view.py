"""Pieces of the History page (Streamlit glue): the filters as store arguments, the
selection as a list of run ids, the comparison's figures and tables, the report downloads,
the link to the Playground, and what a run computed in a batch may show when run alone
(the table's columns and widths: :mod:`dashboard.history_table`).

The selection is kept as run ids, never as row positions: Streamlit's table reports its
ticked rows by position and keeps them under its key, so the table's key changes whenever
its rows or their order change (:func:`table_key`) and a new table starts from the chosen
runs' positions (:func:`positions`). Sorting, filtering, deleting and undoing then never
move a tick onto a run the user did not pick.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from dashboard.history_table import ROW_PX, table_height  # noqa: F401 - as before the move
from dashboard.messages import ui_message
from dashboard.runs import LOG
from viz_core.store import RunRecord
from viz_core.store.compare import (
    ALONE_DIFFERS,
    batch_mates,
    batch_note,
    differing_settings,
    metric_rows,
)
from viz_core.store.settings_text import metric_text, odd_ones, setting_text
from viz_core.store.verdict_words import verdict_text

MAX_COMPARE = 6
PAGE_SIZE = 200
FILTERS = ("model", "task", "scheme", "tag", "status", "group")
CURVES = {"objective": "data term D", "activation": "target activation"}
#: The background of a compared value that stands out (:func:`settings_styled`).
ODD = "#fff3c4"


def when_short(t: float, now: float | None = None) -> str:
    """When a run started, short: "today 07:45", "Dec 07 07:45" this year, else
    "2025-12-07 07:45" (to the second in the comparison).

    >>> import time
    >>> when_short(time.time()).startswith("today ")
    True
    """
    import time

    here, today = time.localtime(t), time.localtime(now if now is not None else time.time())
    if here[:3] == today[:3]:
        return time.strftime("today %H:%M", here)
    if here.tm_year == today.tm_year:
        return time.strftime("%b %d %H:%M", here)
    return time.strftime("%Y-%m-%d %H:%M", here)


def filter_args(values: dict[str, Any]) -> dict[str, Any]:
    """Widget values -> :meth:`RunStore.list` keyword arguments."""
    out = {k: values.get(k) or None for k in FILTERS}
    day = values.get("dates")
    if isinstance(day, (tuple, list)) and day:
        start = dt.datetime.combine(day[0], dt.time()).timestamp()
        end = dt.datetime.combine(day[-1] + dt.timedelta(days=1), dt.time()).timestamp()
        out.update(since=start, until=end)
    return out


def ids_from_link(raw: str) -> list[str]:
    """The run ids (or id prefixes) of the ``runs`` link parameter, in order, once each."""
    out: list[str] = []
    for part in str(raw or "").split(","):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return out


def link_value(chosen: Sequence[str]) -> str:
    """The ``runs`` link parameter for the chosen runs (at most :data:`MAX_COMPARE`)."""
    return ",".join(chosen[:MAX_COMPARE])


def table_key(prefix: str, ids: Sequence[str]) -> str:
    """The table's widget key: it changes whenever the shown runs or their order change, so
    that Streamlit's row positions never outlive the rows they were ticked on."""
    digest = hashlib.sha1(",".join(ids).encode()).hexdigest()[:12]
    return f"{prefix}table_{digest}"


def positions(chosen: Sequence[str], ids: Sequence[str]) -> list[int]:
    """The rows of the chosen runs among the shown ``ids`` (runs not shown have none)."""
    where = {rid: i for i, rid in enumerate(ids)}
    return sorted(where[r] for r in chosen if r in where)


def merge_selection(chosen: Sequence[str], ids: Sequence[str],
                    rows: Sequence[int]) -> list[str]:
    """The chosen runs after the table reports its ticked ``rows`` of the shown ``ids``:
    a shown run is chosen when its row is ticked; a chosen run the filters hide stays chosen.
    Earlier choices keep their order, new ones follow in row order.

    >>> merge_selection(["b", "x"], ["a", "b", "c"], [0])
    ['x', 'a']
    >>> merge_selection(["b"], ["a", "b"], [])
    []
    """
    shown = set(ids)
    ticked = [ids[i] for i in rows if 0 <= i < len(ids)]
    keep = [r for r in chosen if r not in shown or r in ticked]
    return keep + [r for r in ticked if r not in keep]


def without_curves(runs: Sequence[RunRecord]) -> str:
    """A note naming the runs the curve charts leave out, those stored without curves (a
    sweep cell stored before cells kept their curves, a run stopped before its first
    frame); "" when every run has curves.

    >>> r = RunRecord(config={}, model="m", task="am", scheme="tv", id="a1b2c3d4e5f6")
    >>> without_curves([r]).split(" (")[0]
    'No curves stored for a1b2c3d4e5f6'
    """
    ids = [r.id for r in runs if len(r.curves.get("step") or []) < 2]
    if not ids:
        return ""
    return (f"No curves stored for {', '.join(ids)} (stored without them: an older sweep "
            "cell, or a run stopped before its first frame).")


def curve_title(runs: Sequence[RunRecord], key: str) -> str:
    """What the curve of ``key`` measures for these runs: the activation of an inversion is
    its relative feature error (eqs. 2-3), of a class or channel its target activation
    (eq. 4); both when the runs mix tasks.

    >>> inv = RunRecord(config={}, model="m", task="inversion", scheme="tv")
    >>> am = RunRecord(config={}, model="m", task="am", scheme="tv")
    >>> curve_title([inv], "activation"), curve_title([inv, am], "activation")
    ('relative feature error', 'target activation / relative feature error')
    """
    if key != "activation":
        return CURVES.get(key, key)
    tasks = {r.task for r in runs}
    return {frozenset({"inversion"}): "relative feature error",
            frozenset({"am"}): "target activation"}.get(
        frozenset(tasks), "target activation / relative feature error")


def curves_figure(runs: Sequence[RunRecord], key: str) -> go.Figure:
    """The runs' curves of ``key`` overlaid (one line per run)."""
    fig = go.Figure()
    for r in runs:
        xs = r.curves.get("step", [])
        ys = r.curves.get(key, [])
        fig.add_scatter(x=xs[1:], y=ys[1:], mode="lines", name=r.id)  # step 0 has no value
    # the legend below the axis title (at 1280x720 it sat on "step")
    fig.update_layout(title=curve_title(runs, key), xaxis_title="step", height=320,
                      margin=dict(l=40, r=10, t=40, b=70),
                      legend=dict(orientation="h", yanchor="top", y=-0.3, x=0))
    return fig


def settings_table(runs: Sequence[RunRecord]) -> list[dict]:
    """Only the settings that differ, one column per run, in words (a class by its name,
    octaves as their stages, a fitted sigma / gamma by its value:
    :func:`viz_core.store.settings_text.setting_text`)."""
    return [{"setting": k, **{r.id: setting_text(k, v, r) for r, v in zip(runs, vals)}}
            for k, vals in differing_settings(runs).items()]


def settings_styled(runs: Sequence[RunRecord]) -> tuple[Any, int]:
    """:func:`settings_table` as a styled frame whose highlighted cells are the values that
    stand out (:func:`viz_core.store.settings_text.odd_ones`: not the one most runs share,
    else not the first run's), and its height in pixels (every row, no inner scrolling);
    (None, 0) when the runs share every setting."""
    import pandas as pd

    diff = differing_settings(runs)
    if not diff:
        return None, 0
    df = pd.DataFrame(settings_table(runs)).set_index("setting")
    odd = pd.DataFrame([odd_ones(v) for v in diff.values()], index=df.index,
                       columns=df.columns)
    style = df.style.apply(lambda _: odd.replace({True: f"background-color: {ODD}",
                                                  False: ""}), axis=None)
    return style, ROW_PX * (len(df) + 1) + 3


def metrics_table(runs: Sequence[RunRecord]) -> list[dict]:
    """One row per metric (by the registry's label), one column per run, and the floor:
    one value when the runs share it, else each run's own beside its value (each inversion
    has its own floor)."""
    return [{"metric": metric_text(k), **{r.id: v for r, v in zip(runs, vals)},
             "floor": floor} for k, vals, floor in metric_rows(runs, beside=True)]


def batch_notes(store: Any, runs: Sequence[RunRecord]) -> dict[str, str]:
    """Run id -> what the run, computed in a batch, may show when run alone (its group
    looked up in ``store``: :func:`viz_core.store.compare.batch_note`); "" for a run
    computed alone. A store that fails leaves the note that the run may have shared a
    batch."""
    out: dict[str, str] = {}
    for r in runs:
        try:
            mates = batch_mates(store, r) if store is not None else None
        except Exception:  # noqa: BLE001 - the note is extra: a damaged store says less
            mates = None
        out[r.id] = batch_note(r, mates)
    return out


def verdict_lines(run: RunRecord) -> list[str]:
    return [verdict_text(v) for v in run.verdicts]


def batch_short(note: str) -> str:
    """A batch note's first clause, for a narrow column ("Computed in a batch of 3 runs").

    >>> batch_short("Computed in a batch of 3 runs: run alone ... grows that.")
    '⚠ Computed in a batch of 3 runs'
    """
    return "⚠ " + note.split(":")[0].rstrip(".")


def batch_caption(notes: Mapping[str, str]) -> str:
    """Below the runs side by side: which were computed in a batch (the runs with a
    :func:`batch_notes` note), and what that means; "" when none was.

    >>> batch_caption({"a1": "Computed in a batch of 2 runs: ...", "b2": ""})[:40]
    '⚠ a1: computed in a batch; run alone (Op'
    """
    ids = [rid for rid, note in notes.items() if note]
    if not ids:
        return ""
    coupled = any("diversity" in notes[rid] for rid in ids)
    return (f"⚠ {', '.join(ids)}: computed in a batch; {ALONE_DIFFERS}"
            + (" (a diversity sample alone also loses the term that compares it with "
               "the others)" if coupled else "") + ".")


def report_name(runs: Sequence[RunRecord], ext: str) -> str:
    return ("demons-viz-" + "-".join(r.id[:6] for r in runs[:6]) + f".{ext}")


def report_html(runs: Sequence[RunRecord], store: Any = None) -> bytes:
    """The HTML report of ``runs``, each run's batch note looked up in ``store``; a page
    that says why, if it cannot be built (it is built on click, outside the page's script:
    an error would only be a download that never comes)."""
    from html import escape

    from viz_core.store.report_html import html_report

    try:
        return html_report(runs, notes=batch_notes(store, runs)).encode("utf-8")
    except Exception as exc:  # noqa: BLE001 - a file that says why, never nothing
        LOG.exception("the HTML report of %s failed", [r.id for r in runs])
        return (f"<!doctype html><title>demons-viz report: not built</title><p>The report "
                f"could not be built: {escape(ui_message(str(exc)))}</p>").encode()


def report_pdf(runs: Sequence[RunRecord], store: Any = None) -> bytes:
    """The PDF report of ``runs``, each run's batch note looked up in ``store``; a page
    that says why, if it cannot be built (:func:`viz_core.store.report_pdf.failure_pdf`)."""
    from viz_core.store.report_pdf import failure_pdf, pdf_report

    try:
        return pdf_report(runs, notes=batch_notes(store, runs))
    except Exception as exc:  # noqa: BLE001 - a file that says why, never nothing
        LOG.exception("the PDF report of %s failed", [r.id for r in runs])
        return failure_pdf(ui_message(str(exc))[:300])


def fresh(runs: Sequence[RunRecord], store: Any) -> list[RunRecord]:
    """``runs`` read again from ``store`` (its latest tags and note), each as it was where
    the store no longer has it or cannot be read."""
    out = []
    for r in runs:
        try:
            out.append(store.get(r.id) if store is not None else r)
        except Exception:  # noqa: BLE001 - deleted meanwhile, or the store is gone
            out.append(r)
    return out


def export_buttons(st_: Any, runs: Sequence[RunRecord], key: str, store: Any = None) -> None:
    """"Export report" as HTML and PDF (built only when clicked); ``store`` (default: the
    server's) tells which runs were computed in a batch."""
    runs = list(runs)
    if store is None:
        from dashboard.run_history import get_store

        try:
            store = get_store()
        except Exception:  # noqa: BLE001 - the notes are extra: a report says less
            store = None
    c1, c2 = st_.columns(2)

    def now() -> list[RunRecord]:  # the runs as stored at the click: a note or tags saved
        return fresh(runs, store)  # after the page drew its buttons are in the report

    c1.download_button("Export report (HTML)", data=lambda: report_html(now(), store),
                       file_name=report_name(runs, "html"), mime="text/html",
                       key=f"{key}_html", on_click="ignore")
    try:
        import reportlab  # noqa: F401
    except ImportError:
        c2.caption('PDF reports need reportlab: pip install -e ".[reports]"')
        return
    c2.download_button("Export report (PDF)", data=lambda: report_pdf(now(), store),
                       file_name=report_name(runs, "pdf"), mime="application/pdf",
                       key=f"{key}_pdf", on_click="ignore")


def playground_params(run: RunRecord) -> dict[str, str]:
    """URL parameters that open the Playground with every setting of ``run``."""
    from dashboard.settings.playground import config_to_settings, playground_defaults
    from dashboard.urlstate import encode
    from viz_core.config import RunConfig

    s, _ = config_to_settings(RunConfig.from_dict(run.config))
    return encode(s, playground_defaults())
