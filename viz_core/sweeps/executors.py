"""Where a sweep's batches run: in this process, or as Ray tasks on a local or remote cluster.

An executor maps a function over work items and yields the results as they finish. The
local executor is a plain loop. The Ray executor submits one Ray task per item: each task
asks for one GPU when the cluster has GPUs and one CPU otherwise; a worker process keeps
the models it loaded (the per-process cache of :mod:`viz_core.sweeps.cells`), so a model is
loaded once per worker, not once per task; a task whose worker dies is re-run by Ray
(``max_retries``), so a lost worker costs only its own batches. Without an address a local
Ray is started; with one (``ray://host:10001`` or ``host:6379``) the sweep joins that
cluster, within a deadline. Ray is imported only by :mod:`.raycluster` (joining, starting
and leaving a cluster, and what a failed task means), and only when this executor is used.

:func:`run_sweep` drives a sweep through an executor into a :class:`SweepStore`, skipping
the batches already written (resume).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from viz_core.errors import VizError
from viz_core.sweeps.cells import BatchResult, BatchTask, resolve_judge, run_batch
from viz_core.sweeps.grouping import CellBatch, group_cells
from viz_core.sweeps.preflight import MAX_CELLS, preflight
from viz_core.sweeps.raycluster import (
    CONNECT_TIMEOUT,
    RAY_MISSING,
    ItemFailed,
    check_ray_options,
    connect_ray,
    driver_logs,
    end_processes,
    failure_reason,
    import_ray,
    keep_sigterm,
    own_processes,
    start_local_ray,
)
from viz_core.sweeps.spec import Sweep
from viz_core.sweeps.store import REJECTED, SweepStore

EXECUTORS = ("local", "ray")
__all__ = ["EXECUTORS", "RAY_MISSING", "ItemFailed", "LocalExecutor", "RayExecutor",
           "SweepFailed", "SweepProgress", "batch_tasks", "get_executor", "import_ray",
           "run_sweep", "start_local_ray"]


class LocalExecutor:
    """Runs every item in this process, one after the other."""

    name = "local"

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            yield fn(item)

    def close(self) -> None:
        pass


class RayExecutor:
    """Runs items as Ray tasks (``max_retries`` re-runs a task whose worker died).

    ``address``: None starts a local Ray with ``num_workers`` CPUs (default: all); an
    address joins that cluster within ``connect_timeout`` seconds (:func:`connect_ray`).
    ``num_gpus``: GPUs per task (default 1 when the cluster has GPUs, else 0 and one CPU
    per task). An item whose task fails for good (retries exhausted, a dead node, an
    error raised in the worker) ends :meth:`map` with an :class:`ItemFailed` naming it;
    :meth:`close` shuts down a Ray this executor started, and every process it left.
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_workers: int | None = None,
                 max_retries: int = 3, num_gpus: float | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        check_ray_options(num_workers, max_retries, connect_timeout)
        ray = import_ray()
        self.ray = ray
        self._started = False
        self._children: list = []
        if not ray.is_initialized():
            self._before = {p.pid for p in own_processes()}
            with keep_sigterm():
                if address:
                    connect_ray(address, connect_timeout)
                else:
                    start_local_ray(num_workers)
            self._started = True
            self._children = own_processes(self._before)
            driver_logs(ray, False)
        gpus = float(ray.cluster_resources().get("GPU", 0))
        self.num_gpus = (1.0 if gpus > 0 else 0.0) if num_gpus is None else float(num_gpus)
        self.num_cpus = 0 if self.num_gpus > 0 else 1
        self.max_retries = int(max_retries)
        self._remote: dict[Callable, Any] = {}

    def _task(self, fn: Callable):
        if fn not in self._remote:
            self._remote[fn] = self.ray.remote(fn).options(
                num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=self.max_retries)
        return self._remote[fn]

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """Submit every item, then yield results in the order they finish."""
        remote = self._task(fn)
        index = {}
        for i, item in enumerate(items):
            index[remote.remote(item)] = i
        pending = list(index)
        try:
            while pending:
                ref = None
                try:
                    done, pending = self.ray.wait(pending, num_returns=1)
                    ref = done[0]
                    result = self.ray.get(ref)
                except Exception as exc:  # RayError, or a broken connection to the cluster
                    raise ItemFailed(index.get(ref), failure_reason(exc, self.max_retries)) \
                        from None
                yield result
        finally:
            for ref in pending:  # an abandoned sweep frees its workers
                try:
                    self.ray.cancel(ref, force=True)
                except Exception:  # the cluster is gone already
                    pass

    def close(self) -> None:
        if self._started:
            self._children += own_processes(self._before)
            try:
                self.ray.shutdown()
            finally:
                end_processes(self._children)
                driver_logs(self.ray, True)
                self._started = False


def get_executor(name: str = "local", *, address: str | None = None,
                 num_workers: int | None = None, max_retries: int = 3,
                 connect_timeout: float = CONNECT_TIMEOUT):
    """``local`` or ``ray`` (Ray imported only for ``ray``)."""
    check_ray_options(num_workers, max_retries, connect_timeout)
    if name == "local":
        if address:
            raise VizError("address= needs executor='ray'", field="executor")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address, num_workers, max_retries,
                           connect_timeout=connect_timeout)
    raise VizError(f"executor must be one of {', '.join(EXECUTORS)}, got {name!r}",
                   field="executor")


