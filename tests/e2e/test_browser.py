"""End to end in headless Chromium: move a slider, run, watch the pre-image stream."""

from __future__ import annotations

import time

import pytest

from viz_core import models

from .conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _settle(page, timeout: float = 120_000) -> None:
    page.wait_for_selector(CONNECTED, timeout=timeout)
    time.sleep(0.3)  # a rerun triggered just before may not have started yet
    page.wait_for_selector(IDLE, timeout=timeout)


def test_slider_run_stream_and_screenshot(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    weights = "" if models.weights_status("fmnist_vgg") == "offline" else "&weights=random"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600},
                                    accept_downloads=True)
            page.goto(f"{server}/Playground?steps=40&every=2{weights}")
            _settle(page)
            assert page.get_by_test_id("stException").count() == 0

            # move the fluid kernel-size slider one notch: 9 -> 11
            slider = (page.get_by_test_id("stSlider").filter(has_text="Kernel size").first
                      .get_by_role("slider"))
            before = slider.get_attribute("aria-valuenow")
            slider.focus()
            slider.press("ArrowRight")
            expect(slider).not_to_have_attribute("aria-valuenow", before or "")
            _settle(page)
            expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()

            page.get_by_role("button", name="Run", exact=True).click()
            image = page.get_by_test_id("stMain").get_by_test_id("stImage").locator("img")
            seen: list[str] = []
            deadline = time.time() + 120
            while len(seen) < 3 and time.time() < deadline:
                if image.count():
                    src = image.first.get_attribute("src")
                    if src and (not seen or src != seen[-1]):
                        seen.append(src)
                time.sleep(0.05)
            assert len(seen) >= 3, f"the streamed image changed {len(seen) - 1} times"

            _settle(page, timeout=180_000)
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

    weights = "" if models.weights_status("fmnist_vgg") == "offline" else "&weights=random"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(f"{server}/Playground?steps=2000&every=2{weights}")
            _settle(page)
            page.get_by_role("button", name="Run", exact=True).click()
            image = page.get_by_test_id("stMain").get_by_test_id("stImage").locator("img")
            seen: list[str] = []
            deadline = time.time() + 60
            while len(seen) < 2 and time.time() < deadline:  # streaming has started
                src = image.first.get_attribute("src") if image.count() else None
                if src and src not in seen:
                    seen.append(src)
                time.sleep(0.05)
            page.get_by_role("button", name="Stop", exact=True).click()
            _settle(page)
            expect(page.get_by_text("stopped at step").first).to_be_visible()
            assert image.count() == 1
            expect(page.get_by_test_id("stDownloadButton").first).to_be_visible()
            assert page.get_by_test_id("stException").count() == 0
        finally:
            browser.close()
