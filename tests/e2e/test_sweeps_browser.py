"""End to end in headless Chromium: run a small sweep on the Sweeps page, click a cell, and
land in the Playground with that cell's settings."""

from __future__ import annotations

import re

import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"


def test_click_a_cell_opens_it_in_the_playground(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(f"{server}/Sweeps?steps=3&values1=0.1,0.4&axis2=none", timeout=180_000)
            page.wait_for_selector(CONNECTED, timeout=300_000)
            expect(page.get_by_text("2 cells · 3 steps each")).to_be_visible(timeout=300_000)
            run = page.get_by_role("button", name="Run sweep")
            expect(run).to_be_enabled(timeout=300_000)
            run.click()
            opens = page.get_by_role("button", name="Open in Playground")
            expect(opens).to_have_count(2, timeout=400_000)
            main = page.get_by_test_id("stMain")
            expect(main.get_by_test_id("stImage")).to_have_count(2)
            expect(main.get_by_text("gamma=0.1", exact=True)).to_be_visible()
            expect(main.get_by_text("gamma=0.4", exact=True)).to_be_visible()
            assert page.get_by_test_id("stException").count() == 0

            opens.nth(1).click()  # the cell gamma = 0.4
            expect(page).to_have_url(re.compile(r"/Playground\?.*e_gamma=0\.4"),
                                     timeout=120_000)
            assert "steps=3" in page.url and "e_fit=0" in page.url
            steps = (page.get_by_test_id("stNumberInput").filter(has_text="Steps")
                     .get_by_test_id("stNumberInputField").first)
            expect(steps).to_have_value("3", timeout=120_000)
            assert page.get_by_test_id("stException").count() == 0
        finally:
            browser.close()


def test_the_metric_box_shows_the_judges_words_of_the_task(server, browser):
    """The heatmap-metric box keeps a judge choice when the task changes, and shows the
    new task's words for it: Streamlit's box would keep the words it was given first."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{server}/Sweeps?task=am&steps=3", timeout=180_000)
    page.wait_for_selector(CONNECTED, timeout=300_000)
    side = page.get_by_test_id("stSidebar")
    box = side.get_by_test_id("stSelectbox").filter(has_text="Heatmap metric")
    expect(box).to_be_visible(timeout=300_000)
    combo = box.get_by_role("combobox")
    combo.click()
    combo.type("top-1")  # the list shows a few options at a time: filter it
    page.get_by_role("option", name="independent judge: top-1 = target", exact=True).click()
    expect(combo).to_have_value("independent judge: top-1 = target", timeout=60_000)
    side.get_by_test_id("stRadio").filter(has_text="Task").get_by_text(
        "feature inversion", exact=True).click()
    expect(combo).to_have_value("independent judge: top-1 = the original's class",
                                timeout=120_000)
    assert page.get_by_test_id("stException").count() == 0
