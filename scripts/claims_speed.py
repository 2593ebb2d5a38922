"""README claims of the speed round (issue 22): the dashboard in a browser, its messages,
the streaming design's settings and the 64 px step overhead; each a README snippet with
``{}`` where a number stands and one source per number (see claims_lib)."""

from __future__ import annotations

from claims_lib import Claim, md_agg, md_cell, text_num

BR = "results/bench_dashboard_browser_cpu.md"
MSG = "results/bench_dashboard_messages_cpu.md"
STREAM = "dashboard/streaming.py"
BENCH = "bench/dashboard_browser.py"
SMALL = "results/bench_overhead_small_cpu.md"
VSL = "results/bench_overhead_vs_library_cpu.md"
COMPILE = "results/bench_compile_step_cpu.md"
PG = {"page run": "Playground default"}
CMP = {"page run": "Compare default"}
SW = {"page run": "Sweeps 2x2"}


def _sessions():
    return text_num(BENCH, r'"--sessions", type=int, default={}')


def _br(col: str, where: dict, table: int = 0):
    return md_cell(BR, col, table, **where)


CLAIMS: list[Claim] = [
    Claim("On the 2-core machine with no\nother job (server, Chromium and the benchmark "
          "itself put the load at ~{}):",
          [text_num(BR, r"load average at the end {}")]),
    Claim("| Playground default | {} ({} s; library {} s with torch's {} threads), {} "
          "against the library on the page's {} thread | {} s |",
          [_br("ratio done / library (2)", PG), _br("click -> done s", PG),
           _br("library s (2 threads)", PG), text_num(BR, r"library s \({} threads\)"),
           _br("ratio done / library (1)", PG),
           text_num(BR, r"library s \({} thread, as the page\)"),
           _br("click -> first frame s", PG)]),
    Claim("| Compare default ({} schemes, one batch) | {} ({} against {} thread) | {} s |",
          [text_num(BR, r"\| {} schemes as one batch"), _br("ratio done / library (2)", CMP),
           _br("ratio done / library (1)", CMP),
           text_num(BR, r"library s \({} thread, as the page\)"),
           _br("click -> first frame s", CMP)]),
    Claim("| {}x2 sweep (until the script is idle) | {} |",
          [text_num(BR, r"\| Sweeps {}x2 \|"),
           _br("ratio done / library (2)", SW)]),
    Claim("| {} Playground sessions at once: all done / {} sequential runs | {}: not met |",
          [_sessions(), _sessions(),
           md_cell(BR, "ratio all / sequential (2)", 1, sessions="4")]),
    Claim("draws the latest at most {} times a second (plots every {} s)",
          [text_num(STREAM, r"redrawn at most {} times a second"),
           text_num(STREAM, r"PLOT_INTERVAL_S = {}")]),
    Claim("the default run (results/bench_dashboard_messages_cpu.md): {} messages and {} KiB "
          "per run,\nthe first pre-image received {} s after the click and decoded {} s "
          "after it.",
          [md_cell(MSG, "per run", 1, **{"message kind": "all"}),
           md_cell(MSG, "KiB per run", 1, **{"message kind": "all"}),
           md_cell(MSG, "median s", 0, **{"click ->": "first pre-image received"}),
           md_cell(MSG, "median s", 0, **{"click ->": "first pre-image decoded"})]),
    Claim("The {} sessions miss their target in the browsers, not in the server: the same {} "
          "runs through\nthe server's streaming at once, without browsers, take {}x four "
          "sequential runs, while the\n{} Chromium pages on the same {} cores used {} CPU "
          "seconds meanwhile",
          [_sessions(), _sessions(),
           md_cell(BR, "its ratio / sequential (2)", 1, sessions="4"), _sessions(),
           text_num(BR, r"AMD EPYC, {} logical cores"),
           md_cell(BR, "Chromium CPU s meanwhile", 1, sessions="4")]),
    Claim("Compare's grid ({} images a frame)",
          [text_num(BR, r"\| {} schemes as one batch")]),
    # ------------------------------------------------------------ the 64 px step overhead
    Claim("| overhead fmnist_vgg / fmnist_resnet {}, batch {} ([table](results/bench_overhead_"
          "small_cpu.md), load ~{}) | fmnist_vgg {}-{}, fmnist_resnet {}-{} (worst: Sobolev "
          "fluid-elastic); this round's step against the previous one, in one process: "
          "{}-{} -> {}-{}",
          [md_agg(SMALL, "size", max), text_num(SMALL, r"\* Batch {},"),
           text_num(SMALL, r"load average at the end {}"),
           md_agg(SMALL, "ratio", min, model="fmnist_vgg"),
           md_agg(SMALL, "ratio", max, model="fmnist_vgg"),
           md_agg(SMALL, "ratio", min, model="fmnist_resnet"),
           md_agg(SMALL, "ratio", max, model="fmnist_resnet"),
           md_agg(VSL, "ratio at 2555cd5", min), md_agg(VSL, "ratio at 2555cd5", max),
           md_agg(VSL, "ratio now", min), md_agg(VSL, "ratio now", max)]),
    Claim("slower per step than eager here ({} s cold compile)",
          [md_cell(COMPILE, "compile s", scheme="Gaussian fluid")]),
]
