"""``demons-viz sweep``: a base run configuration times axes (regularization paths, layers,
trained vs random weights, seeds), run locally or on Ray, into a resumable result folder.

Example (the regularization path of elastic Sobolev demons, eq. 16 x eq. 18)::

    demons-viz sweep --model fmnist_vgg --task am --target 7 --elastic sobolev \\
        --axis gamma=0.05,0.1,0.2,0.4,0.8 --axis step_size=2,5,10,20 --out sweeps/path

Running the same command again resumes: finished batches are skipped, and the cells are
recorded in the sweep's run store with its tags (``DIR/history.json``) unless the resume
names others. ``demons-viz sweep --show DIR`` prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from viz_core.cli.common import (
    check_out,
    command_line,
    float_arg,
    int_arg,
    progress_bar,
    set_threads,
)
from viz_core.cli.history import open_store
from viz_core.cli.visualize import add_config_arguments, add_store_arguments, config_from_args
from viz_core.errors import VizError
from viz_core.store.records import storable
from viz_core.store.rows import clean_tags
from viz_core.store.sweep_runs import batch_sizes, cell_record, sweep_group
from viz_core.sweeps import AXES, EXECUTORS, Axis, Sweep, SweepStore, run_sweep
from viz_core.sweeps.executors import SweepFailed
from viz_core.sweeps.manifest import load_history, save_history
from viz_core.sweeps.preflight import MAX_CELLS, check_size
from viz_core.sweeps.raycluster import CONNECT_TIMEOUT, check_ray_options
from viz_core.sweeps.report import columns, format_table

HELP = "sweep a run configuration over axes (local or Ray), resumable"
DESCRIPTION = " ".join(__doc__.split("\n\n")[0].split())  # the first paragraph, whole


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p)
    p.add_argument("--axis", action="append", default=[], metavar="NAME=V1,V2,...",
                   help=f"an axis (repeatable); names: {', '.join(AXES)}")
    p.add_argument("--zip", action="store_true",
                   help="pair the axes element-wise instead of taking their product")
    p.add_argument("--out", help="result folder (an existing one resumes its sweep)")
    p.add_argument("--show", metavar="DIR", help="print the table of a sweep folder")
    p.add_argument("--markdown", action="store_true", help="--show as a Markdown table")
    p.add_argument("--executor", choices=EXECUTORS, default="local")
    p.add_argument("--ray-address", help="join this Ray cluster (default: start a local Ray)")
    p.add_argument("--ray-timeout", type=float_arg, default=CONNECT_TIMEOUT, metavar="S",
                   help=f"seconds to join --ray-address before giving up ({CONNECT_TIMEOUT:g})")
    p.add_argument("--workers", type=int_arg, help="CPUs of a local Ray (default: all)")
    p.add_argument("--max-retries", type=int_arg, default=3,
                   help="Ray re-runs of a task whose worker died")
    p.add_argument("--max-cells", type=int_arg, default=MAX_CELLS,
                   help=f"most cells in one sweep ({MAX_CELLS:,}); checked before any is built")
    p.add_argument("--batch-size", type=int_arg, default=8,
                   help="most cells in one batched forward/backward pass")
    p.add_argument("--judge", default="auto",
                   help="classifier of AM pre-images: auto (the independent judge, "
                        "fmnist_lenet_judge for the offline models), none, or a zoo name")
    p.add_argument("--format", choices=("auto", "parquet", "csv"), default="auto")
    p.add_argument("--threads", type=int_arg, default=0,
                   help="torch CPU threads per batch (0: default)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_store_arguments(p)


def _sweep_from_args(args: argparse.Namespace, store: SweepStore) -> Sweep:
    if not args.axis and store.exists():
        return store.load_sweep()  # resume with the stored specification
    if not args.axis:
        raise VizError("give at least one --axis NAME=V1,V2,... (or --out DIR of a sweep "
                       "to resume)", field="axes")
    base = config_from_args(args)
    sweep = Sweep(base, [Axis.parse(a) for a in args.axis], zipped=args.zip,
                  judge=args.judge, batch_size=args.batch_size)
    check_size(sweep, args.max_cells)  # before a single cell is built
    return sweep.validate()


def show(path: str, markdown: bool = False) -> int:
    """Print the table of the sweep in ``path``: the rows that check out; damaged or
    foreign files are reported (exit 2) with the command that recomputes them."""
    store = SweepStore(path)
    sweep = store.load_sweep()
    checked = store.check(sweep)
    rows = checked.all_rows()
    cols = columns(rows, [a.name for a in sweep.axes])
    print(format_table(rows, cols, markdown))
    n = len(sweep)
    resume = f"demons-viz sweep --out {shlex.quote(path)}"
    if checked.legacy:
        print(f"note: {path} has no manifest (an older sweep): parts checked by content; "
              f"`{resume}` records one", file=sys.stderr)
    if checked.problems:
        raise VizError(f"{path}: {len(checked.problems)} problem(s), not shown: "
                       + "; ".join(checked.problems) + f"; run `{resume}` to recompute "
                       "them", field="out")
    if len(rows) < n:
        print(f"({len(rows)} of {n} cells done; run `{resume}` to resume)", file=sys.stderr)
    return 0


def _check_flags(args: argparse.Namespace) -> None:
    if args.show and (args.out or args.axis):
        raise VizError("--show DIR prints a sweep; it takes neither --out nor --axis",
                       field="show")
    if not args.show and not args.out:
        raise VizError("--out DIR is required (or --show DIR)", field="out")
    for flag in ("out", "show"):
        path = getattr(args, flag)
        if path and path != storable(path):  # pyarrow opens UTF-8 paths only
            raise VizError(f"--{flag} {storable(path)!r}: the sweep folder's path must be "
                           "UTF-8 text (the table cannot be opened otherwise); rename it",
                           field=flag)
    if args.ray_address and args.executor != "ray":
        raise VizError("--ray-address needs --executor ray", field="executor")
    check_ray_options(args.workers, args.max_retries, args.ray_timeout)
    if args.max_cells < 1:
        raise VizError(f"--max-cells must be >= 1, got {args.max_cells}", field="max_cells")


def _resume_command(args: argparse.Namespace) -> str:
    """The command that resumes this sweep, with the store and tag flags as given (a
    resume without them reuses the sweep's own, from ``history.json``)."""
    cmd = ["demons-viz", "sweep", "--out", args.out]
    if args.executor != "local":
        cmd += ["--executor", args.executor]
    if args.ray_address:
        cmd += ["--ray-address", args.ray_address]
    if args.no_store:
        cmd.append("--no-store")
    elif args.store:
        cmd += ["--store", args.store]
    for t in args.tag:
        cmd += ["--tag", t]
    return shlex.join(cmd)


def _same_file(a: str, b: str) -> bool:
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def _recording(args: argparse.Namespace, saved: dict | None
               ) -> tuple[str | None, bool, list[str], list[str]]:
    """Where this run records its cells: ``(store path or None for the default, whether
    to record, tags, notes)``. A resume that names no store and no tag reuses the sweep's
    (``saved``, from :func:`~viz_core.sweeps.manifest.load_history`); one that names
    others uses them and says that the sweep's earlier cells are elsewhere."""
    from viz_core.store.location import ENV

    store, record, tags, notes = args.store, not args.no_store, list(args.tag), []
    if saved is None:
        return store, record, tags, notes
    where, old_tags = saved["store"], clean_tags(saved["tags"])
    if args.store is None and not args.no_store:
        if where is None:
            record = False
            notes.append(f"{args.out} ran with --no-store: its cells are not recorded in a "
                         "run store now either (give --store PATH to record them)")
        else:
            env = os.environ.get(ENV)
            if env and not _same_file(env, where):
                notes.append(f"recording the cells in the sweep's run store {where}, not "
                             f"${ENV} ({env}); give --store PATH for another")
            store = where
    elif args.no_store:
        if where is not None:
            notes.append(f"--no-store: the cells this resume computes are not recorded "
                         f"(the sweep's earlier cells are in {where})")
    elif where is None:
        notes.append(f"{args.out} ran with --no-store; this resume records its cells in "
                     f"{args.store}")
    elif not _same_file(args.store, where):
        notes.append(f"--store {args.store}: the cells this resume computes are recorded "
                     f"there, not in the sweep's run store {where} (its earlier cells)")
    if not tags:
        tags = old_tags
    elif clean_tags(tags) != old_tags:
        notes.append(f"--tag {', '.join(clean_tags(tags))}: the cells this resume computes "
                     f"are tagged so; the sweep's earlier cells have "
                     f"{', '.join(old_tags) or 'no tag'}")
    return store, record, tags, notes


def run(args: argparse.Namespace) -> int:
    _check_flags(args)
    if args.show:
        return show(args.show, args.markdown)
    check_out(args.out, folder=True)
    set_threads(args.threads)
    store = SweepStore(args.out, args.format)
    sweep = _sweep_from_args(args, store)
    saved = load_history(args.out, store.sweep_hash(sweep)) if store.exists() else None
    where, record, tags, notes = _recording(args, saved)
    if saved is not None and len({r.get("cell_id") for r in store.rows()}) >= len(sweep):
        notes = []  # a finished sweep: no cell is computed, so none is recorded elsewhere
    for text in notes:
        print(f"note: {text}", file=sys.stderr)
    runs = open_store(argparse.Namespace(store=where, tracking_uri=args.tracking_uri)) \
        if record else None
    group = sweep_group(args.out)
    with progress_bar(len(sweep), f"sweep ({args.executor})", args.quiet, unit="cell") as bar:
        def progress(p) -> None:
            if p.result is None and saved is None:  # the folder holds this sweep now
                folder = SweepStore(args.out)
                save_history(args.out, folder.sweep_hash(folder.load_sweep()),
                             str(runs.path.resolve()) if runs is not None else None,
                             clean_tags(tags))
            bar.n = p.done_cells
            bar.refresh()
            if runs is not None and p.result is not None:  # each finished batch at once
                sizes = batch_sizes(p.result.rows)
                for row in p.result.rows:
                    rec = cell_record(row, p.result.pngs.get(row["cell_id"]), group,
                                      command_line(args), tags,
                                      p.result.curves(str(row["cell_id"])), args.out,
                                      p.result.verdicts(str(row["cell_id"])),
                                      sizes.get(str(row.get("batch_id"))))
                    if not runs.has(rec.id):
                        runs.add(rec)

        def notice(text: str) -> None:
            bar.write(f"note: {text}", file=sys.stderr)

        try:
            store = run_sweep(sweep, args.out, args.executor, progress=progress,
                              address=args.ray_address, num_workers=args.workers,
                              max_retries=args.max_retries, threads=args.threads or None,
                              fmt=args.format, max_cells=max(args.max_cells, len(sweep)),
                              connect_timeout=args.ray_timeout, notice=notice)
        except SweepFailed as exc:
            raise VizError(f"{exc}; resume with: {_resume_command(args)}",
                           field=exc.field) from None
        except KeyboardInterrupt:  # Ctrl-C: the finished batches are kept; say so, and how
            bar.write(f"note: {bar.n} of {len(sweep)} cells done and kept in {args.out}; "
                      f"resume with: {_resume_command(args)}", file=sys.stderr)
            raise
    rows = store.rows()
    diverged = sum(1 for r in rows if r.get("diverged"))
    print(json.dumps({"out": str(store.root), "cells": len(rows), "diverged": diverged,
                      "random_weights_cells": sum(1 for r in rows if r.get("random_weights")),
                      "table": str(store.root / f"table.{store.fmt}")}))
    return 0
