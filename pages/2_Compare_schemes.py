"""Compare schemes: the paper's Fig. 1 grid on one target, run as one streaming batch."""

from __future__ import annotations

import dataclasses

import streamlit as st

from dashboard import plots, results
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
from dashboard.preset_view import FINDINGS
from dashboard.resources import get_model, verdict_models
from dashboard.run_history import store_finished_run  # noqa: F401 (the hook)
from dashboard.run_panel import Job, RunPanel
from dashboard.runs import RunRecord
from dashboard.scheme_names import CELLS, parse_cells
from dashboard.settings.checks import check_against_model
from dashboard.settings.compare import (
    COMPARE_CHOICES,
    compare_configs,
    compare_defaults,
    compare_settings,
)
from dashboard.settings.labels import STEP_SIZE_HELP, STEP_SIZE_LABEL, run_activation_label
from dashboard.settings.playground import (
    config_to_settings,
    playground_defaults,
)
from dashboard.text import name, plain
from dashboard.urlstate import MAX_STEP_SIZE, encode, max_jitter
from dashboard.widgets import Controls, apply_settings, bind, commit, current, show_notices
from viz_core import presets, spectra
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.image_checks import tv_stability_warning
from viz_core.metrics import image_metrics, metric_label
from viz_core.schemes import FIG1_ROWS, get_scheme, scheme_of
from viz_core.store.compare import BATCH_WHY

P = "cmp_"
D = compare_defaults()
ROWS = list(FIG1_ROWS.items())  # Fig. 1's rows by name (not by the registry's order)
ROW_TITLES = {"Baselines": "Baselines (not in Fig. 1)"}  # the kernel rows by their names
#: Fig. 1's columns, said once above the grid (the captions do not repeat them)
COLUMNS = (("fluid", "Kf only: filters the update (eq. 8)"),
           ("elastic", "Ke only: filters the solution (eq. 6)"),
           ("fluid-elastic", "both (eq. 18)"))
BASELINES = FIG1_ROWS["Baselines"]  # named in their captions: the columns are not theirs
CELL_LABELS = {key: get_scheme(key).label for key in CELLS}
NO_GRID = "-"
#: What the paper found with Fig. 1, and what "best" under the grid means here
PAPER_LINE = ("Paper: " + FINDINGS["fig1"][0] + " Here the line above names the picture the "
              "independent judge recognises most surely (or, for an inversion, the lowest "
              "feature error), not the sharpest: the total variation column of the table "
              "(eq. 19) measures crispness.")
CELL_SIZE = 256  # 64 px x 4; a narrower column (1280 px wide) shrinks it
FEATURE_ERROR_HELP = ("relative feature error = ||Phi(u) - Phi(x)|| / ||Phi(x)||: how far "
                      "the pre-image's features at the chosen layer are from the reference "
                      "image's (0 = identical features); the data term of eq. 3 is its p-th "
                      "power")

setup_page("Compare schemes")


def _grids() -> dict[str, list[RunConfig]]:
    out = {}
    for p in presets.presets_for("compare"):
        for variant, batches in (("offline", p.offline), ("paper", p.batches)):
            for b in batches:
                out[f"{p.title.split(':')[0]} · {variant} · {b.title}"] = b.configs
    return out


def _load_grid() -> None:
    choice = st.session_state.get(P + "grid", NO_GRID)
    st.session_state[P + "grid"] = NO_GRID
    if choice == NO_GRID:
        return
    s, notes = compare_settings(_grids()[choice])
    apply_settings(P, s)
    st.session_state[P + "cells_list"] = parse_cells(s["cells"])
    st.session_state[P + "msg"] = f"loaded {choice}. " + " ".join(notes)


def _cells_changed() -> None:
    st.session_state[P + "cells"] = ",".join(st.session_state.get(P + "cells_list") or [])


def _tv_warnings(configs: list[RunConfig]) -> dict[str, str]:
    """The TV stability warnings a run of ``configs`` will end with (eqs. 19-20: its
    largest step size against its TV weight): warning -> the words the run's status will
    show (the cell's name first). Said once, under Run all: not in the sidebar as well,
    where at 1280x720 the TV weight is a screen below the fold while Run all is at the
    top of the page."""
    out = {}
    for c in configs:
        warn = tv_stability_warning(max(o.tau for o in c.schedule), c.tv, c.tv_eps)
        if warn:
            out[warn] = f"{c.name}: {warn}" if len(configs) > 1 else warn
    return out


