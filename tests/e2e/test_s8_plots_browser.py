"""Kernels & spectra in the browser at 1280x720 and 1920x1080 (teacher QA, session 8): the
heatmap panels of a row are square and of one size, log |H| axes label no tick with a bare
digit, and a legend leaves no empty rows above the caption under its chart."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
VIEWPORTS = [(1280, 720), (1920, 1080)]
GEOMETRY = """els => els.map(el => { const L = el._fullLayout, out = {axes: {}};
  out.title = (L.title && L.title.text) || '';
  for (const k of Object.keys(L)) if (/^[xy]axis\\d*$/.test(k))
    out.axes[k] = {len: L[k]._length, type: L[k].type,
                   ticks: (L[k]._vals || []).map(v => v.text)};
  const leg = el.querySelector('.legend'), svg = el.querySelector('.main-svg');
  out.legendGap = leg ? svg.getBoundingClientRect().bottom
                        - leg.getBoundingClientRect().bottom : null;
  out.heat = L._modules.some(m => m.name === 'heatmap');
  return out; })"""


#: At least n charts drawn by plotly.js (each has several .main-svg layers).
DRAWN = """n => [...document.querySelectorAll("[data-testid='stMain'] .js-plotly-plot")]
  .filter(el => el._fullLayout && el.querySelector('.main-svg')).length >= n"""


def _charts(browser, url: str, size: tuple[int, int], n: int) -> list[dict]:
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.set_default_timeout(240_000)
    page.goto(url)
    page.wait_for_selector(IDLE)
    page.wait_for_function(DRAWN, arg=n)
    charts = page.get_by_test_id("stMain").locator(".js-plotly-plot").evaluate_all(GEOMETRY)
    page.close()
    return charts


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("query", ["", "?size=7&order=3&n=5&log=true"])
def test_kernel_charts_at_projector_sizes(server, browser, size, query):
    """Default settings: two heatmap panels a row (the second was 300 x 200 px at 1920);
    the QA's second link: three panels, log profiles and responses."""
    charts = _charts(browser, f"{server}/Kernels_and_spectra{query}", size, 11)
    heat = [c for c in charts if c["heat"]]
    assert len(heat) == 2
    for c in heat:  # square, one size: every axis of the row has the same length
        lengths = {round(a["len"]) for a in c["axes"].values()}
        assert max(lengths) - min(lengths) <= 1, (size, c["axes"])
    logs = [a for c in charts for a in c["axes"].values() if a["type"] == "log"]
    assert len(logs) >= (2 if not query else 4)
    for a in logs:  # "10^-1, 9, 8, ..." read as a gain of 9 (every value here is <= 1)
        assert not any(re.fullmatch(r"[2-9]", t) for t in a["ticks"]), a["ticks"]
    gaps = [c["legendGap"] for c in charts if "step" in c["title"]]
    assert len(gaps) == 3 and all(g is not None and g < 30 for g in gaps), (size, gaps)