class SweepFailed(VizError):
    """A batch failed for good; the batches before it are saved and a rerun resumes."""

    def __init__(self, message: str, batch_id: str, saved_cells: int, total_cells: int,
                 out: Path) -> None:
        super().__init__(message, field="executor")
        self.batch_id, self.saved_cells, self.total_cells = batch_id, saved_cells, total_cells
        self.out = out


@dataclass
class SweepProgress:
    """What :func:`run_sweep` reports after each finished batch."""

    done_cells: int
    total_cells: int
    result: BatchResult | None
    elapsed: float


def batch_tasks(sweep: Sweep, batches: list[CellBatch], threads: int | None = None,
                fail_marker: str | None = None,
                resolve: Callable[[str], str | None] | None = None) -> list[BatchTask]:
    """Picklable tasks for ``batches`` (the inverted image shipped as bytes; ``resolve``
    maps a stored image value to its file, e.g. :meth:`SweepStore.resolve_image`)."""
    base = sweep.base
    image = None
    if base.task == "inversion" and base.image:
        p = Path((resolve or str)(base.image) or base.image)
        if not p.is_file():
            raise VizError(f"image file {base.image!r} does not exist", field="image")
        image = p.read_bytes()
    # the judge of every cell: an AM class pre-image, and an inversion (Table 1's test)
    judge = resolve_judge(sweep.judge, base.model)
    return [BatchTask(b.id, [{"index": c.index, "id": c.id, "values": c.values,
                              "config": c.config.to_dict()} for c in b.cells],
                      judge, image, threads, fail_marker) for b in batches]


def run_sweep(sweep: Sweep, out: str | Path, executor: str | Any = "local", *,
              progress: Callable[[SweepProgress], None] | None = None,
              address: str | None = None, num_workers: int | None = None,
              max_retries: int = 3, threads: int | None = None, fmt: str = "auto",
              fail_marker: str | None = None, max_cells: int = MAX_CELLS,
              connect_timeout: float = CONNECT_TIMEOUT,
              notice: Callable[[str], None] | None = None) -> SweepStore:
    """Run ``sweep`` into the directory ``out`` and return its store.

    Everything is checked before the directory is touched (:func:`preflight`). Batches
    already written there and intact are skipped (resume; damaged or foreign parts are set
    aside and recomputed, each said through ``notice``); each finished batch is written at
    once. ``executor``: "local", "ray" or an executor object (kept open). A batch that
    fails for good raises :class:`SweepFailed` naming it and what is saved.
    """
    local = executor == "local" or isinstance(executor, LocalExecutor)
    if isinstance(executor, str):
        check_ray_options(num_workers, max_retries, connect_timeout)
    store = SweepStore(out, fmt)
    preflight(sweep, max_cells=max_cells, here=local, remote=bool(address),
              resolve=store.resolve_image)
    own = isinstance(executor, str)
    ex = get_executor(executor, address=address, num_workers=num_workers,
                      max_retries=max_retries, connect_timeout=connect_timeout) \
        if own else executor
    try:
        return _drive(sweep, store, ex, progress, threads, fail_marker, notice)
    finally:
        if own:
            ex.close()


def _drive(sweep: Sweep, store: SweepStore, ex: Any,
           progress: Callable[[SweepProgress], None] | None, threads: int | None,
           fail_marker: str | None, notice: Callable[[str], None] | None) -> SweepStore:
    """The part of :func:`run_sweep` that writes: open (or check and repair) the
    directory, run the batches not done, write each as it finishes, then the table."""
    sweep = store.portable(sweep)
    say = notice or (lambda _text: None)
    for text in store.open(sweep):
        say(text)
    checked = store.repair(sweep)
    if checked.legacy and checked.entries:
        say(f"{str(store.root)!r} had no manifest (an older sweep): its "
            f"{len(checked.entries)} finished batch(es) were checked by content and recorded")
    if checked.problems:
        say(f"recomputing {len(checked.redo)} batch(es): " + "; ".join(checked.problems)
            + (f" (set aside in {str(store.root / REJECTED)!r})" if checked.stray else ""))
    batches = group_cells(sweep.cells(), sweep.batch_size)
    done = checked.done
    todo = [b for b in batches if b.id not in done]
    total = len(sweep)
    n_done = sum(len(b.cells) for b in batches if b.id in done)
    t0 = time.perf_counter()
    if progress is not None:
        progress(SweepProgress(n_done, total, None, 0.0))
    tasks = batch_tasks(sweep, todo, threads, fail_marker, store.resolve_image)
    try:
        for res in ex.map(run_batch, tasks):
            store.write_batch(res.batch_id, res.rows, res.pngs)
            n_done += len(res.rows)
            if progress is not None:
                progress(SweepProgress(n_done, total, res, time.perf_counter() - t0))
    except ItemFailed as exc:
        b = todo[exc.index] if exc.index is not None else None
        what = f"batch {b.id} ({_cells_text(b)})" if b else "a batch"
        raise SweepFailed(f"{what} failed: {exc.reason}; {n_done} of {total} cells are "
                          f"saved in {str(store.root)!r}", b.id if b else "", n_done, total,
                          store.root) from None
    except VizError as exc:  # raised in this process by the local executor
        if not isinstance(ex, LocalExecutor) or not todo:
            raise
        raise SweepFailed(f"{exc}; {n_done} of {total} cells are saved in "
                          f"{str(store.root)!r}", "", n_done, total, store.root) from None
    store.finish()
    return store


def _cells_text(batch: CellBatch, most: int = 3) -> str:
    ids = [c.id for c in batch.cells]
    more = f" and {len(ids) - most} more" if len(ids) > most else ""
    return "cells " + ", ".join(ids[:most]) + more
