"""Sweeps: one base setting times one or two axes, streamed into a montage and a heatmap;
four ready-made sweeps (regularization path, inversion across depth, sanity check with
random weights, seed variance); any cell opens in the Playground."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import sweep_export as sx
from dashboard import sweep_stream as ss
from dashboard import sweep_summary as sm
from dashboard import sweeps_view as sv
from dashboard.file_names import sweep_file_stem
from dashboard.messages import ui_message
from dashboard.model_controls import model_label, model_names
from dashboard.navigation import page_path
from dashboard.page import guard, setup_page, show_image
from dashboard.results import stale_note
from dashboard.run_history import get_store, remember_sweep_batch
from dashboard.settings.labels import STEP_SIZE_HELP, STEP_SIZE_LABEL, TASK_LABELS
from dashboard.sweep_heatmap import heatmap_figure
from dashboard.sweep_links import page_link_values
from dashboard.text import name, plain
from dashboard.urlstate import MAX_STEP_SIZE
from dashboard.widgets import (
    Controls,
    apply_settings,
    bind,
    commit,
    current,
    origin,
    show_notices,
)
from viz_core.errors import VizError
from viz_core.schemes import scheme_label
from viz_core.sweeps import run_sweep
from viz_core.sweeps.ready import READY

P = "sw_"
D = sv.sweep_defaults()
RESULT = P + "result"
WAIT_S = 600.0  # how long a script run waits for the stopped sweep's batch

setup_page("Sweeps")


def _ready_changed() -> None:
    settings, msg = sv.ready_change(st.session_state.get(P + "ready", sv.CUSTOM),
                                    current(P, D))
    if settings is not None:
        apply_settings(P, settings)
    if msg:
        st.session_state[P + "msg"] = msg


def _take_playground() -> None:
    settings, msg = sv.take_playground(st.session_state.get("pg__saved"), current(P, D))
    if settings is not None:
        apply_settings(P, settings)
    st.session_state[P + "msg"] = msg


def _link_values(ctl: Controls, key: str) -> None:
    """A link's axis values that no cell can run (nan, -5, 1e309) left out, each named
    (:func:`dashboard.sweep_links.page_link_values`), so that the page runs what it shows."""
    cleaned = page_link_values(origin(P), key, current(P, D))
    if cleaned is not None:
        st.session_state[P + key], notices = cleaned
        ctl.notices.extend(notices)


def _sidebar(ctl: Controls) -> None:
    sb = st.sidebar
    ctl.select("ready", "Ready-made sweep", sv.SWEEP_CHOICES["ready"],
               fmt=lambda k: "custom" if k == sv.CUSTOM else READY[k].title,
               on_change=_ready_changed)
    sb.button("Take the Playground's current setting", key=P + "take",
              on_click=_take_playground, width="stretch")
    if st.session_state.get(P + "msg"):
        sb.info(plain(st.session_state.pop(P + "msg")))
    sb.subheader("Base setting")
    ctl.select("model", "Model", model_names(ctl), fmt=model_label,
               on_change=_ready_changed)  # a ready-made sweep follows the model (its layers)
    ctl.radio("task", "Task", sv.SWEEP_CHOICES["task"], fmt=TASK_LABELS.get)
    if st.session_state[P + "task"] == "am":
        ctl.number("target", "Class index", 0, 999, 1)
    else:
        if not st.session_state.get(P + "image"):
            st.session_state[P + "image"] = sv.default_sample_name(st.session_state[P + "model"])
        ctl.text("image", "Image to invert (sample name)")
        ctl.text("layer", "Layer (empty: the model's default)")
    ctl.select("scheme", "Scheme", sv.SWEEP_CHOICES["scheme"], fmt=scheme_label)
    ctl.number("size", "Kernel size (parameter fitted, Sec. 2.7)", 1,
               sv.max_kernel_size(st.session_state[P + "scheme"]), 2)
    ctl.number("step_size", STEP_SIZE_LABEL, 1e-6, MAX_STEP_SIZE, 0.5, format="%g",
               help=STEP_SIZE_HELP)
    ctl.number("steps", "Steps", 1, 100_000, 10)
    ctl.number("seed", "Seed", 0, 2**31 - 1, 1)
    ctl.number("jitter", "Jitter (pixels)", 0.0, sv.model_jitter(st.session_state[P + "model"]),
               1.0, format="%g")
    sb.subheader("Axes")
    ctl.select("axis1", "Rows: axis", sv.SWEEP_CHOICES["axis1"])
    _link_values(ctl, "values1")
    ctl.text("values1", "Row values (comma separated)")
    ctl.select("axis2", "Columns: axis", sv.SWEEP_CHOICES["axis2"])
    if st.session_state[P + "axis2"] != sv.NO_AXIS:
        _link_values(ctl, "values2")
        ctl.text("values2", "Column values (comma separated)")
    task = st.session_state[P + "task"]
    ctl.select("metric", "Heatmap metric", sv.metric_choices(task),
               fmt=lambda k: sv.metric_option_label(k, task),
               fallback=sv.metric_instead(task))  # the labels of this task only: the
    # choices change with the task anyway (it leaves out what says nothing for it)


def _montage(res: dict, metric: str, buttons: bool) -> None:
    rows, axes = res["rows"], res["axes"]
    rv, cv = res["grid"]
    cells = sm.grid_slots(res["keys"], rows)
    live = res.get("live") or {}
    best = sm.best_cell(rows, metric)
    sizes = sv.batch_sizes(rows)
    if buttons and any(n > 1 for n in sizes.values()):
        st.caption(sv.BATCH_NOTE)  # a cell opened in the Playground runs alone
    for a in rv:
        cols = st.columns(len(cv))
        for col, b in zip(cols, cv):
            r = cells.get((a, b))
            with col:
                if r is None:
                    now = live.get("cells", {}).get((a, b))
                    if now is not None:  # the running batch: its current picture
                        show_image(st, now, f"computing: step {live['step']} / "
                                   f"{live['total']}", 128)
                    else:
                        st.caption(ss.not_run_text(res.get("status")))
                    continue
                show_image(st, sx.png_array(Path(res["dir"]) / r["png"]),
                           sm.cell_caption(r, axes, rows), 128)
                value = sm.value_caption(r, metric, rows, r is best)
                if value:
                    st.caption(value)
                if buttons and st.button("Open in Playground", key=f"{P}open_{r['cell_id']}",
                                         help=sv.open_help(r, sizes)):
                    st.switch_page(page_path("playground"),
                                   query_params=sv.playground_params(r))


def _draw(ph: dict, res: dict, metric: str, buttons: bool, key: str) -> None:
    fraction, text = ss.progress(res)
    ph["progress"].progress(fraction, text=text)
    if res["rows"]:
        rows = res["rows"]
        ph["heatmap"].plotly_chart(heatmap_figure(
            rows, res["axes"], metric, res["grid"], best=sm.best_cell(rows, metric)),
            key=f"{key}_heat")
        with ph["best"].container():  # the best cell, then the cells a Stop ended
            for line in (sm.best_line(metric, rows, res["axes"], res.get("start")),
                         sm.stopped_line(rows, res["axes"])):
                if line:
                    st.caption(name(line))
    with ph["montage"].container():
        _montage(res, metric, buttons)


def _downloads(res: dict, s: dict) -> None:
    """The montage (PNG), the table (CSV) and the sweep's folder (zip)."""
    stem = sweep_file_stem(str(s["model"]), res["axes"])
    c1, c2, c3 = st.columns(3)
    try:
        c1.download_button("Montage (PNG)", sx.montage_png(res["dir"], res["rows"],
                                                           res["axes"]),
                           f"{stem}_montage.png", "image/png", key=P + "dl_png",
                           on_click="ignore")
    except (OSError, ValueError) as exc:
        c1.caption(f"no montage: {plain(str(exc))[:120]}")
    c2.download_button("Table (CSV)", sx.table_csv(res["rows"]), f"{stem}.csv", "text/csv",
                       key=P + "dl_csv", on_click="ignore")
    c3.download_button("Sweep folder (zip)", lambda: sx.folder_zip(res["dir"], stem),
                       f"{stem}.zip", "application/zip", key=P + "dl_zip", on_click="ignore",
                       help=sx.ZIP_HELP)


