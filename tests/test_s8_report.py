"""Session 8, report: the PDF report of runs with long notes, long tags, unicode or
markup-like text and many runs is a valid PDF whose text is all there (the card's long
values run on to the next pages, an unbroken word wraps); a History link's bad run ids are
said in one notice, each cut to 60 characters."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from viz_core.store import RunRecord, RunStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_store_reports import _runs  # noqa: E402 - the report tests' two runs

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None
                                or shutil.which("pdftoppm") is None,
                                reason="pdftotext/pdftoppm (Debian poppler-utils) missing")


def _pdf(runs, tmp_path: Path, name: str = "r") -> tuple[str, int, list[np.ndarray]]:
    """The report's text (pdftotext, in reading order), its page count and its pages
    (pdftoppm, grey levels)."""
    pytest.importorskip("reportlab")
    from viz_core.store.report_pdf import pdf_report

    src = tmp_path / f"{name}.pdf"
    src.write_bytes(pdf_report(runs))
    text = subprocess.run(["pdftotext", str(src), "-"], capture_output=True, text=True,
                          check=True, timeout=120).stdout
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-gray", str(src), str(tmp_path / name)],
                   check=True, timeout=120)
    pages = [np.asarray(Image.open(p).convert("L"))
             for p in sorted(tmp_path.glob(f"{name}-*.png"))]
    return text, len(pages), pages


def _inside_margins(pages: list[np.ndarray]) -> bool:
    """No ink in the outer centimetre of any page (nothing runs off the page)."""
    for page in pages:
        edge = max(1, round(page.shape[1] / 21))  # 1 cm of A4's 21
        ink = page < 128
        if ink[:, :edge].any() or ink[:, -edge:].any() or ink[-edge:].any():
            return False
    return True


@pytest.fixture
def runs(tmp_path) -> list[RunRecord]:
    return _runs(RunStore(tmp_path / "r.sqlite"))


@pytest.mark.parametrize("note, word", [("word " * 1200, "word"), ("W" * 3000, "W")])
def test_a_long_note_runs_on_to_the_next_pages(runs, tmp_path, note, word):
    """The QA case: a 1200-word note and an unbroken 3000-character one (a LayoutError
    before: the note sat beside the picture in one table row)."""
    run = copy.deepcopy(runs[0])
    run.note = note
    text, n, pages = _pdf([run], tmp_path)
    assert n >= 2
    body = "".join(text.split())  # pdftotext breaks the wrapped lines
    assert body.count(word) == 1200 if word == "word" else body.count("W" * 3000) == 1
    assert "note:" in text
    assert _inside_margins(pages)  # the unbroken word wraps, it does not run off the page
    assert f"demons-viz run {run.id}" in text and "Reproduce" in text  # the rest is there


def test_unicode_markup_and_lines_of_a_note_are_shown_as_typed(runs, tmp_path):
    run = copy.deepcopy(runs[0])
    run.note = ("café naïve <b>bold</b> &amp; <br/> <para> [a](http://e) \x00\x07end\r\n"
                "second line\n" + "x " * 60)
    text, _, _ = _pdf([run], tmp_path)
    lines = [s.strip() for s in text.splitlines()]
    first = next(s for s in lines if s.startswith("note:"))
    assert first == "note: café naïve <b>bold</b> &amp; <br/> <para> [a](http://e) end"
    assert "second line" in lines  # its own line, as typed
    assert "■" not in text  # no box for a control character


def test_long_tags_and_many_runs_make_one_valid_pdf(runs, tmp_path):
    many = []
    for i in range(6):  # the most runs the History page compares
        r = copy.deepcopy(runs[i % 2])
        r.id = f"{i:x}" * 12
        r.tags = ["T" * 700, "tag " * 200]
        r.note = f"note of run {i} " * 150
        r.message = "M" * 1500
        many.append(r)
    many[3].model = many[3].config["model"] = "/a/" + "Q" * 2000 + ".pt2"  # a setting
    text, n, pages = _pdf(many, tmp_path)
    body = "".join(text.split())
    assert body.count("T" * 700) == 6 and body.count("M" * 1500) == 6
    assert body.count("Q") == 2000  # in the settings, its row split across two pages
    for i in range(6):
        assert body.count(f"noteofrun{i}") == 150
    assert n > 6 and _inside_margins(pages)


def test_a_short_card_stays_beside_the_picture(runs, tmp_path):
    """Short values keep their place: in the card's table, beside the pre-image, nothing
    below it."""
    from viz_core.store.report_pdf import card_rows

    run = copy.deepcopy(runs[0])
    run.note = "a short note"
    text, _, _ = _pdf([run], tmp_path)
    assert "note:" not in text and "a short note" in text
    beside, below = card_rows([("note", "x" * 80), ("tags", "a\nb"), ("note", "y" * 81)])
    assert [k for k, _ in beside] == ["note"] and len(below) == 2


# -- a History link's bad run ids ---------------------------------------------------------

def test_a_bad_run_id_is_cut_in_the_store_message(tmp_path):
    from viz_core.errors import VizError

    store = RunStore(tmp_path / "r.sqlite")
    with pytest.raises(VizError) as err:
        store.resolve("z" * 400)
    msg = str(err.value)
    assert "hexadecimal" in msg and "z" * 59 + "…'" in msg and "z" * 60 not in msg
    assert len(msg) < 140


def test_the_bad_ids_of_a_link_are_one_notice_cut_to_60(tmp_path, monkeypatch, dash):
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(path))
    store = RunStore(path)
    good = _runs(store)[0].id
    at = dash.open("pages/7_History.py",
                   runs=f"<b>x</b>,[a](http://e),{'z' * 400},beef,{good}")
    dash.no_exception(at)
    notices = [dash.shown(w.value) for w in at.warning]
    ours = [w for w in notices if "Left out of the link" in w]
    assert len(ours) == 1, notices
    notice = ours[0]
    assert not [w for w in notices if "hexadecimal, got" in w]  # no notice per id
    assert "'<b>x</b>'" in notice and "'[a](http://e)'" in notice
    assert "'" + "z" * 59 + "…'" in notice and "z" * 60 not in notice
    assert "no run 'beef'" in notice
    assert len(notice) < 400
    assert at.query_params["runs"] in (good, [good])  # the good one stays selected


def test_a_link_of_many_bad_ids_lists_five(tmp_path):
    from dashboard.history_edit import left_out_text

    text = left_out_text([f"bad{i}" for i in range(9)], [f"no run '{i}'" for i in range(7)])
    assert re.findall(r"'bad\d'", text) == [f"'bad{i}'" for i in range(5)]
    assert "and 4 more are not run ids" in text and "; 2 more ids name no run." in text


def test_a_failed_report_is_a_pdf_that_says_why(tmp_path):
    """What the dashboard's PDF button can hand out instead of nothing (see the report):
    a valid one-page PDF with the reason, even for text PDF's Helvetica lacks."""
    from viz_core.store.report_pdf import failure_pdf

    src = tmp_path / "f.pdf"
    src.write_bytes(failure_pdf("LayoutError: (too) large \\ é 日本\n" + "W" * 200))
    text = subprocess.run(["pdftotext", str(src), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    assert text.startswith("The PDF report could not be built: LayoutError: (too) large \\")
    assert "é" in text and "W" * 200 in "".join(text.split())
    assert "The HTML report (Export report (HTML)) has the same content." in " ".join(
        text.split())
    info = subprocess.run(["pdfinfo", str(src)], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    assert re.search(r"Pages:\s+1\n", info)


def test_the_dashboards_report_buttons_hand_out_a_file_that_says_why(monkeypatch, tmp_path):
    """The History page's (and the Playground's) export buttons build the report on click,
    outside the page's script: a failure there must still be a file that says why, never a
    download that does not come."""
    from dashboard import history_view as hv
    from viz_core.store import report_html, report_pdf

    def boom(*a, **k):
        raise ValueError("a <b>layout</b> that does not fit")

    monkeypatch.setattr(report_pdf, "pdf_report", boom)
    monkeypatch.setattr(report_html, "html_report", boom)
    pdf = hv.report_pdf([], None)
    assert pdf[:5] == b"%PDF-"
    src = tmp_path / "r.pdf"
    src.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(src), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    assert "could not be built: a <b>layout</b> that does not fit" in " ".join(text.split())
    page = hv.report_html([], None).decode()
    assert "could not be built: a &lt;b&gt;layout&lt;/b&gt; that does not fit" in page


def test_a_compare_run_of_sixteen_cells_is_one_report(runs, tmp_path):
    """Compare side by side (8 schemes x 2 models) hands all its runs to the report (it
    was cut to the History page's 6 without a word): 16 columns still fit the page."""
    many = []
    for i in range(16):
        r = copy.deepcopy(runs[i % 2])
        r.id = f"{i:x}" * 12
        many.append(r)
    text, n, pages = _pdf(many, tmp_path)
    assert all(f"{i:x}" * 6 in "".join(text.split()) for i in range(16))
    assert _inside_margins(pages)


def test_compare_side_by_side_says_what_its_history_link_selects(dash, tmp_path,
                                                                monkeypatch):
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(tmp_path / "runs.sqlite"))
    from dashboard.navigation import page_path

    at = dash.open(page_path("compare"), steps=2, every=2, robust=1, octaves_on=0)
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    links = [p for p in at.get("page_link") if "In the history" in p.proto.label]
    assert len(links) == 1 and links[0].proto.label == "In the history: 16 runs"
    assert any("The link selects the first 6 (History compares up to 6); the reports hold "
               "all 16." in c.value for c in at.caption)


def test_compare_side_by_side_tables_both_models_and_names_the_charts(dash, tmp_path,
                                                                      monkeypatch):
    """The pair side by side: the table under the grid has each model's rows (it had only
    the first model's, unlabelled), and a line names the model the curves show."""
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(tmp_path / "runs.sqlite"))
    from dashboard.navigation import page_path

    at = dash.open(page_path("compare"), steps=2, every=2, robust=1, octaves_on=0)
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    table = at.dataframe[0].value
    models = list(dict.fromkeys(table["model"]))
    assert len(models) == 2, models
    for m in models:  # the eight cells and a flat image's floor (an inversion, the default)
        mine = table[table["model"] == m]
        assert len(mine) == 9 and list(mine["scheme"])[-1] == "a flat image (floor)"
    assert any(c.value.startswith(f"Curves and spectrum: {models[0]}; the table below has "
                                  "both models") for c in at.caption), models


def test_a_report_has_the_note_saved_after_the_page_drew_its_buttons(tmp_path):
    """The History page draws its export buttons with the runs it read, then saves a note
    (its form is below them): the report, built on click, reads the runs again (QA: a PDF
    exported right after "Save tags and note" lacked the note)."""
    from dashboard import history_view as hv

    store = RunStore(tmp_path / "r.sqlite")
    shown = _runs(store)                      # what the page read
    store.set_note(shown[0].id, "saved after the buttons were drawn")
    assert shown[0].note != "saved after the buttons were drawn"
    now = hv.fresh(shown, store)
    assert now[0].note == "saved after the buttons were drawn"
    assert "saved after the buttons were drawn" in hv.report_html(now, store).decode()
    gone = RunRecord(**{**shown[1].__dict__, "id": "f" * 32})  # not in the store: as shown
    assert hv.fresh([gone], store)[0] is gone
