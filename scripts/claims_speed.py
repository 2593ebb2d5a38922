"""README claims of the speed round (issue 22): the dashboard in a browser, its messages,
the streaming design's settings and the 64 px step overhead; each a README snippet with
``{}`` where a number stands and one source per number (see claims_lib)."""

from __future__ import annotations

from claims_lib import Claim, Src, const, derived, md_agg, md_cell, text_num

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


_ONE, _OWN = "the same (default) run", "4 classes, one each"
SAME = {"sessions": "4", "sessions' setting": _ONE, "Chromium's priority": "the server's"}
NICE = {"sessions": "4", "sessions' setting": _ONE, "Chromium's priority": "nice 19"}
DIFF = {"sessions": "4", "sessions' setting": _OWN, "Chromium's priority": "the server's"}
DIFF_NICE = {"sessions": "4", "sessions' setting": _OWN, "Chromium's priority": "nice 19"}
GC = "results/bench_script_gc_cpu.md"
SLOW = "results/bench_slow_browser_cpu.md"


def _slow(col: str, condition: str):
    return md_cell(SLOW, col, 0, condition=condition)


_NORMAL, _LOADED = "normal", "loaded machine (1 busy process)"
_SLOWB = "slow browser (6x slower renderer)"


def _conc(col: str, where: dict):
    return md_cell(BR, col, 1, **where)


def _cpu(col: str, setting: str = _OWN):
    return md_cell(BR, col, 2, **{"Chromium's priority": "the server's",
                                  "sessions' setting": setting})


def _above(wheres: list[dict]):
    """How many of the concurrent sessions' ratios (against 2 and 1 threads) in the rows
    ``wheres`` exceed the target."""
    target = text_num(BR, r"all done within {}x")
    cols = ("ratio all / sequential (2)", "ratio all / sequential (1)")
    return derived(f"how many of {cols} in rows {wheres} exceed the target",
                   lambda: float(sum(_conc(c, w).fn() > target.fn()
                                     for w in wheres for c in cols)))


FIRST = "results/bench_first_run_cpu.md"


def _first(col: str, model: str):
    return md_cell(FIRST, col, 0, model=model)


_AT, _ALONG = ("Run -> first frame s, worker opens it at the run",
               "the same, worker opened it alongside the server")

FIRST_BR = "results/bench_first_run_browser_cpu.md"


def _first_br(col: str, model: str):
    return md_cell(FIRST_BR, col, 0, model=model)


def _spinner_longer():
    """How much longer VGG19's page took to open with the worker opening it alongside."""
    a = _first_br("page open s, alone", "vgg19")
    b = _first_br("the same, the worker alongside", "vgg19")
    return Src(f"{b.desc} - {a.desc}", lambda: b.value() - a.value())


