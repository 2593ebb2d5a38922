"""The README's claims, section by section, each tied to the committed file it is
recomputed from (see ``scripts/check_claims.py`` for how to add one)."""

from __future__ import annotations

import math
import statistics

from claims_lib import (  # noqa: F401
    Claim,
    at_least,
    at_most,
    const,
    csv_agg,
    csv_cell,
    derived,
    json_value,
    md_agg,
    md_cell,
    md_rows,
    text_num,
)

T1 = "results/table1_offline.csv"
T1_TAU2 = "results/table1_offline_tau2.csv"
T1R = "results/table1_robust.csv"
REC = "results/recognisability_{}_am.csv"
DEPTH = "results/recognisability_{}_depth_inversion.csv"
VR, RR = "fmnist_vgg_robust", "fmnist_resnet_robust"
AB, BA = "fmnist_vgg -> fmnist_resnet", "fmnist_resnet -> fmnist_vgg"
ABR, BAR = f"{VR} -> {RR}", f"{RR} -> {VR}"
CARD = "assets/models/{}.json"
METHODS = {"total variation": "tv", "fluid demons, Sobolev": "fluid_sobolev",
           "fluid-elastic demons, Sobolev": "fluid_elastic_sobolev",
           "fluid demons, Gaussian": "fluid_gaussian",
           "fluid-elastic demons, Gaussian": "fluid_elastic_gaussian"}
PAPER = "viz_core/presets.py"
T1MD, T1RMD = "results/table1_offline.md", "results/table1_robust.md"
PRE = "results/offline_presets.md"
OV = "results/bench_overhead_cpu.md"   # the paper's Table 1, quoted in the preset's description


def card(name: str, *keys, scale: float = 1.0):
    src = json_value(CARD.format(name), *keys)
    return derived(f"{src.desc} x {scale:g}", lambda: src.value() * scale)


def t1(path: str, direction: str, method: str, col: str = "top1"):
    return csv_cell(path, col, direction=direction, method=method)


def paper(text: str):
    """A figure of the paper's Table 1 as the presets quote it, e.g. ``TV {}/``."""
    return text_num(PAPER, text)


def spread_of(path: str, direction: str):
    def fn() -> float:
        vals = [t1(path, direction, m).value() for m in METHODS.values()]
        return max(vals) - min(vals)
    return derived(f"{path}: max - min top-1 over the methods, {direction}", fn)


def robust_gaps():
    vals = []
    for d in (ABR, BAR):
        orig = t1(T1R, d, "original").value()
        vals += [abs(orig - t1(T1R, d, m).value()) for m in METHODS.values()]
    return vals


def fit(kind: str, size: int):
    from viz_core.kernels import fit_parameter

    return derived(f"viz_core.kernels.fit_parameter({kind!r}, {size})",
                   lambda: fit_parameter(kind, size))


