#!/usr/bin/env python
"""Where a page run's time goes between the click and "done" in the browser: every
websocket message of the Playground's default run, timed in the page and decoded.

Drives Debian's chromium (Playwright) as ``bench/dashboard_browser.py`` does, with the
page's WebSocket wrapped before Streamlit opens it: each message's arrival (or sending)
time on the page's clock and its bytes are kept, then decoded as Streamlit's ForwardMsg /
BackMsg. Reports, per repeat, the timeline (click -> rerun request sent -> first message of
the new script run -> first pre-image received -> decoded -> "done" received -> visible)
and, for the run, the messages and bytes per kind (pre-images, plotly figures, markdown,
progress, ...), the reruns and the bytes per streamed frame.

Example: python bench/dashboard_messages.py --repeats 3
"""

from __future__ import annotations

import base64
import collections
import statistics

import browser_driver as db
from common import base_parser, md_table, report, setup

# Installed before any page script: wraps WebSocket so that every message is recorded
# (page clock, direction, bytes) before Streamlit sees it.
RECORD_WS = """(() => {
  const Orig = window.WebSocket;
  window.__ws = [];
  function Wrapped(url, protocols) {
    const ws = protocols === undefined ? new Orig(url) : new Orig(url, protocols);
    ws.addEventListener("message", ev => window.__ws.push(
      {t: performance.now(), dir: "in", data: ev.data}));
    const send = ws.send.bind(ws);
    ws.send = d => { window.__ws.push({t: performance.now(), dir: "out", data: d});
                     send(d); };
    return ws;
  }
  Wrapped.prototype = Orig.prototype;
  for (const k of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Wrapped[k] = Orig[k];
  window.WebSocket = Wrapped;
})();"""
DUMP = """(since) => window.__ws.filter(m => m.t >= since).map(m => {
  let bytes = m.data;
  if (typeof bytes === "string") bytes = new TextEncoder().encode(bytes);
  else if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  let s = ""; for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return {t: m.t, dir: m.dir, b64: btoa(s)};
})"""


def kind(msg) -> str:
    """A ForwardMsg's kind: the element type of a delta, else the message type."""
    which = msg.WhichOneof("type")
    if which != "delta":
        return which or "?"
    d = msg.delta
    dt = d.WhichOneof("type")
    if dt == "new_element":
        return d.new_element.WhichOneof("type") or "element"
    return dt or "delta"


def is_done(msg) -> bool:
    return (msg.WhichOneof("type") == "delta" and
            msg.delta.WhichOneof("type") == "new_element" and
            msg.delta.new_element.WhichOneof("type") == "alert" and
            "done:" in msg.delta.new_element.alert.body)


def one_run(browser, url: str) -> tuple[dict, collections.Counter, collections.Counter]:
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    page, btn = db.open_page(browser, url, "Run", init_script=RECORD_WS)
    btn.evaluate(db.CLICK)
    r = db.finish(page, True)
    t = page.evaluate("() => window.__t")
    msgs = page.evaluate(DUMP, t["click"])
    page.close()
    click = t["click"]
    counts: collections.Counter = collections.Counter()
    sizes: collections.Counter = collections.Counter()
    times = {"sent": None, "script": None, "image": None, "done_in": None}
    for m in msgs:
        raw = base64.b64decode(m["b64"])
        at = (m["t"] - click) / 1e3
        if m["dir"] == "out":
            counts["(sent) BackMsg"] += 1
            sizes["(sent) BackMsg"] += len(raw)
            if times["sent"] is None:
                times["sent"] = at
            continue
        fm = ForwardMsg()
        fm.ParseFromString(raw)
        k = kind(fm)
        counts[k] += 1
        sizes[k] += len(raw)
        if times["script"] is None and k in ("new_session", "session_status_changed"):
            times["script"] = at
        if times["image"] is None and k == "imgs":
            times["image"] = at
        if times["done_in"] is None and is_done(fm):
            times["done_in"] = at
    times.update(frame=r["first"], done=r["done"], idle=r["idle"])
    return times, counts, sizes


def main(argv: list[str] | None = None) -> int:
    p = base_parser(__doc__.splitlines()[0])
    args = p.parse_args(argv)
    if args.clock == "cpu":
        raise SystemExit("error: the browser is timed in wall time; use --clock wall")
    device = setup(args)
    from playwright.sync_api import sync_playwright

    server = db.Server()
    runs = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=db.CHROMIUM, headless=True,
                                         args=db.CHROMIUM_ARGS)
            url = f"{server.url}/Playground?device={device.type}"
            one_run(browser, url)  # warm-up: the server's caches
            for _ in range(args.repeats):
                runs.append(one_run(browser, url))
                print(runs[-1][0], flush=True)
            browser.close()
    finally:
        server.close()

    def med(key: str) -> float:
        vals = [r[0][key] for r in runs if r[0][key] is not None]
        return statistics.median(vals) if vals else float("nan")

    steps = [("rerun request sent", "sent"), ("first message of the script run", "script"),
             ("first pre-image received", "image"), ("first pre-image decoded", "frame"),
             ("'done' message received", "done_in"), ("'done' visible", "done"),
             ("script idle", "idle")]
    timeline = md_table(["click ->", "median s"], [[a, med(k)] for a, k in steps])
    total_c: collections.Counter = collections.Counter()
    total_s: collections.Counter = collections.Counter()
    for _, c, s in runs:
        total_c.update(c)
        total_s.update(s)
    n = len(runs)
    rows = [[k, total_c[k] / n, total_s[k] / n / 1024, total_s[k] / max(total_c[k], 1) / 1024]
            for k in sorted(total_c, key=lambda k: -total_s[k])]
    rows.append(["all", sum(total_c.values()) / n, sum(total_s.values()) / n / 1024,
                 sum(total_s.values()) / max(sum(total_c.values()), 1) / 1024])
    kinds = md_table(["message kind", "per run", "KiB per run", "KiB each"], rows)
    notes = [f"Medians of {args.repeats} runs of the Playground's default setting after one "
             "warm-up, each on a fresh page at 1280x720; times on the page's clock from the "
             "click. 'first message of the script run' is the server's answer to the rerun "
             "request (its session status); 'imgs' are the streamed pre-images (and the "
             "reference image, where one is shown)."]
    report("dashboard_messages", "Messages of a page run, click to done",
           [("Timeline", timeline), ("Messages per run", kinds)], args, device, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
