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

__all__ = ["ZIP_HELP", "folder_zip", "montage_png", "png_array", "table_csv"]

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
    (:func:`viz_core.sweeps.report.montage`, pictures at twice their size, the cells a Stop
    ended framed and noted)."""
    from viz_core.sweeps.report import montage

    buf = io.BytesIO()
    montage(root, [dict(r) for r in rows], list(axes)).save(buf, format="PNG")
    return buf.getvalue()


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
