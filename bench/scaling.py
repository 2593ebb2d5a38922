"""Scaling of a sweep: the same 48-cell sweep with the local executor and with Ray at 1 and 2
workers on this machine, Ray's per-task overhead, and a projection of Table 1 (Sec. 3.2 of
the paper) at ImageNet scale on 1, 8 and 64 GPUs.

    python bench/scaling.py            # writes results/scaling.md

Measured here:

* the machine's parallel capacity right now (one CPU-bound process alone vs two at once):
  the floor of "2 workers / 1 worker" on a shared machine is ``1 / capacity``;
* wall time of the 48-cell sweep (median of ``--repeats``) with the local executor and with a
  local Ray of 1 and 2 CPUs. The Ray workers are started, have loaded the model and run one
  step before the clock starts (start-up, reported apart): a worker keeps its model;
* Ray's overhead per task, two ways: (a) with 1 worker, driver-observed wall minus the
  compute time the worker measured for its batches, per task; (b) round trips of an empty
  task carrying the same argument and returning a result of the same size;
* for the projection: per-step time of the Table 1 inversion batch (b images x five methods,
  VGG19 from block5_conv1 and DenseNet121 from conv5_block12_0_bn, 224 px, random weights,
  BatchNorm folded as in the protocol) on this CPU with 1 thread, its FLOPs and its number of
  dispatched operators per step (torch's FlopCounterMode and a dispatch counter), and the
  time to build and prepare each model.

Assumed (not measured; no GPU here): the per-step time on one GPU, from the measured FLOPs
and operator counts, an NVIDIA A100's datasheet peaks (19.5 TFLOP/s FP32, 156 TFLOP/s TF32
tensor cores) times an assumed utilisation, and an assumed kernel-launch cost per operator.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from common import RESULTS, base_parser, md_table, report, setup
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from viz_core.config import RunConfig, scheme_config
from viz_core.engine import run
from viz_core.evaluation.protocol import (
    IMAGENET_PAIR,
    PAPER_KERNEL_SIZE,
    PAPER_STEP_SIZE,
    TV_EPS,
    TV_LAMBDA,
)
from viz_core.fusion import fuse_model
from viz_core.kernels import KernelSpec
from viz_core.machine import load_average
from viz_core.models import load_model
from viz_core.schemes import TABLE1_SCHEMES
from viz_core.sweeps import Axis, Sweep, run_sweep
from viz_core.sweeps.cells import BatchResult, BatchTask, run_batch
from viz_core.sweeps.executors import RayExecutor, batch_tasks, start_local_ray
from viz_core.sweeps.grouping import group_cells

TABLE1 = {"n": 1000, "methods": len(TABLE1_SCHEMES), "steps": 300, "directions": 2}
#: NVIDIA A100 datasheet peaks (dense), TFLOP/s.
A100_PEAK = {"fp32": 19.5, "tf32": 156.0}
#: Assumed GPU scenarios: sustained fraction of a peak, and launch cost per operator (s).
GPU_SCENARIOS = {
    "optimistic (TF32, 40 % of 156 TFLOP/s, 5 us/op)": (0.40 * A100_PEAK["tf32"], 5e-6),
    "pessimistic (FP32, 50 % of 19.5 TFLOP/s, 10 us/op)": (0.50 * A100_PEAK["fp32"], 10e-6),
}
#: Assumed weight-file read rate on a GPU node (pretrained VGG19: 548 MB, DenseNet121: 31 MB).
WEIGHT_MB = {"vgg19": 548.0, "densenet121": 31.0}
DISK_MB_S = 500.0


# ---------------------------------------------------------------- machine capacity
def _spin(seconds_out, start, n: int) -> None:
    torch.set_num_threads(1)
    a = torch.randn(256, 256)
    for _ in range(20):
        a @ a
    start.wait()  # all processes have imported torch: start together
    t0 = time.perf_counter()
    for _ in range(n):
        a @ a
    seconds_out.put(time.perf_counter() - t0)


def parallel_capacity(n: int = 6000) -> dict:
    """Cores' worth of throughput two CPU-bound processes get now (2.0 on an idle 2-core
    machine): one process alone, then two started together."""
    ctx = mp.get_context("spawn")

    def once(k: int) -> list[float]:
        q, start = ctx.Queue(), ctx.Barrier(k)
        ps = [ctx.Process(target=_spin, args=(q, start, n)) for _ in range(k)]
        for p in ps:
            p.start()
        out = [q.get() for _ in ps]
        for p in ps:
            p.join()
        return out

    alone = once(1)[0]
    both = once(2)
    return {"alone": alone, "both": max(both), "capacity": 2 * alone / max(both)}


# ---------------------------------------------------------------- the 48-cell sweep
def make_sweep(steps: int, batch: int) -> Sweep:
    base = RunConfig(model="fmnist_vgg", task="am", target=7, steps=steps, every=steps,
                     device="cpu", elastic=KernelSpec("sobolev", None, 11))
    return Sweep(base, [Axis.parse("gamma=0.05,0.1,0.2,0.4"),
                        Axis.parse("step_size=2,5,10,20"), Axis.parse("seed=0,1,2")],
                 judge="none", batch_size=batch)


def _warm(task: BatchTask) -> int:
    """Load the model into the worker's cache and run one step; hold the worker a moment so
    that the warm-up tasks spread over all workers."""
    run_batch(task)
    time.sleep(1.0)
    return os.getpid()


def _echo(task: BatchTask, result: BatchResult) -> BatchResult:
    """An empty task: the same argument in, a result of the same size out."""
    return result


def timed_sweep(sweep: Sweep, executor) -> dict:
    results: list[BatchResult] = []
    out = tempfile.mkdtemp(prefix="scaling-")
    t0 = time.perf_counter()
    run_sweep(sweep, out, executor, threads=1,
              progress=lambda p: p.result is not None and results.append(p.result))
    wall = time.perf_counter() - t0
    return {"wall": wall, "compute": sum(r.seconds for r in results), "tasks": len(results),
            "workers": len({r.worker for r in results}), "last": results[-1]}


def median_run(runs: list[dict]) -> dict:
    m = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]
    return {**m, "walls": [r["wall"] for r in runs]}


def ray_runs(sweep: Sweep, workers: int, repeats: int, echo_n: int,
             sample: BatchResult | None) -> dict:
    t0 = time.perf_counter()
    ray = start_local_ray(workers)
    try:
        ex = RayExecutor()
        warm = batch_tasks(_with_steps(sweep, 1), group_cells(sweep.cells(),
                                                              sweep.batch_size))[:2 * workers]
        pids = set(ex.map(_warm, warm))
        startup = time.perf_counter() - t0
        res = median_run([timed_sweep(sweep, ex) for _ in range(repeats)])
        echo = None
        if echo_n and sample is not None:
            task = batch_tasks(sweep, group_cells(sweep.cells(), sweep.batch_size)[:1], 1)[0]
            ref = ray.put(sample)
            remote = ray.remote(_echo).options(num_cpus=1)
            ray.get(remote.remote(task, ref))
            times = []
            for _ in range(echo_n):
                t = time.perf_counter()
                ray.get(remote.remote(task, ref))
                times.append(time.perf_counter() - t)
            echo = statistics.median(times)
    finally:
        ray.shutdown()
    return {**res, "startup": startup, "workers_seen": len(pids), "echo": echo}


def _with_steps(sweep: Sweep, steps: int) -> Sweep:
    from dataclasses import replace

    return Sweep(replace(sweep.base, steps=steps, every=steps), sweep.axes, judge=sweep.judge,
                 batch_size=sweep.batch_size)


# ---------------------------------------------------------------- ImageNet per-step costs
class _OpCounter(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.n += 1
        return func(*args, **(kwargs or {}))


def _configs(name: str, layer: str, n: int, steps: int, device: str = "cpu") -> list[RunConfig]:
    base = RunConfig(model=name, task="inversion", layer=layer, p=2, steps=steps,
                     every=steps, step_size=PAPER_STEP_SIZE, init_std=0.02, device=device)
    return [scheme_config(base, m, PAPER_KERNEL_SIZE, TV_LAMBDA, TV_EPS)
            for m in TABLE1_SCHEMES for _ in range(n)]


def _run(cfgs, model, ref) -> None:
    for _ in run(cfgs, model, reference=ref):
        pass


def imagenet_costs(name: str, layer: str, batches: list[int], steps: int,
                   device: str = "cpu") -> dict:
    """Per-step seconds (1 thread on a CPU) per images-per-batch, FLOPs and operators per
    sample-step, and model build + preparation time. Each timed run ends with a frame, whose
    copy to the host waits for the GPU, so GPU times are complete."""
    t0 = time.perf_counter()
    raw = load_model(name, weights="random", device=device)
    layer = raw.resolve_layer(layer)
    model = fuse_model(raw, [layer])
    model.features(layer)
    prep = time.perf_counter() - t0
    out: dict = {"layer": layer, "prepare_s": prep, "step_s": {}}
    for b in batches:
        ref = torch.rand(b, 3, raw.spec.input_size, raw.spec.input_size, device=device)
        refs = ref.repeat(len(TABLE1_SCHEMES), 1, 1, 1)
        _run(_configs(name, layer, b, 1, device), model, refs)  # warm-up
        first = last = None
        for _ in run(_configs(name, layer, b, steps, device), model, reference=refs):
            first = first or time.perf_counter()
            last = time.perf_counter()
        out["step_s"][b] = (last - first) / steps
    ref = torch.rand(1, 3, raw.spec.input_size, raw.spec.input_size, device=device).repeat(
        len(TABLE1_SCHEMES), 1, 1, 1)
    counts = []
    for k in (1, 2):  # the difference of a 2-step and a 1-step run is one step
        flops, ops = FlopCounterMode(display=False), _OpCounter()
        with flops, ops:
            _run(_configs(name, layer, 1, k, device), model, ref)
        counts.append((flops.get_total_flops(), ops.n))
    samples = len(TABLE1_SCHEMES)
    out["flops"] = (counts[1][0] - counts[0][0]) / samples   # per sample and step
    out["ops"] = counts[1][1] - counts[0][1]                  # per step (any batch size)
    return out


def lpt_makespan(durations: list[float], workers: int) -> float:
    """Longest-processing-time-first list schedule: what a task queue over equal workers
    achieves (Ray hands the next task to the first free worker)."""
    loads = [0.0] * workers
    for d in sorted(durations, reverse=True):
        i = loads.index(min(loads))
        loads[i] += d
    return max(loads)


def schedule_rows(per_task: dict, costs: dict, batch_images: int) -> list[list]:
    """Table 1 at ImageNet scale (both directions, one task per ``batch_images`` images x
    the methods) on 1, 8 and 64 GPUs, given each network's seconds per task: rows of GPUs,
    VGG19 and DenseNet121 task seconds, ideal minutes, and minutes with longest-first
    scheduling plus every worker loading both networks once."""
    tasks_per_dir = math.ceil(TABLE1["n"] / batch_images)
    durations = [per_task[net] for net in costs for _ in range(tasks_per_dir)]
    load = sum(c["prepare_s"] + WEIGHT_MB[net] / DISK_MB_S for net, c in costs.items())
    return [[gpus, per_task["vgg19"], per_task["densenet121"], sum(durations) / gpus / 60,
             (lpt_makespan(durations, gpus) + load) / 60] for gpus in (1, 8, 64)]


def projection(costs: dict, overhead_s: float, batch_images: int) -> tuple[str, list]:
    """Table 1 at ImageNet scale on 1, 8 and 64 GPUs under each assumed GPU scenario."""
    steps, samples = TABLE1["steps"], batch_images * TABLE1["methods"]
    rows = []
    for label, (tflops, launch) in GPU_SCENARIOS.items():
        per_task = {net: steps * max(c["flops"] * samples / (tflops * 1e12), c["ops"] * launch)
                    + overhead_s for net, c in costs.items()}
        rows += [[label, *r] for r in schedule_rows(per_task, costs, batch_images)]
    return md_table(["GPU scenario (assumed)", "GPUs", "VGG19 task s", "DenseNet121 task s",
                     "ideal min", "with scheduling + model loading min"], rows), rows


# ---------------------------------------------------------------- main
def main() -> None:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100, help="steps per cell (RunConfig default)")
    p.add_argument("--batch", type=int, default=4, help="cells per batch (one Ray task)")
    p.add_argument("--echo", type=int, default=30, help="empty-task round trips timed")
    p.add_argument("--imagenet-steps", type=int, default=2,
                   help="steps timed per ImageNet model and batch for the projection (0: skip)")
    p.add_argument("--imagenet-batches", default="1,4",
                   help="images per Table 1 batch timed on the CPU (x five methods)")
    p.add_argument("--gpu-batch-images", type=int, default=20,
                   help="images per Table 1 task in the projection (x five methods)")
    p.add_argument("--output", default=str(RESULTS / "scaling.md"), help="report file")
    args = p.parse_args()
    args.threads = 1
    device = setup(args)
    load0 = load_average()
    cap = parallel_capacity()
    sweep = make_sweep(args.steps, args.batch)
    n_cells, n_tasks = len(sweep), len(group_cells(sweep.cells(), args.batch))
    local = median_run([timed_sweep(sweep, "local") for _ in range(args.repeats)])
    ray1 = ray_runs(sweep, 1, args.repeats, args.echo, local["last"])
    ray2 = ray_runs(sweep, 2, args.repeats, 0, None)
    load1 = load_average()
    cap1 = parallel_capacity()
    cell = local["compute"] / n_cells
    task = local["compute"] / n_tasks
    rows = []
    for name, r in (("local", local), ("Ray, 1 worker", ray1), ("Ray, 2 workers", ray2)):
        rows.append([name, r["wall"], " / ".join(f"{w:.1f}" for w in r["walls"]),
                     r["wall"] / local["wall"], r["compute"] / n_cells, r["workers"],
                     r.get("startup", 0.0)])
    over_a = (ray1["wall"] - ray1["compute"]) / ray1["tasks"]
    over_b = ray1["echo"]
    worst = max(over_a, over_b)
    ratio = ray2["wall"] / ray1["wall"]
    floor = 1 / max(cap["capacity"], cap1["capacity"])  # the better of the two moments
    table = md_table(["executor", "wall s (median)", "repeats s", "/ local",
                      "cell compute s", "worker processes", "start-up s (not in wall)"], rows)
    over = md_table(["measure", "ms per task", "% of a cell", "% of a task (4 cells)"], [
        ["(a) 1 worker: driver wall - worker compute", over_a * 1e3, over_a / cell * 100,
         over_a / task * 100],
        ["(b) empty task, same argument and result size", over_b * 1e3, over_b / cell * 100,
         over_b / task * 100]])
    sections = [
        ("Machine load", f"1-min load average {load0} at the start, {load1} after the sweeps "
         "(other users' processes included). Parallel capacity (one CPU-bound process alone "
         "vs two started together, 1 thread each), before the sweeps: "
         f"{cap['alone']:.2f} s alone, {cap['both']:.2f} s each for two -> "
         f"**{cap['capacity']:.2f} cores' worth**; after: {cap1['alone']:.2f} s, "
         f"{cap1['both']:.2f} s -> **{cap1['capacity']:.2f}**. The best '2 workers / 1 worker' "
         f"this machine allowed is about 1 / capacity, {1 / cap['capacity']:.2f} before and "
         f"{1 / cap1['capacity']:.2f} after (2 idle cores: 0.50); a load that changes during "
         "the runs moves the ratio either way."),
        (f"The same {n_cells}-cell sweep ({n_tasks} tasks of {args.batch} cells, {args.steps} "
         f"steps, fmnist_vgg AM, one torch thread per worker, {args.repeats} repeats)", table),
        ("Ratios", f"Ray 2 workers / Ray 1 worker: **{ratio:.2f}** (target <= 0.65; the best "
         f"this machine allows now is {floor:.2f}). Ray 1 worker / local: "
         f"{ray1['wall'] / local['wall']:.2f}; Ray 2 workers / local: "
         f"{ray2['wall'] / local['wall']:.2f}. Mean cell compute time {cell * 1000:.0f} ms "
         f"(local), a task {task * 1000:.0f} ms."),
        ("Ray overhead per task (target < 5 % of a cell's time)", over
         + f"\n\nVerdict: overhead target {'met' if worst < 0.05 * cell else 'NOT met'} "
         f"({worst / cell * 100:.1f} % of a cell at worst); 2 / 1 worker "
         f"target {'met' if ratio <= 0.65 else 'NOT met'} ({ratio:.2f}; measured against "
         f"what the machine allowed, {floor:.2f}, the 2-worker run reached "
         f"{min(1.0, floor / ratio) * 100:.0f} % of it).")]
    notes = ["Wall includes the driver writing each batch (PNGs and a Parquet part file, each "
             "fsynced, for resume): the local executor does it between batches, Ray overlaps "
             "it with the workers' compute.",
             "The start-up column (Ray started, each worker has loaded the model and run one "
             "step) is a one-off per worker and is not in the wall time; a worker keeps its "
             "model for all its tasks (viz_core.sweeps.cells.cached_model)."]
    if args.imagenet_steps:
        batches = [int(b) for b in args.imagenet_batches.split(",")]
        (ra, la), (rb, lb) = IMAGENET_PAIR
        costs = {ra: imagenet_costs(ra, la, batches, args.imagenet_steps),
                 rb: imagenet_costs(rb, lb, batches, args.imagenet_steps)}
        meas = []
        for net, c in costs.items():
            for b, s in c["step_s"].items():
                meas.append([net, c["layer"], b, b * TABLE1["methods"], s,
                             s / (b * TABLE1["methods"]), c["flops"] / 1e9,
                             c["flops"] * b * TABLE1["methods"] / s / 1e9, c["ops"],
                             c["prepare_s"]])
        cpu_total = {net: TABLE1["n"] * TABLE1["steps"] * c["step_s"][max(batches)]
                     / max(batches) for net, c in costs.items()}
        proj, _ = projection(costs, max(over_a, over_b), args.gpu_batch_images)
        sections += [
            ("Measured for the projection: Table 1 inversion steps at 224 px on this CPU "
             "(1 thread, random weights, BatchNorm folded)",
             md_table(["network", "layer", "images", "samples (x 5 methods)", "s / step",
                       "s / sample-step", "GFLOP / sample-step", "GFLOP/s achieved",
                       "operators / step", "build + prepare s"], meas)
             + f"\n\nOn this CPU (1 thread) Table 1 at ImageNet scale would take "
             f"{cpu_total[ra] / 3600:.0f} h (VGG19 direction) + {cpu_total[rb] / 3600:.0f} h "
             f"(DenseNet121 direction) = {(cpu_total[ra] + cpu_total[rb]) / 86400:.1f} days "
             f"(N = {TABLE1['n']}, {TABLE1['steps']} steps, batches of {max(batches)} images x "
             f"5 methods)."),
            (f"Projection: Table 1 at ImageNet scale (N = {TABLE1['n']}, five methods, "
             f"{TABLE1['steps']} steps, VGG19 -> DenseNet121 and DenseNet121 -> VGG19), one Ray "
             f"task per {args.gpu_batch_images} images x 5 methods", proj)]
        notes += [
            "Projection, what is measured: FLOPs and operators per step (counted here on the "
            "real protocol step), Ray's per-task overhead (the larger of (a) and (b), added to "
            "every task), model build + preparation per worker. What is assumed: the GPU's "
            "sustained rate (NVIDIA A100 datasheet peaks 19.5 TFLOP/s FP32 and 156 TFLOP/s "
            "TF32 times an assumed utilisation; PyTorch runs convolutions in TF32 on Ampere by "
            "default), a kernel-launch cost per operator (5-10 us, typical CUDA launch "
            "latency), and reading pretrained weights (VGG19 548 MB, DenseNet121 31 MB) at "
            f"{DISK_MB_S:.0f} MB/s. GPU step time = max(FLOPs / rate, operators x launch cost).",
            "Tasks are scheduled longest first onto the first free GPU (what Ray's queue does "
            "with equal tasks); 'ideal' divides the total work evenly. Each GPU worker loads "
            "both networks once (both directions); this is added once, as all workers load in "
            "parallel. Classification by B (one forward per method) and data loading are not "
            "counted: < 1 % of 300 inversion steps. Nor is starting the cluster and its "
            "worker processes (here, for a local Ray, the start-up column above; on a cluster "
            "started beforehand with `ray start`, once per node)."]
    text = report("scaling", "Sweep scaling: local vs Ray, and Table 1 at ImageNet scale",
                  sections, argparse.Namespace(**{**vars(args), "out": ""}), device, notes)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
