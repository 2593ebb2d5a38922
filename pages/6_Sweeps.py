"""Sweeps: one base setting times one or two axes, streamed into a montage and a heatmap;
four ready-made sweeps (regularization path, inversion across depth, sanity check with
random weights, seed variance); any cell opens in the Playground."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from dashboard import sweep_export as sx
from dashboard import sweep_summary as sm
from dashboard import sweeps_view as sv
from dashboard.file_names import sweep_file_stem
from dashboard.messages import ui_message
from dashboard.model_controls import model_label, model_names
from dashboard.navigation import page_path
from dashboard.page import guard, setup_page, show_image
from dashboard.results import stale_note
from dashboard.run_history import get_store, remember_sweep_batch
from dashboard.settings.labels import STEP_SIZE_HELP, STEP_SIZE_LABEL
from dashboard.sweep_heatmap import heatmap_figure
from dashboard.sweep_links import link_values
from dashboard.sweep_stream import PageExecutor, keep_stopped
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
from viz_core.sweeps import run_sweep
from viz_core.sweeps.ready import READY
from viz_core.sweeps.report import grid_of, randomization_verdict

P = "sw_"
D = sv.sweep_defaults()
RESULT = P + "result"
WAIT_S = 600.0  # how long a script run waits for the stopped sweep's batch

setup_page("Sweeps")


def _ready_changed() -> None:
    key = st.session_state.get(P + "ready", sv.CUSTOM)
    if key == sv.CUSTOM:
        return
    try:
        apply_settings(P, sv.ready_settings(key, current(P, D)))
    except VizError as exc:
        st.session_state[P + "msg"] = f"cannot load {READY[key].title}: {exc}"


def _take_playground() -> None:
    pg = st.session_state.get("pg__saved")
    if not pg:
        st.session_state[P + "msg"] = ("the Playground has no setting yet in this session: "
                                       "open it once (or use a link to it) first")
        return
    try:
        apply_settings(P, sv.from_playground(pg, current(P, D)))
        st.session_state[P + "msg"] = "took the Playground's current setting as the base"
    except VizError as exc:
        st.session_state[P + "msg"] = f"the Playground's setting is not valid: {exc}"


def _link_values(ctl: Controls, key: str, axis: str) -> None:
    """A link's axis values that no cell can run (nan, -5, 1e309) left out, each named
    (:func:`dashboard.sweep_links.link_values`), so that the page runs what it shows."""
    where = origin(P)
    if where is None or where[0] != "link" or key not in where[1]:
        return
    try:
        base = sv.base_config(current(P, D))
    except VizError:  # said under its own control
        return
    text, notices = link_values(key, st.session_state[P + key],
                                   str(st.session_state[P + axis]), base)
    st.session_state[P + key] = text
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
    ctl.radio("task", "Task", sv.SWEEP_CHOICES["task"])
    if st.session_state[P + "task"] == "am":
        ctl.number("target", "Class index", 0, 999, 1)
    else:
        if not st.session_state.get(P + "image"):
            st.session_state[P + "image"] = sv.default_sample_name(st.session_state[P + "model"])
        ctl.text("image", "Image to invert (sample name)")
        ctl.text("layer", "Layer (empty: the model's default)")
    ctl.select("scheme", "Scheme", sv.SWEEP_CHOICES["scheme"])
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
    _link_values(ctl, "values1", "axis1")
    ctl.text("values1", "Row values (comma separated)")
    ctl.select("axis2", "Columns: axis", sv.SWEEP_CHOICES["axis2"])
    if st.session_state[P + "axis2"] != sv.NO_AXIS:
        _link_values(ctl, "values2", "axis2")
        ctl.text("values2", "Column values (comma separated)")
    task = st.session_state[P + "task"]
    ctl.select("metric", "Heatmap metric", sv.metric_choices(task),
               fmt=lambda k: sv.metric_option_label(k, task),
               fallback=sv.metric_instead(task))  # the labels of this task only: the
    # choices change with the task anyway (it leaves out what says nothing for it)


_NOT_RUN = {"stopped": "not run (the sweep was stopped)",
            "error": "not run (the sweep failed)"}


def _png_array(path: Path) -> np.ndarray:
    a = np.asarray(Image.open(path), dtype=np.float32) / 255.0
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


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
                        st.caption(_NOT_RUN.get(res.get("status"), "waiting ..."))
                    continue
                show_image(st, _png_array(Path(res["dir"]) / r["png"]),
                           sm.cell_caption(r, axes, rows), 128)
                value = sm.value_caption(r, metric, rows, r is best)
                if value:
                    st.caption(value)
                if buttons and st.button("Open in Playground", key=f"{P}open_{r['cell_id']}",
                                         help=sv.open_help(r, sizes)):
                    st.switch_page(page_path("playground"),
                                   query_params=sv.playground_params(r))


def _draw(ph: dict, res: dict, metric: str, buttons: bool, key: str) -> None:
    done, total = sum(not r.get("stopped") for r in res["rows"]), res["total"]
    stopped = {"stopped": " · stopped", "error": " · failed"}.get(res.get("status"), "")
    live = res.get("live")
    text = f"{done} / {total} cells{stopped}"
    if live and res.get("status") == "running":
        text = (f"batch {live['batch'] + 1} of {live['batches']}: step {live['step']} / "
                f"{live['total']} · {text}")
    part = live["step"] / max(live["total"], 1) * len(live["cells"]) if live else 0
    ph["progress"].progress(min(1.0, (done + part) / max(total, 1)), text=text)
    if res["rows"]:
        rows = res["rows"]
        ph["heatmap"].plotly_chart(heatmap_figure(
            rows, res["axes"], metric, res["grid"], best=sm.best_cell(rows, metric)),
            key=f"{key}_heat")
        line = sm.best_line(metric, rows, res["axes"], res.get("start"))
        ph["best"].caption(name(line) if line else "")
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
                       help="the cells' PNGs (each with its run JSON), the table and the "
                       "manifest that `demons-viz sweep` resumes")


def _cascade(model: str) -> None:
    """The committed cascading-randomisation test of ``model``: its verdict with the
    random network's logit spread, and one row of pictures per scheme."""
    st.subheader("Model-randomisation test (Adebayo et al. 2018)")
    data, rows = sv.committed_sanity(model)
    if data is None:
        st.info(f"No committed test for {name(model)}: run demons-viz sanity --model "
                f"{name(model)} (committed: results/sanity_fmnist_vgg*.md).")
        return
    st.markdown(data["verdict"].split(" Logit spread")[0])
    sp = data["logit_spread"]
    st.caption("Std of the logits over real images: " + ", ".join(
        f"{k} {v:.3g}" for k, v in sp.items()) + f". Command: `{data['command']}`.")
    cols = ["trained"] + [f"random down to {c}" for c in data["cascade"]]
    st.caption("Each row, left to right: " + " | ".join(cols) + f" (seed 0, class "
               f"{data['class_names'][0]}).")
    for scheme, img in rows:
        st.markdown(f"**{scheme}**: {data['verdicts'][scheme][1].split(': ', 1)[1]}")
        st.image(img, output_format="PNG")


