"""The Compare schemes page's logic, apart from its layout (no Streamlit calls): the paper's
Fig. 1 grid of schemes (rows: kernels; columns: Kf only, eq. 8; Ke only, eq. 6; both,
eq. 18; plus two baselines), the paper grids a user can load, the run's configurations,
the cells' captions, the verdict table (the recognisability test of Sec. 3.2), the lines
under the grid and the jobs of a run (one batch per model). No Streamlit import."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from dashboard import results
from dashboard.jobs import Job
from dashboard.preset_view import FINDINGS
from dashboard.runs import RunRecord
from dashboard.scheme_names import CELLS, parse_cells
from dashboard.settings.checks import check_against_model
from dashboard.settings.compare import compare_configs, compare_settings
from dashboard.settings.playground import config_to_settings, playground_defaults
from dashboard.text import name
from dashboard.urlstate import encode
from viz_core import presets, spectra
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.image_checks import tv_stability_warning
from viz_core.metrics import image_metrics, metric_label
from viz_core.schemes import FIG1_ROWS, get_scheme, scheme_of
from viz_core.store.compare import BATCH_WHY

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
              "independent judge recognises most surely (for an inversion, the lowest "
              "feature error; without a judge, the highest target activation), not the "
              "sharpest: the total variation column of the table (eq. 19) measures "
              "crispness.")
CELL_SIZE = 256  # 64 px x 4; a narrower column (1280 px wide) shrinks it
FEATURE_ERROR_HELP = ("relative feature error = ||Phi(u) - Phi(x)|| / ||Phi(x)||: how far "
                      "the pre-image's features at the chosen layer are from the reference "
                      "image's (0 = identical features); the data term of eq. 3 is its p-th "
                      "power")
NO_COUNTERPART = ("No standard / robust counterpart of this model is on this server; the "
                  "toggle turns on once one is in assets/models.")
#: The table's high-frequency and total variation columns (eq. 19), the registry's labels
HF, TV = metric_label("hf_fraction"), metric_label("total_variation")


def grids() -> dict[str, list[RunConfig]]:
    """The paper grids of the Compare page's presets (Fig. 1 and the others), each as
    ``"<figure> · <offline|paper> · <batch>"`` -> its configurations."""
    out = {}
    for p in presets.presets_for("compare"):
        for variant, batches in (("offline", p.offline), ("paper", p.batches)):
            for b in batches:
                out[f"{p.title.split(':')[0]} · {variant} · {b.title}"] = b.configs
    return out


def grid_choice(choice: str) -> tuple[dict[str, Any], list[str], str]:
    """The settings, the cell list and the message of loading the paper grid ``choice``
    (a key of :func:`grids`)."""
    s, notes = compare_settings(grids()[choice])
    return s, parse_cells(s["cells"]), f"loaded {choice}. " + " ".join(notes)


def cells_or_all(text: str) -> list[str]:
    """The cells of a comma list; every cell of the grid when it does not read."""
    try:
        return parse_cells(text)
    except VizError:
        return list(CELLS)


def robust_help(other: str | None) -> str:
    """The help of the standard / robust toggle, naming the counterpart ``other``."""
    return ("runs the same grid on the other model of the standard / adversarially "
            "trained pair as well" + (f" ({other})" if other else ""))


def kernel_size_max(size: int) -> int:
    """The largest kernel size for an input of ``size`` pixels: odd, at most 31 and below
    the image's size (the kernels of Sec. 2.7 are fitted to it), never under 3."""
    return max(3, min(31, size - 1 + size % 2))


def tv_warnings(configs: Sequence[RunConfig]) -> dict[str, str]:
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


def tv_said(tv_warned: Mapping[str, str], recs: Sequence[RunRecord]) -> bool:
    """Whether the runs' own status says every TV warning (eqs. 19-20) already."""
    said = {w for rec in recs for ws in rec.warnings for w in ws}
    return bool(tv_warned) and said.issuperset(tv_warned)


