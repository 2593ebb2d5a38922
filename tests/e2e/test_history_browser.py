"""Browser tests of the run history: two sessions that run at once both land in the store,
and a report exported from the History page opens in Chromium with every image."""

from __future__ import annotations

import os
import re

import pytest

from dashboard.settings.playground import playground_defaults
from viz_core import models
from viz_core.store import RunStore

pytestmark = pytest.mark.e2e

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
WEIGHTS = ("" if models.weights_status(playground_defaults()["model"]) == "offline"
           else "&weights=random")


def _page(browser, url: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = ctx.new_page()  # a context of its own: a session of its own
    page.set_default_timeout(240_000)
    page.goto(url)
    page.wait_for_selector(CONNECTED)
    page.wait_for_selector(IDLE)
    return page


def test_two_sessions_store_their_runs_and_a_report_opens_with_every_image(
        server, browser, tmp_path):
    store = RunStore(os.environ["DEMONS_VIZ_STORE"])
    before = {r.id for r in store.list(limit=None)}
    pages = [_page(browser, f"{server}/Playground?steps={n}&every=2&target={t}{WEIGHTS}")
             for n, t in ((30, 1), (24, 5))]
    for page in pages:  # both run at the same time
        page.get_by_role("button", name="Run", exact=True).click()
    for page in pages:
        page.get_by_text(re.compile(r"In the history: [0-9a-f]{12}")).first.wait_for()
        page.wait_for_selector(IDLE)
    new = [store.get(r.id) for r in store.list(limit=None) if r.id not in before]
    assert len(new) == 2 and {r.config["target"] for r in new} == {1, 5}
    assert {r.status for r in new} == {"done"}

    ids = ",".join(r.id for r in new)
    page = _page(browser, f"{server}/History?runs={ids}")
    button = page.get_by_role("button", name="Export report (HTML)")
    button.wait_for()
    with page.expect_download() as dl:
        button.click()
    report = tmp_path / "report.html"
    dl.value.save_as(report)
    view = browser.new_page()
    view.goto(report.as_uri())
    view.wait_for_load_state("load")
    images = view.eval_on_selector_all(
        "img", "els => els.map(e => [e.complete && e.naturalWidth > 0, e.alt])")
    # 2 pre-images, their frames, the objective and activation curves; nothing external
    assert len(images) >= 4 and all(ok for ok, _ in images), images
    alts = [a for _, a in images]
    assert sum(a.startswith("pre-image of run") for a in alts) == 2
    assert view.title() == "demons-viz comparison of 2 runs"
    srcs = view.eval_on_selector_all("img", "els => els.map(e => e.src.slice(0, 22))")
    assert set(srcs) == {"data:image/png;base64,"}


def test_a_history_tab_says_new_runs_arrived_above_its_table(server, browser, tmp_path):
    """A run stored while a History tab is open (here by the CLI, into the server's store)
    is announced within its 10 s check, above the table at 1280x720 where it is in sight,
    and Refresh lists it."""
    from viz_core.cli import main

    store = os.environ["DEMONS_VIZ_STORE"]
    assert main(["visualize", "--model", "fmnist_vgg", "--weights", "random", "--target", "1",
                 "--steps", "2", "--quiet", "--store", store,
                 "--out", str(tmp_path / "a.png")]) == 0
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    page.set_default_timeout(240_000)
    page.goto(f"{server}/History")
    page.wait_for_selector(CONNECTED)
    page.get_by_text(re.compile(r"run\(s\) shown")).wait_for()
    assert main(["visualize", "--model", "fmnist_vgg", "--weights", "random", "--target", "2",
                 "--steps", "2", "--quiet", "--store", store,
                 "--out", str(tmp_path / "b.png")]) == 0
    notice = page.get_by_text(re.compile(r"\d+ new runs? since this list was drawn")).first
    notice.wait_for(timeout=60_000)
    table = page.locator("[data-testid='stDataFrame']").first
    assert notice.bounding_box()["y"] < table.bounding_box()["y"] < 720
    page.get_by_role("button", name="Refresh").click()
    notice.wait_for(state="detached")
    ctx.close()
