"""Where a sweep's batches run: in this process, or as Ray tasks on a local or remote cluster.

An executor maps a function over work items and yields the results as they finish. The
local executor is a plain loop. The Ray executor submits one Ray task per item: each task
asks for one GPU when the cluster has GPUs and one CPU otherwise; a worker process keeps
the models it loaded (the per-process cache of :mod:`viz_core.sweeps.cells`), so a model is
loaded once per worker, not once per task; a task whose worker dies is re-run by Ray
(``max_retries``), so a lost worker costs only its own batches. Without an address a local
Ray is started; with one (``ray://host:10001`` or ``host:6379``) the sweep joins that
cluster. Ray is imported only here, and only when this executor is used.

:func:`run_sweep` drives a sweep through an executor into a :class:`SweepStore`, skipping
the batches already written (resume).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from viz_core.errors import VizError
from viz_core.sweeps.cells import BatchResult, BatchTask, resolve_judge, run_batch
from viz_core.sweeps.grouping import CellBatch, group_cells
from viz_core.sweeps.spec import Sweep
from viz_core.sweeps.store import SweepStore

EXECUTORS = ("local", "ray")
RAY_MISSING = ('the Ray executor needs Ray: pip install -e ".[distributed]" '
               '(or pip install "ray[default]>=2.9")')


class LocalExecutor:
    """Runs every item in this process, one after the other."""

    name = "local"

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            yield fn(item)

    def close(self) -> None:
        pass


def import_ray():
    """The ``ray`` module, or a VizError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise VizError(RAY_MISSING, field="executor") from None
    return ray


#: Ray start-up waits raised for a busy machine (defaults 30-60 s); set only when unset.
RAY_STARTUP_ENV = {"RAY_gcs_server_port_wait_time_s": "120",
                   "RAY_gcs_server_request_timeout_seconds": "120",
                   "RAY_worker_register_timeout_seconds": "180"}


def start_local_ray(num_cpus: int | None = None, attempts: int = 3, **kw: Any):
    """Start a local Ray with ``num_cpus`` CPUs (default: all), robustly on a loaded machine.

    No dashboard, no log forwarding, no runtime environment (Ray itself gives a task of one
    CPU one OpenMP thread), generous start-up waits (:data:`RAY_STARTUP_ENV`) and a retry
    when the node times out during start-up (Ray waits a fixed 30 s for its raylet).
    Returns ``ray``."""
    ray = import_ray()
    for k, v in RAY_STARTUP_ENV.items():
        os.environ.setdefault(k, v)
    opts: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                            "configure_logging": False, **kw}
    for attempt in range(1, attempts + 1):
        try:
            ray.init(num_cpus=num_cpus or os.cpu_count(), **opts)
            return ray
        except Exception:  # e.g. "The current node timed out during startup"
            ray.shutdown()
            if attempt == attempts:
                raise
            time.sleep(5.0 * attempt)
    return ray


class RayExecutor:
    """Runs items as Ray tasks (``max_retries`` re-runs a task whose worker died).

    ``address``: None starts a local Ray with ``num_workers`` CPUs (default: all); an
    address joins that cluster. ``num_gpus``: GPUs per task (default 1 when the cluster has
    GPUs, else 0 and one CPU per task).
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_workers: int | None = None,
                 max_retries: int = 3, num_gpus: float | None = None) -> None:
        ray = import_ray()
        self.ray = ray
        self._started = False
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
            if address:
                ray.init(address=address, **kw)
            else:
                start_local_ray(num_workers)
            self._started = True
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
        pending = [remote.remote(item) for item in items]
        try:
            while pending:
                done, pending = self.ray.wait(pending, num_returns=1)
                yield self.ray.get(done[0])
        finally:
            for ref in pending:  # an abandoned sweep frees its workers
                self.ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()
            self._started = False


def get_executor(name: str = "local", *, address: str | None = None,
                 num_workers: int | None = None, max_retries: int = 3):
    """``local`` or ``ray`` (Ray imported only for ``ray``)."""
    if name == "local":
        if address:
            raise VizError("--ray-address needs --executor ray", field="executor")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address, num_workers, max_retries)
    raise VizError(f"executor must be one of {', '.join(EXECUTORS)}, got {name!r}",
                   field="executor")


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
    judge = resolve_judge(sweep.judge, base.model) if base.task == "am" else None
    return [BatchTask(b.id, [{"index": c.index, "id": c.id, "values": c.values,
                              "config": c.config.to_dict()} for c in b.cells],
                      judge, image, threads, fail_marker) for b in batches]


def run_sweep(sweep: Sweep, out: str | Path, executor: str | Any = "local", *,
              progress: Callable[[SweepProgress], None] | None = None,
              address: str | None = None, num_workers: int | None = None,
              max_retries: int = 3, threads: int | None = None, fmt: str = "auto",
              fail_marker: str | None = None) -> SweepStore:
    """Run ``sweep`` into the directory ``out`` and return its store.

    Batches already written there are skipped (resume); each finished batch is written at
    once. ``executor``: "local", "ray" or an executor object (kept open).
    """
    sweep.validate()
    store = SweepStore(out, fmt)
    sweep = store.portable(sweep)
    store.open(sweep)
    batches = group_cells(sweep.cells(), sweep.batch_size)
    done = store.done_batches()
    todo = [b for b in batches if b.id not in done]
    total = len(sweep.cells())
    n_done = sum(len(b.cells) for b in batches if b.id in done)
    t0 = time.perf_counter()
    if progress is not None:
        progress(SweepProgress(n_done, total, None, 0.0))
    own = isinstance(executor, str)
    ex = get_executor(executor, address=address, num_workers=num_workers,
                      max_retries=max_retries) if own else executor
    try:
        tasks = batch_tasks(sweep, todo, threads, fail_marker, store.resolve_image)
        for res in ex.map(run_batch, tasks):
            store.write_batch(res.batch_id, res.rows, res.pngs)
            n_done += len(res.rows)
            if progress is not None:
                progress(SweepProgress(n_done, total, res, time.perf_counter() - t0))
    finally:
        if own:
            ex.close()
    store.finish()
    return store
