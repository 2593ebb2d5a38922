"""Compare's Fig. 1 grid as a demo person meets it in Chromium (QA): at 1280x720 the eight
cells and the reference fit in about a screen and a half (they took three), the
reference sits beside the first row, three cells a row, each picture readable; the same
at 1920x1080. Every wait is for an expected element, never a sleep."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
VIEWPORTS = [(1280, 720), (1920, 1080)]


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_grid_is_dense_with_the_reference_beside_its_first_row(server, browser, size):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.set_default_timeout(240_000)
    page.goto(f"{server}/Compare_schemes?octaves_on=0&steps=6&every=3")
    page.wait_for_selector(CONNECTED)
    run = page.get_by_role("button", name="Run all", exact=True)
    run.wait_for()
    page.wait_for_selector(IDLE)
    run.click()
    page.get_by_text("Downloads of the run shown").first.wait_for()
    page.wait_for_selector(IDLE)
    main = page.get_by_test_id("stMain")
    images = main.get_by_test_id("stImage")
    assert images.count() == 9  # the reference and the eight cells of Fig. 1
    pics = [images.nth(i).locator("img").bounding_box() for i in range(9)]
    ref, cells = pics[0], pics[1:]
    first_row = cells[:3]
    assert len({round(b["y"]) for b in first_row}) == 1  # three cells a row
    assert ref["x"] + ref["width"] <= first_row[0]["x"]  # beside the first row
    assert ref["y"] < first_row[0]["y"] + first_row[0]["height"]
    assert min(b["width"] for b in pics) >= 180, pics  # readable on either screen
    # the column names once, above the first row
    header = main.get_by_text("fluid-elastic", exact=True)
    assert header.count() == 1 and header.bounding_box()["y"] < first_row[0]["y"]
    # from the first picture's top to the end of the last cell (caption, open button)
    ends = [images.nth(8).bounding_box(),
            main.get_by_role("button", name="Open in Playground").last.bounding_box()]
    last = max(b["y"] + b["height"] for b in ends)
    span = last - min(b["y"] for b in pics)
    assert span <= 1.5 * size[1], (size, span)
    assert page.get_by_test_id("stException").count() == 0
    page.close()
