"""Streamlit glue shared by the dashboard pages (``app.py`` and ``pages/``).

Widgets, caching, URL state and streaming live here; every number is computed by
``viz_core``. Nothing in ``viz_core`` imports this package.
"""
