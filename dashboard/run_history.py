"""The dashboard's side of the run store (Streamlit glue): one :class:`RunStore` per
server, the page's run records turned into stored runs, and the History table's rows.

The Playground's, Compare's and the paper presets' runs are stored by a
:func:`~dashboard.run_panel.on_finish` hook when they end (done, stopped, diverged or
error; Compare's cells, and a preset's batches, grouped per Run click)
and a :func:`~dashboard.run_panel.run_action` shows the link to the History page and the
"Export report" buttons; the Sweeps page stores each finished batch's cells (grouped by
sweep). Pages import this module to register the hooks. A failure to store never breaks a
page: it comes back as a message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import streamlit as st

from dashboard.run_panel import on_finish, run_action
from dashboard.settings.labels import CLASS_SCORE_LABELS
from viz_core.schemes import scheme_label, scheme_of
from viz_core.store import RunRecord as StoredRun
from viz_core.store import RunStore
from viz_core.store.images import data_uri

#: Statuses a page stores (a run still running is not stored).
STORED = ("done", "stopped", "diverged", "error")
#: Frames kept per stored run besides the final pre-image.
MAX_FRAMES = 4


@st.cache_resource(show_spinner=False)
def _store(path: str | None, uri: str | None) -> RunStore:
    return RunStore(path, uri)


def get_store() -> RunStore:
    """The store of this server (``$DEMONS_VIZ_STORE`` or the default location;
    ``$MLFLOW_TRACKING_URI`` mirrors to MLflow), shared by its sessions."""
    import os

    return _store(os.environ.get("DEMONS_VIZ_STORE") or None,
                  os.environ.get("MLFLOW_TRACKING_URI") or None)


def _verdicts(rec: Any, i: int) -> list[dict]:
    """Configuration ``i``'s verdicts as stored (:func:`viz_core.store.capture.
    batch_verdicts`' dicts)."""
    verdicts = rec.verdicts[i] if rec.verdicts and i < len(rec.verdicts) else []
    return [dict(v.data) for v in verdicts]


def stored_runs(rec: Any, page: str, group_id: str = "") -> list[StoredRun]:
    """One stored run per configuration of a page's run record (a finished or stopped
    batch): configuration, curves, final metrics with floors, verdicts, PNGs."""
    import torch

    from dashboard.programs import program_label
    from viz_core.config import RunConfig
    from viz_core.images import png_bytes
    from viz_core.store.capture import floors_for, run_metrics
    from viz_core.store.records import weights_hash

    ended = time.time()
    started = ended - max(0.0, time.perf_counter() - rec.started)
    ref = torch.from_numpy(rec.reference) if rec.reference is not None else None
    # an inversion's flat-image feature error (eq. 3), computed once for the batch by the
    # page (RunRecord.floors, shown beside the pre-images): stored, not computed again
    flat = (getattr(rec, "floors", None) or {}).get("feature_error")
    out = []
    for i, text in enumerate(rec.configs):
        d = json.loads(text)
        cfg = RunConfig.from_dict(d)
        d.setdefault("name", rec.labels[i] if i < len(rec.labels) else "")
        img = np.asarray(rec.images[i])
        last = (rec.objective[-1][i], rec.activation[-1][i]) if rec.objective else (None,) * 2
        metrics = run_metrics(cfg.task, *last, img, ref)  # the CLI's set (feature error too)
        curves = {"step": list(rec.steps),
                  "objective": [float(o[i]) for o in rec.objective],
                  "activation": [float(a[i]) for a in rec.activation]}
        verdicts = _verdicts(rec, i)
        div = rec.diverged[i] if rec.diverged and i < len(rec.diverged) else None
        status = "diverged" if div else rec.status
        picks = np.unique(np.linspace(0, len(rec.frames) - 1,
                                      min(MAX_FRAMES, len(rec.frames))).round().astype(int))
        frames = [(int(rec.frames[k][0]), png_bytes(rec.frames[k][1][i].astype(np.float32)
                                                    / 255.0))
                  for k in picks if rec.frames and rec.frames[k][0] != rec.step]
        model = rec.judges[0] if rec.judges else None
        out.append(StoredRun(
            config=d, model=cfg.model, task=cfg.task, scheme=scheme_of(cfg),
            status=status if status in STORED else "done", started=started, ended=ended,
            model_label=program_label(cfg.model, rec.model_label),
            weights_hash=weights_hash(model.net) if model is not None else "",
            metrics=metrics, floors=floors_for(cfg, ref, verdicts, feature_error=flat),
            curves=curves,
            verdicts=verdicts, group_id=group_id, command=f"dashboard {page}",
            message=div or rec.message or _warned(rec, i), image=png_bytes(img),
            frames=frames, batch_size=len(rec.configs)))  # one record: one engine batch
    return out


def _warned(rec: Any, i: int) -> str:
    """The warnings the page showed instead of "done" for configuration ``i`` (a flat or
    saturated picture, an unstable TV step, an inactive unit), as the run's message."""
    warnings = getattr(rec, "warnings", None) or []
    return "; ".join(warnings[i]) if i < len(warnings) and warnings[i] else ""


def remember(rec: Any, page: str, group_id: str = "") -> list[str] | str:
    """Store a page's finished or stopped run record once (the ids are kept on it), its
    runs grouped under ``group_id`` (Compare: one group per Run click); returns the stored
    ids, or a message when the store failed."""
    if rec is None or rec.images is None or rec.status not in STORED:
        return []
    done = getattr(rec, "stored_ids", None)
    if done:
        return done
    try:
        store = get_store()
        ids = [store.add(r) for r in stored_runs(rec, page, group_id)]
    except Exception as exc:  # noqa: BLE001 - storing is extra: the page carries on
        return f"the run was not stored in the history: {str(exc).splitlines()[0][:200]}"
    rec.stored_ids = ids
    return ids


def target_text(config: Mapping[str, Any], verdicts: Sequence[Mapping[str, Any]] = ()
                ) -> str:
    """What a stored run aimed at, in a few words: what its "activation" metric measures
    (a class logit or log-probability, a channel mean or one unit, eqs. 3-4; an inversion's
    relative feature error, eq. 2; a composable objective's own value). A class goes by
    its name where the run's verdicts or its model's description give one
    (:func:`viz_core.store.settings_text.class_name`), whichever model it is.

    >>> target_text({"task": "am", "target": 1, "class_score": "log_prob"})
    'class 1, log-probability'
    >>> target_text({"model": "fmnist_vgg", "task": "am", "target": 7})
    '7 · Sneaker, logit'
    >>> target_text({"model": "my_net", "task": "am", "target": 1},
    ...             [{"role": "model", "target": "Banana"}])
    '1 · Banana, logit'
    >>> target_text({"task": "am", "target": 0, "channel": 5, "layer": "block3"})
    'channel 5 of block3, mean'
    >>> target_text({"task": "inversion", "layer": "layer4"})
    'inversion of layer4'
    """
    from viz_core.store.settings_text import class_name

    if config.get("objective"):
        text = str(config["objective"])
        return "objective " + (text if len(text) <= 40 else text[:39] + "...")
    layer = config.get("layer") or "the default layer"
    if config.get("task") == "inversion":
        return f"inversion of {layer}"
    if config.get("channel") is not None:
        unit = config.get("unit")
        where = f"unit {tuple(unit)}" if unit else "mean"
        return f"channel {config['channel']} of {layer}, {where}"
    if config.get("target") is None:
        return ""
    score = CLASS_SCORE_LABELS.get(config.get("class_score") or "logit", "logit")
    name = class_name(config, verdicts)
    return f"{config['target']} · {name}, {score}" if name else \
        f"class {config['target']}, {score}"


def model_text(model: str) -> str:
    """A stored run's model as the History page shows it: a program file by its file name
    only (an upload marked "(uploaded)"), never a folder of the server; other names as they
    are.

    >>> model_text("/tmp/demons-viz-uploads/0123456789abcdef/tiny.pt2")
    'tiny.pt2 (uploaded 012345)'
    >>> model_text("fmnist_vgg")
    'fmnist_vgg'

    The start of the upload's hash tells two uploads of one file name apart.
    """
    from pathlib import PurePath

    from dashboard.programs import TOKEN_PREFIX, is_program_name, upload_dir

    if not model or not is_program_name(model):
        return model
    name = str(model).removeprefix(TOKEN_PREFIX).replace("\\", "/")
    uploaded = (str(model).startswith(TOKEN_PREFIX) or upload_dir().name in name.split("/"))
    path = PurePath(name)
    base = path.name or name
    return f"{base} (uploaded {path.parent.name[:6]})".replace(" )", ")") if uploaded else base


#: The History table's columns, in the order a person tells runs apart by: when, where
#: from, which model, aimed at what, with which scheme, and what the judge saw (these fit
#: beside the sidebar at 1280 px), a sweep cell's varied values; then the rest,
#: the metrics (:func:`table_rows`' ``metric_keys``), and the run id last.
TABLE_HEAD = ("thumb", "started", "origin", "model", "target", "scheme", "verdict", "cell",
              "status", "task")
TABLE_TAIL = ("tags", "note", "id")
#: The tasks in words (the table, the task filter).
TASKS = {"am": "activation max.", "inversion": "inversion"}


def table_rows(runs: Sequence[StoredRun], metric_keys: Sequence[str],
               titles: Mapping[str, str] | None = None) -> list[dict]:
    """The History table: thumbnail, when, where from (page, CLI, sweep; a group of
    ``titles`` by its title: :func:`sweep_titles`), a sweep cell's varied values, model (a
    program by its file name), target (what the activation metric measures, a class by its
    name), scheme, the judge's verdict (short: :func:`~dashboard.history_table.
    verdict_cell`), status, task, metrics, tags, note and id, in the order of
    :data:`TABLE_HEAD` and :data:`TABLE_TAIL`."""
    from dashboard.history_table import verdict_cell
    from dashboard.history_view import when_short
    from viz_core.store.settings_text import cell_label, origin

    rows = []
    for r in runs:
        config = r.config if isinstance(r.config, Mapping) else {}
        random_w = config.get("weights") == "random"
        row = {"thumb": data_uri(r.thumb) if r.thumb else None,
               "started": when_short(r.started),
               "origin": (titles or {}).get(r.group_id) or origin(r), "cell": cell_label(r),
               "model": model_text(r.model) + (" · RANDOM weights" if random_w else ""),
               "target": target_text(config, r.verdicts), "scheme": scheme_label(r.scheme),
               "verdict": verdict_cell(r.verdicts), "status": r.status,
               "task": TASKS.get(r.task, r.task)}
        for k in metric_keys:
            v = r.metrics.get(k)
            row[k] = None if v is None else float(v)
        row.update(tags=", ".join(r.tags), note=r.note, id=r.id)
        rows.append(row)
    return rows


def sweep_titles(store: RunStore, groups: Sequence[str] | None = None) -> dict[str, str]:
    """Group -> title of each dashboard sweep among ``groups`` (default: the store's),
    which is stored under its temporary folder's name: by what it swept and when it
    started, "Sweep gamma x step_size, 14:05" (its first cell's varied values, the
    date too when not today; the folder's hash added where two titles match)."""
    from dashboard.history_view import when_short
    from viz_core.store.settings_text import TEMP_SWEEP, cell_label, group_text, sweep_axes

    out: dict[str, str] = {}
    for g in store.distinct("group_id") if groups is None else groups:
        if not group_text(g).startswith("Sweep " + TEMP_SWEEP):
            continue
        first = store.list(group=g, configs=True, sort="started", descending=False, limit=1)
        axes = sweep_axes(cell_label(first[0])) if first else ""
        if first and axes:
            title = f"Sweep {axes}, {when_short(first[0].started).removeprefix('today ')}"
            out[g] = title + f" ({g.rsplit(' ', 1)[-1]})" * (title in out.values())
    return out


def store_stamp(store: Any) -> tuple[int, int, str]:
    """What tells that the store changed since a list was drawn, cheaply: how many runs it
    lists, how many are deleted, and the newest run's id."""
    newest = store.list(limit=1)
    return store.count(), store.count(deleted=True), newest[0].id if newest else ""


def changes_text(then: Sequence[Any] | None, now: Sequence[Any]) -> str:
    """What changed in the store between two :func:`store_stamp` s, in words; "" for
    nothing (or no earlier stamp).

    >>> changes_text((5, 0, "a"), (7, 0, "c")), changes_text((5, 0, "a"), (4, 1, "a"))
    ('2 new runs since this list was drawn', 'runs were deleted or restored elsewhere')
    """
    if not then or tuple(then) == tuple(now):
        return ""
    live, gone = now[0] - then[0], now[1] - then[1]
    if live > 0 and gone <= 0:
        return f"{live} new run{'s' * (live != 1)} since this list was drawn"
    if gone or live:
        return "runs were deleted or restored elsewhere"
    return "the store changed since this list was drawn"


def deleted_text(run_id: str, purged: bool = False) -> str:
    """Why a selected run can no longer be edited: deleted in another tab (Undo there
    restores it), or removed for good (``demons-viz history rm``)."""
    if purged:
        return (f"Run {run_id} was removed from the store for good (`demons-viz history "
                "rm`, or another tab's store); its tags and note cannot be saved.")
    return (f"Run {run_id} was deleted (in another tab); Undo in that tab brings it back, "
            "then save again: your text is kept here.")


