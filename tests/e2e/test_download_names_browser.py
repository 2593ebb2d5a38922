"""A download named in another script arrives under that name (QA: "Été 模型" was cut to
"ete" in every file name). Streamlit sends a non-ASCII ``file_name`` as RFC 5987
``filename*=utf-8''...`` and Chromium saves the download under it, so
:func:`dashboard.file_names.file_stem` keeps letters of every script. A one-button app of its
own, served like the dashboard; every wait is for an expected element."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard.file_names import file_stem
from dashboard.serve import free_port, stop

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PARTS = ["模型 Été", "Ёлка", "fluid-elastic-sobolev"]
APP = f"""
import streamlit as st
from dashboard.file_names import file_stem
# as the dashboard's run downloads (dashboard.page): bytes, or a callable made on click
st.download_button("Download PNG", b"png", file_stem({PARTS!r}) + ".png", "image/png",
                   on_click="ignore")
st.download_button("Download GIF", lambda: b"gif", file_stem({PARTS!r}) + ".gif",
                   "image/gif", on_click="ignore")
"""


@pytest.fixture
def app_url(browser_ready, tmp_path):
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    port = free_port()
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(tmp_path / "app.py"),
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # as dashboard.serve.start waits for the dashboard
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("streamlit did not start: " + (tmp_path / "server.log").read_text())
            time.sleep(0.3)
        yield url
    finally:
        stop(proc)


def test_a_non_ascii_download_name_arrives_as_sent(app_url, browser):
    stem = file_stem(PARTS)
    assert stem == "模型-ete_ёлка_fluid-elastic-sobolev"
    for label, ext in (("Download PNG", "png"), ("Download GIF", "gif")):
        # a page each: Chromium holds back a page's second download as "automatic"
        page = browser.new_page(accept_downloads=True)
        page.set_default_timeout(60_000)
        page.goto(app_url)
        button = page.get_by_role("button", name=label)
        button.wait_for()
        with page.expect_download() as got:
            button.click()
        assert got.value.suggested_filename == f"{stem}.{ext}"
        page.close()
