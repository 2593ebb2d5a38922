"""Every page opens by direct link (a bookmark, a shared link) in a fresh browser: its
title, the dashboard's st.navigation sidebar, and no "Page not found". The first request
to a fresh server is an old link with query parameters: Streamlit runs a server's first
script in its file-based mode when a pages/ folder exists (dashboard.page.setup_page)."""

from __future__ import annotations

import pytest

from dashboard.navigation import PAGES

from .conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
HEADINGS = {"home": "demons-viz"}  # the home page's heading names the tool


def _visit(browser, url: str):
    """A new browser context (no cookies, no session) at ``url``, connected and idle."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(240_000)
    page.goto(url)
    page.wait_for_selector(CONNECTED)
    page.wait_for_selector(IDLE)
    return context, page


def _check_page(page, info) -> None:
    from playwright.sync_api import expect

    heading = HEADINGS.get(info.key, info.title)
    expect(page.get_by_role("heading", name=heading, exact=True).first).to_be_visible()
    expect(page).to_have_title(f"{info.title} · demons-viz")
    links = page.get_by_test_id("stSidebarNav").get_by_test_id("stSidebarNavLink")
    expect(links).to_have_count(len(PAGES))
    assert links.all_inner_texts() == [p.title for p in PAGES]  # not Streamlit's own menu
    assert page.get_by_text("Page not found").count() == 0
    assert page.get_by_test_id("stException").count() == 0


def test_old_link_then_every_page_by_direct_link(fresh_server):
    from playwright.sync_api import sync_playwright

    pages = {p.key: p for p in PAGES}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            # first request of this server: an old Playground link with its settings
            context, page = _visit(browser, f"{fresh_server}/Playground?steps=37&scheme=elastic")
            _check_page(page, pages["playground"])
            from playwright.sync_api import expect

            steps = page.get_by_test_id("stNumberInput").filter(has_text="Steps")
            expect(steps.get_by_test_id("stNumberInputField")).to_have_value("37")
            assert page.get_by_role("radio", name="elastic", exact=True).is_checked()
            assert "steps=37" in page.url and "/Playground" in page.url
            context.close()
            for info in PAGES:
                context, page = _visit(browser, f"{fresh_server}/{info.url_path}")
                _check_page(page, info)
                assert page.url.rstrip("/") == f"{fresh_server}/{info.url_path}".rstrip("/")
                context.close()
        finally:
            browser.close()