def tv_notes(tv_warned: Mapping[str, str], recs: Sequence[RunRecord],
             models: Sequence[str] = ()) -> tuple[list[str], list[RunRecord]]:
    """The TV stability warnings (eqs. 19-20) said under Run all, and the records whose
    status is shown under them. One model: the current settings' words (:func:`tv_warnings`)
    until its run's status says them (an older run: in the same words). The standard /
    robust pair side by side (``models``: their labels, or ``recs`` of several models):
    each warning once, naming the models it concerns (those whose run said it, else every
    model about to run), and left out of each model's status, so that it is not read once
    per model."""
    if len(models) <= 1 and len(recs) <= 1:
        return ([] if tv_said(tv_warned, recs) else list(tv_warned.values())), list(recs)
    lines = []
    for warn, words in tv_warned.items():
        who = ([model_tag(r, 2) for r in recs if any(warn in ws for ws in r.warnings)]
               or [m.split(" ")[0] for m in models])
        lines.append(f"{words} (for {'both models' if len(who) == 2 else ' and '.join(who)})")
    shown = [r if not any(w in tv_warned for ws in r.warnings for w in ws) else
             dataclasses.replace(r, warnings=[[w for w in ws if w not in tv_warned]
                                              for ws in r.warnings])
             for r in recs]
    return lines, shown


def grid_configs(settings: Mapping[str, Any], image_path: str | None, model: Any
                 ) -> tuple[list[RunConfig], VizError | None]:
    """The grid's configurations, each checked against ``model`` (when loaded); none and
    the error when the settings do not make a grid."""
    try:
        configs = compare_configs(settings, image_path=image_path)
        if model is not None:
            for c in configs:
                check_against_model(c, model)
    except VizError as exc:
        return [], exc
    return configs, None


def intro(configs: Sequence[RunConfig], model: Any) -> str:
    """The page's Markdown under the title: what the run aims at (a class, eq. 4, or an
    inversion, eq. 3), the model, and what the grid is (Fig. 1 plus two baselines)."""
    aim = results.target_words(configs[0].to_dict(), model.classes if model else None,
                               model.spec.default_layer if model else None) if configs else ""
    return ((f"#### {name(aim[0].upper() + aim[1:])}\n\n" if aim else "")  # projector
            + (f"**{name(model.label)}** · " if model else "")
            + "the schemes of the paper's Fig. 1 (there: activation maximisation of the "
              "king crab class on VGG19; kernels fitted to the kernel size here), plus two "
              "baselines not in Fig. 1: one batch, every cell streaming.")


def run_error(error: str | None, model: Any, task: str, reference: Any) -> str | None:
    """The first reason the grid cannot run: ``error`` (the settings'), else a model that
    did not load, else an inversion (eq. 3) without an image to invert."""
    if model is None:
        error = error or "the model could not be loaded (see the sidebar)"
    if task == "inversion" and reference is None and model is not None:
        error = error or "no valid image to invert (see the sidebar)"
    return error


