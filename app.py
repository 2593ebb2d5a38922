"""demons-viz dashboard entry point: ``streamlit run app.py``.

Builds the navigation from :data:`dashboard.navigation.PAGES` (the home page is "Home" in
the sidebar; the page files are in ``pages/``) and runs the page the URL asks for.
"""

from __future__ import annotations

from dashboard.page import navigation

navigation().run()
