"""Browser tests of what the Playground tells a researcher, at 1280x720 and 1920x1080:
the metric area never overlaps, stale results are marked, Stop keeps what was shown, and
degenerate results are flagged. Every wait is for an expected element, never a sleep."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest

pytestmark = pytest.mark.e2e

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
VIEWPORTS = [(1280, 720), (1920, 1080)]


def _open(browser, url: str, size: tuple[int, int] = VIEWPORTS[0], run: str = "Run"):
    """A new page at ``size``, connected, idle, with its ``run`` button drawn."""
    page = browser.new_page(viewport={"width": size[0], "height": size[1]},
                            accept_downloads=True)
    page.set_default_timeout(240_000)
    page.goto(url)
    page.wait_for_selector(CONNECTED)
    page.get_by_role("button", name=run, exact=True).wait_for()
    page.wait_for_selector(IDLE)
    return page


def _sidebar_select(page, label: str, option: re.Pattern, search: str) -> None:
    """Pick ``option`` in the sidebar select box labelled exactly ``label`` (a substring
    filter would also match "Load a classic recipe" for "Class"). Typing ``search`` first
    filters the list, whose long tail is not in the DOM (the list is virtualised)."""
    box = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True))
    box.click()
    page.keyboard.type(search)
    page.get_by_role("option", name=option).click()


def _run_and_wait(page, done_text: str = "Downloads of the run shown") -> None:
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(done_text).first.wait_for()
    page.wait_for_selector(IDLE)


def _boxes_overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_metric_area_has_no_overlapping_or_cut_text(server, browser, size):
    page = _open(browser, f"{server}/Playground?model=fmnist_vgg_robust&task=inversion"
                          "&layer=block2&steps=6&every=3", size)
    _run_and_wait(page)
    main = page.get_by_test_id("stMain")
    images = main.get_by_test_id("stImage")
    table = main.locator("table").filter(has_text="relative feature error")
    table.wait_for()
    boxes = [images.nth(i).bounding_box() for i in range(images.count())]
    boxes.append(table.bounding_box())
    assert len(boxes) == 3 and all(b and b["width"] > 0 for b in boxes), boxes
    pre, ref = (images.nth(i).locator("img").bounding_box() for i in range(2))
    assert (pre["width"], pre["height"]) == (ref["width"], ref["height"])  # same size
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not _boxes_overlap(boxes[i], boxes[j]), (size, i, j, boxes)
    cut = table.locator("td, th").evaluate_all(
        "cells => cells.filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.innerText)")
    assert cut == [], cut
    assert "relative feature error" in table.inner_text()  # the whole label, not "relative…"


def test_kernel_panel_titles_do_not_collide(server, browser):
    page = _open(browser, f"{server}/Playground?")
    titles = page.locator("[data-testid='stPlotlyChart'] .annotation-text")
    titles.first.wait_for()
    boxes = [titles.nth(i).bounding_box() for i in range(titles.count())]
    boxes = [b for b in boxes if b and b["width"] > 0]
    assert len(boxes) >= 6
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not _boxes_overlap(boxes[i], boxes[j]), (i, j, boxes)


# The margins plotly.js used (after Streamlit's theme turned axis automargin on) and the
# figure's own, for the run's curves and spectrum (not the kernel panel).
RUN_PLOT_MARGINS = """els => els.filter(el => el._fullLayout && !el._fullLayout.annotations
    .some(a => /fluid Kf/.test(a.text))).map(el => ({
  title: [el.layout.title && el.layout.title.text]
    .concat(el._fullLayout.annotations.map(a => a.text)).join(" "),
  used: el._fullLayout._size, own: el.layout.margin}))"""


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_run_plots_are_drawn_once(server, browser, size):
    """The curves and the spectrum that end a default run are drawn by plotly.js once: their
    margins already hold their tick labels and axis titles, so automargin grows none of
    them (a grown margin makes plotly.js draw the whole figure again)."""
    page = _open(browser, f"{server}/Playground?", size)
    _run_and_wait(page)
    charts = page.get_by_test_id("stMain").locator(".js-plotly-plot")
    page.wait_for_function("n => document.querySelectorAll("
                           "\"[data-testid='stMain'] .js-plotly-plot\").length >= n", arg=3)
    plots = charts.evaluate_all(RUN_PLOT_MARGINS)
    titles = " ".join(p["title"] for p in plots)
    assert len(plots) == 2 and "data term D" in titles and "power spectrum" in titles, plots
    for p in plots:
        grown = {k: (p["own"][k], p["used"][k]) for k in "lrtb"
                 if p["used"][k] - p["own"][k] > 1}
        assert grown == {}, (size, p["title"], grown)


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_settings_change_marks_the_result_as_stale(server, browser, size):
    page = _open(browser, f"{server}/Playground?steps=6&every=3&target=7", size)
    _run_and_wait(page)
    page.get_by_text("done:").first.wait_for()
    _sidebar_select(page, "Class", re.compile(r"^9 · "), "Ankle")
    page.get_by_text("from previous settings: class 7").first.wait_for()
    page.wait_for_selector(IDLE)
    assert page.get_by_text("done:").count() == 0  # no green "done" under other settings
    caption = page.get_by_test_id("stMain").get_by_test_id("stImageCaption").first
    assert caption.inner_text().endswith("step 6 / 6")  # the old result, marked, not cleared
    assert page.get_by_test_id("stException").count() == 0


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_what_stop_keeps_is_what_downloads(server, browser, size):
    page = _open(browser, f"{server}/Playground?steps=5000&every=2", size)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(re.compile(r"pre-image · step [1-9]\d* / 5000")).first.wait_for()
    page.get_by_role("button", name="Stop", exact=True).click()
    status = page.get_by_text(re.compile(r"stopped at step \d+ of 5000 after"))
    status.first.wait_for()
    page.wait_for_selector(IDLE)
    m = re.search(r"stopped at step (\d+) of 5000 after ([\d.]+) s", status.first.inner_text())
    step, seconds = int(m.group(1)), float(m.group(2))
    caption = page.get_by_test_id("stMain").get_by_test_id("stImageCaption").first.inner_text()
    assert caption.endswith(f"step {step} / 5000")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download run JSON").click()
    result = json.loads(open(dl.value.path(), encoding="utf-8").read())["result"]
    assert result["status"] == "stopped" and result["steps_done"] == step
    assert abs(result["seconds"] - seconds) <= 0.05 + 1e-9
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download PNG").click()
    from PIL import Image

    saved = np.asarray(Image.open(dl.value.path()).convert("L"))
    src = page.get_by_test_id("stMain").get_by_test_id("stImage").locator("img").first \
        .get_attribute("src")
    body = page.request.get(src if src.startswith("http") else server + src).body()
    shown = np.asarray(Image.open(io.BytesIO(body)).convert("L"))
    factor = shown.shape[0] // saved.shape[0]
    np.testing.assert_array_equal(shown[::factor, ::factor], saved)


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("query, expected", [
    ("scheme=plain&step_size=1e9", "saturated"),
    ("scheme=plain&tv_on=1&tv=3.0&tv_eps=1e-06", "unstable TV step"),
])
def test_degenerate_results_are_flagged(server, browser, query, expected, size):
    page = _open(browser, f"{server}/Playground?steps=6&every=3&{query}", size)
    _run_and_wait(page)
    page.get_by_test_id("stAlert").filter(has_text=expected).first.wait_for()
    assert page.get_by_text("done:").count() == 0


def test_navigation_names_home_and_direct_links_work(server, browser):
    page = _open(browser, f"{server}/Compare_schemes?task=am&steps=2",
                 VIEWPORTS[0], run="Run all")  # the Compare page's button
    assert page.get_by_role("heading", name="Compare schemes").count() == 1
    nav = page.get_by_test_id("stSidebarNav")
    assert nav.get_by_text("Home", exact=True).count() == 1
    assert nav.get_by_text("app", exact=True).count() == 0


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_toggle_runs_standard_and_robust_side_by_side(server, browser, size):
    """The toggle adds the other model of the pair: one row of cells per model, each row
    labelled with its model, each with its own status, and both ending 'done'."""
    page = _open(browser, f"{server}/Compare_schemes?model=fmnist_vgg_robust&task=am"
                          "&layer=logits&target=1&steps=4&every=2&cells=tv,plain",
                 size, run="Run all")
    toggle = page.get_by_test_id("stSidebar").get_by_text("Standard vs robust side by side")
    toggle.click()
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Run all", exact=True).click()
    page.get_by_text("Download a cell of the run shown").first.wait_for()
    page.wait_for_selector(IDLE)
    main = page.get_by_test_id("stMain")
    for name in ("fmnist_vgg_robust", "fmnist_vgg "):
        assert main.get_by_text(re.compile(re.escape(name))).count() >= 1, name
    # two models x two cells, each cell an image whose caption names its model
    assert main.get_by_test_id("stImage").count() >= 4
    captions = main.get_by_test_id("stImageCaption").all_inner_texts()
    for name in ("fmnist_vgg_robust · ", "fmnist_vgg · "):
        assert sum(c.startswith(name) for c in captions) == 2, captions
    assert main.get_by_text(re.compile(r"^done")).count() >= 2
    assert page.get_by_test_id("stException").count() == 0


def test_a_settings_change_mid_run_ends_the_run_and_marks_it(server, browser):
    """The run streams from a worker thread; changing a setting while it runs ends it
    between two steps, keeps the pre-image shown, and marks it as from other settings."""
    page = _open(browser, f"{server}/Playground?steps=5000&every=2&target=7")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(re.compile(r"pre-image · step [1-9]\d* / 5000")).first.wait_for()
    _sidebar_select(page, "Class", re.compile(r"^9 · "), "Ankle")
    page.get_by_text("from previous settings: class 7").first.wait_for()
    page.wait_for_selector(IDLE)
    status = page.get_by_text(re.compile(r"stopped at step (\d+) of 5000")).first
    step = int(re.search(r"stopped at step (\d+)", status.inner_text()).group(1))
    caption = page.get_by_test_id("stMain").get_by_test_id("stImageCaption").first
    assert caption.inner_text().endswith(f"step {step} / 5000") and step < 5000
    assert page.get_by_test_id("stException").count() == 0


def test_several_sessions_run_at_once_and_all_finish(server, browser):
    """Three sessions click Run together: the runs take turns in the server, each streams
    its own pre-image and ends "done" with its own settings."""
    pages = [_open(browser, f"{server}/Playground?steps=40&every=4&target={t}")
             for t in (1, 7, 9)]
    for page in pages:
        page.get_by_role("button", name="Run", exact=True).evaluate("el => el.click()")
    for page, target in zip(pages, (1, 7, 9)):
        page.get_by_text("done: 40 steps").first.wait_for()
        page.wait_for_selector(IDLE)
        caption = page.get_by_test_id("stMain").get_by_test_id("stImageCaption").first
        assert caption.inner_text().endswith("step 40 / 40")
        assert page.get_by_test_id("stException").count() == 0
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download run JSON").click()
        cfg = json.loads(open(dl.value.path(), encoding="utf-8").read())
        assert cfg["target"] == target and cfg["result"]["status"] == "done"
