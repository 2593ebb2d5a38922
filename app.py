"""demons-viz dashboard entry point: ``streamlit run app.py``.

Builds the navigation from :data:`dashboard.navigation.PAGES` (the home page is "Home" in
the sidebar) and runs the page the URL asks for.
"""

from __future__ import annotations

import streamlit as st

from dashboard.navigation import PAGES

st.navigation([st.Page(p.path, title=p.title, url_path=p.url_path or None,
                       default=not p.url_path) for p in PAGES]).run()
