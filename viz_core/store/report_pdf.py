"""The same report as :mod:`viz_core.store.report_html`, as PDF (reportlab, the
``[reports]`` extra): title, one block per run with its pre-image, metrics with floors,
curves, settings, judges and the commands that reproduce each run; a run's long note or
tags run on to the next pages. :func:`failure_pdf`: the one page that says why a report
could not be built."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

from viz_core.errors import VizError
from viz_core.store.records import RunRecord
from viz_core.store.report_content import build_report

IMAGE_PT = 150  # every pre-image at the same size (points)
#: A card value longer than this (or of several lines: a note, long tags, a long message)
#: is set below the picture and the card, full width, where it can run on to the next
#: pages: the picture and the card sit in one table row, which cannot be split across
#: pages, so the card holds only values of a few lines.
CARD_CHARS = 80


def card_rows(card: Sequence[tuple[str, str]]) -> tuple[list, list]:
    """A run's card split into the rows beside its picture and those set below it.

    >>> beside, below = card_rows([("run", "ab12"), ("note", "x" * 81), ("tags", "a,\\nb")])
    >>> beside, [k for k, _ in below]
    ([('run', 'ab12')], ['note', 'tags'])
    """
    beside, below = [], []
    for k, v in card:
        (beside if len(v) <= CARD_CHARS and "\n" not in v else below).append((k, v))
    return beside, below


def _markup(text: str) -> str:
    """``text`` as typed for a reportlab paragraph: markup-like text shown as it is, its
    lines kept, without the control characters a PDF font draws as boxes.

    >>> _markup("<b>a</b> & b\\r\\nc\\x00")
    '&lt;b&gt;a&lt;/b&gt; &amp; b<br/>c'
    """
    return escape(_clean(text)).replace("\n", "<br/>")


def _clean(text: str) -> str:
    """``text`` with its line breaks as ``\\n`` and no other control character but tabs."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")


def pdf_report(runs: Sequence[RunRecord], title: str | None = None,
               notes: Mapping[str, str] | None = None) -> bytes:
    """The report as PDF bytes (``title`` replaces the default title; ``notes``: each
    run's batch note, :func:`~viz_core.store.report_content.build_report`)."""
    try:
        from reportlab.lib import colors
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import getSampleStyleSheet
        from reportlab.lib.units import cm
        from reportlab.platypus import (
            Image,
            Paragraph,
            SimpleDocTemplate,
            Spacer,
            Table,
            TableStyle,
        )
    except ImportError:
        raise VizError('PDF reports need reportlab: pip install -e ".[reports]" (or write '
                       "an HTML report: html_report())", field="format") from None
    rep = build_report(runs, notes)
    if title is not None:
        rep.title = title
    ss = getSampleStyleSheet()
    small = ss["BodyText"].clone("small", fontSize=8, leading=10)
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                       ("FONTSIZE", (0, 0), (-1, -1), 8),
                       ("VALIGN", (0, 0), (-1, -1), "TOP")])

    def P(text: str, style=small) -> Paragraph:
        return Paragraph(_markup(text), style)

    def img(png: bytes, width: float, most: float | None = None) -> Image:
        from PIL import Image as PILImage

        w, h = PILImage.open(io.BytesIO(png)).size
        if most is not None and width * h / w > most:  # a tall picture: at most `most` high
            width = most * w / h
        return Image(io.BytesIO(png), width=width, height=width * h / w)

    margin = 1.5 * cm

    def widths(n: int) -> list[float]:  # n equal columns, the page wide (not from the
        # cells' longest words: a long unbroken value would push the table off the page)
        return [(A4[0] - 2 * margin) / n] * n

    story = [Paragraph(_markup(rep.title), ss["Title"]), P(rep.subtitle, ss["BodyText"]),
             Spacer(1, 0.3 * cm)]
    for i, r in enumerate(rep.runs):
        pic = img(r.image, IMAGE_PT, IMAGE_PT) if r.image else P("no pre-image")
        beside, below = card_rows(rep.cards[i])
        info = Table([[P(k), P(v)] for k, v in beside], colWidths=[2.6 * cm, 8 * cm])
        info.setStyle(grid)
        block = Table([[pic, info]], colWidths=[IMAGE_PT + 10, None])
        block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [block, Spacer(1, 0.2 * cm)]
        story += [Paragraph(f"<b>{_markup(k)}:</b> {_markup(v)}", small) for k, v in below]
        story += [P(v) for v in rep.verdicts[i]]
        if rep.kernels[i]:
            story.append(Table([[img(png, 6 * cm) for _, png in rep.kernels[i]]]))
        story.append(Spacer(1, 0.3 * cm))
    ids = [r.id for r in rep.runs]
    story.append(Paragraph("Metrics (floor: what a flat image or chance reaches)",
                           ss["Heading2"]))
    mt = Table([[P(h) for h in ["metric", *ids, "floor"]]]
               + [[P(k), *(P(x) for x in v), P(f)] for k, v, f in rep.metrics],
               colWidths=widths(len(ids) + 2), repeatRows=1, splitInRow=1)
    mt.setStyle(grid)
    story.append(mt)
    if rep.curves:
        story.append(Paragraph("Curves", ss["Heading2"]))
        story += [img(png, 16 * cm) for _, png in rep.curves]
    story.append(Paragraph("Settings" + (" (differing ones highlighted)" if len(ids) > 1
                                         else ""), ss["Heading2"]))
    rows = [[P(h) for h in ["setting", *ids]]] + [[P(k), *(P(x) for x in v)]
                                                 for k, v, _ in rep.settings]
    st = Table(rows, colWidths=widths(len(ids) + 1), repeatRows=1, splitInRow=1)
    style = [*grid.getCommands()]
    for j, (_, _, d) in enumerate(rep.settings, start=1):
        if d:
            style.append(("BACKGROUND", (0, j), (-1, j), colors.HexColor("#fff3c4")))
    st.setStyle(TableStyle(style))
    story.append(st)
    if rep.other or rep.ui:  # in the HTML report, folded
        story.append(P(f"Not listed: {len(rep.other) + len(rep.ui)} stored settings that "
                       "change nothing the runs compute (display only, not used by these "
                       "runs, the dashboard's copy of the settings); the HTML report and "
                       "`demons-viz history show` list them."))
    story.append(Paragraph("Reproduce", ss["Heading2"]))
    for rid, (orig, again), note in zip(ids, rep.commands, rep.batches):
        story.append(P(f"run {rid}: {again}"))
        if orig:
            story.append(P(f"made by: {orig}"))
        if note:
            story.append(P(note))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=rep.title, author="demons-viz",
                            leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin)
    doc.build(story)
    return buf.getvalue()


def failure_pdf(reason: str) -> bytes:
    """A one-page PDF that says why the report could not be built: what a dashboard's
    "Export report (PDF)" hands out instead of nothing (reportlab, as the report).

    >>> failure_pdf("boom")[:5]
    b'%PDF-'
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    buf = io.BytesIO()
    words = (f"The PDF report could not be built: {reason}. The HTML report (Export report "
             "(HTML)) has the same content.")
    SimpleDocTemplate(buf, pagesize=A4, title="demons-viz report: not built").build(
        [Paragraph(_markup(words), getSampleStyleSheet()["BodyText"])])
    return buf.getvalue()