def _cascade(model: str) -> None:
    """The committed cascading-randomisation test of ``model``: its verdict with the
    random network's logit spread, and one row of pictures per scheme."""
    st.subheader("Model-randomisation test (Adebayo et al. 2018)")
    verdict, captions, schemes = sv.cascade_view(model)
    if not schemes:
        st.info(verdict)  # none committed: what to run
        return
    st.markdown(verdict)
    for caption in captions:
        st.caption(caption)
    for words, img in schemes:
        st.markdown(words)
        st.image(img, output_format="PNG")


def _analysis(res: dict) -> None:
    randomized = sm.randomization(res)
    if randomized is not None:  # trained vs random weights
        st.warning(randomized[0])
        st.dataframe(randomized[1], hide_index=True, width="stretch")
    head, table = sm.seed_spread(res["rows"], res["axes"])
    if head:  # within each setting of the other axes: never across them
        st.markdown(f"**{head}**")
        st.dataframe(table, hide_index=True, width="stretch")


def _yield() -> None:
    """A Streamlit yield point that sends nothing: a Stop click or a changed setting ends
    the script here, between two frames of the running batch."""
    _ = "_" in st.session_state


def _wait_for_the_old_run(res: dict) -> None:
    """Stop (or a changed setting) starts this script run while the previous one still
    computes its batch: it ends at its next Streamlit call, after that batch is stored
    (its ``finally`` sets the status). Wait for it, so that what is shown is final."""
    with st.spinner("Stopping the sweep after the batch being computed ..."):
        ended = ss.wait_while_running(res, WAIT_S)
    if not ended:
        st.warning(f"The previous sweep is still computing a batch after {WAIT_S:.0f} s; "
                   "what it finished so far is shown below.")


