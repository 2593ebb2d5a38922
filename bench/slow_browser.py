#!/usr/bin/env python
"""A slow browser, or a loaded machine, lowers the dashboard's frame rate, never the
optimisation's speed: the Playground's default run in headless Chromium under three
conditions, each against the library run under the same condition.

* ``normal``: as ``bench/dashboard_browser.py``;
* ``slow browser``: the page's renderer processes run one period in ``--rate`` (stopped and
  continued by signals, 20 ms periods): a browser ``--rate`` times slower, that costs this
  machine no CPU. (Chromium's own CPU throttling, the DevTools protocol's
  ``Emulation.setCPUThrottlingRate``, would not do here: it spends this machine's cores,
  6.5 CPU s for one 2 s run at rate 6, which a user's own slow laptop does not.)
* ``loaded machine``: one extra process busy on a core for the whole repeat, library run
  included.

Per condition: the engine's own time as the page reports it ("done in"), its ratio to the
library run (the optimisation's speed: target about 1 in every condition), click -> "done"
visible, the first frame, and the number of pre-images the page showed (what a slow browser
or a loaded machine may lower). Conditions are interleaved in every repeat; medians.

Example: python bench/slow_browser.py --repeats 5
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import statistics
import threading

from browser_driver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CLICK,
    Server,
    browser_setup,
    finish,
    open_page,
    process_cpu,
    serve,
)
from common import base_parser, md_table, report
from dashboard_browser import page_threads, scenarios, timed

# every distinct pre-image the main area showed after the click, decoded (the frames a
# user saw); installed after the page is idle, before the click
COUNT_FRAMES = """() => {
  const seen = new Set(), shown = new Set();
  document.querySelectorAll("[data-testid='stMain'] [data-testid='stImage'] img")
    .forEach(img => seen.add(img.src));
  window.__shown = shown;
  new MutationObserver(() => {
    document.querySelectorAll("[data-testid='stMain'] [data-testid='stImage'] img")
      .forEach(img => {
        if (img.src && !seen.has(img.src)) {
          seen.add(img.src);
          const src = img.src;
          img.decode().then(() => shown.add(src)).catch(() => {});
        }
      });
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ["src"]});
}"""


def _spin() -> None:
    while True:
        pass


@contextlib.contextmanager
def busy(on: bool):
    """One process spinning on a core while the block runs (``on``), none otherwise."""
    if not on:
        yield
        return
    p = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
    p.start()
    try:
        yield
    finally:
        p.terminate()
        p.join()


def renderers() -> list[int]:
    """The pids of Chromium's renderer processes (the pages' own)."""
    return [pid for pid, (_, _, cmd) in serve.processes().items()
            if b"chromium" in cmd.split(b"\0")[0] and b"--type=renderer" in cmd]


@contextlib.contextmanager
def slowed(rate: float, period: float = 0.02):
    """While the block runs, the renderers run ``period / rate`` of every ``period``
    seconds (SIGSTOP / SIGCONT); continued at the end whatever happens."""
    if rate <= 1.0:
        yield
        return
    done = threading.Event()
    pids: list[int] = []

    def signal_all(sig: int) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    def cycle() -> None:
        while not done.is_set():
            pids[:] = renderers()
            signal_all(signal.SIGCONT)
            done.wait(period / rate)
            signal_all(signal.SIGSTOP)
            done.wait(period * (1 - 1 / rate))
        signal_all(signal.SIGCONT)

    t = threading.Thread(target=cycle, daemon=True)
    t.start()
    try:
        yield
    finally:
        done.set()
        t.join()
        signal_all(signal.SIGCONT)


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--rate", type=float, default=6.0,
                   help="how many times slower the slow browser's renderers run (default 6)")
    p.set_defaults(repeats=5)
    args = p.parse_args(argv)
    device = browser_setup(args)
    from playwright.sync_api import sync_playwright

    sc = scenarios(device.type)[0]  # the Playground's default run
    k = page_threads()
    conditions = [("normal", 1.0, False), (f"slow browser ({args.rate:g}x slower renderer)",
                                           args.rate, False),
                  ("loaded machine (1 busy process)", 1.0, True)]
    got: dict[str, list[dict]] = {c[0]: [] for c in conditions}
    server = Server()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)
            url = server.url + sc.path
            sc.library()  # warm-up: kernels, caches; the server's caches
            page, btn = open_page(browser, url, sc.button)
            btn.evaluate(CLICK)
            finish(page, sc.done_text)
            page.close()
            for _ in range(args.repeats):
                for name, rate, load in conditions:
                    with busy(load):
                        lib = timed(sc.library, k)
                        page, btn = open_page(browser, url, sc.button)
                        page.evaluate(COUNT_FRAMES)
                        cpu0 = process_cpu(server.proc.pid)
                        with slowed(rate):
                            btn.evaluate(CLICK)
                            r = finish(page, sc.done_text)
                            page.wait_for_timeout(500)  # the last frames' decoding
                        shown = page.evaluate("() => window.__shown.size")
                        cpu1 = process_cpu(server.proc.pid)
                        page.close()
                    got[name].append({**r, "lib": lib, "shown": shown,
                                      "chromium": cpu1["chromium"] - cpu0["chromium"]})
                    print(name, {key: got[name][-1][key] for key in
                                 ("lib", "done_in", "done", "first", "shown")}, flush=True)
            browser.close()
    finally:
        server.close()
    med = statistics.median
    rows = []
    for name, _, _ in conditions:
        rs = got[name]
        lib, done_in, done = (med(r[key] for r in rs) for key in ("lib", "done_in", "done"))
        firsts = [r["first"] for r in rs if r["first"] is not None]
        rows.append([name, lib, done_in, med(r["done_in"] / r["lib"] for r in rs), done,
                     med(r["done"] / r["lib"] for r in rs),
                     med(firsts) if firsts else float("nan"),
                     f"{med(r['shown'] for r in rs):g}",
                     f"{min(r['shown'] for r in rs)}-{max(r['shown'] for r in rs)}",
                     med(r["chromium"] for r in rs)])
    table = md_table(["condition", f"library s ({k} thread{'s' * (k > 1)}, same condition)",
                      "page's 'done in' s (the engine's own time)",
                      "ratio done in / library", "click -> done visible s",
                      "ratio done / library", "click -> first frame s",
                      "pre-images shown (median)", "shown (range)", "Chromium CPU s"], rows)
    notes = [f"{sc.what}; medians of {args.repeats} repeats after one warm-up, the three "
             "conditions interleaved in every repeat, each on a fresh page at 1280x720; the "
             f"library run ({k} torch thread{'s' * (k > 1)}, as the dashboard's engine "
             "worker) in this process under the same condition.",
             f"slow browser: from the click on, Chromium's renderer processes run 1/{args.rate:g} "
             "of every 20 ms (SIGSTOP / SIGCONT), a browser that many times slower that costs "
             "this machine no CPU; "
             "loaded machine: one extra process spinning on a core during the library run "
             "and the page run.",
             "'done in' is the time the page reports for its run, the engine's from its first "
             "to its last step (0.01 s resolution); its ratio to the library run is the "
             "optimisation's speed as the page runs it. Pre-images shown: distinct frames the "
             "page decoded after the click (step 0's image is not new).",
             "Target (issue 22): a slow browser or a loaded machine lowers the frame rate, "
             "never the optimisation's speed: 'done in' / library about 1 in every "
             "condition."]
    report("slow_browser", "A slow browser and a loaded machine", [("Playground default run",
                                                                    table)],
           args, device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