def _sidebar(ctl: Controls):
    sb = st.sidebar
    sb.selectbox("Load a paper grid", [NO_GRID] + list(_grids()), key=P + "grid",
                 on_change=_load_grid)
    if st.session_state.get(P + "msg"):
        sb.info(plain(st.session_state.pop(P + "msg")))
    sb.subheader("Model and target")
    model = model_controls(ctl)
    target = target_controls(ctl, model)
    other = results.counterpart_for(st.session_state[P + "model"])
    ctl.toggle("robust", "Standard vs robust side by side", disabled=other is None,
               help="runs the same grid on the other model of the standard / adversarially "
                    "trained pair as well" + (f" ({other})" if other else ""))
    if other is None:
        sb.caption("No standard / robust counterpart of this model is on this server; the "
                   "toggle turns on once one is in assets/models.")
    sb.subheader("Schemes")
    try:
        cur = parse_cells(st.session_state[P + "cells"])
    except VizError:
        cur = list(CELLS)
    st.session_state[P + "cells_list"] = cur
    sb.multiselect("Cells", list(CELLS), key=P + "cells_list",
                   format_func=CELL_LABELS.get, on_change=_cells_changed)
    ctl.slots["cells"] = sb.empty()
    size = model.spec.input_size if model is not None else 64
    ctl.slider("size", "Kernel size (sigma, gamma fitted, Sec. 2.7)", 1,
               max(3, min(31, size - 1 + size % 2)), 2)
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


def _open_in_playground(cfg: RunConfig) -> None:
    s, _ = config_to_settings(cfg)
    st.switch_page(page_path("playground"),
                   query_params=encode(s, playground_defaults()))


def _caption(rec: RunRecord, i: int, cid: str, act_name: str, model: str = "") -> str:
    """A cell's caption, short (the column headers name the scheme, the table below has
    every verdict): ``model`` when the standard / robust pair is side by side, a baseline's
    name, the target activation or feature error, and the top class of the independent
    judge (else of the model). Markdown: names of networks and classes as text
    (:func:`name`)."""
    a = rec.activation[-1][i] if rec.activation else float("nan")
    parts = ([model] if model else []) + ([CELL_LABELS[cid]] if cid in BASELINES else [])
    parts.append(f"{results.short_figure(act_name)} {a:.3g}")
    vs = [v for v in (rec.verdicts[i] if i < len(rec.verdicts) else []) if v.top
          and v.data.get("role") in ("model", "judge")]
    v = next((v for v in vs if v.data.get("role") == "judge"), vs[0] if vs else None)
    if v is not None:
        parts.append(f"{v.data.get('role')}: {v.top[0][0]} {results.prob_text(v.top[0][1])}")
    return name(" · ".join(parts))


def _verdict_columns(rec: RunRecord, i: int) -> dict[str, str]:
    """The metrics table's verdict columns of cell ``i``: what the model and the
    independent judge see (top class, probability; the target's beside when it is not
    the top: Sec. 3.2)."""
    out = {}
    for v in rec.verdicts[i] if i < len(rec.verdicts) else []:
        role = v.data.get("role")
        if v.top and role in ("model", "judge"):
            top, p = v.top[0]
            also = (f" ({v.target} {results.prob_text(v.target_prob)})"
                    if v.target_prob is not None and v.target and v.target != top else "")
            out[f"{'judge' if role == 'judge' else 'model'} sees"] = \
                f"{top} {results.prob_text(p)}{also}"
    return out


def _draw(cells: dict, ph: dict, recs: list[RunRecord], full: bool, key: str) -> None:
    ph["act_name"] = run_activation_label(recs[0].configs)  # the run's task, not the sidebar's
    for m, rec in enumerate(recs):
        if rec.images is None:
            continue
        model = rec.model_label.split(" ")[0] if len(recs) > 1 else ""
        for i, cid in enumerate(ph["order"]):
            show_image(cells[m, cid], rec.images[i],
                       _caption(rec, i, cid, ph["act_name"], model), CELL_SIZE, fit=True)
        rec.mark_shown()
    rec = recs[-1]
    show_progress(ph["progress"], rec, full,  # the captions give no step: every frame
                  f" · {name(rec.model_label)}" if len(recs) > 1 else "", each_frame=True)
    if not full:
        return
    rec = recs[0]
    draw_curves(ph, rec, key)
    steps, _, act = rec.curves()
    series = []
    rows = []
    met = image_metrics(rec.images)  # the registry's metrics, under the registry's labels
    hf, tv = metric_label("hf_fraction"), metric_label("total_variation")
    for i, label in enumerate(rec.labels):
        freq, power = spectra.radial_power_spectrum(rec.images[i])
        series.append((label, freq, power))
        rows.append({"scheme": label,
                     ph["act_name"]: float(act[-1, i]) if len(steps) else None,
                     **_verdict_columns(rec, i),
                     hf: float(met["hf_fraction"][i]), tv: float(met["total_variation"][i])})
    floor = rec.floors.get("feature_error")
    if floor is not None:  # what a flat image at the reference's mean reaches (eq. 3)
        rows.append({"scheme": "a flat image (floor)", ph["act_name"]: floor,
                     **{k: "-" for k in rows[0] if k.endswith(" sees")}, hf: 0.0, tv: 0.0})
    for m, r in enumerate(recs):  # the grid in one line: recognised, chance, best, floor
        line = results.grid_summary(r)
        who = f"**{name(r.model_label.split(' ')[0])}**: " if len(recs) > 1 else ""
        if line:
            ph["summary"][m].markdown(who + line, help=FEATURE_ERROR_HELP
                                      if r.floors.get("feature_error") is not None else None)
    fig = session_figure(("cmp_spectrum", tuple(s[0] for s in series)),
                         lambda: plots.spectrum_figure(series),
                         lambda f: plots.set_spectra(f, series))
    ph["spectrum"].plotly_chart(fig, key=f"{key}_spectrum")
    ph["table"].dataframe(rows, hide_index=True, width="stretch",
                          column_config={hf: st.column_config.NumberColumn(format="percent")})


