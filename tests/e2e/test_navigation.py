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


def test_back_and_forward_restore_the_settings_of_each_step(server, browser):
    """The browser's Back and Forward buttons go through the settings a user set, each
    widget showing the value of its URL (a URL without parameters: the default); before,
    the page took an earlier URL for a stale one and wrote the current settings back."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(240_000)
    try:
        page.goto(f"{server}/Playground")
        page.wait_for_selector(CONNECTED)
        page.wait_for_selector(IDLE)
        seed = page.get_by_label("Seed", exact=True)
        for value in ("5", "7"):
            seed.fill(value)
            seed.press("Enter")
            expect(page).to_have_url(f"{server}/Playground?seed={value}")
            page.wait_for_selector(IDLE)
        for go, url, value in ((page.go_back, "?seed=5", "5"), (page.go_back, "", "0"),
                               (page.go_forward, "?seed=5", "5")):
            go()
            expect(page).to_have_url(f"{server}/Playground{url}")
            expect(seed).to_have_value(value)
            page.wait_for_timeout(500)  # the page's own URL write would come meanwhile
            expect(page).to_have_url(f"{server}/Playground{url}")
        assert page.get_by_test_id("stException").count() == 0
    finally:
        context.close()
