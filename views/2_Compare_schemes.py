"""Compare schemes: the paper's Fig. 1 grid on one target, run as one streaming batch."""

from __future__ import annotations

import streamlit as st
import torch

from dashboard import plots
from dashboard import state as ui_state
from dashboard.common import (
    PAGES,
    Controls,
    RunRecord,
    apply_settings,
    bind,
    commit,
    current,
    downloads,
    guard,
    setup_page,
    show_image,
    status_message,
    stream,
)
from dashboard.controls import model_controls, target_controls
from viz_core import presets, spectra
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.schemes import get_scheme
from viz_core.transforms import parse_octaves

P = "cmp_"
D = ui_state.COMPARE_DEFAULTS
ROWS = [("Gaussian G_sigma", ui_state.CELLS[:3]), ("Sobolev S_gamma", ui_state.CELLS[3:6]),
        ("Baselines", ui_state.CELLS[6:])]
CELL_LABELS = {key: get_scheme(key).label for key in ui_state.CELLS}
NO_GRID = "-"

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
    s, notes = ui_state.compare_settings(_grids()[choice])
    apply_settings(P, s)
    st.session_state[P + "cells_list"] = ui_state.parse_cells(s["cells"])
    st.session_state[P + "msg"] = f"loaded {choice}. " + " ".join(notes)


def _cells_changed() -> None:
    st.session_state[P + "cells"] = ",".join(st.session_state.get(P + "cells_list") or [])


def _octave_taus() -> list[float]:
    if not st.session_state.get(P + "octaves_on"):
        return []
    try:
        return [o.tau for o in parse_octaves(str(st.session_state[P + "octaves"]))]
    except VizError:
        return []


def _sidebar(ctl: Controls):
    sb = st.sidebar
    sb.selectbox("Load a paper grid", [NO_GRID] + list(_grids()), key=P + "grid",
                 on_change=_load_grid)
    if st.session_state.get(P + "msg"):
        sb.info(st.session_state.pop(P + "msg"))
    sb.subheader("Model and target")
    model = model_controls(ctl)
    target = target_controls(ctl, model)
    sb.subheader("Schemes")
    try:
        cur = ui_state.parse_cells(st.session_state[P + "cells"])
    except VizError:
        cur = list(ui_state.CELLS)
    st.session_state[P + "cells_list"] = cur
    sb.multiselect("Cells", list(ui_state.CELLS), key=P + "cells_list",
                   format_func=CELL_LABELS.get, on_change=_cells_changed)
    ctl.slots["cells"] = sb.empty()
    size = model.spec.input_size if model is not None else 64
    ctl.slider("size", "Kernel size (sigma, gamma fitted, Sec. 2.7)", 1,
               max(3, min(31, size - 1 + size % 2)), 2)
    ctl.slider("tv", "TV weight lambda (TV cell)", 0.01, 3.0, 0.01)
    tau = max([float(st.session_state[P + "step_size"])] + _octave_taus())
    limit = presets.stable_tv(tau, weight=float("inf"))
    if float(st.session_state[P + "tv"]) > limit / 0.8:
        sb.warning(f"explicit TV is unstable for tau lambda / eps > 1/4: with tau = {tau:g}, "
                   f"keep lambda below {limit / 0.8:.3g}")
    sb.subheader("Optimization")
    ctl.number("step_size", "Step size tau (0-255 levels per step)", 1e-6, None, 0.5,
               format="%g")
    ctl.number("steps", "Steps", 1, 100_000, 10)
    if ctl.toggle("octaves_on", "Octaves (scale:steps:tau, ...)"):
        ctl.text("octaves", "Octave schedule")
    ctl.number("jitter", "Jitter (pixels; < 1 = fraction)", 0.0, None, 1.0, format="%g")
    ctl.number("seed", "Seed", 0, 2**31 - 1, 1)
    ctl.slider("every", "Stream a frame every k steps", 1, 50, 1)
    with sb.expander("Advanced"):
        adv = Controls(P, st.container())
        adv.radio("p", "Inversion exponent p", (1, 2))
    ctl.slots.update(adv.slots)
    return model, target


def _open_in_playground(cfg: RunConfig) -> None:
    s, _ = ui_state.config_to_settings(cfg)
    st.switch_page(PAGES["playground"][0],
                   query_params=ui_state.encode(s, ui_state.PLAYGROUND_DEFAULTS))


