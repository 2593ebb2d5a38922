"""Each page's settings as plain data: its defaults (computed lazily, on first use: no disk
access or model check when a module is imported), the allowed choices, and the mapping
between settings and :class:`~viz_core.config.RunConfig` where a page runs the engine.

No Streamlit here: :mod:`dashboard.widgets` binds these settings to widgets and the URL.
"""
