"""Paper presets: the paper's figures and the classic recipes, one click each."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import preset_view, table1_view
from dashboard.navigation import page_path
from dashboard.page import guard, setup_page, show_image
from dashboard.plots import table1_figure
from dashboard.resources import available, get_model, model_status, verdict_models
from dashboard.run_history import store_finished_run  # noqa: F401 (the hook)
from dashboard.run_panel import Job, RunButton, RunPanel
from dashboard.runs import Classifier, RunRecord
from dashboard.settings.compare import compare_defaults, compare_settings
from dashboard.settings.labels import config_activation_label
from dashboard.settings.playground import (
    config_to_settings,
    playground_defaults,
)
from dashboard.text import plain
from dashboard.urlstate import encode
from viz_core import offline_presets, presets
from viz_core.datasets import FMNIST_CLASSES
from viz_core.errors import VizError
from viz_core.presets import Batch, Preset, paper_table1_text
from viz_core.samples import sample_paths

P = "pp_"
RESULTS = Path(os.environ.get("DEMONS_VIZ_RESULTS", Path(__file__).resolve().parents[1]
                              / "results"))
COLS = 4
CELL = 192  # px, a picture's largest width (64 px x 3): its caption keeps to two lines
NEEDS_WEIGHTS = "needs the ImageNet weights"
TASK_NAMES = {"am": "activation maximization", "inversion": "inversion"}

setup_page("Paper presets")


def _open(preset: Preset, batch: Batch) -> None:
    if preset.page == "playground":
        s, _ = config_to_settings(batch.configs[0])
        st.switch_page(page_path("playground"),
                       query_params=encode(s, playground_defaults()))
    s, _ = compare_settings(batch.configs)
    st.switch_page(page_path("compare"),
                   query_params=encode(s, compare_defaults()))


def _grid(batch: Batch) -> tuple[list, Any]:
    """Placeholders for a batch's cells: in the rows of the paper's figure where the batch
    has them (Fig. 1: one row per kernel, then the baselines), else in rows of COLS; an
    inversion batch shows its reference image first, at the same size as the pre-images.
    Each cell at most CELL px wide (narrower in a narrower column), so that its caption
    keeps to two lines. Under the grid, one for the line of how many pictures the judge
    recognises and the table of every verdict."""
    st.markdown(f"**{batch.title}**")
    c0 = batch.configs[0]
    ref = c0.image if c0.task == "inversion" and presets.image_exists(c0.image) else None
    cells: list = [None] * bool(ref) + list(batch.configs)
    rows = list(batch.rows)
    sizes = [n for _, n in rows]
    if ref or not rows or sum(sizes) != len(cells) or max(sizes) > COLS:
        rows = [("", COLS)] * -(-len(cells) // COLS)
    slots, start = [], 0
    for title, n in rows:
        if title:
            st.caption(title)
        cols = st.columns(COLS)
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
    """Each cell's pre-image under its short caption (:func:`preset_view.caption`), and
    under the grid, once they are judged, how many of them the independent judge
    recognises (:func:`preset_view.grid_line`) and every verdict in a table
    (:func:`preset_view.detail_rows`)."""
    slots, below = grid
    for i, slot in enumerate(slots):
        if rec.images is not None and i < rec.images.shape[0]:
            cap = preset_view.caption(rec, i, what, named=len(slots) > 1)
            show_image(slot, rec.images[i], cap, CELL, fit=True)
    line = preset_view.grid_line(rec, what)
    if line:
        with below.container():
            st.markdown(line)
            clf = any(v.data.get("role") == "classifier" for vs in rec.verdicts for v in vs)
            with st.expander("each picture: what every network sees, and its numbers",
                             expanded=clf):  # Table 1's test: the other network's verdicts
                st.dataframe(preset_view.detail_rows(rec, what), hide_index=True,
                             width="stretch")


def _progress(bar: Any, i: int, n: int, rec: RunRecord, title: str) -> None:
    done = (i + rec.step / max(rec.total, 1)) / n
    bar.progress(min(done, 1.0), text=f"batch {i + 1} of {n}: {title}, step {rec.step} of "
                 f"{rec.total}")


def _job(batch: Batch) -> Job:
    """A batch whose model is loaded when it starts; the model and its independent judge
    (:func:`dashboard.resources.verdict_models`, as on Compare) then judge its pictures,
    and the paper's classifier of the batch (Table 1's other network) where its weights
    are here."""
    c0 = batch.configs[0]

    def judges(model: Any) -> list:
        out = verdict_models(model, model.spec.name)
        if batch.classifier and available([batch.classifier]):
            try:
                out.append(Classifier(get_model(batch.classifier)))
            except VizError:  # its weights went missing: the captions say nothing of it
                pass
        return out

    return Job(batch.title, list(batch.configs), load=lambda: get_model(
        c0.model, "random" if c0.weights == "random" else "pretrained", c0.device),
        judges=judges)


def _run(panel: RunPanel, batches: list[Batch], slot_lists: list, bar: Any,
         settings: dict[str, Any] | None = None) -> None:
    """Run ``batches`` one after the other. The records stay in the session: a Stop or a
    changed setting ends the run, and the next script run's :meth:`RunPanel.restore` keeps
    the state shown; where no script run follows (a reload), :meth:`RunPanel.run` does."""
    clock = {"start": time.perf_counter()}
    clock["shown"] = clock["start"]
    st.session_state[panel.prefix + "clock"] = clock
    bar.progress(0.0, text=f"batch 1 of {len(batches)}: starting")

    def draw(i: int, rec: RunRecord, full: bool) -> None:
        _draw(slot_lists[i], rec, config_activation_label(batches[i].configs[0]))
        rec.mark_shown()
        clock["shown"] = time.perf_counter()
        _progress(bar, i, len(batches), rec, batches[i].title)

    panel.run([_job(b) for b in batches], draw, settings=settings)
    clock["shown"] = time.perf_counter()


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
    if any(r.status == "stopped" for r in recs):
        for (slots, _), b in zip(slot_lists[len(recs):], batches[len(recs):]):
            for slot, cfg in zip(slots, b.configs):
                slot.caption(f"{cfg.name} - not run: the run was stopped before this batch")
    clock = st.session_state.get(panel.prefix + "clock") or {}
    seconds = (clock["shown"] - clock["start"] if clock
               else sum(r.elapsed for r in recs))
    value, line = preset_view.summary(recs, len(batches), seconds)
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
        if p.key in preset_view.FINDINGS:
            found, here = preset_view.FINDINGS[p.key]
            st.markdown(f"**Paper:** {found}  \n**Here:** {here[0].upper()}{here[1:]}")
        paper_ok = available(p.models)
        why = None if paper_ok else NEEDS_WEIGHTS
        status = ", ".join(f"{m}: {model_status(m)}" for m in p.models)
        st.caption(f"Paper version: {'runs here' if paper_ok else 'needs the weights'} "
                   f"({status}). Offline version: {', '.join(p.offline_models)}.")
        missing = sorted({c.image for b in p.batches + p.offline for c in b.configs
                          if c.image and not presets.image_exists(c.image)})
        if missing:
            st.warning("Sample image missing on this machine: " + ", ".join(missing))
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
        variant_key = f"{P}{p.key}_variant"
        if started:
            st.session_state[variant_key] = "offline" if started == "off" else "paper"
        variant = st.session_state.get(variant_key)
        if variant is None:
            return
        batches = p.offline if variant == "offline" else p.batches
        st.caption(f"{variant} version:")
        slot_lists = [_grid(b) for b in batches]
        bar = st.empty()
        if started:
            _run(panel, batches, slot_lists, bar)
        _show(panel, slot_lists, p.key, batches, bar)


def _weights_notice(items: list[Preset]) -> None:
    """One calm notice for every preset of a tab whose paper version lacks weights."""
    need = sorted({m for p in items for m in p.models if not available([m])})
    if need:
        st.info(f"The ImageNet weights of {', '.join(need)} are not on this machine, so the "
                "paper versions that use them are disabled. Every preset has an **offline "
                "version** with the same scheme settings on the shipped Fashion-MNIST "
                "models; it runs here.", icon="ℹ️")


def _tuned() -> None:
    """The presets tuned for the shipped Fashion-MNIST models (viz_core.offline_presets).
    A run stays shown after its settings change, marked as from the previous settings."""
    st.markdown("Settings tuned for the two shipped Fashion-MNIST models, one per scheme, "
                "checked by `scripts/check_offline_presets.py` (every class reaches a "
                "probability >= 0.9 under every scheme; inversion from the deepest block "
                "reaches a normalised loss < 0.1). All nine schemes run as one batch.")
    c = st.columns(3)
    model = c[0].selectbox("Model", offline_presets.OFFLINE_MODELS, key=f"{P}t_model")
    task = c[1].radio("Task", offline_presets.OFFLINE_TASKS, key=f"{P}t_task",
                      horizontal=True, format_func=TASK_NAMES.get)
    settings: dict[str, Any] = {"model": model, "task": TASK_NAMES[task]}
    if task == "am":
        target = c[2].selectbox("Class", range(len(FMNIST_CLASSES)), key=f"{P}t_class",
                                index=presets.OFFLINE_AM_CLASS,
                                format_func=lambda i: f"{i} {FMNIST_CLASSES[i]}")
        configs = offline_presets.offline_batch(model, task, [target])
        title = f"{model}: class {target} ({FMNIST_CLASSES[target]})"
        settings["target"] = f"{target} ({FMNIST_CLASSES[target]})"
    else:
        images = sample_paths(1)
        if not images:
            st.warning("No Fashion-MNIST sample images are shipped on this machine.")
            return
        image = c[2].selectbox("Image", images, key=f"{P}t_image",
                               format_func=lambda f: Path(f).name)
        configs = offline_presets.offline_batch(model, task, image=image)
        title = f"{model}: inversion of {Path(image).name} from its deepest block"
        settings["image"] = image
    with st.expander("the nine settings"):
        st.dataframe(offline_presets.preset_rows(model, task), hide_index=True,
                     width="stretch")
    panel = RunPanel(f"{P}t_", label="Run all nine schemes")
    run = panel.buttons() is not None
    recs = panel.restore()  # a run ended by a changed setting: stopped, kept, reported
    if run:
        st.session_state[f"{P}t_batch"] = Batch(title, configs)
    batch = st.session_state.get(f"{P}t_batch")
    if batch is None or not (run or recs):
        return  # nothing run yet
    above = st.empty()  # the status of a run from other settings, above its pictures
    slots = [_grid(batch)]
    bar = st.empty()
    if run:
        _run(panel, [batch], slots, bar, settings)
    _show(panel, slots, "tuned", [batch], bar, settings, above)


def _json_settings(csv: Path) -> dict:
    """The settings the evaluation recorded beside a Table 1 CSV (its .json), {} if none."""
    import json

    try:
        meta = json.loads(csv.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    got = meta.get("settings") if isinstance(meta, dict) else None
    return got if isinstance(got, dict) else {}


def _table1_results() -> None:
    files = sorted(RESULTS.glob("table1*.csv")) if RESULTS.is_dir() else []
    files = [f for f in files if not f.stem.endswith("_samples")]
    if not files:
        st.info("No results/table1*.csv yet: run the Table 1 evaluation command to fill "
                "this table (the offline pair runs on a CPU).")
        return
    import pandas as pd

    frames = {}
    for f in files:
        try:
            frames[f] = pd.read_csv(f)
        except Exception as exc:  # noqa: BLE001 - a malformed file is reported, not raised
            st.error(plain(f"cannot read {f.name} as a table: {exc}"))
    line, caps = table1_view.table1_captions(
        {f.name: table1_view.table1_settings(df.to_dict("records"), _json_settings(f))
         for f, df in frames.items()})
    if line:
        st.caption(line)
    for f, df in frames.items():
        rows = df.to_dict("records")
        st.markdown(f"**{plain(f.name)}**")
        st.caption(caps[f.name])
        sentence = table1_view.table1_comparison(rows)
        if sentence:
            st.markdown(sentence)
        if {"direction", "method", "label", "top1", "top5"} <= set(df.columns):
            bad = [c for c in ("top1", "top5") if not pd.api.types.is_numeric_dtype(df[c])]
            if bad:
                st.warning(plain(f"no chart for {f.name}: its {' and '.join(bad)} column "
                                 "holds values that are not numbers; the table is below"))
            else:
                try:
                    st.plotly_chart(table1_figure(rows), width="stretch",
                                    key=f"{P}chart_{f.stem}")
                except Exception as exc:  # noqa: BLE001 - odd values: the table still shows
                    st.warning(plain(f"no chart for {f.name}: {exc}"))
        every = st.toggle("all columns", key=f"{P}cols_{f.stem}",
                          help="the file's every column; by default the accuracies and the "
                               "image metrics")
        cols = table1_view.table1_columns(rows, list(df.columns), every)
        st.dataframe(df[list(cols)].rename(columns=cols), hide_index=True, width="stretch")
        examples = f.with_name(f"{f.stem}_examples.png")
        if examples.is_file():
            montage = table1_view.relabel_montage(examples, rows)
            if montage is None:  # labels as drawn: a montage of another layout
                montage = table1_view.read_image(examples)
            if montage is None:
                st.warning(plain(f"cannot read {examples.name} as an image"))
            else:
                st.image(montage, output_format="PNG", caption="the first images of each "
                         "direction: the originals, then each method's reconstructions, "
                         "classified by the other network")


def main() -> None:
    st.title("Paper presets")
    st.markdown("One click reproduces an experiment of Baust et al. (arXiv:1805.00071) with "
                "its parameters, or a classic feature-visualization recipe written as a "
                "setting of the one demons update u ← Ke * (u − τ Kf * ∇D(u)). Where the "
                "ImageNet weights are not on this machine, each preset has an offline "
                "version on the shipped Fashion-MNIST models.")
    tabs = st.tabs(["Paper figures", "Classic recipes", "Tuned for the offline models",
                    "Table 1 results"])
    items = presets.all_presets()
    # a run that this rerun ended is stopped and reported first, before a Run click of
    # this script run (on any preset) could replace its records
    for prefix in [f"{P}{p.key}_" for p in items] + [f"{P}t_"]:
        RunPanel(prefix).restore()
    with tabs[0]:
        _weights_notice([p for p in items if p.group == "paper"])
        for p in items:
            if p.group == "paper":
                _preset(p)
    with tabs[1]:
        _weights_notice([p for p in items if p.group == "classic"])
        for p in items:
            if p.group == "classic":
                _preset(p)
    with tabs[2]:
        _tuned()
    with tabs[3]:
        st.markdown("Table 1 of the paper (top-1 / top-5 %, 1000 ImageNet images; chance "
                    f"0.1 / 0.5 % among 1000 classes): {paper_table1_text()}.")
        _table1_results()


guard(main)
