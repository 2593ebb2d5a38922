"""Compare schemes: the paper's Fig. 1 grid on one target, run as one streaming batch."""

from __future__ import annotations

import streamlit as st

from dashboard import compare_page as cp
from dashboard import plots, results
from dashboard.compare_page import CELL_LABELS, CELL_SIZE, COLUMNS, NO_GRID
from dashboard.controls import always_in_link, link_task, target_controls
from dashboard.messages import ui_message
from dashboard.model_controls import model_controls
from dashboard.navigation import page_path
from dashboard.page import (
    draw_curves,
    guard,
    session_figure,
    setup_page,
    show_image,
    show_progress,
)
from dashboard.resources import get_model, verdict_models
from dashboard.run_history import store_finished_run  # noqa: F401 (the hook)
from dashboard.run_panel import RunPanel
from dashboard.runs import RunRecord
from dashboard.scheme_names import CELLS
from dashboard.settings.compare import COMPARE_CHOICES, compare_defaults
from dashboard.settings.labels import STEP_SIZE_HELP, STEP_SIZE_LABEL, run_activation_label
from dashboard.text import name, plain
from dashboard.urlstate import MAX_STEP_SIZE, max_jitter
from dashboard.widgets import Controls, apply_settings, bind, commit, current, show_notices
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.schemes import scheme_of

P = "cmp_"
D = compare_defaults()

setup_page("Compare schemes")


def _load_grid() -> None:
    choice = st.session_state.get(P + "grid", NO_GRID)
    st.session_state[P + "grid"] = NO_GRID
    if choice == NO_GRID:
        return
    s, cells, msg = cp.grid_choice(choice)
    apply_settings(P, s)
    st.session_state[P + "cells_list"] = cells
    st.session_state[P + "msg"] = msg


def _cells_changed() -> None:
    st.session_state[P + "cells"] = ",".join(st.session_state.get(P + "cells_list") or [])


def _sidebar(ctl: Controls):
    sb = st.sidebar
    sb.selectbox("Load a paper grid", [NO_GRID] + list(cp.grids()), key=P + "grid",
                 on_change=_load_grid)
    if st.session_state.get(P + "msg"):
        sb.info(plain(st.session_state.pop(P + "msg")))
    sb.subheader("Model and target")
    model = model_controls(ctl)
    target = target_controls(ctl, model)
    other = results.counterpart_for(st.session_state[P + "model"])
    ctl.toggle("robust", "Standard vs robust side by side", disabled=other is None,
               help=cp.robust_help(other))
    if other is None:
        sb.caption(cp.NO_COUNTERPART)
    sb.subheader("Schemes")
    st.session_state[P + "cells_list"] = cp.cells_or_all(st.session_state[P + "cells"])
    sb.multiselect("Cells", list(CELLS), key=P + "cells_list",
                   format_func=CELL_LABELS.get, on_change=_cells_changed)
    ctl.slots["cells"] = sb.empty()
    size = model.spec.input_size if model is not None else 64
    ctl.slider("size", "Kernel size (sigma, gamma fitted, Sec. 2.7)", 1,
               cp.kernel_size_max(size), 2)
    ctl.slider("tv", "TV weight lambda (TV cell)", 0.01, 3.0, 0.01,
               help="a weight past the stability bound of the explicit TV step (eqs. 19-20) "
                    "is said under Run all")
    sb.subheader("Optimization")
    octaves = ctl.toggle("octaves_on", "Octaves / step schedule (scale:steps:tau, ...)")
    if octaves:
        ctl.text("octaves", "Octave schedule")
    off = " (set by the schedule)" if octaves else ""
    ctl.number("step_size", f"{STEP_SIZE_LABEL}{off}", 1e-6, MAX_STEP_SIZE, 0.5, format="%g",
               disabled=octaves, help=STEP_SIZE_HELP)
    ctl.number("steps", f"Steps{off}", 1, 100_000, 10, disabled=octaves)
    ctl.number("jitter", "Jitter (pixels; < 1 = fraction)", 0.0, max_jitter(size), 1.0,
               format="%g")
    ctl.number("seed", "Seed", 0, 2**31 - 1, 1)
    ctl.slider("every", "Stream a frame every k steps", 1, 50, 1)
    with sb.expander("Advanced"):
        adv = Controls(P, st.container())
        adv.radio("p", "Inversion exponent p", (1, 2))
    ctl.slots.update(adv.slots)
    return model, target, other


