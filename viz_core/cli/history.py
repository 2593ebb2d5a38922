"""``demons-viz history``: stored runs (list, show, compare, export, restore, rm).

Examples::

    demons-viz history list --model fmnist_vgg --tag good --since yesterday
    demons-viz history list --group sweeps/path --sort judge_target_prob
    demons-viz history show 3fa2
    demons-viz history compare 3fa2 81c0 --out cmp.html
    demons-viz history export 3fa2 81c0 --format pdf --out report.pdf
    demons-viz history list --deleted        # runs deleted on the History page
    demons-viz history restore 3fa2          # ... listed again (the page's Undo)
    demons-viz history rm 3fa2

The store is ``--store PATH``, else ``$DEMONS_VIZ_STORE``, else
``$XDG_DATA_HOME/demons-viz/runs.sqlite``. Nothing here imports torch.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from viz_core.errors import VizError

HELP = "the stored run history: list, show, compare, export, restore, rm"
DESCRIPTION = __doc__.splitlines()[0]
FORMATS = ("html", "pdf", "json")


def add_store_argument(p: argparse.ArgumentParser, after_action: bool = False) -> None:
    """``--store PATH`` and ``--tracking-uri URI`` (shared with visualize and sweep);
    ``after_action``: on a history action's own parser too (``history list --store X``),
    where an absent flag keeps the value given before the action."""
    extra = {"default": argparse.SUPPRESS} if after_action else {}
    p.add_argument("--store", help="run store file (default: $DEMONS_VIZ_STORE or "
                   "$XDG_DATA_HOME/demons-viz/runs.sqlite)", **extra)
    p.add_argument("--tracking-uri", help="also log stored runs to this MLflow tracking URI "
                   "(default: $MLFLOW_TRACKING_URI; needs the [tracking] extra)", **extra)


def open_store(args: argparse.Namespace):
    """The store the flags name; a moved-aside damaged file is reported on stderr."""
    from viz_core.store import RunStore
    from viz_core.store.location import ENV, check_new_store

    given = getattr(args, "store", None)
    if given or os.environ.get(ENV):  # named by the user: the message says where
        check_new_store(given or os.environ[ENV], "--store" if given else f"${ENV}")
    store = RunStore(getattr(args, "store", None), getattr(args, "tracking_uri", None))
    if store.notice:
        print(f"warning: {store.notice}", file=sys.stderr)
    return store


#: ``history list`` shows at most this many runs unless ``--limit`` says otherwise.
LIST_LIMIT = 50


def add_arguments(p: argparse.ArgumentParser) -> None:
    from viz_core.cli.parser import VizParser

    add_store_argument(p)
    sub = p.add_subparsers(dest="action", parser_class=VizParser, required=True)
    ls = sub.add_parser("list", help="runs, newest first")
    for f in ("model", "tag", "task", "scheme", "status"):
        ls.add_argument(f"--{f}")
    ls.add_argument("--group", help="the runs of one sweep: its group as stored "
                    "('sweep NAME HASH'), a unique prefix of it, or the sweep's --out "
                    "folder (path or name)")
    ls.add_argument("--since", metavar="DATE", help="runs started on or after DATE "
                    "(YYYY-MM-DD, YYYY-MM-DDTHH:MM, today, yesterday; local time)")
    ls.add_argument("--until", metavar="DATE", help="runs started up to DATE (a date "
                    "includes its whole day)")
    ls.add_argument("--sort", default="started",
                    help="a column or a metric key (a metric is shown as a column)")
    ls.add_argument("--ascending", action="store_true")
    ls.add_argument("--limit", type=int, default=LIST_LIMIT,
                    help=f"at most this many, newest first by default (default "
                         f"{LIST_LIMIT}; 0: all); a cut list says so on stderr")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--deleted", action="store_true", help="the runs deleted on the History "
                    "page instead (hidden there and here until `history restore`)")
    sh = sub.add_parser("show", help="one run in full")
    sh.add_argument("id")
    sh.add_argument("--json", action="store_true")
    cp = sub.add_parser("compare", help="runs side by side: differing settings, metrics")
    cp.add_argument("ids", nargs="+", metavar="ID")
    cp.add_argument("--json", action="store_true")
    ex = sub.add_parser("export", help="a report of one run or a comparison")
    ex.add_argument("ids", nargs="+", metavar="ID")
    ex.add_argument("--format", choices=FORMATS, default=None,
                    help="default: from the --out file's extension (.html, .pdf, .json), "
                         "else html")
    ex.add_argument("--out", required=True)
    rs = sub.add_parser("restore", help="list runs deleted on the History page again")
    rs.add_argument("ids", nargs="+", metavar="ID")
    rm = sub.add_parser("rm", help="delete runs for good")
    rm.add_argument("ids", nargs="+", metavar="ID")
    for action in (ls, sh, cp, ex, rs, rm):  # `history list --store X` as `history --store X list`
        add_store_argument(action, after_action=True)


def _list(store, args) -> int:
    from viz_core.store import STATUSES
    from viz_core.store.compare import fmt, when
    from viz_core.store.rows import SORT_COLUMNS, date_range
    from viz_core.store.settings_text import cell_label

    if args.limit < 0:
        raise VizError(f"--limit must be >= 0, got {args.limit}", field="limit")
    if args.status is not None and args.status not in STATUSES:
        raise VizError(f"--status must be one of {', '.join(STATUSES)}, got {args.status!r}",
                       field="status")
    if args.scheme is not None:  # a label or alias as the dashboard shows it, or the key
        from viz_core.schemes import scheme_key

        try:
            args.scheme = scheme_key(args.scheme)
        except VizError:
            if not store.count(scheme=args.scheme):  # not a stored name either
                raise
    if args.task is not None and args.task not in ("am", "inversion"):
        raise VizError(f"--task must be am or inversion, got {args.task!r}", field="task")
    if args.model is not None:
        args.model = _stored_model(store, args.model)
    if args.group:
        args.group = _stored_group(store, args.group)
    since, until = date_range(args.since, args.until)
    known = store.metric_keys()
    if args.sort not in SORT_COLUMNS and args.sort not in known:  # a typo sorted nothing
        raise VizError(f"cannot sort by {args.sort!r}: give a column "
                       f"({', '.join(SORT_COLUMNS)}) or a metric key of this store "
                       f"({', '.join(known) or 'none yet'})", field="sort")
    chosen = {f: getattr(args, f) for f in ("model", "tag", "task", "scheme", "status",
                                             "group")}
    runs = store.list(**chosen, since=since, until=until, sort=args.sort,
                      descending=not args.ascending, limit=args.limit or None,
                      configs=True, deleted=args.deleted)  # deleted: hidden unless asked for
    if args.limit and len(runs) == args.limit:
        total = store.count(**chosen, since=since, until=until, deleted=args.deleted)
        if total > len(runs):
            print(f"note: {len(runs)} of {total} runs shown; --limit 0 lists all",
                  file=sys.stderr)
    filters = {f: getattr(args, f) for f in (*chosen, "since", "until")
               if getattr(args, f) is not None}
    if not runs:  # an empty table alone does not say whether the store or the filter is empty
        print(_nothing_listed(store, filters, args.deleted), file=sys.stderr)
    gone = ("deleted",) * args.deleted  # when each was deleted
    if args.json:
        rows = [{k: v for k, v in r.summary().items() if k not in ("config", "curves")}
                for r in runs]
        for row, r in zip(rows, runs):
            row.update({k: r.deleted for k in gone})
        print(json.dumps(rows))
        return 0
    keys = ("objective", "psnr", "ssim")
    keys += (args.sort,) * (args.sort not in (*SORT_COLUMNS, *keys))  # the sort column is shown
    ended = ("ended",) * (args.sort == "ended")
    cells = [cell_label(r) for r in runs]  # a sweep's cells by the values they vary
    varied = ("varied",) * any(cells)
    print("\t".join(("id", "started", *ended, *gone, "status", "model", "task", "scheme",
                     *varied, *keys, "tags")))
    for r, cell in zip(runs, cells):
        print("\t".join((r.id, when(r.started), *(when(r.ended) for _ in ended),
                         *(when(r.deleted) for _ in gone), r.status,
                         r.model, r.task, r.scheme, *((cell or "-") for _ in varied),
                         *(fmt(r.metrics.get(k)) for k in keys), ",".join(r.tags))))
    return 0


def _stored_group(store, name: str) -> str:
    """The stored group that ``--group NAME`` means: a group as stored, else a sweep's by
    its ``--out`` folder (the path, when it exists, else the folder's name), else the one
    group that starts with ``NAME``; several are refused with their names."""
    from viz_core.store.sweep_runs import sweep_group

    groups = store.distinct("group_id")
    if name in groups:
        return name
    path = Path(name).expanduser()
    if path.is_dir() and sweep_group(path) in groups:
        return sweep_group(path)
    folder = Path(name.rstrip("/")).name
    hits = [g for g in groups if re.fullmatch(rf"sweep {re.escape(folder)} [0-9a-f]{{6}}", g)] \
        or [g for g in groups if g.startswith(name)]
    if len(hits) > 1:
        raise VizError(f"--group {name!r} matches several stored groups: "
                       f"{'; '.join(repr(g) for g in hits)}; give the one meant (or the "
                       "sweep folder's path)", field="group")
    return hits[0] if hits else name


def _stored_model(store, name: str) -> str:
    """The stored model that ``--model NAME`` means: its name as stored, else a network
    file's by its path (relative or absolute; the store keeps the absolute one), its file
    name or its label (``small`` for ``/data/small.pt2``, stored as ``small (exported
    program)``); several such files are refused with their paths."""
    stored = {(r.model, r.model_label) for r in store.list(limit=None)}
    if name in {m for m, _ in stored}:
        return name
    try:
        path = str(Path(name).expanduser().resolve())
    except (OSError, RuntimeError, ValueError):
        path = None
    hits = sorted({m for m, label in stored if m == path or Path(m).name == name
                   or name in (label, (label or "").split(" (")[0])})
    if len(hits) > 1:
        raise VizError(f"--model {name!r} matches several stored models: {', '.join(hits)}; "
                       "give the one meant as it is stored", field="model")
    return hits[0] if hits else name


def _show(store, args) -> int:
    from viz_core.store.compare import (
        batch_mates,
        batch_note,
        fmt,
        metric_rows,
        reproduce_command,
        when,
    )
    from viz_core.store.verdict_words import verdict_text

    r = store.get(args.id, frames=False)
    if args.json:
        print(json.dumps(r.summary()))
        return 0
    lines = [f"run {r.id}  {r.status}  {when(r.started)} ({r.seconds:.1f} s)",
             f"model {r.model_label or r.model} (weights {r.weights_hash or '?'}); "
             f"task {r.task}; scheme {r.scheme}",
             f"demons-viz {r.version}" + (f" at {r.git_commit[:12]}" if r.git_commit else "")]
    if r.message:
        lines.append(f"message: {r.message}")
    if r.deleted:  # hidden from `history list` and the History page
        lines.append(f"deleted {when(r.deleted)} (`history restore {r.id}` lists it again)")
    if r.group_id:
        lines.append(f"group {r.group_id}")
    if r.tags or r.note:
        lines.append(f"tags {', '.join(r.tags) or '-'}; note {r.note or '-'}")
    lines += [f"  {k} = {v[0]}" + (f"  (floor {fl})" if fl else "")
              for k, v, fl in metric_rows([r])]
    lines += [f"  {verdict_text(v)}" for v in r.verdicts]
    lines.append("settings: " + ", ".join(f"{k}={fmt(v)}" for k, v in _settings(r.config)
                                          if v not in (None, {}, "")))
    if r.mlflow:
        lines.append(f"MLflow: {r.mlflow}")
    lines.append(f"reproduce: {reproduce_command(r)}")
    note = batch_note(r, batch_mates(store, r))  # alone, a batch's run can differ
    if note:
        lines.append(f"note: {note}")
    print("\n".join(lines))
    return 0


def _settings(config: dict) -> list[tuple[str, object]]:
    """A stored run's settings as it ran: with octaves, whose stages give the steps and tau
    (Secs. 2.7 and 3.1), ``steps`` is the stages' total and ``step_size`` is left out; a
    shipped sample image by its name, wherever the run found it (the reproduce line keeps
    the stored path)."""
    from viz_core.store.compare import image_name

    config = {k: image_name(v) if k == "image" and isinstance(v, str) else v
              for k, v in config.items()}
    try:
        total = sum(int(o[1]) for o in config.get("octaves") or [])
    except (TypeError, ValueError, IndexError, KeyError):
        total = 0
    if not total:
        return list(config.items())
    return [(k, total if k == "steps" else v) for k, v in config.items() if k != "step_size"]


def _compare(store, args) -> int:
    from viz_core.store.compare import differing_settings, metric_rows
    from viz_core.store.settings_text import setting_text

    runs = [store.get(i, frames=False) for i in args.ids]
    if len(runs) < 2:
        raise VizError("compare needs at least two run ids", field="ids")
    diff = differing_settings(runs)
    if args.json:
        print(json.dumps({"ids": [r.id for r in runs], "differing": diff,
                          "metrics": {k: {"values": v, "floor": f}
                                      for k, v, f in metric_rows(runs)}}))
        return 0
    print("\t".join(["", *(r.id for r in runs), "floor"]))
    for k, vals in diff.items():  # a class by its name, octaves as their stages
        print("\t".join([k, *(setting_text(k, v, r) for r, v in zip(runs, vals)), ""]))
    for k, vals, floor in metric_rows(runs):
        print("\t".join([k, *vals, floor]))
    return 0


def _export(store, args) -> int:
    from viz_core.cli.parser import check_out

    out = check_out(args.out)
    ext = out.suffix.lower().lstrip(".")
    ext = "html" if ext == "htm" else ext
    if args.format is None:
        args.format = ext if ext in FORMATS else "html"
    elif ext in FORMATS and ext != args.format:  # HTML bytes in a .pdf opens as nothing
        raise VizError(f"--format {args.format} does not fit --out {out.name} (a .{ext} "
                       f"file): give --out NAME.{args.format}, or leave out --format",
                       field="format")
    runs = [store.get(i) for i in args.ids]
    from viz_core.store.compare import batch_mates, batch_note

    notes = {r.id: batch_note(r, batch_mates(store, r)) for r in runs}
    if args.format == "json":  # run JSONs (visualize --config, metrics): one, or a list
        from viz_core.store.compare import run_json

        data = run_json(runs[0]) if len(runs) == 1 else [run_json(r) for r in runs]
        out.write_text(json.dumps(data, indent=1), encoding="utf-8")
    elif args.format == "html":
        from viz_core.store.report_html import html_report

        out.write_text(html_report(runs, notes=notes), encoding="utf-8")
    else:
        from viz_core.store.report_pdf import pdf_report

        out.write_bytes(pdf_report(runs, notes=notes))
    print(json.dumps({"out": str(out), "runs": [r.id for r in runs], "format": args.format}))
    return 0


def _nothing_listed(store, filters: dict, deleted: bool) -> str:
    """Why ``history list`` lists no run: the filters match none, there is no run (no
    deleted one with ``--deleted``), or every run is deleted."""
    said = ", ".join(f"--{k} {v}" for k, v in filters.items())
    live, gone = store.count(), store.count(deleted=True)
    if filters and (gone if deleted else live):
        return f"note: no {'deleted' if deleted else 'stored'} run matches {said}"
    if deleted:
        return "note: no deleted runs" + (f" ({live} listed by `history list`)" * bool(live))
    if gone:
        return (f"note: no runs listed; {gone} deleted run{'s' * (gone != 1)} (`history list "
                "--deleted`, `history restore ID`)")
    return "note: no runs stored yet"


def _restore(store, args) -> int:
    """Undo the History page's delete: the runs are listed again (their tags, note and
    images were kept). Every id is checked before any run is restored: an unknown or
    ambiguous id, or a run that is not deleted, is refused with nothing restored."""
    ids: list[str] = []
    for given in args.ids:
        try:
            rid = store.resolve(given, deleted=True)  # unknown, ambiguous, not hexadecimal
        except VizError as exc:
            raise VizError(f"{exc}; nothing restored", field=exc.field) from None
        if rid not in ids:
            ids.append(rid)
    deleted = {r.id for r in store.list(deleted=True, limit=None)}
    shown = [rid for rid in ids if rid not in deleted]
    if shown:
        raise VizError(f"run{'s' * (len(shown) > 1)} {', '.join(shown)} "
                       f"{'are' if len(shown) > 1 else 'is'} not deleted (listed by `history "
                       "list`; `history list --deleted` lists the deleted ones); nothing "
                       "restored", field="ids")
    store.restore(ids)
    print(json.dumps({"restored": ids}))
    return 0


def _rm(store, args) -> int:
    ids = list(dict.fromkeys(store.purge(args.ids)))  # a run named twice is removed once
    print(json.dumps({"removed": ids}))
    return 0


def run(args: argparse.Namespace) -> int:
    named = getattr(args, "store", None) or os.environ.get("DEMONS_VIZ_STORE")
    if named and not Path(named).expanduser().exists():
        raise VizError(f"no run store at {named!r} (nothing has been stored there; "
                       "check the path)", field="store")  # a typo makes no new store
    store = open_store(args)
    opened = store.notice
    try:
        return {"list": _list, "show": _show, "compare": _compare, "export": _export,
                "restore": _restore, "rm": _rm}[args.action](store, args)
    finally:
        if store.notice and store.notice != opened:  # found damaged during the command
            print(f"warning: {store.notice}", file=sys.stderr)

