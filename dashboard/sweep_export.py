"""The Sweeps page's downloads: the montage as a PNG (every cell's pre-image on the grid of
the first two axes, each captioned with its values; a cell a Stop ended framed dashed and
"stopped at step k / n" under it, as the heatmap marks it), the table as CSV (what the page's
table lists) and the sweep's folder as a zip (the cells' PNGs with their run JSON, the
table and manifest that ``demons-viz sweep`` reads and resumes); :func:`png_array` reads a
cell's picture for the montage on the page. No Streamlit."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.sweep_labels import table_rows
from dashboard.sweep_summary import step_reached

__all__ = ["ZIP_HELP", "folder_zip", "mark_stopped", "montage_png", "png_array",
           "table_csv"]

#: The montage's geometry (:func:`viz_core.sweeps.report.montage`): pictures at twice their
#: size, the gap between them and the height of the label above each.
_SCALE, _PAD, _LABEL_H = 2, 4, 14
#: A stopped cell's dashed frame: the heatmap's grey, in the gap around its picture.
_STOPPED_COLOR, _DASH = "#888888", 4

#: The help of the sweep folder's download.
ZIP_HELP = ("the cells' PNGs (each with its run JSON), the table and the manifest that "
            "`demons-viz sweep` resumes")


def png_array(path: str | Path) -> np.ndarray:
    """A cell's PNG as the page shows it: float (C, H, W) in [0, 1]."""
    from PIL import Image

    a = np.asarray(Image.open(path), dtype=np.float32) / 255.0
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def montage_png(root: str | Path, rows: Sequence[Mapping[str, Any]],
                axes: Sequence[str]) -> bytes:
    """The montage of ``rows``' pictures under ``root`` as PNG bytes
    (:func:`viz_core.sweeps.report.montage`, pictures at twice their size), the cells a
    Stop ended marked by :func:`mark_stopped`."""
    from viz_core.sweeps.report import montage

    cells = [dict(r) for r in rows]
    image = montage(root, cells, list(axes), scale=_SCALE, pad=_PAD, label_h=_LABEL_H)
    buf = io.BytesIO()
    mark_stopped(image, cells, axes).save(buf, format="PNG")
    return buf.getvalue()


def mark_stopped(image: Any, rows: Sequence[Mapping[str, Any]], axes: Sequence[str]
                 ) -> Any:
    """The montage ``image`` of ``rows`` with the cells a Stop ended marked as the heatmap
    marks them (the values of unfinished runs): a dashed grey frame in the gap around the
    picture and "stopped at step k / n" under it, in the montage's own black default font
    (a row of pictures with a stopped cell gets the room its notes need); ``image`` itself
    when no cell was stopped."""
    from PIL import Image, ImageDraw

    from viz_core.sweeps.report import grid_of

    rv, cv, cells = grid_of([dict(r) for r in rows], list(axes))
    if not any(r.get("stopped") for r in cells.values()):
        return image
    side = (image.width - _PAD) // len(cv) - _PAD
    font = ImageDraw.Draw(image).getfont()
    notes = {k: _wrap(["stopped", "at", *step_reached(r).split(" ", 1)], font, side)
             for k, r in cells.items() if r.get("stopped")}  # "7 / 40" on one line
    line_h = _line_height(font)
    extra = [max((len(notes.get((a, b), ())) for b in cv), default=0) for a in rv]
    extra = [n * line_h + 3 if n else 0 for n in extra]  # room for the row's notes
    row_h = _LABEL_H + side + _PAD  # a row of the montage: label, picture, gap
    out = Image.new("RGB", (image.width, image.height + sum(extra)), "white")
    draw = ImageDraw.Draw(out)
    for i, a in enumerate(rv):
        y0 = _PAD + i * row_h
        band = image.crop((0, y0, image.width, y0 + _LABEL_H + side))
        y = y0 + sum(extra[:i])
        out.paste(band, (0, y))
        for j, b in enumerate(cv):
            lines = notes.get((a, b))
            if not lines:
                continue
            x, top = _PAD + j * (side + _PAD), y + _LABEL_H
            _dashed_box(draw, (x - 2, top - 2, x + side + 1, top + side + 1))
            for k, line in enumerate(lines):
                draw.text((x, top + side + 3 + k * line_h), line, fill="black", font=font)
    return out


def _wrap(words: Sequence[str], font: Any, width: int) -> list[str]:
    """``words`` in lines no wider than ``width`` pixels where the words allow."""
    lines: list[str] = []
    for word in words:
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def _line_height(font: Any) -> int:
    """The height of a line of ``font`` (its tallest letters and descenders)."""
    return int(font.getbbox("Stopped 0/9 gy")[3]) + 1


def _dashed_box(draw: Any, box: tuple[int, int, int, int]) -> None:
    """A 2-pixel dashed rectangle ``box`` (x0, y0, x1, y1, inclusive) on ``draw``."""
    x0, y0, x1, y1 = box
    for start in range(x0, x1 + 1, 2 * _DASH):
        end = min(start + _DASH - 1, x1)
        for y in (y0, y1 - 1):
            draw.rectangle((start, y, end, y + 1), fill=_STOPPED_COLOR)
    for start in range(y0, y1 + 1, 2 * _DASH):
        end = min(start + _DASH - 1, y1)
        for x in (x0, x1 - 1):
            draw.rectangle((x, start, x + 1, end), fill=_STOPPED_COLOR)


def table_csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The page's table (:func:`dashboard.sweep_labels.table_rows`) as UTF-8 CSV, one
    column per key any row has, in the order they first appear.

    >>> table_csv([{"cell_id": "a", "ssim": 0.5}, {"cell_id": "b", "stopped": True}]).decode()
    'cell_id,ssim,stopped\\r\\na,0.5,\\r\\nb,,True\\r\\n'
    """
    table = table_rows(rows)
    cols = list(dict.fromkeys(k for r in table for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols)
    w.writeheader()
    for r in table:
        w.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v
                    for k, v in r.items()})
    return buf.getvalue().encode("utf-8")


def folder_zip(root: str | Path, stem: str) -> bytes:
    """Every file of the sweep's folder ``root`` in a zip, under a folder named ``stem``."""
    root = Path(root)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                z.write(p, f"{stem}/{p.relative_to(root).as_posix()}")
    return buf.getvalue()
