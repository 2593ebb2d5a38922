"""Sources and helpers of the README's claims (:mod:`claims`, :mod:`claims_results`):
the committed files, the paper's Table 1 as the presets quote it, and small
computations over them."""

from __future__ import annotations

import math

from claims_lib import (
    csv_cell,
    derived,
    json_value,
    md_cell,
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
PAPER = "viz_core/presets.py"  # the paper's Table 1 (PAPER_TABLE1)
T1MD, T1RMD = "results/table1_offline.md", "results/table1_robust.md"
PRE = "results/offline_presets.md"
OV = "results/bench_overhead_cpu.md"   # the paper's Table 1, quoted in the preset's description


def card(name: str, *keys, scale: float = 1.0):
    src = json_value(CARD.format(name), *keys)
    return derived(f"{src.desc} x {scale:g}", lambda: src.value() * scale)


def t1(path: str, direction: str, method: str, col: str = "top1"):
    return csv_cell(path, col, direction=direction, method=method)


def paper(rec: str, method: str):
    """A top-1 figure of the paper's Table 1 as the presets hold it (``PAPER_TABLE1`` in
    viz_core/presets.py): ``rec`` the reconstructing network, ``method`` a scheme key."""
    def fn() -> float:
        from viz_core.presets import PAPER_TABLE1
        return PAPER_TABLE1[rec][method][0]
    return derived(f"{PAPER}: PAPER_TABLE1[{rec!r}][{method!r}] top-1", fn)


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



SC = "results/scaling.md"
PJ = "results/table1_projection_cuda.md"


def proj(rel: str, table: int, col: str, **where):
    return md_cell(rel, col, table, **where)


OPT = "optimistic (TF32, 40 % of 156 TFLOP/s, 5 us/op)"
PES = "pessimistic (FP32, 50 % of 19.5 TFLOP/s, 10 us/op)"
WITH = "with scheduling + model loading min"


SAN = "results/sanity_{}.json"


def sanity_json(model: str) -> dict:
    import json

    from claims_lib import ROOT

    return json.loads((ROOT / SAN.format(model)).read_text())


def sanity_val(model: str, desc: str, fn):
    return derived(f"{SAN.format(model)}: {desc}", lambda: fn(sanity_json(model)))


def band(d: dict, scheme: str, mode: str, step: int, measure: str, stat: str = "mean"):
    return next(r[measure][stat] for r in d["summary"] if r["scheme"] == scheme
                and r["mode"] == mode and r["step"] == step)


def kinds(d: dict, kind: str) -> int:
    return sum(v[0] == kind for v in d["verdicts"].values())


def first_step_1(d: dict) -> int:
    return sum(v[0] == "weights" and "from step 1 " in v[1] for v in d["verdicts"].values())


def last_step(d: dict) -> int:
    return len(d["cascade"])




def gaps(path: str, direction: str, sign: int) -> list[float]:
    fe = t1(path, direction, "fluid_elastic_sobolev").value()
    return [sign * (fe - t1(path, direction, m).value()) for m in ("tv", "fluid_sobolev")]
