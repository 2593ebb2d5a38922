"""The same report as :mod:`viz_core.store.report_html`, as PDF (reportlab, the
``[reports]`` extra): title, one block per run with its pre-image, metrics with floors,
curves, settings, judges and the commands that reproduce each run."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from viz_core.errors import VizError
from viz_core.store.records import RunRecord
from viz_core.store.report_content import build_report

IMAGE_PT = 150  # every pre-image at the same size (points)


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
    from xml.sax.saxutils import escape

    rep = build_report(runs, notes)
    if title is not None:
        rep.title = title
    ss = getSampleStyleSheet()
    small = ss["BodyText"].clone("small", fontSize=8, leading=10)
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                       ("FONTSIZE", (0, 0), (-1, -1), 8),
                       ("VALIGN", (0, 0), (-1, -1), "TOP")])

    def P(text: str, style=small) -> Paragraph:
        return Paragraph(escape(text), style)

    def img(png: bytes, width: float) -> Image:
        from PIL import Image as PILImage

        w, h = PILImage.open(io.BytesIO(png)).size
        return Image(io.BytesIO(png), width=width, height=width * h / w)

    story = [Paragraph(escape(rep.title), ss["Title"]), P(rep.subtitle, ss["BodyText"]),
             Spacer(1, 0.3 * cm)]
    for i, r in enumerate(rep.runs):
        pic = img(r.image, IMAGE_PT) if r.image else P("no pre-image")
        info = Table([[P(k), P(v)] for k, v in rep.cards[i]], colWidths=[2.6 * cm, 8 * cm])
        info.setStyle(grid)
        block = Table([[pic, info]], colWidths=[IMAGE_PT + 10, None])
        block.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [block, Spacer(1, 0.2 * cm)]
        story += [P(v) for v in rep.verdicts[i]]
        if rep.kernels[i]:
            story.append(Table([[img(png, 6 * cm) for _, png in rep.kernels[i]]]))
        story.append(Spacer(1, 0.3 * cm))
    ids = [r.id for r in rep.runs]
    story.append(Paragraph("Metrics (floor: what a flat image or chance reaches)",
                           ss["Heading2"]))
    mt = Table([[P(h) for h in ["metric", *ids, "floor"]]]
               + [[P(k), *(P(x) for x in v), P(f)] for k, v, f in rep.metrics])
    mt.setStyle(grid)
    story.append(mt)
    if rep.curves:
        story.append(Paragraph("Curves", ss["Heading2"]))
        story += [img(png, 16 * cm) for _, png in rep.curves]
    story.append(Paragraph("Settings" + (" (differing ones highlighted)" if len(ids) > 1
                                         else ""), ss["Heading2"]))
    rows = [[P(h) for h in ["setting", *ids]]] + [[P(k), *(P(x) for x in v)]
                                                 for k, v, _ in rep.settings]
    st = Table(rows)
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
                            leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm,
                            bottomMargin=1.5 * cm)
    doc.build(story)
    return buf.getvalue()
