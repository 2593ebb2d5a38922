"""README claims added after the second consolidation (part a): each a README snippet with
``{}`` where a number stands and one source per number (see claims_lib). Settings the code
defines are read from the code that defines them (``text_num`` over the source file)."""

from __future__ import annotations

from claims_lib import Claim, csv_agg, derived, md_rows, text_num
from claims_sources import CARD, REC, RR, card

JUDGE = "fmnist_lenet_judge"
HIST = "results/bench_history_cpu.md"
BROWSER = "bench/dashboard_browser.py"
DASH = "results/bench_dashboard_cpu.md"


def _exit_usage() -> float:
    from viz_core.cli import EXIT_USAGE
    return EXIT_USAGE


def _history(what: str, col: str = "s"):
    """A cell of the History benchmark's table, its row found by the start of ``what``."""
    def fn() -> float:
        rows = [r for r in md_rows(HIST) if r["what"].startswith(what)]
        if len(rows) != 1:
            raise LookupError(f"{len(rows)} rows of {HIST} start with {what!r}")
        return float(rows[0][col])
    return derived(f"{HIST}: {col} of the row starting {what!r}", fn)


CLAIMS: list[Claim] = [
    # ------------------------------------------------------------------ command line
    Claim("exit code {}; a run that diverges keeps the pre-image of its\nlast frame before "
          "the failure and exits {}",
          [derived("viz_core.cli.EXIT_USAGE", _exit_usage),
           text_num("viz_core/cli/visualize.py",
                    r'print\(f"warning: \{msg\}[^"]*", file=sys.stderr\)\s+return {}')]),
    Claim("or a TV step past its stability bound, exits {} with a `warning:` line",
          [text_num("viz_core/cli/visualize.py",
                    r'print\(f"warning: \{who\}\{w\}", file=sys.stderr\)\s+return {}')]),
    # ------------------------------------------------------------------ dashboard
    Claim("judge recognises best ({} of {} classes with every scheme, {} seeds; see "
          "Recognisability",
          [csv_agg(REC.format("robust"), "judge_recognised_mean", min, model=RR),
           csv_agg(REC.format("robust"), "classes", min, model=RR),
           csv_agg(REC.format("robust"), "seeds", min, model=RR)]),
    Claim("sorting by any metric; 2-{} selected runs side by side",
          [text_num("dashboard/history_view.py", r"MAX_COMPARE = {}")]),
    Claim("`python bench/dashboard_browser.py\n--repeats {}`",
          [text_num("results/bench_dashboard_browser_cpu.md", r"--repeats {}`")]),
    Claim("and {} sessions at once against {} sequential engine runs "
          "(results/bench_dashboard_browser_cpu.md; targets: done <= {}x the engine, "
          "first frame <= {} s, {} sessions <= {}x)",
          [text_num(BROWSER, r'"--sessions", type=int, default={}'),
           text_num(BROWSER, r'"--sessions", type=int, default={}'),
           text_num(BROWSER, r"done / library <= {},"),
           text_num(BROWSER, r"first frame <= {} s,"),
           text_num(BROWSER, r'"--sessions", type=int, default={}'),
           text_num(BROWSER, r'all done within "\s+f"{}x')]),
    Claim("default run costs {}x the engine (`python bench/dashboard.py --threads 1 --clock "
          "cpu --repeats 7`, CPU time, load ~{},",
          [text_num(DASH, r"\| 200 \| 10 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| {} \|"),
           text_num(DASH, r"load average at the end {}")]),
    # ------------------------------------------------------------------ run history
    Claim("(tested with {} threads and {} processes)",
          [text_num("tests/test_store.py", r"args=\(k,\)\) for k in range\({}\)"),
           text_num("tests/test_store.py", r"env=_env\(\)\) for k in range\({}\)")]),
    Claim("**Speed** with {} stored runs (`python bench/history.py --runs 10000 --repeats "
          "3`,\n2-core CPU at load ~{},",
          [text_num(HIST, r"--runs {} "), text_num(HIST, r"load average at the end {}")]),
    Claim("`demons-viz history list` {} s as a whole process (target {} s; it imports "
          "neither torch nor numpy); the History page draws its first table {} s after a "
          "sidebar click in Chromium (target {} s, met with little margin: the page "
          "script's query, rows and table take {} s, the rest is Streamlit's websocket and "
          "front end; under load from other jobs it took longer), {} s from a fresh tab",
          [_history("`demons-viz history list` (process"),
           _history("`demons-viz history list` (process", "target s"),
           _history("History page, first table"),
           _history("History page, first table", "target s"),
           _history("page script"),
           _history("the same from a fresh tab")]),
    # ------------------------------------------------------------------ models
    Claim(f"| `{JUDGE}` (judge only) | LeNet family: 5x5 convs, max pooling, no batch norm, "
          "dense head | {}k | {} % |",
          [card(JUDGE, "parameters", scale=1e-3), card(JUDGE, "test_accuracy", scale=100)]),
    Claim("another architecture family (LeNet-5's layout, LeCun et al.", []),
    Claim("its own seed ({}) and its own training split ({} of the {} training\nimages; "
          "{...}). {} % clean test accuracy ({} % on the first\n{} test images), {} MB of "
          "weights, {} min on this 2-core CPU",
          [card(JUDGE, "seed"),
           text_num(CARD.format(JUDGE), r'"training_split": "{} training images'),
           text_num(CARD.format(JUDGE), r"torch.randperm\({},"),
           card(JUDGE, "test_accuracy", scale=100),
           card(JUDGE, "subset_accuracy", scale=100),
           text_num(CARD.format(JUDGE), r'"subset": "first {} images'),
           card(JUDGE, "weights_bytes", scale=1e-6),
           card(JUDGE, "train_seconds", scale=1 / 60)]),
    # ------------------------------------------------------------------ objectives
    Claim('"Diversity weight" (0 = off) and\n"Samples" (1-{}): a weight w > 0 with N >= 2 '
          "samples",
          [text_num("dashboard/settings/diversity.py", r"MAX_SAMPLES = {}")]),
]