#: RunPanel prefixes whose runs are stored, and the page each names.
PANEL_PAGES = {"pg_": "playground", "cmp_": "compare"}
#: The Paper presets page: one panel per preset, its prefix ``pp_<preset>_``.
PRESETS_PREFIX = "pp_"


def panel_page(prefix: str) -> str | None:
    """The page whose runs a panel's records are (stored under that name), or None.

    >>> panel_page("pg_"), panel_page("pp_fig1_"), panel_page("sw_")
    ('playground', 'presets', None)
    """
    if prefix in PANEL_PAGES:
        return PANEL_PAGES[prefix]
    return "presets" if prefix.startswith(PRESETS_PREFIX) else None


def _group(panel: Any, rec: Any) -> str:
    """Compare and a preset: one group per Run click (every cell, both models of the
    pair; every batch of a figure)."""
    page = panel_page(panel.prefix) or ""
    recs = panel.records or [rec]
    if page in ("compare", "presets") or len(recs) > 1 or len(rec.labels) > 1:
        return f"{page} {recs[0].run_id}"
    return ""


@on_finish
def store_finished_run(rec: Any, panel: Any) -> None:
    """The RunPanel finish hook: a finished or stopped run of the Playground, Compare or a
    paper preset goes to the store (once)."""
    page = panel_page(panel.prefix)
    if page is not None:
        msg = remember(rec, page, _group(panel, rec))
        if isinstance(msg, str):
            st.session_state[panel.prefix + "history_msg"] = msg