def main() -> None:
    notices = bind(P, D, sv.SWEEP_CHOICES)
    ctl = Controls(P)
    _sidebar(ctl)
    s = commit(P, D)
    st.title("Sweeps")
    show_notices(P, notices + ctl.notices, s)
    ready = READY.get(s["ready"])
    st.caption(ready.question if ready else sv.INTRO)
    sweep, error = None, None
    try:
        sweep = sv.sweep_of(s)
    except VizError as exc:
        error = str(exc)
        ctl.error(exc.field if exc.field in ctl.slots else "values1", error)
    b1, b2 = st.columns([1, 5])
    run = b1.button("Run sweep", type="primary", key=P + "run", disabled=sweep is None,
                    width="stretch")
    stop = b2.empty()  # the Stop button, while the sweep runs
    if run and sweep is not None:  # pressing it (or changing a setting) ends the sweep
        stop.button("Stop", key=P + "stop", help=ss.STOP_HELP)
    elif sweep is not None:
        b2.caption(sv.cells_text(sweep))
    elif error:
        b2.error(plain(ui_message(error)))
    note = st.container()  # stale / failed / stopped: above the results they are about
    ph = {"progress": st.empty(), "heatmap": st.empty(), "best": st.empty(),
          "montage": st.empty()}
    res = st.session_state.get(RESULT)
    if run and sweep is not None:
        res = st.session_state[RESULT] = ss.new_result(sweep, s)
        store = get_store()  # no Streamlit call between a batch's end and its cells stored

        def progress(p) -> None:
            if p.result is not None:
                ss.add_batch(res, p.result)
                remember_sweep_batch(p.result, res["dir"], store)  # grouped by the sweep
                _draw(ph, res, s["metric"], False, f"live{len(res['rows'])}")

        def frame(i: int, n: int, task, f) -> None:  # the running batch, between steps
            ss.live_frame(res, i, n, task, f)
            _draw(ph, res, s["metric"], False, f"b{i}s{f.step}")

        _draw(ph, res, s["metric"], False, "start")
        pages = ss.PageExecutor(frame, _yield, lambda r: ss.keep_stopped(res, r))
        try:
            run_sweep(sweep, res["dir"], pages, progress=progress)
            res["status"] = "done"
        except VizError as exc:  # said here and on later reruns, not called a stop
            res["status"], res["message"] = "error", str(exc)
        finally:  # Stop, a changed setting or an error: what is done so far stays
            ss.end_status(res)
        stop.empty()  # ended (done or failed): nothing left to stop or to wait for
        if not res["rows"]:
            ph["progress"].empty()
            ph["montage"].empty()
    if not run and res is not None and res.get("status") == "running":
        _wait_for_the_old_run(res)
    stale = stale_note(res.get("settings") or {}, s) if res is not None and not run else ""
    if stale:  # a sweep of earlier settings (a changed setting, Back / Forward)
        note.info(f"The sweep below is {stale}. Press Run sweep for the current settings.",
                  icon=":material/history:")
    for kind, text in ss.result_notes(res or {}):  # failed or stopped
        if kind == "error":
            note.error(plain(text))
        else:
            note.warning(text)
    if s["ready"] == "sanity_check":
        _cascade(s["model"])
    if res is not None and res["rows"]:
        ph["progress"].empty()
        _draw(ph, res, s["metric"], True, "final")
        _analysis(res)
        st.dataframe(sv.table_rows(res["rows"]), hide_index=True, width="stretch")
        _downloads(res, s)


guard(main)
