"""User text shown as text. Two escapers for Streamlit's Markdown (toasts, ``st.error`` /
``st.info`` boxes, captions, image captions, metric labels, our own tables) and one for
plotly's HTML subset, so that ``[click here](http://...)``, ``![p](http://.../px.png)``,
``**bold**``, raw HTML, bare URLs, ``:red[...]`` directives and ``$...$`` maths stay literal
characters and nothing is linked, fetched or styled (checked in a browser:
``tests/e2e/test_url_injection.py``, ``tests/e2e/test_name_injection_browser.py``):

* :func:`plain` for free text (query parameters, uploaded JSON fields and the error
  messages that quote them): every ASCII punctuation character escaped;
* :func:`name` for a name inside our own Markdown (a network, a class, a layer, a file):
  only what Markdown would act on is escaped, so ``fmnist_vgg_robust`` stays as it is;
* :func:`plot_text` for a name in a plotly title, axis, legend or hover text.

The one escaping module of the dashboard."""

from __future__ import annotations

import html
import re

#: Every ASCII punctuation character: CommonMark lets a backslash escape each of them, and
#: escaping all of them also breaks GFM's bare-URL and e-mail autolinks (``http\:\/\/``).
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


#: GFM links bare URLs, ``www.`` names and e-mail addresses even when their punctuation is
#: escaped; a zero-width space after the scheme's colon, in ``www.`` and after ``@`` keeps
#: them text (it is invisible, and the only character :func:`plain` adds besides escapes).
_AUTOLINK = re.compile(r"(?i)(?<=[a-z]:)(?=//)|(?<=www)(?=\.)|(?<=@)")
ZWSP = "\u200b"

#: What :func:`name` escapes wherever it stands: backslash, code, emphasis, links and
#: images, HTML, Streamlit's maths, strikethrough and table cells.
_ALWAYS = r"[\\`*\[\]!<>$~|]"
#: ``_`` opens or closes emphasis unless it stands between two letters or digits
#: (``fmnist_vgg`` is never emphasis); an HTML entity (``&lt;``) would become its character.
_MARKUP = re.compile(_ALWAYS + r"|(?<![^\W_])_|_(?![^\W_])|&(?=#?\w+;)")
#: Streamlit's emoji and icon short codes (``:smile:``, ``:material/home:``) read the text
#: after escapes are resolved: a zero-width space after the first colon breaks them.
_SHORTCODE = re.compile(r"(?<=:)(?=[\w+/-]+:)")
#: A heading, list item or rule where a caption or a table cell begins.
_BLOCK = re.compile(r"^(\s*)([#+=-])|^(\s*\d+)([.)])(?=\s|$)")


def plain(text: object) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it character for character
    (line breaks kept as line breaks; a zero-width space breaks autolinks)."""
    s = _AUTOLINK.sub(ZWSP, str(text))
    s = _PUNCT.sub(r"\\\1", s)
    return s.replace("\r\n", "\n").replace("\n", "  \n")


def name(text: object) -> str:
    r"""A name (a network, a class, a layer, a file), or a line of plain words with names
    in it (a caption, a table cell), for Streamlit's Markdown, on one line: ordinary names
    stay byte for byte, everything Markdown, HTML, Streamlit's maths,
    directives and short codes, or a table would act on is escaped (a ``(`` or ``)`` once
    a ``]`` came, a ``#``, ``-``, ``+`` or ``1.`` at the start; a zero-width space breaks
    bare URLs, ``www.``, e-mail addresses and ``:short:codes:``).

    >>> names = ["fmnist_vgg_robust", "0_ankle_boot.png", "my-net.v2/x", "T-shirt/top",
    ...          "Ankle boot", "réseau_été", "模型", "T-shirt (top)", "AT&T", "1.5", ".x"]
    >>> [n for n in names if name(n) != n]
    []
    >>> print(name("[x](http://127.0.0.1:9/p) **b** <b>h</b> |t|").replace(ZWSP, "~ZW~"))
    \[x\]\(http:~ZW~//127.0.0.1:9/p\) \*\*b\*\* \<b\>h\</b\> \|t\|
    >>> print(name("_x_ __y__ a_b ~z~ `c` $m$ !i :red[r] &lt; \\"))
    \_x\_ \_\_y\_\_ a_b \~z\~ \`c\` \$m\$ \!i :red\[r\] \&lt; \\
    >>> print(*[name(s) for s in ("# h", "- i", "+ i", "12. i", "1) i", "=", "a\nb")])
    \# h \- i \+ i 12\. i 1\) i \= a b
    >>> name(":smile: www.x.org a@b.c") == f":{ZWSP}smile: www{ZWSP}.x.org a@{ZWSP}b.c"
    True
    """
    s = " ".join(str(text).splitlines())  # one line: a line break would end a table row
    s = _SHORTCODE.sub(ZWSP, _AUTOLINK.sub(ZWSP, s))
    s = _MARKUP.sub(lambda m: "\\" + m.group(), s)
    cut = s.find("]")  # a link's destination, ``[x](...)``: parentheses after a bracket
    if cut >= 0:
        s = s[:cut] + re.sub(r"([()])", r"\\\1", s[cut:])
    return _BLOCK.sub(lambda m: "\\".join(g for g in m.groups() if g is not None), s)


def plot_text(text: object) -> str:
    """A name for plotly's titles, axes, legends and hover texts, which render a subset of
    HTML (``<a href>``, ``<b>``, ``<br>``): ``<``, ``>`` and ``&`` as entities, so a name
    shows as the characters it is.

    >>> plot_text('<a href="http://x">n</a> & m_1')
    '&lt;a href="http://x"&gt;n&lt;/a&gt; &amp; m_1'
    """
    return html.escape(str(text), quote=False)


def percent_text(v: float) -> str:
    """A fraction (the high-frequency share of an image's power, say) in percent, the same
    on every page: two significant digits below 10%, whole percents above, so that a small
    share does not read as 0.0% beside another page's 0.05%.

    >>> percent_text(0.000836), percent_text(0.0531), percent_text(0.4271), percent_text(0)
    ('0.084%', '5.3%', '43%', '0%')
    """
    p = 100 * float(v)
    return f"{p:.0f}%" if p >= 10 or p == 0 else f"{p:.2g}%"
