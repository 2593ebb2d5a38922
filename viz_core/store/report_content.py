"""What a report of stored runs says, independent of its format (HTML or PDF): the title,
one card per run, the settings that define the runs (those that differ marked when several
runs are compared; apart from them the stored ones that change nothing the runs compute
and the dashboard's copy of the settings), the metrics by their labels with their floors
(each run's own where they differ), the judges' verdicts, the curves and kernels as
figures, and the commands that reproduce each run, with a note where a run was computed in
a batch (run alone, it can differ visibly)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from viz_core.store.compare import (
    batch_note,
    differing_settings,
    flat_settings,
    fmt,
    metric_rows,
    reproduce_command,
    run_settings,
    when,
)
from viz_core.store.figures import kernel_figure, line_chart
from viz_core.store.records import CURVE_KEYS, RunRecord
from viz_core.store.settings_text import (
    UI_PREFIX,
    Fitted,
    applies,
    metric_text,
    odd_ones,
    origin,
    setting_text,
    target_label,
)
from viz_core.store.verdict_words import verdict_text


def _scheme_text(key: str) -> str:
    """A stored scheme key as the registry labels it (viz_core.schemes.scheme_label)."""
    from viz_core.schemes import scheme_label

    return scheme_label(key)


CURVE_TITLES = {"objective": "data term D (minimised, eqs. 1-3)",
                "activation": "target activation / relative feature error",
                "grad_norm": "|grad D| (before the demons update, eq. 18)"}


@dataclass
class Report:
    """What an HTML or PDF report shows of one run or a comparison (:func:`build_report`)."""
    title: str
    subtitle: str
    runs: list[RunRecord]
    cards: list[list[tuple[str, str]]]                  # per run: (label, value)
    settings: list[tuple[str, list[str], bool]]         # (setting, value per run, differs)
    metrics: list[tuple[str, list[str], str]]           # (metric, value per run, floor)
    verdicts: list[list[str]]                           # per run: one line per judge
    curves: list[tuple[str, bytes]] = field(default_factory=list)
    kernels: list[list[tuple[str, bytes]]] = field(default_factory=list)  # per run
    commands: list[tuple[str, str]] = field(default_factory=list)  # (original, reproduce)
    batches: list[str] = field(default_factory=list)  # per run: its batch note, or ""
    #: stored settings that change nothing the runs compute (display only, or not used by
    #: these runs), and the dashboard's copy of the settings (``extra.ui``, its widgets'
    #: state): (setting, value per run), each setting in one of the three lists only
    other: list[tuple[str, list[str]]] = field(default_factory=list)
    ui: list[tuple[str, list[str]]] = field(default_factory=list)
    #: setting -> per run, whether its value stands out among the runs' (those that differ
    #: from the value most runs share, else from the first run's: :func:`~viz_core.store.
    #: settings_text.odd_ones`); only the settings that differ
    odd: dict[str, list[bool]] = field(default_factory=dict)


def _settings(runs: Sequence[RunRecord]) -> tuple[list, list, list]:
    """The runs' settings in three parts (:class:`Report`): those that define what a run
    computes (:func:`~viz_core.store.settings_text.applies`; with several runs, each
    marked whether it differs: :func:`~viz_core.store.compare.differing_settings`), the
    other stored ones that are set, and the dashboard's copy, each value in words
    (:func:`~viz_core.store.settings_text.setting_text`); those that define a run as it
    used them (:func:`~viz_core.store.compare.run_settings`: "-" where a run does not use
    one, an octave run's total steps)."""
    flats = [flat_settings(r.config) for r in runs]
    ran = [run_settings(r) for r in runs]  # what each run computed with
    diff = differing_settings(runs) if len(runs) > 1 else {}
    settings, other, ui = [], [], []
    for k in dict.fromkeys(k for f in flats for k in f):
        vals = [setting_text(k, f.get(k), r) for f, r in zip(flats, runs)]
        if k.startswith(UI_PREFIX):
            ui.append((k[len(UI_PREFIX):], vals))
        elif k in diff or any(applies(k, f) for f in flats) \
                or any(isinstance(f.get(k), Fitted) for f in ran):  # a fitted sigma / gamma
            settings.append((k, [setting_text(k, f.get(k), r) for f, r in zip(ran, runs)],
                             k in diff))
        elif any(f.get(k) not in (None, "") for f in flats):
            other.append((k, vals))
    if "model_label" in diff:
        settings.insert(0, ("model_label", [fmt(v) for v in diff["model_label"]], True))
    return settings, other, ui


def build_report(runs: Sequence[RunRecord], notes: Mapping[str, str] | None = None
                 ) -> Report:
    """The report of ``runs``; ``notes``: run id -> its batch note (:func:`~viz_core.store.
    compare.batch_note` with the run's group looked up in the store), else each note from
    the run alone (a run of a group "may have been computed in a batch")."""
    runs = list(runs)
    if not runs:
        raise ValueError("a report needs at least one run")
    if len(runs) == 1:
        r = runs[0]
        title = f"demons-viz run {r.id}"
        subtitle = f"{r.model_label or r.model}, {_scheme_text(r.scheme)}, {r.task}, {r.status}"
    else:
        title = f"demons-viz comparison of {len(runs)} runs"
        subtitle = ", ".join(r.id for r in runs)
    cards = []
    for r in runs:
        c = [("run", r.id), ("status", r.status), ("model", r.model_label or r.model),
             ("weights hash", r.weights_hash or "-"), ("task", r.task),
             ("scheme", _scheme_text(r.scheme)),
             ("started", when(r.started)), ("seconds", f"{r.seconds:.1f}"),
             ("demons-viz", r.version + (f" ({r.git_commit[:12]})" if r.git_commit else ""))]
        if r.config.get("target") is not None:
            c.insert(5, ("target", target_label(r.config, r.verdicts)))
        if origin(r):
            c.append(("from", origin(r)))
        if r.tags:
            c.append(("tags", ", ".join(r.tags)))
        if r.note:
            c.append(("note", r.note))
        if r.message:
            c.append(("message", r.message))
        if r.mlflow:
            c.append(("MLflow", r.mlflow))
        cards.append(c)
    settings, other, ui = _settings(runs)
    curves = []
    for key in CURVE_KEYS:
        series = [(r.id, r.curves.get("step", []), r.curves.get(key, [])) for r in runs
                  if r.curves.get(key)]
        if series:
            curves.append((CURVE_TITLES[key], line_chart(series, CURVE_TITLES[key])))
    kernels = []
    for r in runs:
        ks = []
        for slot in ("fluid", "elastic"):
            png = kernel_figure(r.config.get(slot) or {}, float(r.config.get("step_size", 1.0)))
            if png:
                ks.append((f"{slot} kernel", png))
        kernels.append(ks)
    commands = [(r.command, reproduce_command(r)) for r in runs]
    batches = [notes.get(r.id, "") if notes is not None else batch_note(r, None)
               for r in runs]
    metrics = [(metric_text(k), v, f) for k, v, f in metric_rows(runs, beside=True)]
    odd = {k: odd_ones(v) for k, v in differing_settings(runs).items()} \
        if len(runs) > 1 else {}
    return Report(title, subtitle, runs, cards, settings, metrics,
                  [[verdict_text(v) for v in r.verdicts] for r in runs], curves, kernels,
                  commands, batches, other, ui, odd)
