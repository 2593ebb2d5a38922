"""Paper presets: the paper's figures and the classic recipes, one click each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import preset_view, table1_view
from dashboard import presets_page as pp
from dashboard.page import guard, setup_page, show_image
from dashboard.run_history import store_finished_run  # noqa: F401 (the hook)
from dashboard.run_panel import RunButton, RunPanel
from dashboard.runs import LOG, RunRecord
from dashboard.settings.labels import TASK_LABELS, config_activation_label
from dashboard.text import plain
from viz_core import offline_presets, presets
from viz_core.datasets import FMNIST_CLASSES
from viz_core.presets import Batch, Preset
from viz_core.samples import sample_paths

P = "pp_"
CELL = 192  # px, a picture's largest width (64 px x 3): its caption keeps to two lines

setup_page("Paper presets")


def _open(preset: Preset, batch: Batch) -> None:
    page, params = pp.open_target(preset, batch)
    st.switch_page(page, query_params=params)


def _grid(batch: Batch) -> tuple[list, Any]:
    """Placeholders for a batch's cells in the rows of :func:`presets_page.grid_layout`
    (an inversion's reference image first, at the pre-images' size), each at most CELL px
    wide so that its caption keeps to two lines; under the grid, one for the judge's line
    and the table of every verdict."""
    st.markdown(f"**{batch.title}**")
    ref, cells, rows = pp.grid_layout(batch)
    slots, start = [], 0
    for title, n in rows:
        if title:
            st.caption(title)
        cols = st.columns(pp.COLS)
        for col, cfg in zip(cols, cells[start:start + n]):
            if cfg is None:
                col.container(width=CELL).image(ref, width="stretch", output_format="PNG",
                                                caption=f"reference: {Path(ref).name}")
                continue
            slots.append(col.container(width=CELL).empty())
            slots[-1].caption(f"{cfg.name} - not run yet")
        start += n
    return slots, st.empty()


def _draw(grid: tuple[list, Any], rec: RunRecord, what: str) -> None:
    """Each cell's pre-image under its short caption, and under the grid, once judged, the
    independent judge's k-of-N line and the table of every verdict (:mod:`preset_view`)."""
    slots, below = grid
    for i, slot in enumerate(slots):
        if rec.images is not None and i < rec.images.shape[0]:
            cap = preset_view.caption(rec, i, what, named=len(slots) > 1)
            show_image(slot, rec.images[i], cap, CELL, fit=True)
    if line := preset_view.grid_line(rec, what):
        with below.container():
            st.markdown(line)
            with st.expander("each picture: what every network sees, and its numbers",
                             expanded=pp.has_classifier(rec)):  # Table 1's other network
                st.dataframe(preset_view.detail_rows(rec, what), hide_index=True, width="stretch")


def _run(panel: RunPanel, batches: list[Batch], slot_lists: list, bar: Any,
         settings: dict[str, Any] | None = None) -> None:
    """Run ``batches`` one after the other. The records stay in the session: a Stop or a
    changed setting ends the run, and the next script run's :meth:`RunPanel.restore` keeps
    the state shown; where no script run follows (a reload), :meth:`RunPanel.run` does."""
    clock = st.session_state[panel.prefix + "clock"] = pp.start_clock()
    bar.progress(0.0, text=f"batch 1 of {len(batches)}: starting")

    def draw(i: int, rec: RunRecord, full: bool) -> None:
        _draw(slot_lists[i], rec, config_activation_label(batches[i].configs[0]))
        rec.mark_shown()
        pp.mark_shown(clock)
        value, text = pp.progress(i, len(batches), rec, batches[i].title)
        bar.progress(value, text=text)

    panel.run([pp.job(b) for b in batches], draw, settings=settings)
    pp.mark_shown(clock)


def _show(panel: RunPanel, slot_lists: list, stem: str, batches: list[Batch], bar: Any,
          settings: dict[str, Any] | None = None, above: Any = None) -> None:
    """Redraw the run kept in the session: the pictures, the progress bar with one summary
    line, each batch's status and downloads under its own title (the status of a run made
    with other ``settings`` goes ``above`` the pictures, with that note)."""
    recs = panel.restore()[:len(batches)]
    if not recs:
        return
    for i, rec in enumerate(recs):
        _draw(slot_lists[i], rec, config_activation_label(batches[i].configs[0]))
    for b, j, caption in pp.stopped_cells(recs, batches):
        slot_lists[b][0][j].caption(caption)
    clock = st.session_state.get(panel.prefix + "clock") or {}
    value, line = preset_view.summary(recs, len(batches), pp.elapsed(clock, recs))
    bar.progress(value, text=line)
    for i, rec in enumerate(recs):
        st.markdown(f"**{batches[i].title}**: status and downloads")
        if settings and above is not None and rec.stale(settings):
            with above.container():
                panel.status(rec, settings)
        else:
            panel.status(rec, settings)
        panel.downloads([rec], f"demons-{stem}", index=i)


