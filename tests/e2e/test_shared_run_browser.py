"""Two browser sessions ask for the same Playground run at once: the engine process computes
it once (dashboard.shared_runs). The second session, which came later, shows the run from
its first frames; Stop in one session leaves the other's run going to "done"."""

from __future__ import annotations

import re

import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS, streamlit_server

pytestmark = pytest.mark.e2e

CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
STEPS = 3000
LINK = f"/Playground?steps={STEPS}&every=10"


def _open(browser, url: str):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    page.set_default_timeout(180_000)
    page.goto(url)
    page.wait_for_selector(CONNECTED)
    page.get_by_role("button", name="Run", exact=True).wait_for()
    page.wait_for_selector(IDLE)
    return page


def _step(page) -> int:
    caption = page.get_by_test_id("stMain").get_by_test_id("stImageCaption").first.inner_text()
    m = re.search(rf"step (\d+) / {STEPS}", caption)
    return int(m.group(1)) if m else -1


def test_stop_in_one_session_leaves_the_shared_run_to_the_other(browser_ready, tmp_path):
    from playwright.sync_api import sync_playwright

    with streamlit_server(tmp_path / "server.log") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_ARGS)
        a, b = _open(browser, url + LINK), _open(browser, url + LINK)
        shown = re.compile(rf"pre-image · step [1-9]\d* / {STEPS}")
        a.get_by_role("button", name="Run", exact=True).click()
        a.get_by_text(shown).first.wait_for()
        b.get_by_role("button", name="Run", exact=True).click()
        b.get_by_text(shown).first.wait_for()
        a.get_by_role("button", name="Stop", exact=True).click()
        a.get_by_text(re.compile(rf"stopped at step \d+ of {STEPS} after")).first.wait_for()
        stopped_at = _step(a)
        b.get_by_text(f"done: {STEPS} steps").first.wait_for()
        b.wait_for_selector(IDLE)
        assert _step(b) == STEPS and 0 < stopped_at < STEPS
        for page in (a, b):
            assert page.get_by_test_id("stException").count() == 0
        # the session that stopped keeps what it was shown; a new Run starts afresh
        assert _step(a) == stopped_at
        browser.close()