def _draw(cells: dict, ph: dict, recs: list[RunRecord], full: bool, key: str) -> None:
    ph["act_name"] = run_activation_label(recs[0].configs)  # the run's task, not the sidebar's
    for m, rec in enumerate(recs):
        if rec.images is None:
            continue
        model = cp.model_tag(rec, len(recs))
        for i, cid in enumerate(ph["order"]):
            show_image(cells[m, cid], rec.images[i],
                       cp.caption(rec, i, cid, ph["act_name"], model), CELL_SIZE, fit=True)
        rec.mark_shown()
    rec = recs[-1]
    show_progress(ph["progress"], rec, full,  # the captions give no step: every frame
                  f" · {name(rec.model_label)}" if len(recs) > 1 else "", each_frame=True)
    if not full:
        return
    rec = recs[0]
    if note := cp.charts_note(recs):
        ph["charts_note"].caption(note)
    draw_curves(ph, rec, key)
    rows, series = cp.table_rows(recs, ph["act_name"])
    for m, line, help_ in cp.summary_lines(recs):  # recognised, chance, best, floor
        ph["summary"][m].markdown(line, help=help_)
    fig = session_figure(("cmp_spectrum", tuple(s[0] for s in series)),
                         lambda: plots.spectrum_figure(series),
                         lambda f: plots.set_spectra(f, series))
    ph["spectrum"].plotly_chart(fig, key=f"{key}_spectrum")
    ph["table"].dataframe(rows, hide_index=True, width="stretch",
                          column_config={cp.HF: st.column_config.NumberColumn(format="percent")})


def main() -> None:
    notices = bind(P, D, COMPARE_CHOICES)
    link_task(P, st.query_params.to_dict())
    ctl = Controls(P)
    model, target, other = _sidebar(ctl)
    s = commit(P, D, always_in_link(P, D))

    st.title("Compare schemes")
    show_notices(P, notices + ctl.notices, s)
    configs, exc = cp.grid_configs(current(P, D), target.image_label, model)
    error = None
    if exc is not None:
        error = ui_message(str(exc))
        ctl.error(exc.field if exc.field in ctl.slots else "cells", error)
    st.markdown(cp.intro(configs, model))
    error = cp.run_error(error, model, s["task"], target.reference)
    runs = [model]
    if other is not None and st.session_state.get(P + "robust") and model is not None:
        try:
            runs.append(get_model(other, s["weights"], s["device"]))
        except VizError as exc:
            error = error or ui_message(str(exc))

    _run_area(s, configs, runs, target, error)


@st.fragment
def _run_area(s: dict, configs: list, runs: list, target, error: str | None) -> None:
    """Run all, Stop and the grid, as a fragment: a Run or Stop click reruns only this part
    of the page (the sidebar is neither recomputed nor sent again), so the run starts at
    once; a change of any setting reruns the whole page, this part with it."""
    guard(lambda: _run_body(s, configs, runs, target, error))


