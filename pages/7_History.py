"""History: every run the Playground, Compare, Sweeps and the CLI stored, in one table with
thumbnails, filters and sorting by any metric; 2-6 selected runs side by side; any run
opens in the Playground; tags, notes, delete with undo; reports to send.

The selected runs are a list of run ids in the session, seeded by the link's ``runs``
parameter and written back to it: sorting and filtering keep them, a deleted run leaves
them, and a run the user did not pick is never selected (see ``dashboard.history_view``)."""

from __future__ import annotations

import time

import streamlit as st

from dashboard import history_view as hv
from dashboard.messages import ui_message
from dashboard.navigation import page_path
from dashboard.page import display_image, guard, setup_page
from dashboard.run_history import (
    TASKS,
    changes_text,
    deleted_text,
    get_store,
    model_text,
    store_stamp,
    sweep_titles,
    table_rows,
)
from dashboard.text import plain
from viz_core.errors import VizError
from viz_core.metrics import METRICS
from viz_core.schemes import scheme_label
from viz_core.store.compare import registry_order, when
from viz_core.store.settings_text import group_text, metric_text

P = "hi_"
setup_page("History")


def _chosen(store) -> list[str]:
    """The selected run ids: the session's, or the link's when the link changed (a new
    visit, a link from another page). Ids of the link that name no stored run are said in a
    warning (as text) and dropped."""
    raw = st.query_params.get("runs", "")
    state = st.session_state
    if P + "chosen" in state and state.get(P + "link") == raw:
        return list(state[P + "chosen"])
    chosen: list[str] = []
    for part in hv.ids_from_link(raw):
        try:
            rid = store.resolve(part)
        except Exception as exc:  # noqa: BLE001 - a stale or mistyped link
            st.warning(plain(ui_message(str(exc))))
            continue
        if rid not in chosen:
            chosen.append(rid)
    _keep(chosen)
    return chosen


def _keep(chosen: list[str]) -> None:
    """Remember the selected runs in the session and in the link (no runs: no ``runs``)."""
    st.session_state[P + "chosen"] = list(chosen)
    value = hv.link_value(chosen)
    if value:
        if st.query_params.get("runs") != value:
            st.query_params["runs"] = value
    else:
        st.query_params.pop("runs", None)
    st.session_state[P + "link"] = value


def _filters(store, titles: dict[str, str]) -> dict:
    """The sidebar's filters; a dashboard sweep by its title (``titles``: what it swept and
    when), not its temporary folder."""
    sb = st.sidebar
    sb.header("Filters")
    vals = {}
    shows = {"model": model_text, "scheme": scheme_label,
             "group": lambda g: titles.get(g) or group_text(g),
             "task": lambda v: TASKS.get(v, v)}
    for f in hv.FILTERS:
        options = [""] + store.distinct("group_id" if f == "group" else f)
        show = shows.get(f, str)
        vals[f] = sb.selectbox("made by (one Run click, one sweep)" if f == "group" else f,
                               options, key=P + f,
                               format_func=lambda v, show=show: show(v) if v else "(any)")
    vals["dates"] = sb.date_input("started between", value=(), key=P + "dates")
    return vals


def _sort(store) -> tuple[str, bool]:
    keys = ["started", "ended", "model", "task", "scheme", "status", *store.metric_keys()]
    words = {"started": "when started", "ended": "when ended"}
    if "feature_error" in keys:  # an inversion's activation is its feature error: said once
        words["activation"] = "target activation"
    c1, c2 = st.columns([3, 1])
    sort = c1.selectbox("sort by", keys, key=P + "sort",
                        format_func=lambda k: words.get(k) or metric_text(k),
                        help="an inversion's target activation is its rel. feature error")
    desc = c2.toggle("descending", value=True, key=P + "desc")
    return sort, desc


def _actions(store, runs, chosen: list[str], notes: dict[str, str]) -> None:
    """Tag, note, delete (with undo) for the selected runs; open one in the Playground
    (saying when it was computed in a batch: alone it can differ). The deleted runs leave
    the selection."""
    r = runs[0]
    if len(runs) == 1:
        st.page_link(page_path("playground"), label="Open in the Playground",
                     query_params=hv.playground_params(r), icon="▶️",
                     help=notes.get(r.id) or None)
        if notes.get(r.id):
            st.caption(plain(notes[r.id]))
        if r.mlflow:
            if r.mlflow.startswith("http"):
                st.link_button("MLflow run", r.mlflow)
            else:
                st.caption(plain(f"MLflow: {r.mlflow}"))
        _edit(store, r)
    live = [x for x in runs if not x.deleted]  # a run deleted elsewhere: Undo is there
    if live and st.button(f"Delete {len(live)} run(s)", key=P + "delete"):
        gone = store.delete([x.id for x in live])
        st.session_state[P + "deleted"] = gone
        st.session_state[P + "deleted_chosen"] = list(chosen)  # what Undo selects again
        _keep([i for i in chosen if i not in gone])
        st.rerun()


def _edit(store, r) -> None:
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


def _undo(store) -> None:
    gone = st.session_state.get(P + "deleted")
    if not gone:
        return
    c1, c2 = st.columns([4, 1])
    c1.info(f"deleted {len(gone)} run(s): {', '.join(gone)}")
    if c2.button("Undo", key=P + "undo"):
        store.restore(gone)
        st.session_state[P + "deleted"] = None
        _keep(st.session_state.pop(P + "deleted_chosen", None) or gone)  # and the link
        st.rerun()


