"""User text shown as text: query parameters, file names, uploaded JSON fields and the error
messages that quote them pass through :func:`plain` before Streamlit renders them as
Markdown (toasts, ``st.error`` / ``st.info`` boxes, captions, metric labels), so that
``[click here](http://...)``, ``![p](http://.../px.png)``, ``**bold**``, raw HTML, bare URLs,
``:red[...]`` directives and ``$...$`` maths stay literal characters and nothing is linked,
fetched or styled (checked in a browser: ``tests/e2e/test_url_injection.py``). The one
escaping helper of the dashboard."""

from __future__ import annotations

import re

#: Every ASCII punctuation character: CommonMark lets a backslash escape each of them, and
#: escaping all of them also breaks GFM's bare-URL and e-mail autolinks (``http\:\/\/``).
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


#: GFM links bare URLs, ``www.`` names and e-mail addresses even when their punctuation is
#: escaped; a zero-width space after the scheme's colon, in ``www.`` and after ``@`` keeps
#: them text (it is invisible, and the only character :func:`plain` adds besides escapes).
_AUTOLINK = re.compile(r"(?i)(?<=[a-z]:)(?=//)|(?<=www)(?=\.)|(?<=@)")
ZWSP = "\u200b"


def plain(text: object) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it character for character
    (line breaks kept as line breaks; a zero-width space breaks autolinks)."""
    s = _AUTOLINK.sub(ZWSP, str(text))
    s = _PUNCT.sub(r"\\\1", s)
    return s.replace("\r\n", "\n").replace("\n", "  \n")
