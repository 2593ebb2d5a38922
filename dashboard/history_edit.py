"""The History page's state and edits (Streamlit glue): which runs are selected (kept in
the session and in the link's ``runs`` parameter), the tags and note of one run, delete
with undo, the check that the store changed since the list was drawn, the selected runs
loaded with a word for those gone, and their pre-images at one scale.

The selected runs are a list of run ids, seeded by the link and written back to it:
sorting and filtering keep them, a deleted run leaves them, and a run the user did not
pick is never selected (see :mod:`dashboard.history_view`). Every widget key starts with
:data:`P`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import streamlit as st

from dashboard import history_view as hv
from dashboard.messages import ui_message
from dashboard.run_history import changes_text, deleted_text, store_stamp
from dashboard.text import plain
from viz_core.errors import VizError
from viz_core.store import RunRecord
from viz_core.store.db import RUN_ID

#: The prefix of the History page's widget keys and session entries.
P = "hi_"
#: How many of a link's ids that name no run its notice lists (the rest counted).
SHOWN_IDS = 5


def chosen_runs(store: Any) -> list[str]:
    """The selected run ids: the session's, or the link's when the link changed (a new
    visit, a link from another page). Ids of the link that name no stored run are said in
    one warning (as text, :func:`left_out_text`) and dropped."""
    raw = st.query_params.get("runs", "")
    state = st.session_state
    if P + "chosen" in state and state.get(P + "link") == raw:
        return list(state[P + "chosen"])
    chosen: list[str] = []
    not_ids: list[str] = []
    errors: list[str] = []
    for part in hv.ids_from_link(raw):
        if not RUN_ID.fullmatch(part.strip().lower()):
            not_ids.append(part)
            continue
        try:
            rid = store.resolve(part)
        except Exception as exc:  # noqa: BLE001 - a stale or mistyped link
            errors.append(ui_message(str(exc)))
            continue
        if rid not in chosen:
            chosen.append(rid)
    if not_ids or errors:
        st.warning(plain(left_out_text(not_ids, errors)))
    keep(chosen)
    return chosen


def left_out_text(not_ids: Sequence[str], errors: Sequence[str]) -> str:
    """The one notice for the ids of a link that name no run: those that are no run id at
    all, each cut as every link notice cuts a value (:func:`dashboard.urlstate.shown`), and
    why the others name none (gone, ambiguous); at most :data:`SHOWN_IDS` of each.

    >>> print(left_out_text(["<b>x</b>", "zzz"], ["run id 'ab' is ambiguous"]))
    Left out of the link's runs: '<b>x</b>' and 'zzz' are not run ids (a run id is \
hexadecimal, at most 32 digits); run id 'ab' is ambiguous.
    """
    from dashboard.urlstate import shown

    def at_most(items: Sequence[str], more: str) -> list[str]:
        n = len(items) - SHOWN_IDS
        return [*items[:SHOWN_IDS], *([more.format(n)] if n > 0 else [])]

    parts = []
    if not_ids:
        names = at_most([shown(x) for x in not_ids], "{} more")
        names = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
        parts.append(f"{names} {'are not run ids' if len(not_ids) > 1 else 'is not a run id'}"
                     " (a run id is hexadecimal, at most 32 digits)")
    parts += at_most(list(errors), "{} more ids name no run")
    return "Left out of the link's runs: " + "; ".join(parts) + "."


def keep(chosen: Sequence[str]) -> None:
    """Remember the selected runs in the session and in the link (no runs: no ``runs``)."""
    st.session_state[P + "chosen"] = list(chosen)
    value = hv.link_value(chosen)
    if value:
        if st.query_params.get("runs") != value:
            st.query_params["runs"] = value
    else:
        st.query_params.pop("runs", None)
    st.session_state[P + "link"] = value


def edit_form(store: Any, r: RunRecord) -> None:
    """Tags and note of one run. The typed text stays in its boxes when it cannot be saved
    (the run was deleted in another tab, or removed for good): kept in the session until
    saved, so that an Undo there and a second Save keep it."""
    keys = (f"{P}tags_{r.id}", f"{P}note_{r.id}")
    drafts = st.session_state.setdefault(P + "drafts", {})
    for k, v in zip(keys, drafts.get(r.id) or (", ".join(r.tags), r.note)):
        if k not in st.session_state:
            st.session_state[k] = v
    with st.form(P + "edit"):
        tags = st.text_input("tags (comma-separated)", key=keys[0])
        note = st.text_area("note", key=keys[1])
        if not st.form_submit_button("Save tags and note"):
            return
    drafts[r.id] = (tags, note)
    try:
        store.set_tags(r.id, tags.split(","))
        store.set_note(r.id, note)
    except VizError as exc:
        if exc.field != "run":
            raise
        if r.deleted and store.has(r.id):  # the warning above says so already
            st.caption("Not saved: the run is deleted. Your text is kept here.")
        else:
            st.warning(plain(deleted_text(r.id, purged=not store.has(r.id))))
        return
    drafts.pop(r.id, None)
    st.toast(f"saved tags and note of {r.id}")


def delete_button(store: Any, runs: Sequence[RunRecord], chosen: Sequence[str]) -> None:
    """"Delete N run(s)" for the selected runs not deleted yet (a run deleted elsewhere:
    Undo is there); the deleted runs leave the selection, and Undo (:func:`undo_bar`)
    selects again what was selected."""
    live = [x for x in runs if not x.deleted]
    if live and st.button(f"Delete {len(live)} run(s)", key=P + "delete"):
        gone = store.delete([x.id for x in live])
        st.session_state[P + "deleted"] = gone
        st.session_state[P + "deleted_chosen"] = list(chosen)  # what Undo selects again
        keep([i for i in chosen if i not in gone])
        st.rerun()


def undo_bar(store: Any) -> None:
    """After a delete: which runs were deleted, and Undo (restores them, selected again)."""
    gone = st.session_state.get(P + "deleted")
    if not gone:
        return
    c1, c2 = st.columns([4, 1])
    c1.info(f"deleted {len(gone)} run(s): {', '.join(gone)}")
    if c2.button("Undo", key=P + "undo"):
        store.restore(gone)
        st.session_state[P + "deleted"] = None
        keep(st.session_state.pop(P + "deleted_chosen", None) or gone)  # and the link
        st.rerun()


def stamp(store: Any) -> None:
    """Note what the store holds as the list is drawn (before it: nothing is missed), for
    :func:`store_changed` to compare with."""
    st.session_state[P + "stamp"] = store_stamp(store)


@st.fragment(run_every=10)
def store_changed(store: Any) -> None:
    """Every 10 s: whether the store changed since this tab drew its list (runs added by
    another tab, a sweep or the CLI; deleted or restored elsewhere), with a Refresh."""
    try:
        text = changes_text(st.session_state.get(P + "stamp"), store_stamp(store))
    except Exception:  # noqa: BLE001 - a busy or damaged store: the next look says more
        return
    if text:
        c1, c2 = st.columns([4, 1])
        c1.info(text)
        if c2.button("Refresh", key=P + "refresh"):
            st.rerun()


def listed(store: Any, args: dict[str, Any], sort: str, descending: bool,
           titles: dict[str, str]) -> tuple[list[dict], list[str], int]:
    """The table's rows (the first :data:`~dashboard.history_view.PAGE_SIZE` runs the
    filters ``args`` select, sorted), its metric keys and how many runs match: the
    registry's metrics in its order (Sec. 3's measures, then the judge's verdict); the
    others (gradient norm, the model's own probability) sort and compare."""
    from dashboard.run_history import table_rows
    from viz_core.metrics import METRICS
    from viz_core.store.compare import registry_order

    runs = store.list(**args, sort=sort, descending=descending, limit=hv.PAGE_SIZE,
                      thumbs=True, configs=True, verdicts=True)
    total = store.count(**args)
    keys = [k for k in registry_order(store.metric_keys()) if k in METRICS]
    return table_rows(runs, keys, titles), keys, total


def shown_text(rows: int, total: int, hidden: int) -> str:
    """The line under the table: how many runs it shows of how many match, and how many
    selected runs it does not show.

    >>> shown_text(3, 3, 0)
    '3 of 3 run(s) shown. Select 1 to 6 rows to compare them.'
    >>> shown_text(200, 250, 1).split(". ")[0]
    '200 of 250 run(s) shown (the first 200; narrow the filters)'
    """
    return (f"{rows} of {total} run(s) shown"
            + (f" (the first {hv.PAGE_SIZE}; narrow the filters)" if total > rows else "")
            + f". Select 1 to {hv.MAX_COMPARE} rows to compare them."
            + (f" {hidden} selected run(s) are not in the table." if hidden else ""))


def load_chosen(store: Any, chosen: Sequence[str]) -> list[RunRecord]:
    """The selected runs (at most :data:`~dashboard.history_view.MAX_COMPARE`), each in
    full but its frames; a warning for more, for a run removed for good elsewhere
    (``history rm``) and for one deleted in another tab (shown as such: Undo is there)."""
    if len(chosen) > hv.MAX_COMPARE:
        st.warning(f"select at most {hv.MAX_COMPARE} runs to compare")
    runs = []
    for i in chosen[:hv.MAX_COMPARE]:
        try:
            runs.append(store.get(i, frames=False))
        except Exception as exc:  # noqa: BLE001 - removed for good elsewhere (history rm)
            st.warning(plain(deleted_text(i, purged=True) if not store.has(i)
                             else ui_message(str(exc))))
    for r in runs:
        if r.deleted:
            st.warning(plain(deleted_text(r.id)))
    return runs


def status_text(r: RunRecord) -> str:
    """A run's status, "deleted" for one deleted (in another tab) but still selected here.

    >>> r = RunRecord(config={}, model="m", task="am", scheme="tv", status="done")
    >>> status_text(r), (setattr(r, "deleted", 1.0), status_text(r))[1]
    ('done', 'deleted (done)')
    """
    return f"deleted ({r.status})" if r.deleted else r.status


def same_scale(runs: Sequence[RunRecord]) -> list[Any]:
    """The runs' pre-images upscaled (nearest) so that every run shows at the same scale
    (a run without a pre-image: None)."""
    import numpy as np
    from PIL import Image

    from dashboard.page import display_image

    side = max(Image.open(io.BytesIO(r.image)).width if r.image else 0 for r in runs)
    out = []
    for r in runs:
        if not r.image:
            out.append(None)
            continue
        img = np.asarray(Image.open(io.BytesIO(r.image)).convert("RGB")).transpose(2, 0, 1)
        out.append(display_image((img / 255.0).astype(np.float32), base=max(224, side)))
    return out
