#!/usr/bin/env python
"""The dashboard as a browser sees it: click -> first frame and click -> "done" in headless
Chromium, against the same configurations through the library in this process.

Starts ``streamlit run app.py`` on 127.0.0.1, drives Debian's chromium through Playwright
(never a downloaded browser) and times, per repeat, on a fresh page at 1280x720:

* the Playground's default run (the Run button, until its "done: N steps" message);
* the Compare page's default grid ("Run all", until its "done" message);
* a 2 x 2 sweep on the Sweeps page ("Run sweep", until the script is idle again);
* 4 sessions of the Playground's default run clicked at once, against 4 sequential engine
  runs of that configuration.

Times in the browser come from the page's own clock (a MutationObserver records when the
first new pre-image has decoded and when the "done" message or the idle script state
appears); "first frame" is click -> that first decoded image. Every browser repeat is
interleaved with a library run of the same configuration (``viz_core.engine.run``;
``viz_core.sweeps.run_sweep`` for the sweep); medians are reported with the load average.
``bench/dashboard.py`` (AppTest) stays the script-only figure.

Example: python bench/dashboard_browser.py --repeats 5
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from browser_driver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CLICK,
    Server,
    browser_setup,
    finish,
    launch_niced,
    open_page,
    process_cpu,
)
from common import base_parser, md_table, report

SWEEP_2X2 = {"values1": "0.05,0.8", "values2": "2,10"}


class Scenario:
    """One page run: its URL path, button and done marker, and the library equivalent."""

    def __init__(self, name: str, path: str, button: str, done_text: bool,
                 library: Callable[[], None], what: str,
                 streams: Callable[..., None] | None = None,
                 variant: Callable[[int], None] | None = None) -> None:
        self.name, self.path, self.button, self.done_text = name, path, button, done_text
        self.library, self.what, self.streams = library, what, streams
        self.variant = variant  # session i's own setting (another class), in the library


def scenarios(device: str) -> list[Scenario]:
    from dashboard import engine_worker
    from dashboard import sweeps_view as sv
    from dashboard.settings.compare import compare_configs, compare_defaults
    from dashboard.settings.playground import playground_defaults, settings_to_config
    from viz_core import engine, models
    from viz_core.sweeps import run_sweep

    pg = settings_to_config({**playground_defaults(), "device": device})
    cmp = compare_configs({**compare_defaults(), "device": device})
    sweep = sv.sweep_of({**sv.sweep_defaults(), **SWEEP_2X2})
    model = models.load_model(pg.model, device=pg.device)
    engine_worker.remember(model, pg.model, None, str(pg.device))  # as the server's cache
    cmp_model = models.load_model(cmp[0].model, device=pg.device)

    def run_pg() -> None:
        for _ in engine.run([pg], model, every=pg.every):
            pass

    def run_pg_class(i: int) -> None:
        """The default run for session ``i``'s own class (:func:`variant_query`)."""
        c = settings_to_config({**playground_defaults(), "device": device,
                                "target": variant_target(i)})
        for _ in engine.run([c], model, every=c.every):
            pass

    def streams_pg(n: int, differ: bool = False) -> None:
        """``n`` runs through the dashboard's own streaming (the engine process, runs taking
        turns, a draw that only marks the frame shown) at once, from this process: the
        server's side of ``n`` sessions without their browsers (each for its own class if
        ``differ``, else the same run)."""
        import threading

        from dashboard.runs import RunRecord
        from dashboard.streaming import run_threads, stream

        if engine_worker.wanted() and engine_worker.shared(run_threads(), wait=120) is None:
            raise SystemExit("error: the engine process did not start")

        def one(i: int) -> None:
            c = settings_to_config({**playground_defaults(), "device": device,
                                    "target": variant_target(i)}) if differ else pg
            rec = RunRecord(["x"], [c.to_json()], model.label, c.total_steps)
            stream([c], model, rec, lambda r, f, full: r.mark_shown(), every=c.every)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def run_cmp() -> None:
        for _ in engine.run(cmp, cmp_model, every=cmp[0].every):
            pass

    def run_sw() -> None:
        with tempfile.TemporaryDirectory() as d:
            run_sweep(sweep, d, "local")

    q = f"?device={device}"
    return [
        Scenario("Playground default", f"/Playground{q}", "Run", True, run_pg,
                 f"{pg.model}, {pg.scheme.label}, {pg.total_steps} steps, frame every "
                 f"{pg.every}", streams_pg, run_pg_class),
        Scenario("Compare default", f"/Compare_schemes{q}", "Run all", True, run_cmp,
                 f"{len(cmp)} schemes as one batch, {cmp[0].task}, {cmp[0].total_steps} steps"),
        Scenario("Sweeps 2x2", f"/Sweeps{q}&values1={SWEEP_2X2['values1']}&values2="
                 f"{SWEEP_2X2['values2']}", "Run sweep", False, run_sw,
                 f"{len(sweep)} cells, {sweep.base.total_steps} steps each (run_sweep)"),
    ]


