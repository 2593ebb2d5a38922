"""A self-contained HTML report of one stored run or a comparison: every image is embedded
as a data URI, so the file can be mailed or opened offline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from viz_core.store.images import data_uri
from viz_core.store.records import RunRecord
from viz_core.store.report_content import Report, build_report

#: Every pre-image is shown at this size (the same scale for every run of a comparison).
IMAGE_SIDE = 224

_CSS = f"""
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
h1 {{ margin-bottom: 0.2em; }} .sub {{ color: #555; margin-top: 0; }}
.runs {{ display: flex; flex-wrap: wrap; gap: 1.5em; }}
.card {{ border: 1px solid #ccc; border-radius: 6px; padding: 0.8em; max-width: 420px; }}
.card img.pre {{ width: {IMAGE_SIDE}px; height: {IMAGE_SIDE}px; image-rendering: pixelated;
  border: 1px solid #999; }}
.frames img {{ width: 64px; height: 64px; image-rendering: pixelated; margin-right: 4px; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.2em; }}
td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; font-size: 0.92em; }}
td:first-child {{ white-space: nowrap; }}
tr.diff td:first-child {{ font-weight: 600; }}
code {{ background: #f3f3f3; padding: 2px 4px; }}
.floor {{ color: #666; }}
.batch {{ color: #7a4d00; }}
"""


def _table(head: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    out = ["<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{escape(c) if j == 0 else _breakable(c)}</td>"
                                          for j, c in enumerate(row)) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _breakable(text: str) -> str:
    """A value for a table cell: a long one may break after ``/`` and ``_`` (a path, a
    long name), so that six runs side by side fit the page.

    >>> _breakable("/a/very_long/path/to/some_sample.png")
    '/<wbr>a/<wbr>very_<wbr>long/<wbr>path/<wbr>to/<wbr>some_<wbr>sample.png'
    """
    out = escape(text)
    return out if len(text) <= 24 else out.replace("/", "/<wbr>").replace("_", "_<wbr>")


def _card(rep: Report, i: int) -> str:
    r = rep.runs[i]
    parts = [f'<div class="card" id="run-{escape(r.id)}">']
    if r.image:
        parts.append(f'<img class="pre" alt="pre-image of run {escape(r.id)}" '
                     f'src="{data_uri(r.image)}">')
    else:
        parts.append("<p><em>no pre-image (the run produced nothing)</em></p>")
    if r.frames:
        parts.append('<div class="frames">' + "".join(
            f'<img alt="step {s}" title="step {s}" src="{data_uri(png)}">'
            for s, png in r.frames) + "</div>")
    rows = [[k, v] for k, v in rep.cards[i] if k != "MLflow"]
    parts.append(_table(["", ""], rows))
    if r.mlflow:
        parts.append(f'<p>MLflow: <a href="{escape(r.mlflow)}">{escape(r.mlflow)}</a></p>')
    if rep.verdicts[i]:
        parts.append("<p><b>Judges</b> (top-3 classes of the 8-bit pre-image, Sec. 3.2)</p>"
                     "<ul>" + "".join(f"<li>{escape(v)}</li>" for v in rep.verdicts[i])
                     + "</ul>")
    for label, png in rep.kernels[i]:
        parts.append(f'<p>{escape(label)}</p><img alt="{escape(label)} of run {escape(r.id)}"'
                     f' src="{data_uri(png)}">')
    parts.append("</div>")
    return "\n".join(parts)


def _odd_style(odd: list[list[bool]]) -> str:
    """The style that highlights the values that stand out in the table of settings that
    differ (``odd``: per row, per run), by position, so that its cells stay plain ``td``.

    >>> _odd_style([[False, True]]).split(" {")[0]
    '<style>.differ tr:nth-child(2) td:nth-child(3)'
    """
    cells = [f".differ tr:nth-child({i + 2}) td:nth-child({j + 2})"
             for i, row in enumerate(odd) for j, hit in enumerate(row) if hit]
    return (f"<style>{', '.join(cells)} {{ background: #fff3c4; font-weight: 600; }}</style>"
            if cells else "")


def _settings_html(rep: Report, ids: list[str]) -> list[str]:
    """The settings: those that define the runs (of several runs, those that differ,
    highlighted, and those they share, folded), then, folded, the stored settings that
    change nothing the runs compute and the dashboard's copy of the settings; each setting
    in one place only."""
    out = ["<h2>Settings</h2>"]
    head = ["setting", *ids] if len(ids) > 1 else ["setting", "value"]
    if len(ids) > 1:
        differ = [s for s in rep.settings if s[2]]
        same = [s for s in rep.settings if not s[2]]
        out.append(f"<p>{len(differ)} setting(s) differ (highlighted). Highlighted: the "
                   "values that differ from the one most runs share, else from the first "
                   "run's.</p>")
        if differ:
            out.append(_odd_style([rep.odd.get(k, [True] * len(v)) for k, v, _ in differ]))
            out.append('<div class="differ">' + _table(
                head, [[k, *v] for k, v, _ in differ], ["diff"] * len(differ)) + "</div>")
        if same:
            out.append("<details><summary>settings they share</summary>"
                       + _table(["setting", "value"], [[k, v[0]] for k, v, _ in same])
                       + "</details>")
    else:
        out.append(_table(head, [[k, *v] for k, v, _ in rep.settings]))
    if rep.other:
        which = "the runs compute" if len(ids) > 1 else "the run computes"
        out.append("<details><summary>other stored settings: they change nothing "
                   f"{which} (frame cadence, name, device), or are not used "
                   f"{'by these runs' if len(ids) > 1 else 'by this run'}</summary>"
                   + _table(head, [[k, *v] for k, v in rep.other]) + "</details>")
    if rep.ui:
        out.append("<details><summary>the dashboard's copy of the settings (its "
                   "controls when the run started)</summary>"
                   + _table(head, [[k, *v] for k, v in rep.ui]) + "</details>")
    return out


def html_report(runs: Sequence[RunRecord], title: str | None = None,
                notes: Mapping[str, str] | None = None) -> str:
    """The report as one HTML page (UTF-8 text); ``title`` replaces the default title;
    ``notes``: each run's batch note (:func:`~viz_core.store.report_content.build_report`)."""
    rep = build_report(runs, notes)
    if title is not None:
        rep.title = title
    ids = [r.id for r in rep.runs]
    body = [f"<h1>{escape(rep.title)}</h1>", f'<p class="sub">{escape(rep.subtitle)}</p>',
            '<div class="runs">', *(_card(rep, i) for i in range(len(ids))), "</div>",
            "<h2>Metrics</h2>",
            "<p class=\"floor\">Floor: what no reconstruction at all reaches (a flat image's "
            "PSNR / SSIM; the judge's chance level). A result means something only above "
            "it. Where the runs' floors differ (each inverts its own image), each value "
            "carries its own.</p>",
            _table(["metric", *ids, "floor"], [[k, *v, f] for k, v, f in rep.metrics])]
    if rep.curves:
        body.append("<h2>Curves</h2>")
        body += [f'<p><img alt="{escape(t)}" src="{data_uri(png)}"></p>'
                 for t, png in rep.curves]
    body += _settings_html(rep, ids)
    body.append("<h2>Reproduce</h2><ul>")
    for rid, (orig, again), note in zip(ids, rep.commands, rep.batches):
        body.append(f"<li>run {escape(rid)}: <code>{escape(again)}</code>"
                    + (f"<br>made by <code>{escape(orig)}</code>" if orig else "")
                    + (f'<br><span class="batch">{escape(note)}</span>' if note else "")
                    + "</li>")
    body.append("</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(rep.title)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