def grid_rows(by_cell: Mapping[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """Fig. 1's rows that have a cell in ``by_cell``: (row title, its cells)."""
    return [(ROW_TITLES.get(title, title), ids) for title, ids in ROWS
            if any(c in by_cell for c in ids)]


def waiting_caption(cid: str, model_label: str) -> str:
    """A cell's caption before its first frame (Markdown)."""
    return name(f"{CELL_LABELS[cid]} {model_label} - waiting for Run")


def open_help(n_cells: int) -> str:
    """The help of a cell's "Open in Playground" button: a batch of ``n_cells`` differs
    from a run alone."""
    return (f"the Playground with this cell's settings. Computed here in a batch of "
            f"{n_cells} cells: the Playground runs it alone, where it can differ visibly "
            f"({BATCH_WHY})")


def playground_link(cfg: RunConfig) -> dict[str, str]:
    """The Playground's query parameters that reproduce the cell ``cfg``."""
    s, _ = config_to_settings(cfg)
    return encode(s, playground_defaults())


def matching_records(recs: list[RunRecord], order: Sequence[str]) -> list[RunRecord]:
    """Restored records when their cells are the grid's ``order``, else none (the old
    images no longer match the cells)."""
    if recs and [scheme_of(RunConfig.from_json(j)) for j in recs[0].configs] != list(order):
        return []
    return recs


def model_tag(rec: RunRecord, n_runs: int) -> str:
    """A run's model in a few words, when the standard / robust pair is side by side."""
    return rec.model_label.split(" ")[0] if n_runs > 1 else ""


def caption(rec: RunRecord, i: int, cid: str, act_name: str, model: str = "") -> str:
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


def verdict_columns(rec: RunRecord, i: int) -> dict[str, str]:
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


def metrics_rows(rec: RunRecord, act_name: str
                 ) -> tuple[list[dict[str, Any]], list[tuple[str, np.ndarray, np.ndarray]]]:
    """The table under the grid (one row per cell: its activation or feature error, the
    verdicts, the high-frequency fraction and the total variation of eq. 19; then a flat
    image's feature error, the floor of eq. 3, for an inversion) and the cells' radial
    power spectra (label, frequencies, power)."""
    steps, _, act = rec.curves()
    series, rows = [], []
    met = image_metrics(rec.images)  # the registry's metrics, under the registry's labels
    for i, label in enumerate(rec.labels):
        freq, power = spectra.radial_power_spectrum(rec.images[i])
        series.append((label, freq, power))
        rows.append({"scheme": label,
                     act_name: float(act[-1, i]) if len(steps) else None,
                     **verdict_columns(rec, i),
                     HF: float(met["hf_fraction"][i]), TV: float(met["total_variation"][i])})
    floor = rec.floors.get("feature_error")
    if floor is not None:  # what a flat image at the reference's mean reaches (eq. 3)
        rows.append({"scheme": "a flat image (floor)", act_name: floor,
                     **{k: "-" for k in rows[0] if k.endswith(" sees")}, HF: 0.0, TV: 0.0})
    return rows, series


def table_rows(recs: Sequence[RunRecord], act_name: str
               ) -> tuple[list[dict[str, Any]], list[tuple[str, np.ndarray, np.ndarray]]]:
    """:func:`metrics_rows` of every model's run: with the standard / robust pair side by
    side, each model's rows under a ``model`` column; the spectra are the first model's
    (:func:`charts_note` says so)."""
    rows, series = metrics_rows(recs[0], act_name)
    if len(recs) < 2:
        return rows, series
    out = []
    for r in recs:
        own = rows if r is recs[0] else metrics_rows(r, act_name)[0]
        out += [{"model": model_tag(r, len(recs)), **row} for row in own]
    return out, series


def charts_note(recs: Sequence[RunRecord]) -> str | None:
    """Which model the curves and the spectrum show when the pair is side by side (the
    table has both), else None."""
    if len(recs) < 2:
        return None
    return (f"Curves and spectrum: {name(model_tag(recs[0], len(recs)))}; the table "
            "below has both models.")


def summary_lines(recs: Sequence[RunRecord]) -> list[tuple[int, str, str | None]]:
    """The grid in one line per model (recognised, chance, best, floor:
    :func:`dashboard.results.grid_summary`): (model index, Markdown, help)."""
    out = []
    for m, r in enumerate(recs):
        line = results.grid_summary(r)
        who = f"**{name(r.model_label.split(' ')[0])}**: " if len(recs) > 1 else ""
        if line:
            out.append((m, who + line, FEATURE_ERROR_HELP
                        if r.floors.get("feature_error") is not None else None))
    return out


def build_jobs(configs: Sequence[RunConfig], runs: Sequence[Any], reference: Any,
               judges: Callable[[Any, str], Sequence[Any]]) -> list[Job]:
    """One batch per model of ``runs`` (the standard / robust pair side by side): the
    grid's configurations on that model, judged by ``judges(model, name)``."""
    return [Job(m.label, [dataclasses.replace(c, model=m.spec.name) for c in configs], m,
                reference=reference, judges=judges(m, m.spec.name))
            for m in runs]