CLAIMS: list[Claim] = [
    Claim("--browser --repeats {}`, results/bench_first_run_browser_cpu.md), click -> first "
          "frame took\n{} s instead of {} s for VGG19, while the page's model spinner lasted "
          "{} s longer",
          [text_num(FIRST_BR, r"first_run.py --browser --repeats {}`"),
           _first_br(_ALONG, "vgg19"), _first_br(_AT, "vgg19"), _spinner_longer()]),
    Claim("ResNet50 opens quickly either way ({}\nagainst {} s)",
          [_first_br(_ALONG, "resnet50"), _first_br(_AT, "resnet50")]),
    Claim("its first frame came {} s after the submit instead of {} s for VGG19 (random "
          "weights),\n{} s instead of {} s for ResNet50 (`python bench/first_run.py "
          "--repeats {}`",
          [_first(_ALONG, "vgg19"), _first(_AT, "vgg19"), _first(_ALONG, "resnet50"),
           _first(_AT, "resnet50"), text_num(FIRST, r"first_run.py --repeats {}`")]),
    Claim("the Run click {} s after the server had the model",
          [text_num(FIRST, r"the Run click {} s after")]),
    Claim("bench/slow_browser.py --repeats {}`, results/bench_slow_browser_cpu.md",
          [text_num(SLOW, r"slow_browser.py --repeats {}`")]),
    Claim("condition, medians of\n{}): the engine's own time (\"done in\") was {}x the "
          "library run with a normal browser,\n{}x with the page's renderer {}x slower",
          [text_num(SLOW, r"medians of {} repeats"),
           _slow("ratio done in / library", _NORMAL), _slow("ratio done in / library", _SLOWB),
           text_num(SLOW, r"run 1/{} of every 20 ms")]),
    Claim("where the page showed {} pre-images instead of {}, and\n{}x with one more "
          "process busy on a core",
          [_slow("pre-images shown (median)", _SLOWB),
           _slow("pre-images shown (median)", _NORMAL), _slow("ratio done in / library",
                                                              _LOADED)]),
    Claim("On the 2-core machine with no\nother job (server, Chromium and the benchmark "
          "itself put the load at ~{}), medians of {} (the ratios move",
          [text_num(BR, r"load average at the end {}"), text_num(BR, r"Medians of {} repeats")]),
    Claim("| Playground default | {} ({} s; library {} s with torch's {} threads), {} "
          "against the library on the page's {} thread ({} s) (target {}; above it in this "
          "run: {} of the {} ratios) | {} s |",
          [_br("ratio done / library (2)", PG), _br("click -> done s", PG),
           _br("library s (2 threads)", PG), text_num(BR, r"library s \({} threads\)"),
           _br("ratio done / library (1)", PG),
           text_num(BR, r"library s \({} thread, as the page\)"),
           _br("library s (1 thread, as the page)", PG),
           text_num(BR, r"done / library <= {}"),
           derived("how many of the Playground's two ratios exceed the target",
                   lambda: float(sum(_br(c, PG).fn() > text_num(BR, r"done / library <= {}")
                                     .fn() for c in ("ratio done / library (2)",
                                                     "ratio done / library (1)")))),
           const(2, "the ratios against 2 threads and against 1 thread"),
           _br("click -> first frame s", PG)]),
    Claim("| Compare default ({} schemes, one batch) | {} ({} against {} thread) | {} s |",
          [text_num(BR, r"\| {} schemes as one batch"), _br("ratio done / library (2)", CMP),
           _br("ratio done / library (1)", CMP),
           text_num(BR, r"library s \({} thread, as the page\)"),
           _br("click -> first frame s", CMP)]),
    Claim("| {}x2 sweep (until the script is idle) | {} |",
          [text_num(BR, r"\| Sweeps {}x2 \|"),
           _br("ratio done / library (2)", SW)]),
    Claim("| {} Playground sessions at once, the same (default) run, computed once: all done / "
          "{} sequential runs | {} with Chromium at the server's priority, {} with Chromium at "
          "nice {} ({} and {} against the runs on {} thread) (target {}; above it in this "
          "run: {} of the {} ratios) | |",
          [_sessions(), _sessions(), _conc("ratio all / sequential (2)", SAME),
           _conc("ratio all / sequential (2)", NICE), text_num(BENCH, r"launch_niced\(pw, {}\)"),
           _conc("ratio all / sequential (1)", SAME), _conc("ratio all / sequential (1)", NICE),
           text_num(BR, r"library s \({} thread, as the page\)"),
           text_num(BR, r"all done within {}x"), _above([SAME, NICE]),
           const(4, "two priorities x two baselines")]),
    Claim("| {} sessions at once, each its own class: all done / the {} runs in a row | {} "
          "and {} ({} and {} against {} thread) (above the target in this run: {} of the {} "
          "ratios) | |",
          [_sessions(), _sessions(), _conc("ratio all / sequential (2)", DIFF),
           _conc("ratio all / sequential (2)", DIFF_NICE),
           _conc("ratio all / sequential (1)", DIFF),
           _conc("ratio all / sequential (1)", DIFF_NICE),
           text_num(BR, r"library s \({} thread, as the page\)"),
           _above([DIFF, DIFF_NICE]), const(4, "two priorities x two baselines")]),
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
    Claim("{} sessions that ask for the same run are served by one computation: the "
          "engine process used {} CPU seconds for them, against {} for {} runs of different "
          "classes.",
          [_sessions(), _cpu("engine process CPU s", _ONE), _cpu("engine process CPU s"),
           _sessions()]),
    Claim("Sessions that each ask for another run take turns in the engine. On this one "
          "machine their {} Chromium pages share the server's {} cores: from the first click "
          "to the last idle script, Chromium used {} CPU seconds, the server {} and the "
          "engine process {}; their sum over the {} cores, {} s, is {}x the four runs in a "
          "row on {} thread, the shortest wall time this machine allows with the browsers "
          "on it. The machine also runs the engine itself slower while its other core "
          "works: the same four runs in a row beside a busy core (a Python loop) took {}x. "
          "The engine's own time for the {} runs (the longest \"done in\" the pages report) "
          "is {}x the runs in a row, and the same {} runs through the server's streaming "
          "without browsers take {}x.",
          [_sessions(), text_num(BR, r"AMD EPYC, {} logical cores"),
           _cpu("Chromium CPU s"), _cpu("server CPU s"), _cpu("engine process CPU s"),
           text_num(BR, r"AMD EPYC, {} logical cores"),
           _cpu("all / 2 cores s (no wall time can be shorter)"),
           _cpu("its ratio / sequential (1)"),
           text_num(BR, r"library s \({} thread, as the page\)"),
           _conc("their ratio / the same alone", DIFF), _sessions(),
           _conc("its ratio / sequential (1)", DIFF), _sessions(),
           _conc("its ratio / sequential (2)", DIFF)]),
    Claim("holds the lock {} s each time, and an engine run in a worker thread took {}x as "
          "long\nwhile {} other sessions' scripts ended (`python bench/script_gc.py --repeats "
          "{}`,",
          [md_cell(GC, "gc.collect(2) s"), md_cell(GC, "ratio"),
           text_num(GC, r"\| the same, {} full collections meanwhile s"),
           text_num(GC, r"Medians of {};")]),
    Claim("downloads after the runs other sessions are streaming ({} s at most",
          [text_num(STREAM, r"AFTER_RUNS_LIMIT_S = {}")]),
    Claim("Compare's grid ({} images a frame)",
          [text_num(BR, r"\| {} schemes as one batch")]),
    # ------------------------------------------------------------ the 64 px step overhead
    Claim("| overhead fmnist_vgg / fmnist_resnet {}, batch {} ([table](results/bench_overhead_"
          "small_cpu.md), load ~{}) | fmnist_vgg {}-{}, fmnist_resnet {}-{} (worst: TV on "
          "fmnist_vgg); this round's step against the previous one, in one process: "
          "{}-{} -> {}-{}",
          [md_agg(SMALL, "size", max), text_num(SMALL, r"\* Batch {},"),
           text_num(SMALL, r"load average at the end {}"),
           md_agg(SMALL, "ratio", min, model="fmnist_vgg"),
           md_agg(SMALL, "ratio", max, model="fmnist_vgg"),
           md_agg(SMALL, "ratio", min, model="fmnist_resnet"),
           md_agg(SMALL, "ratio", max, model="fmnist_resnet"),
           md_agg(VSL, "ratio at 786f7aa", min), md_agg(VSL, "ratio at 786f7aa", max),
           md_agg(VSL, "ratio now", min), md_agg(VSL, "ratio now", max)]),
    Claim("slower per step than eager here ({} s cold compile)",
          [md_cell(COMPILE, "compile s", scheme="Gaussian fluid")]),
]