def _analysis(res: dict) -> None:
    rows, axes = res["rows"], res["axes"]
    if "weights" in axes and len(rows) == res["total"] and res.get("status") == "done":
        by = next((a for a in axes if a != "weights"), "scheme")
        items, verdict = randomization_verdict(rows, by=by)
        st.warning(verdict)
        st.dataframe(items, hide_index=True, width="stretch")
    head, table = sm.seed_spread(rows, axes)
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
    deadline = time.monotonic() + WAIT_S
    with st.spinner("Stopping the sweep after the batch being computed ..."):
        while res.get("status") == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
    if res.get("status") == "running":
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
    st.caption(ready.question if ready else
               "A base setting times one or two axes: every cell is a run; cells that share "
               "a model and a layer run as one batch. The same sweep runs from the command "
               "line (`demons-viz sweep`), also on a Ray cluster.")
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
        stop.button("Stop", key=P + "stop", help="stop between two steps: the cells done "
                    "so far stay here and in the History, the batch being computed shows "
                    "its pictures as they are, marked stopped")
    elif sweep is not None:
        b2.caption(sv.cells_text(sweep))
    elif error:
        b2.error(plain(ui_message(error)))
    note = st.container()  # stale / failed / stopped: above the results they are about
    ph = {"progress": st.empty(), "heatmap": st.empty(), "best": st.empty(),
          "montage": st.empty()}
    res = st.session_state.get(RESULT)
    if run and sweep is not None:
        axes = [a.name for a in sweep.axes]
        cells = sweep.cells()
        full = [{a: v for a, v in c.values.items()} for c in cells]
        keys = {c.index: [c.values.get(a) for a in (axes + [None])[:2]] for c in cells}
        res = {"rows": [], "axes": axes, "total": len(sweep), "grid": grid_of(full, axes)[:2],
               "keys": [keys.get(i, [None, None]) for i in range(len(cells))], "start": {},
               "dir": tempfile.mkdtemp(prefix="demons-viz-sweep-"), "status": "running",
               "settings": {k: v for k, v in s.items() if k != "metric"}}  # metric: a view
        st.session_state[RESULT] = res
        store = get_store()  # no Streamlit call between a batch's end and its cells stored

        def progress(p) -> None:
            if p.result is not None:
                res["rows"] = sorted(res["rows"] + p.result.rows, key=lambda r: r["index"])
                res["start"].update(p.result.extra.get("start") or {})
                res["live"] = None
                remember_sweep_batch(p.result, res["dir"], store)  # grouped by the sweep
                _draw(ph, res, s["metric"], False, f"live{len(res['rows'])}")

        def frame(i: int, n: int, task, f) -> None:  # the running batch, between steps
            res["live"] = {"batch": i, "batches": n, "step": int(f.step),
                           "total": int(f.total), "cells": {
                               tuple(res["keys"][c["index"]]): f.images[j]
                               for j, c in enumerate(task.cells)}}
            _draw(ph, res, s["metric"], False, f"b{i}s{f.step}")

        _draw(ph, res, s["metric"], False, "start")
        pages = PageExecutor(frame, _yield, lambda r: keep_stopped(res, r))
        try:
            run_sweep(sweep, res["dir"], pages, progress=progress)
            res["status"] = "done"
        except VizError as exc:  # said here and on later reruns, not called a stop
            res["status"], res["message"] = "error", str(exc)
        finally:  # Stop, a changed setting or an error: what is done so far stays
            if res["status"] == "running":
                whole = [r for r in res["rows"] if not r.get("stopped")]
                res["status"] = "done" if len(whole) >= res["total"] else "stopped"
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
    if res is not None and res.get("status") == "error":
        note.error(plain(f"The sweep failed after {len(res['rows'])} of {res['total']} "
                         f"cells: {ui_message(res['message'])}"))
    if res is not None and res.get("status") == "stopped":
        cut = [r for r in res["rows"] if r.get("stopped")]
        done = len(res["rows"]) - len(cut)
        kept = ([f"the {done} cells done are shown below and kept in the History"]
                if done else [])
        if cut:
            kept.append(f"the batch it stopped shows its {len(cut)} cells at step "
                        f"{cut[0].get('steps_done')}, marked stopped (not in the History)")
        note.warning(f"The sweep stopped after {done} of {res['total']} cells (Stop was "
                     "pressed, a setting changed or the page was left)"
                     + (": " + "; ".join(kept) if kept else "")
                     + ". Press Run sweep to run it again.")
    if s["ready"] == "sanity_check":
        _cascade(s["model"])
    if res is not None and res["rows"]:
        ph["progress"].empty()
        _draw(ph, res, s["metric"], True, "final")
        _analysis(res)
        st.dataframe(sv.table_rows(res["rows"]), hide_index=True, width="stretch")
        _downloads(res, s)


guard(main)
