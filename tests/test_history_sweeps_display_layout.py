"""History side by side in Chromium: six runs at 1280x720 (columns of ~139 px) showed their
224 px pre-images over each other and past the viewport; each now fits its column, at any
width."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dashboard import serve
from viz_core.images import png_bytes
from viz_core.store import RunRecord, RunStore

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
IMAGES = "[data-testid='stImage'] img, [data-testid='stImageContainer'] img"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A server whose store holds six runs; yields (its URL, the run ids)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    tmp = tmp_path_factory.mktemp("history_layout")
    store = RunStore(tmp / "runs.sqlite")
    rng = np.random.default_rng(0)
    ids = [store.add(RunRecord(
        config={"model": "fmnist_vgg", "task": "am", "target": 3, "step_size": 1.0 + i},
        model="fmnist_vgg", task="am", scheme="tv", started=1e9 + i, ended=1e9 + i + 1,
        image=png_bytes(rng.random((1, 28, 28), dtype=np.float32)))) for i in range(6)]
    store.close()
    proc, url = serve.start(tmp / "server.log", {"DEMONS_VIZ_STORE": str(tmp / "runs.sqlite")})
    try:
        yield url, ids
    finally:
        serve.stop(proc)


@pytest.mark.parametrize("width,height", [(1280, 720), (1920, 1080)])
def test_six_runs_side_by_side_fit_their_columns(history, width, height):
    from playwright.sync_api import sync_playwright

    url, ids = history
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(120_000)
            page.goto(f"{url}/History?runs={','.join(ids)}")
            page.get_by_text("Side by side").wait_for()
            page.wait_for_selector(IDLE)
            page.locator(IMAGES).nth(5).wait_for()
            boxes = [page.locator(IMAGES).nth(i).bounding_box() for i in range(6)]
        finally:
            browser.close()
    for a, b in zip(boxes, boxes[1:]):
        assert a["x"] + a["width"] <= b["x"], (width, boxes)  # no overlap
    assert boxes[-1]["x"] + boxes[-1]["width"] <= width, (width, boxes)
    assert all(b["width"] >= 64 for b in boxes)  # still a picture, not a thumbnail