CLAIMS: list[Claim] = [
    # ------------------------------------------------------------------ command line
    Claim("exit code {}; a run that diverges keeps its last finite pre-image and exits {}",
          [derived("viz_core.cli.EXIT_USAGE", lambda: __import__("viz_core.cli").cli.EXIT_USAGE),
           const(3, "viz_core/cli/visualize.py returns 3 for a diverged run")]),
    # ------------------------------------------------------------------ dashboard
    Claim("recognises in {} of 10 classes with every demons scheme",
          [csv_agg(REC.format("robust"), "recognised_mean", min, direction=ABR,
                   scheme="fluid_sobolev")]),
    Claim("Run streams the pre-image (at most 5 redraws a second)", []),
    Claim("(variance 2 k gamma)", []),
    Claim("Speed: the Playground's default run (200 steps) costs {}x the engine alone",
          [text_num("results/bench_dashboard_cpu.md", r"\| 200 \| 10 \| [\d.]+ \| [\d.]+ \| "
                    r"[\d.]+ \| {} \|")]),
    Claim("load ~{}", [text_num("results/bench_dashboard_cpu.md", r"load average at the end {}")]),
    Claim("wall clock {}x; target <= {}x",
          [text_num("results/bench_dashboard_cpu_wall.md", r"\| 200 \| 10 \| [\d.]+ \| [\d.]+ "
                    r"\| [\d.]+ \| {} \|"),
           text_num("results/bench_dashboard_cpu.md", r"Target: ratio <= {}")]),
    Claim("The page redraws at most 5 times a second", []),
    # ------------------------------------------------------------------ models
    *[Claim(f"| `{n}`{extra} | {{}}k | {{}} % ",
            [card(n, "parameters", scale=1e-3), card(n, "test_accuracy", scale=100)])
      for n, extra in (("fmnist_vgg", " (default) | VGG-style, 4 blocks of 2 conv-BN-ReLU"),
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
]


def md_row(rel: str, anchor: str, label: str) -> list[float]:
    """The numbers of the first Markdown table row starting with ``label`` after the text
    ``anchor`` in ``rel``."""
    import re

    from claims_lib import ROOT

    text = (ROOT / rel).read_text()
    start = text.index(anchor)
    line = next(ln for ln in text[start:].splitlines() if ln.startswith(f"| {label} |"))
    cells = [c.strip(" *%") for c in line.split("|")[2:-1]]
    return [float(c) for c in cells if re.fullmatch(r"-?[\d.]+", c)]


def row_agg(rel: str, anchor: str, label: str, agg=min):
    return derived(f"{rel}: {agg.__name__} of the row {label!r} after {anchor!r}",
                   lambda: agg(md_row(rel, anchor, label)))


def depth(pair: str, direction: str, layer: str, col: str):
    """The best scheme's ``col`` at ``layer`` (the row marked best)."""
    return csv_cell(DEPTH.format(pair), col, direction=direction, layer=layer, best="True")


def ci95(p_percent: float, n: int) -> float:
    p = p_percent / 100
    return 196 * math.sqrt(p * (1 - p) / n)


FE = ("fluid_elastic_sobolev", "fluid_elastic_gaussian")
FLUID = ("fluid_sobolev", "fluid_gaussian")


def agg_methods(path: str, col: str, methods, agg, directions=(AB, BA)):
    return derived(f"{path}: {agg.__name__}({col}) over {methods} and {directions}",
                   lambda: agg(t1(path, d, m, col).value() for d in directions
                               for m in methods))


CLAIMS += [
    # ------------------------------------------------------------------ evaluation
    Claim("300 iterations, tau 20, kernel 11, no octaves or jitter",
          []),
    Claim("(tau 20 taken literally, TV lambda {}, eps {}, 8-bit quantisation), a step-size "
          "sensitivity sweep (tau 2-20:",
          [json_value("results/table1_offline.json", "settings", "tv"),
           json_value("results/table1_offline.json", "settings", "tv_eps")]),
    Claim("PSNR to {}-{} digits",
          [text_num("results/README.md", r"to\s+{}-{}\s+digits", 1),
           text_num("results/README.md", r"to\s+{}-{}\s+digits", 2)]),
    Claim("is that command's N = {} run on the offline pair",
          [json_value("results/table1_offline.json", "settings", "n")]),
    Claim("{} min wall in float32 on this 2-core CPU",
          [derived("results/table1_offline.json: wall_seconds / 60", lambda: json_value(
              "results/table1_offline.json", "wall_seconds").value() / 60)]),
    Claim("| original images | {} / {} | {} / {} |",
          [t1(T1, AB, "original"), t1(T1, AB, "original", "top5"),
           t1(T1, BA, "original"), t1(T1, BA, "original", "top5")]),
    *[Claim(f"| {label} | {{}} / {{}} | {{}} / {{}} |",
            [t1(T1, AB, key), t1(T1, AB, key, "top5"), t1(T1, BA, key), t1(T1, BA, key, "top5")])
      for label, key in METHODS.items()],
    Claim("| *floor: flat mean-grey image* | *{} / {}* | *{} / {}* |",
          [text_num(T1MD, r"\| fmnist_vgg -> fmnist_resnet \| {}%"),
           text_num(T1MD, r"\| fmnist_vgg -> fmnist_resnet \| [\d.]+% \| {}%"),
           text_num(T1MD, r"\| fmnist_resnet -> fmnist_vgg \| {}%"),
           text_num(T1MD, r"\| fmnist_resnet -> fmnist_vgg \| [\d.]+% \| {}%")]),
    Claim("| *floor: chance* | *{} / {}* | *{} / {}* |",
          [const(10, "1 / 10 classes"), const(50, "5 / 10 classes")] * 2),
    Claim("the flat image scores PSNR {} dB and SSIM {} against the originals",
          [text_num("results/table1_offline.md", r"\| 50.0% \| {} \|"),
           text_num("results/table1_offline.md", r"\| 50.0% \| [\d.]+ \| {} \|")]),
    Claim("The committed reconstructions score {}-{} dB and SSIM {}-{}:",
          [csv_agg(T1, "psnr", min), csv_agg(T1, "psnr", max),
           derived(f"{T1}: min ssim", lambda: csv_agg(T1, "ssim", min).value()),
           derived(f"{T1}: max ssim of the reconstructions", lambda: max(
               t1(T1, d, m, "ssim").value() for d in (AB, BA) for m in METHODS.values()))]),
    Claim("by little (Sobolev {} dB, Gaussian {} dB; `fmnist_vgg`'s best is {} dB)",
          [t1(T1, BA, "fluid_elastic_sobolev", "psnr"),
           t1(T1, BA, "fluid_elastic_gaussian", "psnr"),
           derived(f"{T1}: max psnr of {AB}", lambda: max(
               t1(T1, AB, m, "psnr").value() for m in METHODS.values()))]),
    Claim("(fluid-elastic, {}-{} % top-1)",
          [agg_methods(T1, "top1", FE, min), agg_methods(T1, "top1", FE, max)]),
    Claim("| offline pair, tau 20 (N = {}) | offline pair, tau 2 (N = {}) |",
          [json_value("results/table1_offline.json", "settings", "n"),
           json_value("results/table1_offline_tau2.json", "settings", "n")]),
    Claim("| TV {} and fluid Sobolev {} **beat** fluid-elastic Sobolev {} | fluid-elastic "
          "Sobolev {} **beats** TV {} and fluid {}: the paper's order reversed |",
          [paper(r"TV {}/"), paper(r"fluid {}/"), paper(r"fluid-elastic {}/"),
           t1(T1, AB, "fluid_elastic_sobolev"), t1(T1, AB, "tv"), t1(T1, AB, "fluid_sobolev")]),
    Claim("| fluid-elastic Sobolev {} **beats** TV {} and fluid {} | fluid-elastic Sobolev {} "
          "beats TV {} and fluid {}: **the paper's order** |",
          [paper(r"DenseNet121 rec. -> VGG19:[\s\S]*?fluid-elastic {}/"),
           paper(r"DenseNet121 rec. -> VGG19: TV {}/"),
           paper(r"DenseNet121 rec. -> VGG19:[\s\S]*?fluid {}/"),
           t1(T1, BA, "fluid_elastic_sobolev"), t1(T1, BA, "tv"), t1(T1, BA, "fluid_sobolev")]),
    Claim("keep coarse scales (coarse share {}-{} vs {}-{} for fluid; high-frequency share "
          "{}-{} vs {}-{})",
          [agg_methods(T1, col, ms, agg) for col in ("coarse_fraction", "hf_fraction")
           for ms in (FE, FLUID) for agg in (min, max)]),
    # ------------------------------------------------------------------ robust Table 1
    Claim("`demons-viz evaluate --pair robust -n 1000\n--batch-images 100 --out results --name "
          "table1_robust`; {} min wall, two workers of {} min\nin all, on a lent NVIDIA H200",
          [derived("results/table1_robust.json: wall_seconds / 60", lambda: json_value(
              "results/table1_robust.json", "wall_seconds").value() / 60),
           derived("results/table1_robust.json: total_seconds / 60", lambda: json_value(
              "results/table1_robust.json", "total_seconds").value() / 60)]),
    Claim("top-1 of the other network, N = {}, deepest block",
          [json_value("results/table1_robust.json", "settings", "n")]),
    Claim("| original images | - | {} % | - | {} % |",
          [t1(T1R, ABR, "original"), t1(T1R, BAR, "original")]),
    *[Claim(row, [paper(rf"VGG19 rec. -> DenseNet121:[\s\S]*?{w} {{}}/"), t1(T1R, ABR, key),
                  paper(rf"DenseNet121 rec. -> VGG19:[\s\S]*?{w} {{}}/"), t1(T1R, BAR, key)])
      for row, w, key in (
          ("| total variation | {} % | {} % | {} % | {} % |", "TV", "tv"),
          ("| fluid demons, Sobolev | {} % | {} % | {} % | **{} %** |", "fluid", "fluid_sobolev"),
          ("| fluid-elastic demons, Sobolev | {} % | {} % | {} % | {} % |", "fluid-elastic",
           "fluid_elastic_sobolev"))],
    Claim("| fluid demons, Gaussian | - | **{} %** | - | {} % |",
          [t1(T1R, ABR, "fluid_gaussian"), t1(T1R, BAR, "fluid_gaussian")]),
    Claim("| fluid-elastic demons, Gaussian | - | {} % | - | {} % |",
          [t1(T1R, ABR, "fluid_elastic_gaussian"), t1(T1R, BAR, "fluid_elastic_gaussian")]),
    Claim("| *floor: flat image / chance* | *- / {} %* | *{} % / {} %* | *- / {} %* | "
          "*{} % / {} %* |",
          [const(0.1, "ImageNet: 1 / 1000 classes"),
           text_num(T1RMD, rf"\| {ABR} \| {{}}%"),
           const(10, "1 / 10 classes"), const(0.1, "ImageNet: 1 / 1000 classes"),
           text_num(T1RMD, rf"\| {BAR} \| {{}}%"),
           const(10, "1 / 10 classes")]),
    Claim("ImageNet (1,000 classes, chance {} %", [const(0.1, "1 / 1000 classes")]),
    Claim("(within {}-{} points; the best method reaches {} / {} %, target >= {} %)",
          [derived("table1_robust.csv: min |original - method| top-1", lambda: min(robust_gaps())),
           derived("table1_robust.csv: max |original - method| top-1", lambda: max(robust_gaps())),
           csv_agg(T1R, "top1", max, direction=ABR, method="fluid_gaussian"),
           derived(f"{T1R}: best method {BAR}", lambda: max(t1(T1R, BAR, m).value()
                                                          for m in METHODS.values())),
           at_least(derived(f"{T1R}: best method, worse direction", lambda: min(
               max(t1(T1R, d, m).value() for m in METHODS.values()) for d in (ABR, BAR))))]),
    Claim("their PSNR ({}-{} dB A -> B, {}-{} dB B -> A) beats the flat image's {} dB",
          [csv_agg(T1R, "psnr", min, direction=ABR), csv_agg(T1R, "psnr", max, direction=ABR),
           csv_agg(T1R, "psnr", min, direction=BAR), csv_agg(T1R, "psnr", max, direction=BAR),
           text_num("results/table1_robust.md", r"\| 50.0% \| {} \|")]),
    Claim("high-frequency share {}-{} against {}-{} for fluid and TV",
          [agg_methods(T1R, "hf_fraction", FE, min, (ABR, BAR)),
           agg_methods(T1R, "hf_fraction", FE, max, (ABR, BAR)),
           agg_methods(T1R, "hf_fraction", FLUID + ("tv",), min, (ABR, BAR)),
           agg_methods(T1R, "hf_fraction", FLUID + ("tv",), max, (ABR, BAR))]),
    Claim("the spread between methods ({} and {} points) is within the noise of\nN = {} (a 95 % "
          "interval of about +-{} points)",
          [spread_of(T1R, ABR), spread_of(T1R, BAR),
           json_value("results/table1_robust.json", "settings", "n"),
           derived("1.96 sqrt(p (1 - p) / N) at the originals' top-1", lambda: ci95(
               t1(T1R, ABR, "original").value(), 1000))]),
    Claim("fluid Gaussian leads\n({} %) and fluid-elastic Sobolev is second ({} %), ahead of TV "
          "and fluid Sobolev\n({} %)",
          [t1(T1R, ABR, "fluid_gaussian"), t1(T1R, ABR, "fluid_elastic_sobolev"),
           t1(T1R, ABR, "tv")]),
    Claim("fluid Sobolev leads ({} %) and fluid-elastic Gaussian is last ({} %)",
          [t1(T1R, BAR, "fluid_sobolev"), t1(T1R, BAR, "fluid_elastic_gaussian")]),
]

SC = "results/scaling.md"
PJ = "results/table1_projection_cuda.md"


def proj(rel: str, table: int, col: str, **where):
    return md_cell(rel, col, table, **where)


OPT = "optimistic (TF32, 40 % of 156 TFLOP/s, 5 us/op)"
PES = "pessimistic (FP32, 50 % of 19.5 TFLOP/s, 10 us/op)"
WITH = "with scheduling + model loading min"

CLAIMS += [
    # ------------------------------------------------------------------ recognisability
    Claim("the class\npre-images of every tuned scheme, {} classes x {} seeds, 8-bit",
          [csv_cell(REC.format("robust"), "classes", direction=ABR, scheme="plain"),
           csv_cell(REC.format("robust"), "seeds", direction=ABR, scheme="plain")]),
    Claim("judged by the other network\n(chance {} %)",
          [csv_cell(REC.format("robust"), "chance_top1", direction=ABR, scheme="plain")]),
    Claim("| {} of 10 (every scheme but plain, {}) | {} of 10 (every scheme) | {}-{} |",
          [csv_agg(REC.format("robust"), "recognised_mean", max, direction=ABR),
           csv_cell(REC.format("robust"), "recognised_mean", direction=ABR, scheme="plain"),
           csv_agg(REC.format("robust"), "recognised_mean", min, direction=BAR),
           csv_agg(REC.format("robust"), "conf_self", min),
           csv_agg(REC.format("robust"), "conf_self", max)]),
    Claim("| {} of 10 (fluid-elastic Sobolev; {} for fluid Sobolev) | {} of 10 (spectral), {} "
          "(fluid-elastic Sobolev) | {}-{} |",
          [csv_cell(REC.format("offline"), "recognised_mean", direction=AB,
                    scheme="fluid_elastic_sobolev"),
           csv_cell(REC.format("offline"), "recognised_mean", direction=AB,
                    scheme="fluid_sobolev"),
           csv_cell(REC.format("offline"), "recognised_mean", direction=BA,
                    scheme="fluid_spectral"),
           csv_cell(REC.format("offline"), "recognised_mean", direction=BA,
                    scheme="fluid_elastic_sobolev"),
           csv_agg(REC.format("offline"), "conf_self", min),
           csv_agg(REC.format("offline"), "conf_self", max)]),
    Claim("Inversion from the deepest block, best of four schemes, {} shipped samples, against "
          "the\nflat-image floor of {} dB / SSIM {} and chance ({} % top-1)",
          [depth("robust", ABR, "block4", "n"), depth("robust", ABR, "block4", "flat_psnr"),
           depth("robust", ABR, "block4", "flat_ssim"),
           depth("robust", ABR, "block4", "chance_top1")]),
    *[Claim(f"| `{m}` (`{layer}`) | {{}} | {{}} | {{}} % ({{}} %) |",
            [depth(pair, d, layer, c) for c in ("psnr", "ssim", "top1_other", "clean_top1_other")])
      for m, layer, pair, d in (("fmnist_vgg", "block4", "offline", AB),
                                (VR, "block4", "robust", ABR),
                                ("fmnist_resnet", "layer4", "offline", BA),
                                (RR, "layer4", "robust", BAR))],
    Claim("its robust twin\ninverts it to {} dB. From `block2`, the tuned presets (Adam, TV) "
          "reach {} dB",
          [depth("robust", ABR, "block4", "psnr"),
           md_cell("results/inversion_psnr_fmnist_vgg.md", "mean PSNR dB", method="TV")]),
    Claim("target-class probability >= {} (fmnist_vgg) and >= {} (fmnist_resnet)",
          [at_least(row_agg("results/offline_presets.md",
                            "fmnist_vgg: activation maximization, P(target", "**min (uint8)**")),
           at_least(row_agg("results/offline_presets.md",
                            "fmnist_resnet: activation maximization, P(target",
                            "**min (uint8)**"))]),
    Claim("loss of {} on average (max {}) with the best scheme (fluid Sobolev)",
          [text_num(PRE, r"Best scheme: Sobolev fluid \(mean {}"),
           text_num(PRE, r"Best scheme: Sobolev fluid \(mean [\d.]+, max {}")]),
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
    Claim("| plain {}, kernels and TV {}-{} ({}-{} ms on a {} ms step) |",
          [md_cell("results/bench_overhead_cpu.md", "ratio", model="fmnist_vgg", scheme="plain"),
           *[derived(f"{OV}: {f.__name__} ratio, fmnist_vgg schemes", lambda f=f: f(
               float(r["ratio"]) for r in md_rows(OV)
               if r["model"] == "fmnist_vgg" and r["scheme"] != "plain")) for f in (min, max)],
           *[derived(f"bench_overhead_cpu.md: {f.__name__} overhead ms, fmnist_vgg", lambda f=f: f(
               float(r["overhead ms"]) for r in md_rows("results/bench_overhead_cpu.md")
               if r["model"] == "fmnist_vgg")) for f in (min, max)],
           md_agg("results/bench_overhead_cpu.md", "bare fwd+bwd ms", max, model="fmnist_vgg")]),
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
]

CLAIMS += [
    Claim("Latest CPU figures (AMD EPYC, {} cores, torch 2.14.1; process CPU time with one "
          "thread,\nbecause the shared 2-core machine made wall-clock and 2-thread figures",
          [text_num("results/bench_overhead_cpu.md", r"AMD EPYC, {} logical cores")]),
    Claim("| overhead VGG19 / ResNet50 224 (", []),
    Claim("| overhead fmnist_vgg 64, batch 1 |", []),
    Claim("the 224 px ones are compute bound at batch 1", []),
    Claim("| batching, 6 schemes as one batch / 6 runs |", []),
]

SAN = "results/sanity_{}.json"


def _sanity(model: str) -> dict:
    import json

    from claims_lib import ROOT

    return json.loads((ROOT / SAN.format(model)).read_text())


def sanity_val(model: str, desc: str, fn):
    return derived(f"{SAN.format(model)}: {desc}", lambda: fn(_sanity(model)))


def _band(d: dict, scheme: str, mode: str, step: int, measure: str, stat: str = "mean"):
    return next(r[measure][stat] for r in d["summary"] if r["scheme"] == scheme
                and r["mode"] == mode and r["step"] == step)


def _kinds(d: dict, kind: str) -> int:
    return sum(v[0] == kind for v in d["verdicts"].values())


def _first_step_1(d: dict) -> int:
    return sum(v[0] == "weights" and "from step 1 " in v[1] for v in d["verdicts"].values())


def _last(d: dict) -> int:
    return len(d["cascade"])


CLAIMS += [
    Claim("the BatchNorm statistics of a\nrandomised group are re-estimated on the {} shipped "
          "samples",
          [sanity_val("fmnist_vgg", "n_images", lambda d: d["n_images"])]),
    Claim("Over {} seeds (start noise,\njitter and random weights), {} schemes and {} classes "
          "({} steps)",
          [sanity_val("fmnist_vgg", "seeds", lambda d: d["seeds"]),
           sanity_val("fmnist_vgg", "schemes", lambda d: len(d["schemes"])),
           sanity_val("fmnist_vgg", "classes", lambda d: len(d["classes"])),
           sanity_val("fmnist_vgg", "steps", lambda d: d["steps"])]),
    Claim("| `fmnist_vgg_robust` | {} of {} schemes | - | {} / {} / {} |",
          [sanity_val(VR, "verdicts 'weights'", lambda d: _kinds(d, "weights")),
           sanity_val(VR, "schemes", lambda d: len(d["schemes"])),
           sanity_val(VR, "logit spread, trained", lambda d: d["logit_spread"]["trained"]),
           sanity_val(VR, "logit spread, all random, BN reestimate",
                      lambda d: d["logit_spread"]["all random, BN reestimate"]),
           sanity_val(VR, "logit spread, all random, BN reset",
                      lambda d: d["logit_spread"]["all random, BN reset"])]),
    Claim("| `fmnist_vgg` | {} of {} schemes | plain: two trained seeds are already unlike "
          "(SSIM {}) | {} / {} / {} |",
          [sanity_val("fmnist_vgg", "verdicts 'weights'", lambda d: _kinds(d, "weights")),
           sanity_val("fmnist_vgg", "schemes", lambda d: len(d["schemes"])),
           sanity_val("fmnist_vgg", "plain's seed-to-seed SSIM",
                      lambda d: _band(d, "plain", "seed", 0, "ssim")),
           sanity_val("fmnist_vgg", "logit spread, trained",
                      lambda d: d["logit_spread"]["trained"]),
           sanity_val("fmnist_vgg", "logit spread, all random, BN reestimate",
                      lambda d: d["logit_spread"]["all random, BN reestimate"]),
           sanity_val("fmnist_vgg", "logit spread, all random, BN reset",
                      lambda d: d["logit_spread"]["all random, BN reset"])]),
    Claim("falls to\n{} or less for every scheme of both models (two trained seeds: {}-{} on "
          "`fmnist_vgg`,\n{}-{} on `fmnist_vgg_robust`); it is below the seed-to-seed band once "
          "`fc` alone is\nrandom for {} of {} schemes of the robust model and {} of the {} "
          "decided ones of `fmnist_vgg`",
          [at_most(derived("max over both models and schemes of the full cascade's Spearman",
                           lambda: max(_band(_sanity(m), s, "cascade", _last(_sanity(m)),
                                             "spearman") for m in ("fmnist_vgg", VR)
                                       for s in _sanity(m)["schemes"])))]
          + [sanity_val(m, f"{f.__name__} seed-to-seed Spearman", lambda d, f=f: f(
              _band(d, s, "seed", 0, "spearman") for s in d["schemes"]))
             for m in ("fmnist_vgg", VR) for f in (min, max)]
          + [sanity_val(VR, "schemes below the band from step 1", _first_step_1),
             sanity_val(VR, "schemes", lambda d: len(d["schemes"])),
             sanity_val("fmnist_vgg", "schemes below the band from step 1", _first_step_1),
             sanity_val("fmnist_vgg", "verdicts 'weights'", lambda d: _kinds(d, "weights"))]),
    Claim("on `fmnist_vgg` fluid-elastic Gaussian keeps an SSIM of {} with every layer random\n"
          "against {} between two trained seeds",
          [sanity_val("fmnist_vgg", "fluid_elastic_gaussian, full cascade SSIM", lambda d: _band(
              d, "fluid_elastic_gaussian", "cascade", _last(d), "ssim")),
           sanity_val("fmnist_vgg", "fluid_elastic_gaussian, seed-to-seed SSIM", lambda d: _band(
               d, "fluid_elastic_gaussian", "seed", 0, "ssim"))]),
]


def _gaps(path: str, direction: str, sign: int) -> list[float]:
    fe = t1(path, direction, "fluid_elastic_sobolev").value()
    return [sign * (fe - t1(path, direction, m).value()) for m in ("tv", "fluid_sobolev")]


CLAIMS += [
    Claim("| TV {} and fluid {} beat fluid-elastic {}: **the paper's order** |",
          [t1(T1_TAU2, AB, "tv"), t1(T1_TAU2, AB, "fluid_sobolev"),
           t1(T1_TAU2, AB, "fluid_elastic_sobolev")]),
    Claim("| TV {} and fluid {} beat fluid-elastic {}: reversed |",
          [t1(T1_TAU2, BA, "tv"), t1(T1_TAU2, BA, "fluid_sobolev"),
           t1(T1_TAU2, BA, "fluid_elastic_sobolev")]),
    Claim("At tau 20 the offline pair reproduces the paper's DenseNet121 -> VGG19 column\n"
          "(fluid-elastic wins by {}-{} points at N = {}) and reverses the other one. At tau 2",
          [derived(f"{T1}: min gap fluid-elastic Sobolev - TV / fluid, {BA}",
                   lambda: min(_gaps(T1, BA, 1))),
           derived(f"{T1}: max gap fluid-elastic Sobolev - TV / fluid, {BA}",
                   lambda: max(_gaps(T1, BA, 1))),
           json_value("results/table1_offline.json", "settings", "n")]),
    Claim("paper's VGG19 -> DenseNet121 order, but by {} points at N = {}, where each "
          "figure's 95 %\ninterval is about +-{} points",
          [derived(f"{T1_TAU2}: gap TV / fluid - fluid-elastic Sobolev, {AB} (both)",
                   lambda: min(_gaps(T1_TAU2, AB, -1)) if len(set(_gaps(T1_TAU2, AB, -1))) == 1
                   else float("nan")),
           json_value("results/table1_offline_tau2.json", "settings", "n"),
           derived("1.96 sqrt(p (1 - p) / N) at the largest of these figures' p <= 0.5",
                   lambda: max(ci95(t1(T1_TAU2, AB, m).value(), 100)
                               for m in ("tv", "fluid_sobolev", "fluid_elastic_sobolev")))]),
]
