#!/usr/bin/env python
"""Table 1 (Sec. 3.2 of the paper) at ImageNet scale on a GPU: measured per-step times and
the projection they give on 1, 8 and 64 such GPUs.

``bench/scaling.py`` projects from FLOPs and assumed A100 rates (no GPU there). This script
measures instead, on the GPU it runs on: the Table 1 inversion step (b images x five methods,
VGG19 from block5_conv1 and DenseNet121 from conv5_block12_0_bn, 224 px, random weights,
BatchNorm folded as in the protocol) for several batch sizes, and the time to build and
prepare each model. The projection schedules one Ray task per ``--batch-images`` images x 5
methods, longest first onto the first free GPU, adds Ray's per-task overhead measured in
results/scaling.md (``--task-overhead``) and reading the pretrained weights once per worker.

    python bench/table1_gpu.py --device cuda        # writes results/table1_projection_cuda.md
"""

from __future__ import annotations

from pathlib import Path

from common import RESULTS, base_parser, md_table, report, setup
from scaling import DISK_MB_S, TABLE1, imagenet_costs, schedule_rows

from viz_core.evaluation.protocol import IMAGENET_PAIR


def main() -> None:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=10, help="timed steps per batch size")
    p.add_argument("--batches", default="1,4,20", help="images per batch (x 5 methods)")
    p.add_argument("--batch-images", type=int, default=20, help="images per Ray task")
    p.add_argument("--task-overhead", type=float, default=0.013,
                   help="Ray's overhead per task, seconds (measured in results/scaling.md)")
    p.add_argument("--output", default="", help="report file (default "
                   "results/table1_projection_<device>.md)")
    args = p.parse_args()
    device = setup(args)
    batches = [int(b) for b in args.batches.split(",")]
    if args.batch_images not in batches:
        raise SystemExit("error: --batch-images must be one of --batches (it is measured)")
    methods = TABLE1["methods"]
    costs = {net: imagenet_costs(net, layer, batches, args.steps, device=str(device))
             for net, layer in IMAGENET_PAIR}
    meas = []
    for net, c in costs.items():
        for b, s in c["step_s"].items():
            meas.append([net, c["layer"], b, b * methods, s * 1000, s * 1000 / (b * methods),
                         c["flops"] * b * methods / s / 1e12, c["prepare_s"]])
    n, steps, b = TABLE1["n"], TABLE1["steps"], args.batch_images
    per_task = {net: steps * c["step_s"][b] + args.task_overhead for net, c in costs.items()}
    rows = schedule_rows(per_task, costs, b)
    sections = [
        (f"Measured: Table 1 inversion step at 224 px ({args.steps} steps, one "
         "timed run per batch size after a warm-up)",
         md_table(["network", "layer", "images", "samples (x 5 methods)", "ms / step",
                   "ms / sample-step", "TFLOP/s achieved", "build + prepare s"], meas)),
        (f"Projection from these times: Table 1 at ImageNet scale (N = {n}, five methods, "
         f"{steps} steps, both directions), one Ray task per {b} images x 5 methods",
         md_table(["GPUs", "VGG19 task s", "DenseNet121 task s", "ideal min",
                   "with scheduling + model loading min"], rows)),
    ]
    notes = [
        "Measured on the GPU named above: the per-step times and model preparation. Taken "
        f"from results/scaling.md: Ray's overhead per task ({args.task_overhead * 1000:.0f} "
        "ms, measured on a CPU machine; a GPU task's overhead is the same order). Assumed: "
        f"reading pretrained weights (VGG19 548 MB, DenseNet121 31 MB) at {DISK_MB_S:.0f} "
        "MB/s once per worker, and that every GPU of a cluster is as fast as this one.",
        "Classification by the other network (one forward per method) and data loading are "
        "not counted: < 1 % of 300 inversion steps.",
    ]
    out = Path(args.output) if args.output else RESULTS / f"table1_projection_{device.type}.md"
    text = report("table1_projection", "Table 1 at ImageNet scale: measured on a GPU",
                  sections, args.__class__(**{**vars(args), "out": ""}), device, notes)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
