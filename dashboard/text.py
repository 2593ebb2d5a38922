"""User text shown as text: query parameters, file names, uploaded JSON fields and the error
messages that quote them pass through :func:`plain` before Streamlit renders them as
Markdown (toasts, ``st.error`` / ``st.info`` boxes, captions, metric labels), so that
``[click here](http://...)``, ``![p](http://.../px.png)``, ``**bold**``, raw HTML, bare URLs,
``:red[...]`` directives and ``$...$`` maths stay literal characters and nothing is linked,
fetched or styled. The one escaping helper of the dashboard."""

from __future__ import annotations

import re

#: Every ASCII punctuation character: CommonMark lets a backslash escape each of them, and
#: escaping all of them also breaks GFM's bare-URL and e-mail autolinks (``http\:\/\/``).
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: object) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it character for character
    (line breaks kept as line breaks)."""
    s = _PUNCT.sub(r"\\\1", str(text))
    return s.replace("\r\n", "\n").replace("\n", "  \n")