def _draw(cells: dict, ph: dict, rec: RunRecord, full: bool, key: str) -> None:
    for i, cid in enumerate(ph["order"]):
        a = rec.activation[-1][i] if rec.activation else float("nan")
        show_image(cells[cid], rec.images[i], f"{CELL_LABELS[cid]} · {ph['act_name']} {a:.3g}",
                   192)
    ph["progress"].progress(min(1.0, rec.step / max(rec.total, 1)),
                            text=f"step {rec.step} / {rec.total} · {rec.elapsed:.1f} s")
    if not full:
        return
    steps, obj, act = rec.curves()
    if len(steps):
        ph["curves"].plotly_chart(plots.curves_figure(steps, obj, act, rec.labels,
                                                      ph["act_name"]), key=f"{key}_curves")
    series = []
    rows = []
    for i, label in enumerate(rec.labels):
        freq, power = spectra.radial_power_spectrum(rec.images[i])
        series.append((label, freq, power))
        rows.append({"scheme": label,
                     ph["act_name"]: float(act[-1, i]) if len(steps) else None,
                     "high-freq. energy": spectra.high_frequency_fraction(rec.images[i]),
                     "total variation": spectra.total_variation(rec.images[i])})
    ph["spectrum"].plotly_chart(plots.spectrum_figure(series), key=f"{key}_spectrum")
    ph["table"].dataframe(rows, hide_index=True, width="stretch",
                          column_config={"high-freq. energy": st.column_config.NumberColumn(
                              format="percent")})


def main() -> None:
    notices = bind(P, D, ui_state.COMPARE_CHOICES)
    ctl = Controls(P)
    model, target = _sidebar(ctl)
    s = commit(P, D)
    for n in notices + ctl.notices:
        st.toast(n)

    st.title("Compare schemes")
    st.caption("Fig. 1 of the paper: rows Gaussian / Sobolev kernels (fitted to the kernel "
               "size), columns fluid (Kf only) / elastic (Ke only) / fluid-elastic (both), "
               "plus TV and no regularization - one target, one batch, every cell streaming.")
    configs, error = [], None
    try:
        configs = ui_state.compare_configs(current(P, D), image_path=target.image_label)
        if model is not None:
            for c in configs:
                ui_state.check_against_model(c, model)
    except VizError as exc:
        error = str(exc)
        ctl.error(exc.field if exc.field in ctl.slots else "cells", error)
        configs = []
    if model is None:
        error = error or "the model could not be loaded (see the sidebar)"
    if s["task"] == "inversion" and target.reference is None and model is not None:
        error = error or "no valid image to invert (see the sidebar)"

    b1, b2, b3 = st.columns([1, 1, 4])
    run = b1.button("Run all", type="primary", key=P + "run", disabled=bool(error),
                    width="stretch")
    b2.button("Stop", key=P + "stop", width="stretch")
    if error:
        b3.error(error, icon="⚠️")
    ph = {"progress": st.empty(),
          "act_name": "rel. feature error" if s["task"] == "inversion" else "activation"}
    order = [ui_state.cell_of(c) for c in configs]
    by_cell = dict(zip(order, configs))
    cells = {}
    for title, ids in ROWS:
        shown = [c for c in ids if c in by_cell]
        if not shown:
            continue
        st.markdown(f"**{title}**")
        cols = st.columns(3)
        for col, cid in zip(cols, shown):
            with col:
                cells[cid] = st.empty()
                cells[cid].caption(f"{CELL_LABELS[cid]} - waiting for Run")
                if st.button("Open in Playground", key=f"{P}open_{cid}",
                             help="the Playground with this cell's settings"):
                    _open_in_playground(by_cell[cid])
    ph["order"] = order
    ph["status"] = st.container()
    left, right = st.columns(2)
    ph["curves"], ph["spectrum"] = left.empty(), right.empty()
    ph["table"] = st.empty()
    ph["downloads"] = st.container()

    rec: RunRecord | None = st.session_state.get(P + "record")
    if rec is not None:
        rec.mark_interrupted()
        if [ui_state.cell_of(RunConfig.from_json(j)) for j in rec.configs] != order:
            rec = None  # the grid changed: the old images no longer match the cells
    if run and configs and model is not None:
        rec = RunRecord([c.name for c in configs], [c.to_json() for c in configs],
                        model.label, configs[0].total_steps)
        st.session_state[P + "record"] = rec
        ref = torch.from_numpy(target.reference) if target.reference is not None else None
        stream(configs, model, rec,
               lambda r, f, full: _draw(cells, ph, r, full, f"run{len(r.steps)}"),
               reference=ref, every=configs[0].every)
    if rec is not None and rec.images is not None:
        if not run:
            _draw(cells, ph, rec, True, "static")
        with ph["status"]:
            status_message(rec)
        if rec.status != "running":
            with ph["downloads"]:
                pick = st.selectbox("Download a cell", range(len(rec.labels)),
                                    format_func=lambda i: rec.labels[i], key=P + "dl_pick")
                downloads(rec, pick, "cmp_dl", f"demons-{order[pick]}")
    elif rec is not None:
        with ph["status"]:
            status_message(rec)


guard(main)
