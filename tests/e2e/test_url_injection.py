"""Markdown and HTML in every URL parameter of every page (issue 21): the rendered DOM has
no injected link or image, the browser requests nothing from the injected address, and the
text shows as text where the page quotes it (toasts and error boxes)."""

from __future__ import annotations

import urllib.parse

import pytest

from dashboard.navigation import PAGES
from dashboard.settings.compare import compare_defaults
from dashboard.settings.explainers import KERNELS_DEFAULTS, LEARN_DEFAULTS
from dashboard.settings.playground import playground_defaults
from dashboard.sweeps_view import sweep_defaults

from .conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

EVIL_HOST = "127.0.0.1:8651"  # nothing listens there; a request to it is the failure
INJECTION = (f"**Session expired** [click here](http://{EVIL_HOST}/phish) "
             f"![p](http://{EVIL_HOST}/px2.png) <img src=http://{EVIL_HOST}/px3.png> "
             f"<a href=http://{EVIL_HOST}/a>a</a> http://{EVIL_HOST}/bare")
PARAMS = sorted({*playground_defaults(), *compare_defaults(), *sweep_defaults(),
                 *KERNELS_DEFAULTS, *LEARN_DEFAULTS})
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
#: Pages whose notices quote a rejected URL value (the others drop it without a word).
QUOTING = {"Playground", "Compare_schemes", "Sweeps"}
INJECTED = (f"a[href*='{EVIL_HOST}'], img[src*='{EVIL_HOST}'], "
            f"[srcset*='{EVIL_HOST}'], iframe[src*='{EVIL_HOST}']")


@pytest.mark.parametrize("page_info", PAGES, ids=[p.key for p in PAGES])
def test_url_text_is_never_markup(server, page_info):
    from playwright.sync_api import sync_playwright

    query = urllib.parse.urlencode({k: INJECTION for k in PARAMS})
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{server}/{page_info.url_path}?{query}")
            page.wait_for_selector(CONNECTED, timeout=120_000)
            page.wait_for_selector(IDLE, timeout=180_000)
            if page_info.url_path in QUOTING:  # the quoted text arrives (toast or error box)
                page.get_by_text("Session expired", exact=False).first.wait_for(
                    timeout=60_000)
            assert page.locator(INJECTED).count() == 0
            strong = page.locator("strong", has_text="Session expired")
            assert strong.count() == 0  # no Markdown emphasis either
            assert page.get_by_test_id("stException").count() == 0
        finally:
            browser.close()
    assert not [u for u in requests if EVIL_HOST in u], requests