def variant_target(i: int) -> int:
    """Session ``i``'s class when every session asks for another one: the Playground's
    default class and the next ones (of 10)."""
    from dashboard.settings.playground import playground_defaults

    return (int(playground_defaults()["target"]) + i) % 10


def variant_query(i: int) -> str:
    """Session ``i``'s link parameter for its own class."""
    return f"&target={variant_target(i)}"


def timed(fn: Callable[[], None], threads: int = 0) -> float:
    """Wall seconds of ``fn()``, with ``threads`` torch threads (0: as they are)."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        torch.set_num_threads(before)


def page_threads() -> int:
    """The torch threads of the dashboard's engine worker (after :func:`scenarios`, which
    puts the package before bench/dashboard.py on the path)."""
    from dashboard.streaming import run_threads

    return run_threads()


def concurrent(browser, url: str, sc: Scenario, sessions: int, server_pid: int,
               differ: bool = False) -> dict:
    """``sessions`` fresh pages (one browser context each) clicked at once (each for its
    own class if ``differ``, else all for the same run); the first click
    to the last "done" visible and to the last idle script, each session's click -> done,
    the longest "done in" the pages report (the engine's own time from its start to its
    last step) and the CPU seconds Chromium, the server and its engine process used
    meanwhile."""
    ctxs = [browser.new_context() for _ in range(sessions)]
    pages = [open_page(ctx, url + (variant_query(i) if differ else ""), sc.button)
             for i, ctx in enumerate(ctxs)]
    cpu0 = process_cpu(server_pid)
    for _, btn in pages:
        btn.evaluate(CLICK)
    res = [finish(page, sc.done_text) for page, _ in pages]
    cpu1 = process_cpu(server_pid)
    for ctx in ctxs:
        ctx.close()
    start = min(r["click_wall"] for r in res)
    return {"total": max(r["done_wall"] for r in res) - start,
            "total_idle": max(r["idle_wall"] for r in res) - start,
            "each": max(r["done"] for r in res),
            "done_in": max(r["done_in"] for r in res),
            "chromium": cpu1["chromium"] - cpu0["chromium"],
            "server": cpu1["server"] - cpu0["server"],
            "engine": cpu1["engine"] - cpu0["engine"]}


def beside_busy_cores(fn: Callable[[], float], threads: int) -> float:
    """``fn()`` while a CPU-bound Python loop keeps busy each core that ``threads`` torch
    threads leave free (the machine's own slowdown of the engine when its other cores
    work)."""
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(max(1, (os.cpu_count() or 1) - threads))]
    try:
        time.sleep(0.2)
        return fn()
    finally:
        for p in spin:
            p.kill()
            p.wait()


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=4,
                   help="concurrent sessions (0: skip the concurrent measurement)")
    p.add_argument("--only", nargs="+", choices=["playground", "compare", "sweeps"],
                   help="only these page runs (default: all three)")
    p.set_defaults(repeats=5)
    args = p.parse_args(argv)
    device = browser_setup(args)
    from playwright.sync_api import sync_playwright

    scs = scenarios(device.type)
    k = page_threads()
    playground = scs[0]
    if args.only:
        scs = [sc for sc in scs if sc.name.split()[0].lower() in args.only]
    server = Server()
    rows, conc_rows, notes = [], [], []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)
            for sc in scs:
                url = server.url + sc.path
                sc.library()  # warm-up: kernels, caches
                page, btn = open_page(browser, url, sc.button)  # warm-up: the server's caches
                btn.evaluate(CLICK)
                finish(page, sc.done_text)
                page.close()
                lib, lib_k, first, done, idle, text = [], [], [], [], [], []
                for _ in range(args.repeats):  # interleaved: load changes hit both alike
                    lib.append(timed(sc.library))
                    lib_k.append(timed(sc.library, k))
                    page, btn = open_page(browser, url, sc.button)
                    btn.evaluate(CLICK)
                    r = finish(page, sc.done_text)
                    page.close()
                    first.append(r["first"])
                    done.append(r["done"])
                    idle.append(r["idle"])
                    text.append(r["text"])
                e, d = statistics.median(lib), statistics.median(done)
                f = [x for x in first if x is not None]
                fm = statistics.median(f) if f else float("nan")
                ek, di = statistics.median(lib_k), statistics.median(idle)
                rows.append([sc.name, sc.what, e, ek, d, d / e, d / ek, fm, di,
                             f"{min(done):.2f}-{max(done):.2f}",
                             "done message" if all(text) else "script idle"])
                print(rows[-1], flush=True)
            # concurrent sessions of the Playground's default run, with Chromium at the
            # server's priority and at nice 19 (the server's work first: the closest this
            # one machine gets to browsers on their users' own machines), interleaved
            sc = playground
            url = server.url + sc.path
            niced = launch_niced(pw, 19) if args.sessions > 0 else None
            n_s = args.sessions
            for _ in range(args.repeats if n_s > 0 else 0):
                seq = timed(lambda: [sc.library() for _ in range(n_s)])
                seq_k = timed(lambda: [sc.library() for _ in range(n_s)], k)
                seq_v2 = timed(lambda: [sc.variant(i) for i in range(n_s)])
                seq_v = timed(lambda: [sc.variant(i) for i in range(n_s)], k)
                server_only = timed(lambda: sc.streams(n_s))
                server_only_v = timed(lambda: sc.streams(n_s, True))
                busy = beside_busy_cores(lambda: timed(
                    lambda: [sc.library() for _ in range(n_s)], k), k)
                for differ in (False, True):
                    for nice, b in ((0, browser), (19, niced)):
                        r = concurrent(b, url, sc, n_s, server.proc.pid, differ)
                        conc_rows.append((nice, seq_v2 if differ else seq, r["total"],
                                          r["each"],
                                          seq_v if differ else seq_k,
                                          server_only_v if differ else server_only,
                                          r["chromium"], r["server"], r["total_idle"],
                                          r["engine"], r["done_in"], busy, differ))
                        print(conc_rows[-1], flush=True)
            if niced is not None:
                niced.close()
            browser.close()
    finally:
        server.close()
    import torch

    n = torch.get_num_threads()
    table = md_table(["page run", "configuration", f"library s ({n} threads)",
                      f"library s ({k} thread{'s' * (k > 1)}, as the page)", "click -> done s",
                      f"ratio done / library ({n})", f"ratio done / library ({k})",
                      "click -> first frame s", "click -> script idle s", "done range s",
                      "done marker"], rows)
    sections = [("Click to done", table)]
    if conc_rows:
        med = statistics.median
        body, cpu_body = [], []
        cores = os.cpu_count() or 1
        for differ in (False, True):
            for nice in (0, 19):
                rs = [r for r in conc_rows if r[0] == nice and r[12] == differ]
                seq, tot, each, seq_k = (med(r[i] for r in rs) for i in (1, 2, 3, 4))
                srv, chrome, srv_cpu, tot_idle = (med(r[i] for r in rs) for i in (5, 6, 7, 8))
                eng, done_in, busy = (med(r[i] for r in rs) for i in (9, 10, 11))
                who = "the server's" if nice == 0 else f"nice {nice}"
                what = (f"{args.sessions} classes, one each" if differ else
                        "the same (default) run")
                body.append([args.sessions, what, who, seq, seq_k, tot, each, tot / seq,
                             tot / seq_k, tot_idle, tot_idle / seq, done_in,
                             done_in / seq_k, srv, srv / seq, busy, busy / seq_k])
                every = med(r[6] + r[7] + r[9] for r in rs)
                cpu_body.append([what, who, chrome, srv_cpu, eng, every, every / cores,
                                 every / cores / seq_k])
        sections.append(("Concurrent sessions", md_table(
            ["sessions", "sessions' setting", "Chromium's priority",
             f"{args.sessions} sequential engine runs s ({n} threads)",
             f"the sessions' runs in a row ({k} thread{'s' * (k > 1)}) s",
             "all sessions done s (first click -> last done visible)",
             "slowest session click -> done s", f"ratio all / sequential ({n})",
             f"ratio all / sequential ({k})",
             "first click -> last script idle s (final plots drawn)", f"its ratio ({n})",
             "longest 'done in' of the pages s (the engine's own time)",
             f"its ratio / sequential ({k})",
             f"{args.sessions} runs through the server's streaming at once, no browser s",
             f"its ratio / sequential ({n})",
             f"the {k}-thread sequential runs beside busy cores s",
             "their ratio / the same alone"], body)))
        sections.append(("Where the CPU went (concurrent sessions)", md_table(
            ["sessions' setting", "Chromium's priority", "Chromium CPU s", "server CPU s",
             "engine process CPU s", "all three s", f"all / {cores} cores s (no wall time "
             "can be shorter)", f"its ratio / sequential ({k})"], cpu_body)))
    notes = [f"Medians of {args.repeats} repeats after one warm-up each; every browser run "
             "on a fresh page at 1280x720, interleaved with library runs of the same "
             f"configuration in this process, with torch's {n} threads and with the {k} "
             "the dashboard's engine worker uses (the machine's cores less one, left to the "
             "server and the browser; dashboard.streaming.run_threads). Server, browser "
             "and this process share the machine.",
             "Concurrent sessions, two settings: every session asks for the same run (the "
             "default: the engine process computes it once and sends its frames to each, "
             "dashboard.shared_runs), or each for its own class (the default's and the next "
             f"{args.sessions - 1}: runs that take turns), against the sessions' runs one "
             "after the other in this process.",
             "Concurrent sessions: all done = first click to the last session's \"done\" "
             "visible, as for one run; the final plots are drawn after \"done\", until the "
             "script is idle (next column). Chromium and server CPU seconds are those used "
             "from the first click to the last session's idle script. Chromium runs at the "
             "server's priority, and (interleaved, a second browser) at nice 19: the "
             "server's work first, the closest one machine gets to browsers on their "
             "users' own machines. 'done in' is the time each page reports for its run "
             "(the engine's, from its first to its last step, 0.01 s resolution); runs of "
             "different settings take turns in the engine process, so the longest is the "
             "engine's time for all of them. The column 'through the server's streaming' "
             "runs the sessions' runs (their settings) through dashboard.streaming.stream "
             "at once from this process (the engine process), the server's side of the "
             "sessions without a browser.",
             "Beside busy cores: the same sequential engine runs while a CPU-bound process "
             "(a Python loop) keeps each core the engine does not use busy, as browsers and "
             "the server do on this machine: how much slower the machine itself runs the "
             "engine when its other cores work, which no scheduling of the runs removes.",
             "Where the CPU went: CPU seconds from the first click to the last idle "
             "script; their sum over the machine's cores is the shortest wall time the "
             "sessions could take on this one machine, browsers included.",
             "Targets (issue 22) on the Playground's default run: done / library <= 1.3, "
             f"first frame <= 0.5 s, {args.sessions} concurrent sessions all done within "
             f"1.2x {args.sessions} sequential engine runs.",
             "Script only (no server queue, transport or browser): `bench/dashboard.py` "
             "(AppTest)."]
    report("dashboard_browser", "The dashboard in a browser against the library",
           sections, args, device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
