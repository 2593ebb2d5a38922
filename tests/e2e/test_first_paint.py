"""A page's controls show their settings from their first paint: a number box seeded from
the URL (or the defaults) enters the page with that value, not with Streamlit's own
default for it (the minimum: ``Steps = 1``, ``Seed = 0``) replaced a moment later."""

from __future__ import annotations

import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

# The value every number box has when it enters the document, recorded by a
# MutationObserver (its callback runs before the browser paints the inserted box), keyed by
# the box's label; and every later value it takes.
RECORD = """
window.__boxes = {};
const seen = () => document.querySelectorAll("[data-testid='stNumberInput']").forEach(box => {
  const input = box.querySelector("input");
  const label = box.querySelector("label")?.innerText || "?";
  if (!input) return;
  const values = (window.__boxes[label] = window.__boxes[label] || []);
  if (values[values.length - 1] !== input.value) values.push(input.value);
});
new MutationObserver(seen).observe(document, {subtree: true, childList: true,
                                              attributes: true, characterData: true});
document.addEventListener("input", seen, true);
"""
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


@pytest.mark.parametrize("path, label, value", [
    ("Playground?steps=300&seed=7", "Steps", "300"),
    ("Playground?steps=300&seed=7", "Seed", "7"),
    ("Playground", "Steps", None),  # the default, whatever it is, from the first paint
    ("Sweeps", "Steps", None),
])
def test_number_boxes_show_their_setting_from_the_first_paint(server, path, label, value):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            context.add_init_script(RECORD)
            page = context.new_page()
            page.goto(f"{server}/{path}")
            page.wait_for_selector(IDLE, timeout=120_000)
            box = page.get_by_test_id("stNumberInput").filter(has_text=label).first
            box.wait_for(timeout=60_000)
            shown = box.locator("input").input_value()
            boxes = page.evaluate("window.__boxes")
            history = next(v for k, v in boxes.items() if k.startswith(label))
            assert history == [shown], (label, history)
            if value is not None:
                assert shown == value
            assert shown not in ("", "1") or label != "Steps"
        finally:
            browser.close()
