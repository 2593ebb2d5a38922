"""A Streamlit server for the browser tests: localhost, a free port, stopped afterwards."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from dashboard import serve

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser_ready() -> None:
    """Skip (with the reason) when Debian's chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install playwright)")


@pytest.fixture
def browser(browser_ready):
    """A headless Debian chromium (Playwright), closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@contextlib.contextmanager
def streamlit_server(log: Path, env: dict | None = None):
    """``python -m streamlit run app.py`` on 127.0.0.1 and a free port (``env`` added to the
    environment; its runs go to the engine process, as in a server started by hand); yields
    its base URL once it answers, stops it afterwards."""
    proc, url = serve.start(log, {"DEMONS_VIZ_ENGINE": "process", **(env or {})})
    try:
        yield url
    finally:
        serve.stop(proc)


@pytest.fixture(scope="session")
def server(browser_ready, tmp_path_factory):
    """A server shared by the browser tests; yields its base URL."""
    with streamlit_server(tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def fresh_server(browser_ready, tmp_path_factory):
    """A server of this test module alone, so that its first request is the module's."""
    with streamlit_server(tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


def start_streamlit(log: Path, env: dict | None = None):
    """:func:`streamlit_server` as a generator, for fixtures (``yield from``)."""
    with streamlit_server(log, env) as url:
        yield url
