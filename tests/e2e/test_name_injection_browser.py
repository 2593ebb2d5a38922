"""Names with Markdown and HTML in them, rendered by Chromium (a final review): a team's
network and classes named ``[x](http://127.0.0.1:9/p) **b** <b>h</b> |t|`` and an uploaded
image of that file name show literally (no link, no bold, no HTML, no broken table) in the
Playground's metrics table, a Compare caption and the "from previous settings" note; a
class name with an ``<a href>`` in a sweep's heatmap is text, not a plotly link."""

from __future__ import annotations

import re
import urllib.parse

import numpy as np
import pytest

from tests.test_text_names import EVIL
from tests.test_text_names_pages import team_toml

from .conftest import start_streamlit
from .test_dashboard import CONNECTED, IDLE, _run_and_wait

pytestmark = pytest.mark.e2e

MODEL = urllib.parse.quote(EVIL)
#: What the names would make if they were markup: a link to the address, bold, raw HTML.
INJECTED = "a[href*='127.0.0.1:9'], img[src*='127.0.0.1:9']"


@pytest.fixture(scope="module")
def team_server(browser_ready, tmp_path_factory):
    folder = tmp_path_factory.mktemp("names")
    yield from start_streamlit(folder / "server.log", {
        "DEMONS_VIZ_MODELS": str(team_toml(folder)),
        "DEMONS_VIZ_STORE": str(folder / "runs.sqlite")})


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(180_000)
    page.goto(url)
    page.wait_for_selector(CONNECTED)
    page.get_by_role("button", name=re.compile(r"^Run( all)?$")).first.wait_for()
    page.wait_for_selector(IDLE)
    return page


def _text(locator) -> str:
    return locator.inner_text().replace("\u200b", "")


def _no_markup(page, where) -> None:
    assert page.locator(INJECTED).count() == 0
    assert where.locator("strong", has_text=re.compile(r"^b$")).count() == 0
    assert where.locator("b", has_text=re.compile(r"^h$")).count() == 0
    assert page.get_by_test_id("stException").count() == 0


def test_the_metrics_table_and_the_header_show_the_names(team_server, browser):
    page = _open(browser, f"{team_server}/Playground?model={MODEL}&steps=4&every=2&target=1")
    _run_and_wait(page)
    main = page.get_by_test_id("stMain")
    table = main.locator("table").filter(has_text="top-3 of the model")
    table.wait_for()
    rows = table.locator("tr")
    assert rows.count() >= 5
    for i in range(rows.count()):  # a pipe in a name does not split a row
        assert rows.nth(i).locator("th, td").count() == 2, _text(rows.nth(i))
    assert f"class probability ({EVIL})" in _text(table)
    assert f"{EVIL} " in _text(table.locator("tr", has_text="top-3 of the model"))
    assert main.get_by_text(f" · {EVIL}").count() >= 1 or f"· {EVIL}" in _text(main)
    _no_markup(page, main)


def test_a_compare_caption_shows_the_class_names(team_server, browser):
    page = _open(browser, f"{team_server}/Compare_schemes?model={MODEL}&task=inversion"
                          "&cells=tv&steps=2&every=2")
    page.get_by_role("button", name="Run all", exact=True).click()
    page.get_by_text("Downloads of the run shown").first.wait_for()
    page.wait_for_selector(IDLE)
    main = page.get_by_test_id("stMain")
    caption = main.get_by_test_id("stImageCaption").filter(has_text="TV")
    assert caption.count() == 1
    assert EVIL in _text(caption), _text(caption)
    _no_markup(page, main)


def test_the_stale_note_shows_an_uploaded_file_name(team_server, browser):
    from viz_core.images import png_bytes

    rng = np.random.default_rng(0)
    page = _open(browser, f"{team_server}/Playground?model={MODEL}&task=inversion"
                          "&image=upload&steps=2&every=2")
    upload = page.get_by_test_id("stSidebar").get_by_test_id("stFileUploader") \
        .filter(has_text="Upload an image").locator("input[type='file']")
    for k, file_name in enumerate((f"{EVIL}.png", "other.png")):
        upload.set_input_files(files=[{"name": file_name, "mimeType": "image/png", "buffer":
                                       png_bytes(rng.random((1, 40, 40), dtype=np.float32))}])
        page.locator(f'[data-testid="stFileChipName"][title="{file_name}"]').wait_for()
        page.wait_for_selector(IDLE)
        if k == 0:
            _run_and_wait(page)
    note = page.get_by_test_id("stMain").get_by_test_id("stAlert").filter(
        has_text="from previous settings")
    note.wait_for()
    assert f"uploaded image {EVIL}.png (" in _text(note), _text(note)
    _no_markup(page, page.get_by_test_id("stMain"))


def test_a_heatmap_shows_an_html_class_name_as_text(browser_ready, browser, tmp_path):
    """The Sweeps heatmap's figure, drawn by plotly.js: a class name with ``<a href>`` and
    ``<b>`` is a tick label's text (the same figure with the raw name makes the link)."""
    import plotly.graph_objects as go

    from dashboard.sweep_heatmap import heatmap_figure

    evil = '<a href="http://127.0.0.1:9/p">n</a> <b>h</b>'
    rows = [{"task": "am", "target": t, "target_class": f"{evil} {t}", "activation": t,
             "config": "{}"} for t in (0, 1)]
    fig = heatmap_figure(rows, ["target"], "activation")
    raw = go.Figure(fig)
    raw.data[0].y = [f"{t} · {evil} {t}" for t in (0, 1)]
    page = browser.new_page()
    for figure, links in ((fig, 0), (raw, 2)):
        path = tmp_path / f"fig{links}.html"
        figure.write_html(str(path), include_plotlyjs=True, full_html=True)
        page.goto(path.as_uri())
        page.locator(".main-svg .ytick text").first.wait_for()
        # plotly makes an <a href> of a text an SVG link (xlink:href)
        assert page.locator(".main-svg a[*|href*='127.0.0.1:9']").count() == links
        if not links:
            ticks = page.locator(".ytick text").all_text_contents()
            assert sorted(ticks) == [f"0 · {evil} 0", f"1 · {evil} 1"], ticks
