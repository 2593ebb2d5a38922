"""The guided demo from Home in headless Chromium: each step opens its page, runs, and
shows its pre-image with a probability or quality figure and no warning box."""

from __future__ import annotations

import pytest

from dashboard.demo import demo_steps, load_gallery

from .conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e  # the demo runs the committed offline models

CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
IMAGES = "[data-testid='stMain'] [data-testid='stImage'] img"
WARNING = "[data-testid='stAlertContentWarning'], [data-testid='stException']"


def _settle(page, timeout: float = 300_000) -> None:
    page.wait_for_selector(CONNECTED, timeout=timeout)
    page.wait_for_selector(IDLE, timeout=timeout)


def _step(page, server: str, index: int) -> None:
    page.goto(server)
    _settle(page)
    page.get_by_role("button", name=demo_steps(load_gallery())[index].title).click()


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_demo_path_from_home(server, size):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": size[0], "height": size[1]})
            page.set_default_navigation_timeout(300_000)
            # 1: Compare inverts the ankle boot with every scheme, captions give the error
            _step(page, server, 0)
            page.get_by_role("heading", name="Compare schemes").wait_for(timeout=120_000)
            page.get_by_text("done:").first.wait_for(timeout=600_000)
            _settle(page)
            captions = page.locator("[data-testid='stMain'] [data-testid='stImage']")
            assert page.locator(IMAGES).count() >= 8
            texts = captions.all_inner_texts()  # short: "error 0.03 · judge: Ankle boot 82%"
            assert all(t.startswith(("error ", "TV · error ", "no regularization · error "))
                       for t in texts[1:]), texts
            # the line under the grid names the error in full, beside a flat image's
            page.get_by_text("Best relative feature error").first.wait_for(timeout=60_000)
            assert page.locator(WARNING).count() == 0
            # 2: Playground runs a class pre-image and shows its probability
            _step(page, server, 1)
            page.get_by_role("heading", name="Playground").wait_for(timeout=120_000)
            page.get_by_text("class probability").first.wait_for(timeout=600_000)
            _settle(page)
            assert page.locator(IMAGES).count() >= 1
            assert page.locator(WARNING).count() == 0
            # 3: Kernels & spectra draws its kernels and their figures
            _step(page, server, 2)
            page.get_by_role("heading", name="Kernels & spectra").wait_for(timeout=120_000)
            page.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=120_000)
            _settle(page)
            assert page.get_by_text("Nyquist").count() > 0
            assert page.locator(WARNING).count() == 0
        finally:
            browser.close()
