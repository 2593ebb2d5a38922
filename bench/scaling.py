"""Scaling of a sweep: the same 48-cell sweep with the local executor and with Ray at 1 and 2
workers, Ray's per-task overhead, and a projection of Table 1 at ImageNet scale.

    python bench/scaling.py --steps 60

Measured: wall time of each executor (the Ray workers are started and warmed up before
the clock starts: a one-off cost, reported apart), the compute time the workers report
for their batches, and from both the per-task overhead. Projected (written as such): Table 1
(N = 1000 images, five methods, 300 steps, VGG19 and DenseNet121, both directions) from
per-step times measured here on the CPU with random weights, and from an assumed GPU per-step
time, on 1, 8 and 64 GPUs.
"""

from __future__ import annotations

import os
import tempfile
import time

from common import base_parser, engine_step_time, md_table, report, setup

from viz_core.config import RunConfig
from viz_core.kernels import KernelSpec
from viz_core.models import load_model
from viz_core.presets import scheme_grid
from viz_core.schemes import TABLE1_SCHEMES
from viz_core.sweeps import Axis, Sweep, run_sweep
from viz_core.sweeps.grouping import group_cells

#: Assumed per-step time (one engine step of one image x five methods) on one data-centre
#: GPU (A100 / H100 class, float32 with TF32): an assumption, not a measurement.
GPU_STEP_S = {"vgg19": 0.008, "densenet121": 0.010}
TABLE1 = {"n": 1000, "methods": 5, "steps": 300}


def _sweep(steps: int, batch: int) -> Sweep:
    base = RunConfig(model="fmnist_vgg", task="am", target=7, steps=steps, every=steps,
                     device="cpu", elastic=KernelSpec("sobolev", None, 11))
    return Sweep(base, [Axis.parse("gamma=0.05,0.1,0.2,0.4"),
                        Axis.parse("step_size=2,5,10,20"), Axis.parse("seed=0,1,2")],
                 judge="none", batch_size=batch)


def _warm(_: int) -> int:
    import viz_core.sweeps.cells  # noqa: F401  (imports torch and the engine in the worker)

    return os.getpid()


def _timed(sweep: Sweep, executor) -> dict:
    seconds: list[float] = []
    out = tempfile.mkdtemp(prefix="scaling-")
    t0 = time.perf_counter()
    run_sweep(sweep, out, executor, threads=1,
              progress=lambda p: p.result is not None and seconds.append(p.result.seconds))
    wall = time.perf_counter() - t0
    return {"wall": wall, "compute": sum(seconds), "tasks": len(seconds)}


def _ray(sweep: Sweep, workers: int) -> dict:
    import ray

    from viz_core.sweeps.executors import RayExecutor

    t0 = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
             configure_logging=False, runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    ex = RayExecutor()
    pids = set(ex.map(_warm, range(4 * workers)))
    start = time.perf_counter() - t0
    try:
        res = _timed(sweep, ex)
    finally:
        ray.shutdown()
    return {**res, "startup": start, "workers_seen": len(pids)}


def _per_step(name: str, layer: str | None, steps: int) -> float:
    model = load_model(name, weights="random")
    base = RunConfig(model=name, weights="random", task="am", layer=layer, channel=0,
                     steps=steps, every=steps, device="cpu")
    cfgs = scheme_grid(base, 11, schemes=TABLE1_SCHEMES)  # one image x the five methods
    engine_step_time(cfgs, model, 1)  # warm-up
    return engine_step_time(cfgs, model, steps)


def main() -> None:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60, help="steps per cell")
    p.add_argument("--batch", type=int, default=4, help="cells per batch (one Ray task)")
    p.add_argument("--imagenet-steps", type=int, default=2,
                   help="steps timed per ImageNet model for the projection (0: skip)")
    args = p.parse_args()
    args.threads = 1
    device = setup(args)
    sweep = _sweep(args.steps, args.batch)
    n_cells, n_tasks = len(sweep), len(group_cells(sweep.cells(), args.batch))
    local = _timed(sweep, "local")
    ray1, ray2 = _ray(sweep, 1), _ray(sweep, 2)
    cell = local["compute"] / n_cells
    rows = []
    runs = (("local", local, 1), ("Ray, 1 worker", ray1, 1), ("Ray, 2 workers", ray2, 2))
    for name, r, w in runs:
        over = max(0.0, (r["wall"] * w - r["compute"]) / r["tasks"])
        rows.append([name, r["wall"], r["wall"] / local["wall"], r["compute"] / n_cells,
                     over * 1000, over / (r["compute"] / r["tasks"]) * 100,
                     r.get("startup", 0.0)])
    ratio = ray2["wall"] / ray1["wall"]
    table = md_table(["executor", "wall s", "/ local", "cell compute s", "overhead ms/task",
                      "overhead % of a task", "start-up s (not in wall)"], rows)
    sections = [(f"The same {n_cells}-cell sweep ({n_tasks} tasks of {args.batch} cells, "
                 f"{args.steps} steps, fmnist_vgg, one torch thread per worker)", table),
                ("Ratios", f"Ray 2 workers / Ray 1 worker: **{ratio:.2f}** (target <= 0.65); "
                           f"Ray 1 worker / local: {ray1['wall'] / local['wall']:.2f}; mean cell "
                           f"compute time {cell * 1000:.0f} ms.")]
    notes = ["overhead per task = (wall x workers - sum of the tasks' own compute time) / "
             "tasks: scheduling, argument and result transfer, idle time at the end.",
             "The Ray workers are started and have imported torch before the clock starts "
             "(start-up column); a worker loads the model once and keeps it."]
    if args.imagenet_steps:
        t_vgg = _per_step("vgg19", "features.29", args.imagenet_steps)
        t_dense = _per_step("densenet121", None, args.imagenet_steps)
        n, s = TABLE1["n"], TABLE1["steps"]  # the five methods share each step (a batch)
        proj = []
        for label, per in (("CPU, measured here (1 thread)", {"vgg19": t_vgg,
                                                              "densenet121": t_dense}),
                           ("GPU, assumed", GPU_STEP_S)):
            total = n * s * (per["vgg19"] + per["densenet121"])  # both directions
            for gpus in (1, 8, 64):
                # one task per image; tasks spread evenly; per-task Ray overhead as measured
                over = rows[2][4] / 1000 * 2 * n / gpus
                proj.append([label, gpus, total / gpus / 3600, (total / gpus + over) / 3600])
        sections.append((
            "Projection: Table 1 at ImageNet scale (N = 1000, five methods, 300 steps, VGG19 "
            "block5_conv1 and DenseNet121, both directions)",
            f"Measured per-step time (one image x five methods, random weights, CPU, 1 thread): "
            f"VGG19 {t_vgg:.2f} s, DenseNet121 {t_dense:.2f} s. Assumed GPU per-step times: "
            f"VGG19 {GPU_STEP_S['vgg19'] * 1000:.0f} ms, DenseNet121 "
            f"{GPU_STEP_S['densenet121'] * 1000:.0f} ms (not measured: no GPU here).\n\n"
            + md_table(["per-step times", "GPUs (or CPU workers)", "compute h",
                        "with measured Ray overhead h"], proj)))
        notes.append("Projection = N x steps x (per-step VGG19 + per-step DenseNet121) / "
                     "workers, one Ray task per image; it assumes perfect balance (2000 "
                     "tasks over at most 64 workers) and ignores model loading (once per "
                     "worker).")
    report("scaling", "Sweep scaling: local vs Ray", sections, args, device, notes)


if __name__ == "__main__":
    main()