def _compare(runs, notes: dict[str, str]) -> None:
    st.subheader("Side by side" if len(runs) > 1 else f"Run {runs[0].id}")
    cols = st.columns(len(runs))
    side = max(_side(r) for r in runs)
    for c, r in zip(cols, runs):
        if r.image:  # at most its 224 px, never wider than its column (6 runs at 1280 px)
            c.image(_pic(r.image, side), caption=f"{r.id} · {_status(r)}", width="content",
                    output_format="PNG")
        else:
            c.warning(plain(f"{r.id}: {_status(r)}, no pre-image"))
        weights = f" · weights {r.weights_hash[:12]}" if r.weights_hash else ""
        c.caption(plain(f"{r.model_label or model_text(r.model)}{weights} · "
                        f"{scheme_label(r.scheme)} · {when(r.started)}"))
        for line in hv.verdict_lines(r):
            c.caption(plain(line))
        if r.message:
            c.caption(plain(ui_message(r.message)))
        if notes.get(r.id):  # in full below (one run: at "Open in the Playground")
            c.caption(plain(hv.batch_short(notes[r.id])))
    batched = hv.batch_caption({r.id: notes.get(r.id, "") for r in runs})
    if len(runs) > 1 and batched:
        st.caption(plain(batched))
    if len(runs) > 1:
        st.markdown("**Settings that differ**")
        style, height = hv.settings_styled(runs)  # the odd values highlighted, no scrolling
        if style is not None:
            st.dataframe(style, height=height)
            st.caption("highlighted: the values that differ from the one most runs share "
                       "(else from the first run's)")
        else:
            st.caption("the runs share every setting")
    st.markdown("**Metrics** (floor: what a flat image or chance reaches)")
    st.dataframe(hv.metrics_table(runs), hide_index=True)
    c1, c2 = st.columns(2)
    for c, key in zip((c1, c2), hv.CURVES):
        if any(r.curves.get(key) for r in runs):
            c.plotly_chart(hv.curves_figure(runs, key), key=f"{P}curve_{key}")
    missing = hv.without_curves(runs)
    if missing:
        st.caption(missing)


def _status(r) -> str:
    """A run's status, "deleted" for one deleted (in another tab) but still selected here."""
    return f"deleted ({r.status})" if r.deleted else r.status


@st.fragment(run_every=10)
def _fresh(store) -> None:
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


def _side(r) -> int:
    import io

    from PIL import Image

    return Image.open(io.BytesIO(r.image)).width if r.image else 0


def _pic(png: bytes, side: int):
    """The pre-image upscaled (nearest) so that every run shows at the same scale."""
    import io

    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).transpose(2, 0, 1) / 255.0
    return display_image(img.astype(np.float32), base=max(224, side))


def _table(rows: list[dict], ids: list[str], keys: list[str], chosen: list[str]) -> list[str]:
    """The runs' table with a tick per row; returns the selected run ids. The table's key
    follows the shown ids and their order, so its ticks start from the chosen runs'
    rows whenever the rows change."""
    default = {"selection": {"rows": hv.positions(chosen, ids), "columns": []}}
    keys = hv.table_keys(rows, keys)  # the metrics a listed run has
    event = st.dataframe(
        rows, key=hv.table_key(P, ids), on_select="rerun", selection_mode="multi-row",
        selection_default=default, hide_index=True, height=hv.table_height(len(rows)),
        placeholder="-",  # a metric the run has not (an AM run's PSNR), no thumbnail
        column_order=hv.table_order(keys, rows), column_config=hv.table_config(keys, rows))
    now = hv.merge_selection(chosen, ids, event.selection.rows)
    if now != chosen or st.session_state.get(P + "link") != hv.link_value(now):
        _keep(now)
    return now


def main() -> None:
    store = get_store()
    st.title("History")
    st.caption(f"Runs stored in `{store.path}` (it stays on this machine"
               + (f"; mirrored to MLflow at {store.tracking_uri}" if store.tracking_uri
                  else "") + ").")
    if store.notice:
        st.warning(plain(ui_message(store.notice)))
    _undo(store)
    chosen = _chosen(store)
    titles = sweep_titles(store)
    values = _filters(store, titles)
    sort, desc = _sort(store)
    args = hv.filter_args(values)
    t0 = time.perf_counter()
    st.session_state[P + "stamp"] = store_stamp(store)  # before the list: nothing missed
    runs = store.list(**args, sort=sort, descending=desc, limit=hv.PAGE_SIZE, thumbs=True,
                      configs=True, verdicts=True)
    total = store.count(**{k: v for k, v in args.items()})
    # the registry's metrics in its order (Sec. 3's measures, then the judge's verdict);
    # the others (gradient norm, the model's own probability) sort and compare
    keys = [k for k in registry_order(store.metric_keys()) if k in METRICS]
    rows = table_rows(runs, keys, titles)
    ids = [r["id"] for r in rows]
    _fresh(store)  # above the table, in sight (a long table pushes what follows away)
    if rows:
        chosen = _table(rows, ids, keys, chosen)
    else:
        st.info("No runs yet: run something on the Playground, Compare, Sweeps or Paper "
                "presets page" if not store.count() else "No stored run matches the filters.")
    st.session_state[P + "table_s"] = time.perf_counter() - t0
    if rows:
        hidden = [i for i in chosen if i not in ids]
        st.caption(f"{len(rows)} of {total} run(s) shown" +
                   (f" (the first {hv.PAGE_SIZE}; narrow the filters)" if total > len(rows)
                    else "") + ". Select 1 to 6 rows to compare them." +
                   (f" {len(hidden)} selected run(s) are not in the table." if hidden
                    else ""))
    if not chosen:
        return
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
        if r.deleted:  # deleted in another tab: shown as such, Undo is there
            st.warning(plain(deleted_text(r.id)))
    if not runs:
        return
    notes = hv.batch_notes(store, runs)
    _compare(runs, notes)
    hv.export_buttons(st, runs, P + "export", store)
    _actions(store, runs, chosen, notes)


guard(main)
