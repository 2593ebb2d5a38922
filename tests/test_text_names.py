"""Names inside the dashboard's own Markdown and plotly figures (a final review): a network,
class, layer or file name the user chose shows as the characters it is. :func:`name` keeps
ordinary names byte for byte and escapes everything Markdown, HTML, Streamlit's maths,
directives and short codes or a table would act on; :func:`plot_text` makes a name text in
plotly's HTML subset. The pages' use of them: ``tests/test_text_names_pages.py`` (AppTest)
and ``tests/e2e/test_name_injection_browser.py`` (Chromium)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from dashboard.results import Verdict, stale_note
from dashboard.text import ZWSP, name, plot_text

EVIL = "[x](http://127.0.0.1:9/p) **b** <b>h</b> |t|"
ORDINARY = ["fmnist_vgg_robust", "0_ankle_boot.png", "my-net.v2/x", "T-shirt/top",
            "Ankle boot", "réseau_été", "模型", "fmnist_lenet_judge", "layer2.0.conv1",
            "class 7", "T-shirt (top)", "AT&T", "x-1", "a+b", "1.5", "upload:ab12/net.pt2"]
#: What Markdown (CommonMark, GFM, Streamlit's maths) acts on wherever it stands.
ACTIVE = set("\\`*[]<>$~|!")
PUNCT = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _read(md: str) -> list[tuple[str, bool]]:
    """``md`` as CommonMark reads its backslash escapes: (character, was escaped)."""
    out, i = [], 0
    while i < len(md):
        if md[i] == "\\" and i + 1 < len(md) and md[i + 1] in PUNCT:
            out.append((md[i + 1], True))
            i += 2
        else:
            out.append((md[i], False))
            i += 1
    return out


def _shown(md: str) -> str:
    return "".join(c for c, _ in _read(md)).replace(ZWSP, "")


def _live(md: str) -> list[str]:
    """Markup left active in ``md``: unescaped characters Markdown acts on, an emphasis
    ``_`` outside a word, an entity, a link's ``(``, a block marker at the start, and a
    bare URL, ``www.``, e-mail address or short code that GFM / Streamlit would link or
    replace."""
    read = _read(md)
    text = "".join(c for c, _ in read)
    live = [c for c, esc in read if not esc and c in ACTIVE]
    for k, (c, esc) in enumerate(read):
        before = read[k - 1][0] if k else " "
        after = read[k + 1][0] if k + 1 < len(read) else " "
        if c == "_" and not esc and not (before.isalnum() and after.isalnum()):
            live.append("_")
        if c == "&" and not esc and re.match(r"&#?\w+;", text[k:]):
            live.append("&")
        if c == "(" and not esc and before == "]":
            live.append("](")
    block = re.match(r"\s*([-+=#]|\d+[.)](?=\s|$))", text)  # ends on the marker
    if block and not read[block.end() - 1][1]:
        live.append("block")
    if re.search(r"(?i)[a-z]://|www\.|@[^\u200b]|:[\w+/-]+:", text):
        live.append("link or short code")
    return live


@pytest.mark.parametrize("ordinary", ORDINARY)
def test_ordinary_names_stay_byte_for_byte(ordinary):
    assert name(ordinary) == ordinary


def test_the_reviews_name_shows_literally_and_nothing_in_it_is_markup():
    md = name(EVIL)
    assert _shown(md) == EVIL and not _live(md), (md, _live(md))
    assert "**b**" not in md and "<b>" not in md and "](" not in md
    # one table cell: no pipe in it splits the row
    assert not [m for m in re.finditer(r"(?<!\\)\|", md)]


@pytest.mark.parametrize("text", [
    "_x_", "__x__", "*x*", "~x~", "`x`", "$x$", "![i](http://e.org/p.png)", "<a href=x>a</a>",
    ":red[r]", ":material/home:", ":smile:", "&lt;b&gt;", "www.e.org", "a@e.org",
    "https://e.org/x", "# h", "- i", "+ i", "= x", "3. i", "4) i", "a | b", "back\\slash*",
    "line\nbreak", "[x]: http://e.org", "> quote"])
def test_markup_is_escaped(text):
    md = name(text)
    assert not _live(md), (text, md, _live(md))
    assert _shown(md) == " ".join(text.splitlines())


@settings(max_examples=400, deadline=None)
@given(hs.text(alphabet=hs.sampled_from(sorted(PUNCT) + list("ab1 é模\n:/.w@")), max_size=40))
def test_any_text_reads_back_and_leaves_no_markup(text):
    md = name(text)
    assert _shown(md) == " ".join(text.splitlines())
    assert not _live(md), (text, md, _live(md))


def test_plot_text_makes_html_text():
    assert plot_text(EVIL) == "[x](http://127.0.0.1:9/p) **b** &lt;b&gt;h&lt;/b&gt; |t|"
    assert plot_text("fmnist_vgg & co") == "fmnist_vgg &amp; co"
    assert plot_text("T-shirt/top") == "T-shirt/top"


# ----------------------------------------------------------------------------- where used

def test_the_stale_note_names_an_uploaded_file_as_text():
    note = stale_note({"uploaded image": f"{EVIL}.png (0123abcd)", "model": "fmnist_vgg"},
                      {"uploaded image": "b.png (4567ef01)", "model": "fmnist_vgg"})
    assert note.startswith("from previous settings: uploaded image ")
    assert _shown(note).endswith(f"{EVIL}.png (0123abcd)") and not _live(note)
    note = stale_note({"model": "fmnist_vgg_robust", "image": "upload:0_ankle_boot.png"},
                      {"model": "fmnist_vgg", "image": ""})
    assert note == "from previous settings: fmnist_vgg_robust, image 0_ankle_boot.png"


def test_a_paper_preset_caption_names_classes_and_networks_as_text():
    from dashboard.preset_view import caption

    orig = {"original": [f"{EVIL} 2", 0.5], "target_from": "original", "target": f"{EVIL} 1"}
    verdicts = [Verdict(EVIL, [(f"{EVIL} 2", 0.6)], 0.3, {**orig, "role": "model"}),
                Verdict("judge", [(f"{EVIL} 3", 0.7)], 0.1, {**orig, "role": "judge"})]
    rec = SimpleNamespace(activation=[[0.25]], labels=["Sobolev fluid"], verdicts=[verdicts],
                          warnings=[[]], step=4, total=4)
    md = caption(rec, 0, "relative feature error")
    assert not _live(md), (md, _live(md))
    shown = _shown(md)  # the judge's verdict, by the class's own name
    assert shown.startswith("Sobolev fluid · ") and f"judge: {EVIL} 3 70%" in shown


def test_a_sweep_heatmap_names_classes_networks_and_layers_as_text():
    from dashboard.sweep_heatmap import heatmap_figure

    rows = [{"task": "am", "model": f"{EVIL} m", "target": t, "target_class": f"{EVIL} {t}",
             "activation": 0.1 * t, "config": "{}"} for t in (0, 1)]
    fig = heatmap_figure(rows, ["target", "model"], "activation")
    assert list(fig.data[0].y) == [plot_text(f"0 · {EVIL} 0"), plot_text(f"1 · {EVIL} 1")]
    assert list(fig.data[0].x) == [plot_text(f"{EVIL} m")]
    assert not any("<" in t for t in [*fig.data[0].x, *fig.data[0].y])
    fig = heatmap_figure([{**r, "layer": "block2"} for r in rows], ["layer"], "activation")
    assert list(fig.data[0].y) == ["block2"] and list(fig.data[0].x) == [""]
