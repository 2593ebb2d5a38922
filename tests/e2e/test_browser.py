"""End to end in headless Chromium: move a slider, run, watch the pre-image stream."""

from __future__ import annotations

import pytest

from dashboard.settings.playground import playground_defaults
from viz_core import models

from .conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
WEIGHTS = ("" if models.weights_status(playground_defaults()["model"]) == "offline"
           else "&weights=random")
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


# Collects every distinct src of the main area's pre-image (streamed frames) in the page.
WATCH_IMAGES = """() => {
  window.__srcs = new Set();
  const seen = () => document.querySelectorAll("[data-testid='stMain'] [data-testid='stImage'] img")
    .forEach(img => img.src && window.__srcs.add(img.src));
  new MutationObserver(seen).observe(document.body,
    {subtree: true, childList: true, attributes: true, attributeFilter: ["src"]});
}"""


def _settle(page, timeout: float = 120_000) -> None:
    """Connected and idle; callers then wait for the element they expect."""
    page.wait_for_selector(CONNECTED, timeout=timeout)
    page.wait_for_selector(IDLE, timeout=timeout)


def _frames_seen(page, n: int, timeout: float = 120_000) -> None:
    page.wait_for_function(f"() => window.__srcs && window.__srcs.size >= {n}",
                           timeout=timeout)


def test_slider_run_stream_and_screenshot(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600},
                                    accept_downloads=True)
            # long enough for several redraws (the page redraws at most 5 times a second,
            # so a run of a fraction of a second shows only its first and last frame)
            page.goto(f"{server}/Playground?steps=150&every=1{WEIGHTS}")
            _settle(page)
            assert page.get_by_test_id("stException").count() == 0

            # move the fluid kernel-size slider one notch: 9 -> 11
            slider = (page.get_by_test_id("stSlider").filter(has_text="Kernel size").first
                      .get_by_role("slider"))
            before = int(slider.get_attribute("aria-valuetext"))
            slider.focus()
            slider.press("ArrowRight")
            expect(slider).to_have_attribute("aria-valuetext", str(before + 2))
            new = f"{before + 2}x{before + 2}"  # the kernel panel redraws with the new size
            page.locator("[data-testid='stPlotlyChart'] .annotation-text").filter(
                has_text=new).first.wait_for(timeout=120_000)
            _settle(page)

            page.evaluate(WATCH_IMAGES)
            page.get_by_role("button", name="Run", exact=True).click()
            _frames_seen(page, 3)  # the first frame and at least two streamed updates
            page.get_by_text("Downloads of the run shown").first.wait_for(timeout=300_000)
            _settle(page, timeout=300_000)
            expect(page.get_by_test_id("stDownloadButton").first).to_be_visible()
            for name, magic in (("Download GIF", b"GIF8"), ("Download run JSON", b"{")):
                with page.expect_download(timeout=30_000) as download:
                    page.get_by_role("button", name=name).click()
                with open(download.value.path(), "rb") as fh:
                    assert fh.read(4).startswith(magic), name
            shot = tmp_path / "playground.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            assert page.get_by_test_id("stException").count() == 0
        finally:
            browser.close()


def test_stop_ends_the_run_and_keeps_the_image(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(f"{server}/Playground?steps=2000&every=2{WEIGHTS}")
            _settle(page)
            page.evaluate(WATCH_IMAGES)
            page.get_by_role("button", name="Run", exact=True).click()
            _frames_seen(page, 2)  # streaming has started
            page.get_by_role("button", name="Stop", exact=True).click()
            page.get_by_text("stopped at step").first.wait_for(timeout=120_000)
            _settle(page)
            image = page.get_by_test_id("stMain").get_by_test_id("stImage").locator("img")
            assert image.count() == 1
            expect(page.get_by_test_id("stDownloadButton").first).to_be_visible()
            assert page.get_by_test_id("stException").count() == 0
        finally:
            browser.close()