def _grid(by_cell: dict[str, RunConfig], runs: list, reference) -> dict:
    """Fig. 1's grid, dense enough for 1280x720: the column names once above it, each row
    named in a first column (the reference image beside the first row), each cell an
    image placeholder per model over its "Open in Playground" button. Returns the
    placeholders by (model index, cell)."""
    cells = {}
    labels = [m.label for m in runs] if len(runs) > 1 else [""]
    head = st.columns(4, vertical_alignment="bottom")
    head[0].caption("kernel \\ scheme")
    for col, (title, what) in zip(head[1:], COLUMNS):
        col.markdown(f"**{title}**", help=what)
    shown_ref = False
    for title, ids in cp.grid_rows(by_cell):
        cols = st.columns(4)
        cols[0].markdown(f"**{title}**")
        if reference is not None and not shown_ref:  # beside the first row
            show_image(cols[0].container(width=CELL_SIZE), reference, "reference image",
                       CELL_SIZE, fit=True)
            shown_ref = True
        for col, cid in zip(cols[1:], ids):
            if cid not in by_cell:
                continue
            with col:
                for m, lab in enumerate(labels):
                    cells[m, cid] = st.container(width=CELL_SIZE).empty()
                    cells[m, cid].caption(cp.waiting_caption(cid, lab))
                if st.button("Open in Playground", key=f"{P}open_{cid}", type="tertiary",
                             icon=":material/open_in_new:", help=cp.open_help(len(by_cell))):
                    st.switch_page(page_path("playground"),
                                   query_params=cp.playground_link(by_cell[cid]))
    if reference is not None and not shown_ref:
        show_image(st, reference, "reference image", CELL_SIZE)
    return cells


def _run_body(s: dict, configs: list, runs: list, target, error: str | None) -> None:
    model = runs[0]
    panel = RunPanel(P, label="Run all", autorun=True)
    run = panel.buttons([error] if error else []) is not None
    inversion = s["task"] == "inversion"
    # the TV warnings, said once: here (the pair side by side: naming both) or the status
    tv_slot, tv_warned = st.empty(), cp.tv_warnings(configs)
    models = [m.label for m in runs if m is not None]
    _say(tv_slot, cp.tv_notes(tv_warned, [], models)[0])
    ph = {"progress": st.empty(), "status": st.empty()}  # act_name: from the run shown
    order = [scheme_of(c) for c in configs]
    by_cell = dict(zip(order, configs))

    # the pair toggle was turned off: the first model's; the grid changed: none
    recs = cp.matching_records(panel.restore(s)[:len(runs)], order)
    panel.keep(recs)
    shown_ref = recs[0].reference if recs else target.reference
    cells = _grid(by_cell, runs, shown_ref[0] if inversion and shown_ref is not None
                  else None)
    ph["order"] = order
    ph["summary"] = [st.empty() for _ in runs]  # one line per model, under the grid
    st.caption(cp.PAPER_LINE)
    ph["charts_note"] = st.empty()
    left, right = st.columns(2)
    ph["curves"], ph["spectrum"] = left.empty(), right.empty()
    ph["table"] = st.empty()
    ph["downloads"] = st.empty()

    if run and configs and model is not None:
        jobs = cp.build_jobs(configs, runs, target.reference, verdict_models)
        recs = panel.run(jobs, lambda i, r, full: _draw(
            cells, ph, panel.records, full, f"run{i + 1}_{len(r.steps)}"), settings=s,
            plots_after=True)
    lines, shown = cp.tv_notes(tv_warned, recs, models)  # statuses without what is said
    _say(tv_slot, lines)
    if recs and recs[0].images is not None:
        with ph["status"].container():  # "done" first, then the plots
            for rec, was in zip(shown, recs):
                panel.status(rec, s, rec.model_label if len(recs) > 1 else "",
                             said_above=rec is not was)
        if run:
            panel.after_other_runs(ph["curves"])
        _draw(cells, ph, recs, True, "static")
        with ph["downloads"].container():
            panel.downloads(recs)  # each file named after its run and cell
    elif recs:
        with ph["status"].container():
            panel.status(shown[0], s, said_above=shown[0] is not recs[0])


def _say(slot, warnings: list[str]) -> None:
    """The TV warnings under Run all in ``slot`` (none: the slot is emptied)."""
    if not warnings:
        slot.empty()
        return
    with slot.container():
        for w in warnings:
            st.warning(plain(w))


guard(main)
