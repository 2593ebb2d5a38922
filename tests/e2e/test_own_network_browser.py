"""Browser test of bringing your own network to the Playground: a team model from
demons-viz.toml is in the model box; an uploaded .pt2 program's inner layer and channel
run to a pre-image."""

from __future__ import annotations

import re

import pytest
import torch

from tests.own_nets import branchy

from .conftest import CHROMIUM, CHROMIUM_ARGS, start_streamlit
from .test_dashboard import CONNECTED, IDLE, _run_and_wait, _sidebar_select

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def team_server(browser_ready, tmp_path_factory):
    folder = tmp_path_factory.mktemp("team")
    toml = folder / "demons-viz.toml"
    toml.write_text('[[model]]\nname = "team_branchy"\nsource = "tests.own_nets:branchy"\n'
                    'input_size = 32\nchannels = 1\n')
    yield from start_streamlit(folder / "server.log", {"DEMONS_VIZ_MODELS": str(toml)})


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "branchy.pt2"
    net = branchy().eval()
    ep = torch.export.export(net, (torch.rand(2, 1, 32, 32),),
                             dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(ep, str(path))
    return path


def test_upload_a_program_and_visualise_an_inner_channel(team_server, program):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(240_000)
            page.goto(f"{team_server}/Playground?steps=6&every=3&weights=random")
            page.wait_for_selector(CONNECTED)
            page.get_by_role("button", name="Run", exact=True).wait_for()
            page.wait_for_selector(IDLE)
            # the team's model is in the model box
            box = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(
                has=page.get_by_test_id("stWidgetLabel").get_by_text("Model", exact=True))
            box.click()
            page.keyboard.type("team")
            page.get_by_role("option", name=re.compile(r"^team_branchy\s+\(your network\)")) \
                .wait_for()
            page.keyboard.press("Escape")
            page.wait_for_selector(IDLE)
            # upload the program: it becomes the selected model
            page.get_by_test_id("stSidebar").get_by_test_id("stFileUploader") \
                .filter(has_text="torch.export program").locator("input[type='file']") \
                .set_input_files(str(program))
            sidebar = page.get_by_test_id("stSidebar")
            # the upload's rerun has put the program in the link (IDLE alone can be seen
            # before that rerun starts)
            page.wait_for_url(re.compile(r"model=[^&]*\.pt2"))
            page.wait_for_selector(IDLE)
            # "block" (no digit) is a layer of the uploaded program, not of the zoo model
            # the page opened on: picking it shows the upload became the selected model
            _sidebar_select(page, "Layer", re.compile(r"^block$"), "block")
            page.wait_for_selector(IDLE)
            channel = sidebar.get_by_label(re.compile(r"Channel \(0\.\.7\)"))
            channel.fill("3")
            channel.press("Enter")
            page.wait_for_selector(IDLE)
            _run_and_wait(page)
            main = page.get_by_test_id("stMain")
            assert main.get_by_test_id("stImage").count() >= 1
            caption = main.get_by_test_id("stImageCaption").first.inner_text()
            assert caption.endswith("step 6 / 6"), caption
            assert page.get_by_test_id("stException").count() == 0
        finally:
            browser.close()