def main() -> None:
    notices = bind(P, D, COMPARE_CHOICES)
    link_task(P, st.query_params.to_dict())
    ctl = Controls(P)
    model, target, other = _sidebar(ctl)
    s = commit(P, D, always_in_link(P, D))

    st.title("Compare schemes")
    show_notices(P, notices + ctl.notices, s)
    configs, error = [], None
    try:
        configs = compare_configs(current(P, D), image_path=target.image_label)
        if model is not None:
            for c in configs:
                check_against_model(c, model)
    except VizError as exc:
        error = ui_message(str(exc))
        ctl.error(exc.field if exc.field in ctl.slots else "cells", error)
        configs = []
    aim = results.target_words(configs[0].to_dict(), model.classes if model else None,
                               model.spec.default_layer if model else None) if configs else ""
    st.markdown((f"#### {name(aim[0].upper() + aim[1:])}\n\n" if aim else "")  # projector
                + (f"**{name(model.label)}** · " if model else "")
                + "the schemes of the paper's Fig. 1 (there: activation maximisation of the "
                  "king crab class on VGG19; kernels fitted to the kernel size here), plus two "
                  "baselines not in Fig. 1: one batch, every cell streaming.")
    if model is None:
        error = error or "the model could not be loaded (see the sidebar)"
    if s["task"] == "inversion" and target.reference is None and model is not None:
        error = error or "no valid image to invert (see the sidebar)"
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
    for title, ids in ROWS:
        if not any(c in by_cell for c in ids):
            continue
        cols = st.columns(4)
        cols[0].markdown(f"**{ROW_TITLES.get(title, title)}**")
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
                    cells[m, cid].caption(name(f"{CELL_LABELS[cid]} {lab} - waiting for Run"))
                if st.button("Open in Playground", key=f"{P}open_{cid}", type="tertiary",
                             icon=":material/open_in_new:",
                             help=f"the Playground with this cell's settings. Computed here "
                                  f"in a batch of {len(by_cell)} cells: the Playground runs "
                                  f"it alone, where it can differ visibly ({BATCH_WHY})"):
                    _open_in_playground(by_cell[cid])
    if reference is not None and not shown_ref:
        show_image(st, reference, "reference image", CELL_SIZE)
    return cells


def _run_body(s: dict, configs: list, runs: list, target, error: str | None) -> None:
    model = runs[0]
    panel = RunPanel(P, label="Run all", autorun=True)
    run = panel.buttons([error] if error else []) is not None
    inversion = s["task"] == "inversion"
    ph = {"progress": st.empty(), "status": st.empty()}  # act_name: from the run shown
    tv_slot, tv_warned = st.empty(), _tv_warnings(configs)  # said once: here or the status
    if tv_warned:
        with tv_slot.container():
            for w in tv_warned.values():
                st.warning(plain(w))
    order = [scheme_of(c) for c in configs]
    by_cell = dict(zip(order, configs))

    recs = panel.restore(s)[:len(runs)]  # the pair toggle was turned off: the first model's
    if recs and [scheme_of(RunConfig.from_json(j)) for j in recs[0].configs] != order:
        recs = []  # the grid changed: the old images no longer match the cells
    panel.keep(recs)
    shown_ref = recs[0].reference if recs else target.reference
    cells = _grid(by_cell, runs, shown_ref[0] if inversion and shown_ref is not None
                  else None)
    ph["order"] = order
    ph["summary"] = [st.empty() for _ in runs]  # one line per model, under the grid
    st.caption(PAPER_LINE)
    left, right = st.columns(2)
    ph["curves"], ph["spectrum"] = left.empty(), right.empty()
    ph["table"] = st.empty()
    ph["downloads"] = st.empty()

    if run and configs and model is not None:
        jobs = [Job(m.label, [dataclasses.replace(c, model=m.spec.name) for c in configs], m,
                    reference=target.reference, judges=verdict_models(m, m.spec.name))
                for m in runs]
        recs = panel.run(jobs, lambda i, r, full: _draw(
            cells, ph, panel.records, full, f"run{i + 1}_{len(r.steps)}"), settings=s,
            plots_after=True)
    said = {w for rec in recs for ws in rec.warnings for w in ws}
    if tv_warned and said.issuperset(tv_warned):
        tv_slot.empty()  # the run's status above says it (an older run: in the same words)
    if recs and recs[0].images is not None:
        with ph["status"].container():  # "done" first, then the plots
            for rec in recs:
                panel.status(rec, s, rec.model_label if len(recs) > 1 else "")
        if run:
            panel.after_other_runs(ph["curves"])
        _draw(cells, ph, recs, True, "static")
        with ph["downloads"].container():
            panel.downloads(recs)  # each file named after its run and cell
    elif recs:
        with ph["status"].container():
            panel.status(recs[0], s)


guard(main)