@run_action
def history_links(panel: Any, records: list, key: str) -> None:
    """After a run's downloads: where it went in the history, and "Export report"."""
    from dashboard import history_view as hv
    from dashboard.navigation import page_path

    if panel_page(panel.prefix) is None:
        return
    msg = st.session_state.get(panel.prefix + "history_msg")
    ids = [i for r in records for i in (getattr(r, "stored_ids", None) or [])]
    if msg and not ids:
        st.caption(msg)
    if not ids:
        return
    c1, c2 = st.columns([1, 2])
    label = f"In the history: {ids[0]}" if len(ids) == 1 else \
        f"In the history: {len(ids)} runs"  # eight ids did not fit at 1280 px
    c1.page_link(page_path("history"), label=label, help=", ".join(ids),
                 query_params={"runs": ",".join(ids[:hv.MAX_COMPARE])},
                 icon=":material/history:")
    if len(ids) > hv.MAX_COMPARE:  # the History page compares that many at once
        c1.caption(f"The link selects the first {hv.MAX_COMPARE} (History compares up to "
                   f"{hv.MAX_COMPARE}); the reports hold all {len(ids)}.")
    store = get_store()
    with c2:
        hv.export_buttons(st, [store.get(i) for i in ids], key + "hist")


def remember_sweep_batch(result: Any, root: str, store: RunStore | None = None
                         ) -> list[str] | str:
    """Store the cells of one finished sweep batch, grouped by the sweep's folder, in
    ``store`` (default :func:`get_store`; pass it to make no Streamlit call meanwhile: a
    rerun would end the script there, half the batch stored), each with its weights hash
    and curves as a Playground run has them."""
    from dashboard.programs import is_program_name, program_token
    from viz_core.store.sweep_runs import batch_sizes, cell_record, sweep_group

    try:
        store, group = store or get_store(), sweep_group(root)
        ids, sizes = [], batch_sizes(result.rows)
        for row in result.rows:
            rec = cell_record(row, result.pngs.get(row["cell_id"]), group, "dashboard sweeps",
                              curves=result.curves(str(row["cell_id"])), root=root,
                              verdicts=result.verdicts(str(row["cell_id"])),
                              batch_size=sizes.get(str(row.get("batch_id"))))
            if is_program_name(rec.model):  # an uploaded program by its token, not its path
                rec.model = rec.config["model"] = program_token(rec.model)
            if not store.has(rec.id):
                ids.append(store.add(rec))
        return ids
    except Exception as exc:  # noqa: BLE001 - storing is extra: the sweep carries on
        return f"the sweep's cells were not stored in the history: {str(exc)[:200]}"
