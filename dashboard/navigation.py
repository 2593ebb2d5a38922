"""The dashboard's pages in one list: ``app.py`` hands it to ``st.navigation``, and the Home
page lists them with their blurbs.

Adding a page is a file in ``pages/`` plus one line in :data:`PAGES`. Each page's URL path
is the name Streamlit derives from its file (``pages/1_Playground.py`` -> ``Playground``):
with a folder named ``pages/`` next to ``app.py``, a direct link that does not match that
name shows "Page not found" (a test checks that every file and URL path agree). The URLs
are those of Streamlit's file-based mode, so older links keep working.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    """One page: a key the code refers to, its file (relative to ``app.py``), the sidebar
    title, the URL path (empty for the home page) and the blurb Home shows for it."""

    key: str
    path: str
    title: str
    url_path: str
    blurb: str = ""


PAGES: list[PageInfo] = [
    PageInfo("home", "pages/home.py", "Home", ""),
    PageInfo("playground", "pages/1_Playground.py", "Playground", "Playground",
             "tweak the fluid and elastic kernels, TV, step size and octaves and watch the "
             "pre-image evolve, with its curves, spectrum and downloads"),
    PageInfo("compare", "pages/2_Compare_schemes.py", "Compare schemes", "Compare_schemes",
             "the paper's Fig. 1 grid: every demons scheme on one target, run as one batch"),
    PageInfo("kernels", "pages/3_Kernels_and_spectra.py", "Kernels & spectra",
             "Kernels_and_spectra",
             "Gaussian vs Sobolev kernels, their spectra, higher orders and how elastic steps "
             "compound (no network needed)"),
    PageInfo("learn", "pages/4_Learn_demons.py", "Learn demons", "Learn_demons",
             "the unified update, its special cases, and a 1D example that runs as you move "
             "the sliders"),
    PageInfo("presets", "pages/5_Paper_presets.py", "Paper presets", "Paper_presets",
             "one click reproduces the paper's figures and the classic recipes, offline where "
             "ImageNet weights are missing"),
    PageInfo("sweeps", "pages/6_Sweeps.py", "Sweeps", "Sweeps",
             "one setting times one or two axes, streamed into a montage and a heatmap; four "
             "ready-made sweeps (regularization path, inversion across depth, sanity check "
             "with random weights, seed variance)"),
]
BY_KEY: dict[str, PageInfo] = {p.key: p for p in PAGES}


def page_path(key: str) -> str:
    """The file of page ``key`` (for ``st.switch_page`` and ``st.page_link``)."""
    return BY_KEY[key].path