def _preset(p: Preset) -> None:
    with st.container(border=True):
        st.subheader(p.title)
        st.caption(f"Source: {p.source}")
        st.markdown(f"**Setting (Kf, Ke, tau, TV):** {p.setting}")
        st.markdown(p.description)
        if found := pp.findings(p.key):
            st.markdown(found)
        paper_ok, caption = pp.paper_version_caption(p)
        why = None if paper_ok else pp.NEEDS_WEIGHTS
        st.caption(caption)
        if missing := pp.missing_images_warning(p):
            st.warning(missing)
        if p.notes:
            with st.expander("notes on the settings"):
                for n in p.notes:
                    st.markdown(f"- {n}")
        panel = RunPanel(f"{P}{p.key}_")
        target = "Compare" if p.page == "compare" else "Playground"
        started = panel.buttons(choices=[
            RunButton("off", "Run offline version"),
            RunButton("pap", "Run paper version", disabled=not paper_ok, help=why)])
        c = st.columns(2)
        if c[0].button(f"Open offline in {target}", key=f"{P}{p.key}_open_off",
                       width="stretch"):
            _open(p, p.offline[0])
        if c[1].button(f"Open paper version in {target}", key=f"{P}{p.key}_open_pap",
                       width="stretch", disabled=not paper_ok, help=why):
            _open(p, p.batches[0])
        if started:
            st.session_state[f"{P}{p.key}_variant"] = pp.VARIANTS[started]
        if (variant := st.session_state.get(f"{P}{p.key}_variant")) is None:
            return
        batches = pp.variant_batches(p, variant)
        st.caption(f"{variant} version:")
        slot_lists = [_grid(b) for b in batches]
        bar = st.empty()
        if started:
            _run(panel, batches, slot_lists, bar)
        _show(panel, slot_lists, p.key, batches, bar)


def _tuned() -> None:
    """The presets tuned for the shipped Fashion-MNIST models (viz_core.offline_presets).
    A run stays shown after its settings change, marked as from the previous settings."""
    st.markdown(pp.TUNED_INTRO)
    c = st.columns(3)
    model = c[0].selectbox("Model", offline_presets.OFFLINE_MODELS, key=f"{P}t_model")
    task = c[1].radio("Task", offline_presets.OFFLINE_TASKS, key=f"{P}t_task",
                      horizontal=True, format_func=TASK_LABELS.get)
    if task == "am":
        target = c[2].selectbox("Class", range(len(FMNIST_CLASSES)), key=f"{P}t_class",
                                index=presets.OFFLINE_AM_CLASS,
                                format_func=lambda i: f"{i} {FMNIST_CLASSES[i]}")
        batch, settings = pp.tuned_batch(model, task, target=target)
    else:
        if not (images := sample_paths(1)):
            st.warning("No Fashion-MNIST sample images are shipped on this machine.")
            return
        image = c[2].selectbox("Image", images, key=f"{P}t_image",
                               format_func=lambda f: Path(f).name)
        batch, settings = pp.tuned_batch(model, task, image=image)
    with st.expander("the nine settings"):
        st.dataframe(offline_presets.preset_rows(model, task), hide_index=True, width="stretch")
    panel = RunPanel(f"{P}t_", label="Run all nine schemes")
    run = panel.buttons() is not None
    recs = panel.restore()  # a run ended by a changed setting: stopped, kept, reported
    if run:
        st.session_state[f"{P}t_batch"] = batch
    batch = st.session_state.get(f"{P}t_batch")
    if batch is None or not (run or recs):
        return  # nothing run yet
    above = st.empty()  # the status of a run from other settings, above its pictures
    slots = [_grid(batch)]
    bar = st.empty()
    if run:
        _run(panel, [batch], slots, bar, settings)
    _show(panel, slots, "tuned", [batch], bar, settings, above)


def _table1_results() -> None:
    files = pp.table1_files(pp.results_dir())
    if not files:
        st.info(pp.NO_TABLE1)
        return
    frames, errors = pp.read_tables(files)
    for error in errors:
        st.error(error)
    line, caps = pp.table1_captions(frames)
    if line:
        st.caption(line)
    for f, df in frames.items():
        rows = df.to_dict("records")
        st.markdown(f"**{plain(f.name)}**")
        st.caption(caps[f.name])
        if sentence := table1_view.table1_comparison(rows):
            st.markdown(sentence)
        fig, problem = pp.table1_chart(f.name, df)
        if problem:
            st.warning(problem)
        elif fig is not None:
            try:  # the table below shows whatever the chart does (never a traceback)
                st.plotly_chart(fig, width="stretch", key=f"{P}chart_{f.stem}")
            except Exception as exc:  # noqa: BLE001 - the traceback goes to the log
                LOG.exception("the chart of %s could not be drawn", f.name)
                st.warning(pp.no_chart(f.name, exc))
        every = st.toggle("all columns", key=f"{P}cols_{f.stem}", help=pp.ALL_COLUMNS_HELP)
        st.dataframe(pp.shown_table(df, every), hide_index=True, width="stretch")
        montage, problem = pp.montage(f, rows)
        if problem:
            st.warning(problem)
        elif montage is not None:
            st.image(montage, output_format="PNG", caption=pp.MONTAGE_CAPTION)


def main() -> None:
    st.title("Paper presets")
    st.markdown(pp.INTRO)
    tabs = st.tabs(["Paper figures", "Classic recipes", "Tuned for the offline models",
                    "Table 1 results"])
    items = presets.all_presets()
    # a run that this rerun ended is stopped and reported first, before a Run click of
    # this script run (on any preset) could replace its records
    for prefix in [f"{P}{p.key}_" for p in items] + [f"{P}t_"]:
        RunPanel(prefix).restore()
    for tab, group in zip(tabs, ("paper", "classic")):
        with tab:
            if notice := pp.weights_notice([p for p in items if p.group == group]):
                st.info(notice, icon="ℹ️")  # one calm notice for the tab's missing weights
            for p in items:
                if p.group == group:
                    _preset(p)
    with tabs[2]:
        _tuned()
    with tabs[3]:
        st.markdown(pp.table1_line())
        _table1_results()


guard(main)
