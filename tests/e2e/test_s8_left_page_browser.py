"""In Chromium: a run left for another page mid-way says, back on its page, that it ended
when the page was left (not as if Stop had been pressed)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"


def test_leaving_the_playground_mid_run_is_said(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(240_000)
    page.goto(f"{server}/Playground?steps=5000&every=2&target=3")
    page.wait_for_selector(CONNECTED)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(re.compile(r"pre-image · step [1-9]\d* / 5000")).first.wait_for()
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="Home").click()
    page.wait_for_url(re.compile(r"/(\?.*)?$"))
    page.wait_for_selector(IDLE)
    nav.get_by_role("link", name="Playground").click()
    status = page.get_by_text(re.compile(r"stopped at step \d+ of 5000 after [\d.]+ s when "
                                         r"its page was left"))
    status.first.wait_for()
    assert page.get_by_test_id("stException").count() == 0
