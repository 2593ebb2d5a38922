"""The dashboard's pages in one list: ``app.py`` hands it to ``st.navigation``.

Adding a page is one line in :data:`PAGES`. Each page keeps the URL it had in Streamlit's
file-based mode (``url_path``), so shared links keep working; the page files live in
``views/`` because ``st.navigation`` with files in a folder named ``pages/`` shows
Streamlit's automatic menu on a direct link.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    """One page: a key the code refers to, its file (relative to ``app.py``), the sidebar
    title, and the URL path (empty for the home page)."""

    key: str
    path: str
    title: str
    url_path: str


PAGES: list[PageInfo] = [
    PageInfo("home", "views/home.py", "Home", ""),
    PageInfo("playground", "views/1_Playground.py", "Playground", "Playground"),
    PageInfo("compare", "views/2_Compare_schemes.py", "Compare schemes", "Compare_schemes"),
    PageInfo("kernels", "views/3_Kernels_and_spectra.py", "Kernels & spectra",
             "Kernels_and_spectra"),
    PageInfo("learn", "views/4_Learn_demons.py", "Learn demons", "Learn_demons"),
    PageInfo("presets", "views/5_Paper_presets.py", "Paper presets", "Paper_presets"),
    PageInfo("sweeps", "views/6_Sweeps.py", "Sweeps", "Sweeps"),
    PageInfo("history", "views/7_History.py", "History", "History"),
]
BY_KEY: dict[str, PageInfo] = {p.key: p for p in PAGES}


def page_path(key: str) -> str:
    """The file of page ``key`` (for ``st.switch_page`` and ``st.page_link``)."""
    return BY_KEY[key].path
