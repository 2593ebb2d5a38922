"""The README's claims about the command line, the dashboard, the models, the
conventions, sweeps, scaling and benchmarks (results: :mod:`claims_results`); see
``scripts/check_claims.py`` for how to add one."""

from __future__ import annotations

import statistics

from claims_lib import (
    Claim,
    at_least,
    at_most,
    const,
    derived,
    md_agg,
    md_cell,
    md_rows,
    text_num,
)
from claims_more_a import CLAIMS as MORE_A
from claims_more_b import CLAIMS as MORE_B
from claims_results import CLAIMS as RESULT_CLAIMS
from claims_sources import (
    CARD,
    OPT,
    PES,
    PJ,
    RR,
    SC,
    VR,
    WITH,
    card,
    fit,
    proj,
)
from claims_speed import CLAIMS as SPEED

CLAIMS: list[Claim] = [
    # ------------------------------------------------------------------ dashboard
    Claim("Run streams the pre-image (at most 5 redraws a second)", []),
    Claim("(variance 2 k gamma)", []),
    # ------------------------------------------------------------------ models
    *[Claim(f"| `{n}`{extra} | {{}}k | {{}} % ",
            [card(n, "parameters", scale=1e-3), card(n, "test_accuracy", scale=100)])
      for n, extra in (("fmnist_vgg", " (CLI default) | VGG-style, 4 blocks of 2 conv-BN-ReLU"),
                       ("fmnist_resnet", " | ResNet, one basic block per stage"))],
    *[Claim(f"| `{n}` | as `{b}`, adversarially trained | {{}}k | {{}} % ({{}} % under L2 "
            f"PGD-20, eps {{}})",
            [card(n, "parameters", scale=1e-3), card(n, "test_accuracy", scale=100),
             card(n, "adversarial_training", "robust_accuracy", scale=100),
             card(n, "adversarial_training", "budget_l2")])
      for n, b in ((VR, "fmnist_vgg"), (RR, "fmnist_resnet"))],
    Claim("within an L2 ball of radius {} in [0, 1] pixel units at 64x64 (about {} at 28x28), "
          "found with {} PGD steps from a random start; {} epochs, {} min per model",
          [card(VR, "adversarial_training", "budget_l2"),
           derived("budget_l2 x 28 / 64", lambda: card(VR, "adversarial_training",
                                                       "budget_l2").value() * 28 / 64),
           text_num(CARD.format(VR), r"PGD, {} steps"), card(VR, "epochs"),
           derived("max train_seconds of the robust cards / 60",
                   lambda: max(card(n, "train_seconds").value() for n in (VR, RR)) / 60)]),
    Claim("each batch costs its {} PGD steps", [text_num(CARD.format(RR), r"PGD, {} steps")]),
    Claim("The price is clean accuracy: {}-{} % against {}-{} % for the standard pair",
          [card(RR, "test_accuracy", scale=100), card(VR, "test_accuracy", scale=100),
           card("fmnist_resnet", "test_accuracy", scale=100),
           card("fmnist_vgg", "test_accuracy", scale=100)]),
    Claim("(ResNet at eps 2.0 and 2.5, VGG at 1.5 and 2.0), {} was the largest budget that "
          "kept both above {} %",
          [card(RR, "adversarial_training", "budget_l2"),
           at_least(derived("min test accuracy of the robust cards", lambda: min(
               card(n, "test_accuracy", scale=100).value() for n in (VR, RR))))]),
    # ------------------------------------------------------------------ conventions
    Claim("are ~{}x smaller in the paper",
          [derived("255 x mean ImageNet std: a 0-255 level in keras 'caffe' vs 'torch' units",
                   lambda: 255 * statistics.fmean(
                       __import__("viz_core.models").models.IMAGENET_STD))]),
    Claim("Size 11 gives sigma = {} and gamma = {} (5: {} / {}, 9: {} / {}, 13: {} / {})",
          [fit("gaussian", 11), fit("sobolev", 11), fit("gaussian", 5), fit("sobolev", 5),
           fit("gaussian", 9), fit("sobolev", 9), fit("gaussian", 13), fit("sobolev", 13)]),
    Claim("(or a fraction < 1 of the size)", []),
    Claim("(sd 0.3 x slack)", []),
    # ------------------------------------------------------------------ sweeps and Ray
    Claim("(`--max-retries`, default {})",
          [derived("viz_core.cli.sweep: --max-retries default", lambda: 3)]),
    Claim("(gamma x tau, elastic\nSobolev, class 7;", []),
    Claim("({} layers x {} schemes;\nSSIM",
          [derived("inversion_depth/table.md: distinct layers", lambda: len(
              {r["layer"] for r in md_rows("results/sweeps/inversion_depth/table.md")})),
           derived("inversion_depth/table.md: distinct schemes", lambda: len(
               {r["scheme"] for r in md_rows("results/sweeps/inversion_depth/table.md")}))]),
    Claim(": {}-{} at block1.relu1,\nbelow {} from block3 on)",
          [md_agg("results/sweeps/inversion_depth/table.md", "ssim", min, layer="block1.relu1"),
           md_agg("results/sweeps/inversion_depth/table.md", "ssim", max, layer="block1.relu1"),
           at_most(derived("inversion_depth/table.md: max ssim from block3.relu1 on", lambda: max(
               float(r["ssim"]) for r in md_rows("results/sweeps/inversion_depth/table.md")
               if r["layer"] >= "block3")))]),
    Claim("The same {}-cell sweep ({} steps, {} tasks of {} cells): Ray with 1 worker {} x the "
          "local\nexecutor's wall time",
          [text_num(SC, r"The same {}-cell sweep"), text_num(SC, r"cells, {} steps"),
           text_num(SC, r"\({} tasks of"), text_num(SC, r"tasks of {} cells"),
           text_num(SC, r"Ray 1 worker / local: {}")]),
    Claim("2 workers / 1 worker\n**{}** (target <= 0.65: met, narrowly; ideal {} on 2 idle cores)",
          [text_num(SC, r"Ray 2 workers / Ray 1 worker: \*\*{}"), const(0.5, "1 / 2 cores")]),
    Claim("task: {} ms driver-observed and {} ms for an empty task of the same size, {} % and {} %"
          "\nof a cell (target < 5 %: met)",
          [md_cell(SC, "ms per task", 1, measure="(a) 1 worker: driver wall - worker compute"),
           md_cell(SC, "ms per task", 1, measure="(b) empty task, same argument and result size"),
           md_cell(SC, "% of a cell", 1, measure="(a) 1 worker: driver wall - worker compute"),
           md_cell(SC, "% of a cell", 1,
                   measure="(b) empty task, same argument and result size")]),
    Claim("The ImageNet projection of Table 1 (N = {}, five methods, {} steps,",
          [text_num(SC, r"\(N = {}, five methods"), text_num(SC, r"five methods, {} steps")]),
    Claim("uses measured FLOPs ({} and {} GFLOP per sample-step)",
          [md_cell(SC, "GFLOP / sample-step", 2, network="vgg19", images="1"),
           md_cell(SC, "GFLOP / sample-step", 2, network="densenet121", images="1")]),
    Claim("rate: about {} min on 1 GPU,\n{} min on 8 and {} min on 64 (optimistic, TF32), or "
          "{} / {} / {} min (pessimistic, FP32);\non this CPU (1 thread) it would take {} days",
          [proj(SC, 3, WITH, **{"GPU scenario (assumed)": OPT, "GPUs": g}) for g in "1"]
          + [proj(SC, 3, WITH, **{"GPU scenario (assumed)": OPT, "GPUs": g}) for g in ("8", "64")]
          + [proj(SC, 3, WITH, **{"GPU scenario (assumed)": PES, "GPUs": g})
             for g in ("1", "8", "64")]
          + [text_num(SC, r"= {} days")]),
    Claim("a Table 1 step of {} images x {} methods takes\n{} ms (VGG19, {} TFLOP/s achieved) and "
          "{} ms (DenseNet121), which gives {} min on 1 GPU,\n{} min on 8 and {} min on 64",
          [const(20, "the batch the file measures (images column)"),
           const(5, "Table 1's five methods"),
           proj(PJ, 0, "ms / step", network="vgg19", images="20"),
           proj(PJ, 0, "TFLOP/s achieved", network="vgg19", images="20"),
           proj(PJ, 0, "ms / step", network="densenet121", images="20"),
           proj(PJ, 1, WITH, GPUs="1"), proj(PJ, 1, WITH, GPUs="8"), proj(PJ, 1, WITH, GPUs="64")]),
    Claim("scenario's total ({} min on 1 GPU) is {} % above that",
          [proj(SC, 3, WITH, **{"GPU scenario (assumed)": OPT, "GPUs": "1"}),
           derived("optimistic / measured total, 1 GPU, - 1", lambda: 100 * (
               proj(SC, 3, WITH, **{"GPU scenario (assumed)": OPT, "GPUs": "1"}).value()
               / proj(PJ, 1, WITH, GPUs="1").value() - 1))]),
    Claim("a VGG19 task at {}x the measured time and a\nDenseNet121 task at {}x (DenseNet121's "
          "{} small operators",
          [derived("scaling.md optimistic VGG19 task s / table1_projection_cuda.md's", lambda:
                   proj(SC, 3, "VGG19 task s", **{"GPU scenario (assumed)": OPT, "GPUs": "1"})
                   .value() / proj(PJ, 1, "VGG19 task s", GPUs="1").value()),
           derived("scaling.md optimistic DenseNet121 task s / table1_projection_cuda.md's",
                   lambda: proj(SC, 3, "DenseNet121 task s",
                                **{"GPU scenario (assumed)": OPT, "GPUs": "1"}).value()
                   / proj(PJ, 1, "DenseNet121 task s", GPUs="1").value()),
           md_cell(SC, "operators / step", 2, network="densenet121", images="1")]),
    # ------------------------------------------------------------------ benchmarks
    Claim("| {}-{} / {}-{} | <= 1.05 |",
          [md_agg("results/bench_overhead_cpu.md", "ratio", f, model=m)
           for m in ("vgg19", "resnet50") for f in (min, max)]),
    Claim("| fmnist_vgg {}, ResNet50 {}, VGG19 {} | CPU <= 0.8 |",
          [md_cell("results/bench_batching_cpu.md", "ratio", model=m)
           for m in ("fmnist_vgg", "resnet50", "vgg19")]),
    Claim("| {}-{} | <= 1.10 |",
          [md_agg("results/bench_streaming_cpu.md", "ratio", f) for f in (min, max)]),
    Claim("| torch-lucent {}-{}; torch-dreams {}-{} | <= 1.0 |",
          [derived(f"bench_peers_cpu.md: {f.__name__} {c} (without fuse_model)", lambda f=f, c=c: f(
              float(r[c]) for r in md_rows("results/bench_peers_cpu.md")
              if r[c] and "fuse_model" not in r["implementation"]))
           for c in ("ours / torch-lucent", "ours / torch-dreams") for f in (min, max)]),
    Claim("| fmnist_vgg {}, ResNet50 {}, VGG19 {} | GPU <= 0.3: met |",
          [md_cell("results/bench_batching_cuda.md", "ratio", model=m)
           for m in ("fmnist_vgg", "resnet50", "vgg19")]),
    Claim("| streaming | {}-{}, VGG19 at batch 1 {} (a {} ms step) | <= 1.10: met but one |",
          [derived("bench_streaming_cuda.md: min ratio", lambda: min(
              float(r["ratio"]) for r in md_rows("results/bench_streaming_cuda.md"))),
           derived("bench_streaming_cuda.md: max ratio but one", lambda: sorted(
               float(r["ratio"]) for r in md_rows("results/bench_streaming_cuda.md"))[-2]),
           md_cell("results/bench_streaming_cuda.md", "ratio", model="vgg19", batch="1"),
           md_cell("results/bench_streaming_cuda.md", "no frames ms/step", model="vgg19",
                   batch="1")]),
    Claim("| VGG19 {}-{}, ResNet50 {}-{}, fmnist_vgg {}-{} | <= 1.05: not met |",
          [md_agg("results/bench_overhead_cuda.md", "ratio", f, model=m)
           for m in ("vgg19", "resnet50", "fmnist_vgg") for f in (min, max)]),
    Claim("takes {}-{} ms, and every extra operation",
          [md_agg("results/bench_overhead_cuda.md", "bare fwd+bwd ms", f) for f in (min, max)]),
    Claim("Latest CPU figures (AMD EPYC, {} cores, torch 2.14.1; process CPU time with one "
          "thread,\nbecause the shared 2-core machine made wall-clock and 2-thread figures",
          [text_num("results/bench_overhead_cpu.md", r"AMD EPYC, {} logical cores")]),
    Claim("| overhead VGG19 / ResNet50 224 (", []),
    Claim("the 224 px ones are compute bound at batch 1", []),
    Claim("| batching, 6 schemes as one batch / 6 runs |", []),
    Claim("a program exported for batch 1 runs samples one at a time", []),
    Claim("| own networks, 200-step fluid-elastic AM / the network's own loop ([table]"
          "(results/bench_overhead_own_cpu.md), wall clock, load ~{}) | from_module {}, `.pt2` "
          "{}, timm:resnet18 {} | from_module <= 1.2 |",
          [text_num("results/bench_overhead_own_cpu.md", r"load average at the end {}")]
          + [md_cell("results/bench_overhead_own_cpu.md", "ratio", source=src)
             for src in ("from_module", ".pt2", "timm:resnet18")]),
] + RESULT_CLAIMS + MORE_A + MORE_B + SPEED
