"""History: every run the Playground, Compare, Sweeps and the CLI stored, in one table with
thumbnails, filters and sorting by any metric; 2-6 selected runs side by side; any run
opens in the Playground; tags, notes, delete with undo; reports to send.

The page lays out; the selection (run ids in the session and the link), the edits and the
check that the store changed are ``dashboard.history_edit``'s, the table's columns
``dashboard.history_table``'s, the comparison's pieces ``dashboard.history_view``'s."""

from __future__ import annotations

import time

import streamlit as st

from dashboard import history_edit as he
from dashboard import history_table as ht
from dashboard import history_view as hv
from dashboard.messages import ui_message
from dashboard.navigation import page_path
from dashboard.page import guard, setup_page
from dashboard.run_history import TASKS, get_store, model_text, sweep_titles
from dashboard.text import plain
from viz_core.schemes import scheme_label
from viz_core.store.compare import when
from viz_core.store.settings_text import group_text, metric_text

P = he.P
setup_page("History")


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
    """Open one run in the Playground (saying when it was computed in a batch: alone it can
    differ), its MLflow link, tags and note; delete (with undo) the selected runs."""
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
        he.edit_form(store, r)
    he.delete_button(store, runs, chosen)


def _compare(runs, notes: dict[str, str]) -> None:
    st.subheader("Side by side" if len(runs) > 1 else f"Run {runs[0].id}")
    cols = st.columns(len(runs))
    for c, r, pic in zip(cols, runs, he.same_scale(runs)):
        if pic is not None:  # at most its 224 px, never wider than its column (6 at 1280 px)
            c.image(pic, caption=f"{r.id} · {he.status_text(r)}", width="content",
                    output_format="PNG")
        else:
            c.warning(plain(f"{r.id}: {he.status_text(r)}, no pre-image"))
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


def _table(rows: list[dict], ids: list[str], keys: list[str], chosen: list[str]) -> list[str]:
    """The runs' table with a tick per row; returns the selected run ids. The table's key
    follows the shown ids and their order, so its ticks start from the chosen runs'
    rows whenever the rows change."""
    default = {"selection": {"rows": hv.positions(chosen, ids), "columns": []}}
    keys = ht.table_keys(rows, keys)  # the metrics a listed run has
    widths = ht.head_widths(rows)  # the first columns fit beside the sidebar at 1280 px
    event = st.dataframe(
        ht.fit_rows(rows, widths), key=hv.table_key(P, ids), on_select="rerun",
        selection_mode="multi-row", selection_default=default, hide_index=True,
        height=ht.table_height(len(rows)),
        placeholder="-",  # a metric the run has not (an AM run's PSNR), no thumbnail
        column_order=ht.table_order(keys, rows),
        column_config=ht.table_config(keys, rows, widths))
    now = hv.merge_selection(chosen, ids, event.selection.rows)
    if now != chosen or st.session_state.get(P + "link") != hv.link_value(now):
        he.keep(now)
    return now


def main() -> None:
    store = get_store()
    st.title("History")
    st.caption(f"Runs stored in `{store.path}` (it stays on this machine"
               + (f"; mirrored to MLflow at {store.tracking_uri}" if store.tracking_uri
                  else "") + ").")
    if store.notice:
        st.warning(plain(ui_message(store.notice)))
    he.undo_bar(store)
    chosen = he.chosen_runs(store)
    titles = sweep_titles(store)
    values = _filters(store, titles)
    sort, desc = _sort(store)
    t0 = time.perf_counter()
    he.stamp(store)  # before the list: nothing missed
    rows, keys, total = he.listed(store, hv.filter_args(values), sort, desc, titles)
    ids = [r["id"] for r in rows]
    he.store_changed(store)  # above the table, in sight (a long table pushes the rest away)
    if rows:
        chosen = _table(rows, ids, keys, chosen)
    else:
        st.info("No runs yet: run something on the Playground, Compare, Sweeps or Paper "
                "presets page" if not store.count() else "No stored run matches the filters.")
    st.session_state[P + "table_s"] = time.perf_counter() - t0
    if rows:
        st.caption(he.shown_text(len(rows), total, sum(i not in ids for i in chosen)))
    runs = he.load_chosen(store, chosen) if chosen else []
    if not runs:
        return
    notes = hv.batch_notes(store, runs)
    _compare(runs, notes)
    hv.export_buttons(st, runs, P + "export", store)
    _actions(store, runs, chosen, notes)


guard(main)
