"""The Paper presets page's Table 1 results tab in words (no Streamlit): from the committed
results files of the cross-network protocol (Table 1, Sec. 3.2), a caption per file, the
paper-vs-here sentence (with chance), the columns shown and their labels, and the example
montage's labels."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["read_image", "relabel_montage", "table1_captions", "table1_columns",
           "table1_comparison", "table1_settings"]


#: What a Table 1 results file records about how it was made: (column, caption label).
_T1_SETTINGS = (("networks", "networks"), ("step_size", "tau"), ("steps", "steps"),
                ("n", "N images per direction"), ("precision", "precision"))
_TV, _FE = "tv", "fluid_elastic_sobolev"
_PAPER_REC = {"vgg19": "VGG19", "densenet121": "DenseNet121"}


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _fmt(v: Any) -> str:
    f = _num(v)
    return f"{f:g}" if f is not None else str(v)


def table1_settings(rows: Sequence[Mapping[str, Any]],
                    extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    """How a Table 1 results file was made, from its rows (``extra``: the settings of its
    ``.json`` record, e.g. the precision): the directions (reconstructing network and layer
    -> classifier), tau, steps and images per direction; what a file lacks is left out."""
    dirs = {}
    for r in rows:
        rec, cls = _text(r.get("rec_model")), _text(r.get("cls_model"))
        if rec and cls:
            layer = f" {_text(r.get('rec_layer'))}".rstrip()
            dirs[f"{rec}{layer} -> {cls}"] = None
    out = {"networks": ", ".join(dirs)} if dirs else {}
    for key in ("step_size", "steps", "n"):
        vals = list(dict.fromkeys(_fmt(r[key]) for r in rows if _num(r.get(key)) is not None))
        if vals:
            out[key] = " / ".join(vals)
    if extra and extra.get("precision"):
        out["precision"] = str(extra["precision"])
    return out


def table1_captions(files: Mapping[str, Mapping[str, str]]) -> tuple[str, dict[str, str]]:
    """A caption per Table 1 file (``files``: name -> :func:`table1_settings`), the settings
    in which the files differ in bold, and one line naming those settings ("" for one
    file). Values come from the files: Markdown-escaped."""
    from dashboard.text import plain

    differ = [k for k, _ in _T1_SETTINGS
              if len({s.get(k) for s in files.values()}) > 1 and len(files) > 1]
    caps = {}
    for name, s in files.items():
        parts = [(f"**{label} {plain(s[k])}**" if k in differ else f"{label} {plain(s[k])}")
                 for k, label in _T1_SETTINGS if k in s]
        caps[name] = " · ".join(parts) or "its settings are not recorded in the file"
    labels = dict(_T1_SETTINGS)
    line = (f"The {len(files)} files differ in {', '.join(labels[k] for k in differ)} "
            "(in bold in each caption)." if differ else "")
    return line, caps


#: The Table 1 file's columns shown by default, to fit 1280 px (the rest behind a toggle;
#: the reconstructing network stands for the direction), and the labels of its columns
#: that are no registry metric (:func:`viz_core.metrics.metric_label`).
T1_SHOWN = ("rec_model", "label", "top1", "top5", "psnr", "ssim")
_T1_LABELS = {"label": "method", "method": "method key", "rec_model": "reconstructed by",
              "rec_layer": "its layer", "cls_model": "classifier", "n": "N images",
              "step_size": "tau", "top1": "top-1 %", "top5": "top-5 %",
              "clean_top1": "originals top-1 %", "clean_top5": "originals top-5 %",
              "self_top1": "own network's top-1 %", "rel_error": "feature_error"}


def table1_columns(rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
                   every: bool = False) -> dict[str, str]:
    """The columns of a Table 1 file to show (:data:`T1_SHOWN`, or ``every`` one) with their
    labels (the metric registry's, else the protocol's words), top-1 and top-5 with chance
    where one classifier gives it (:func:`viz_core.figures.table1_chance`)."""
    from viz_core.figures import table1_chance
    from viz_core.metrics import LEGACY_KEYS, metric_label

    chances = {table1_chance(_pair(r)[1]) for r in rows}
    chance = chances.pop() if len(chances) == 1 else None
    shown = [c for c in columns if every or c in T1_SHOWN]
    for c, alt in (("rec_model", "direction"), ("label", "method")):
        if not every and c not in shown and alt in columns:
            shown.insert(min(alt == "method", len(shown)), alt)
    out = {}
    for c in shown:
        key = _T1_LABELS.get(c, LEGACY_KEYS.get(c, c))
        label = "method" if c == "method" and "label" not in shown else metric_label(key)
        if chance and c in ("top1", "top5"):
            label += f" (chance {chance[c == 'top5']:g})"
        out[c] = label
    return out


def _text(v: Any) -> str:
    """A cell as text ("" for an empty one, which pandas reads as NaN)."""
    return v.strip() if isinstance(v, str) else ""


def _pair(row: Mapping[str, Any]) -> tuple[str, str]:
    """A Table 1 row's reconstructing network and classifier (from "A -> B" if need be)."""
    d = _text(row.get("direction")).split("->")
    return (_text(row.get("rec_model")) or d[0].strip(),
            _text(row.get("cls_model")) or d[-1].strip())


def _winner(fe: float, tv: float, n: float | None) -> str:
    """"fe", "tv" or "tie": a difference within two standard errors of N images is a tie."""
    if n:
        p, q = min(max(fe / 100, 0), 1), min(max(tv / 100, 0), 1)
        if abs(fe - tv) <= 200 * math.sqrt((p * (1 - p) + q * (1 - q)) / n):
            return "tie"
    return "fe" if fe > tv else "tv" if tv > fe else "tie"


_SAYS = {"fe": "fluid-elastic Sobolev beats TV", "tv": "TV beats fluid-elastic Sobolev",
         "tie": "TV and fluid-elastic Sobolev tie (within sampling noise)"}


def table1_comparison(rows: Sequence[Mapping[str, Any]]) -> str:
    """One sentence "paper: ...; here: ..." on Table 1's main contrast, TV against
    fluid-elastic Sobolev (top-1 of the other network), per direction of the file's
    ``rows`` beside the paper's direction it stands in for (a VGG reconstructing for
    VGG19, another for DenseNet121); "" when the file lacks either method."""
    from dashboard.text import plain
    from viz_core.figures import table1_chance
    from viz_core.presets import PAPER_TABLE1

    by: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in rows:
        by.setdefault(_text(r.get("direction")), {})[_text(r.get("method"))] = r
    here, used, clfs = [], [], []
    for ms in by.values():
        if _TV not in ms or _FE not in ms:
            continue
        fe, tv = _num(ms[_FE].get("top1")), _num(ms[_TV].get("top1"))
        if fe is None or tv is None:
            continue
        rec, clf = _pair(ms[_TV])
        clfs.append(clf)
        paper = "vgg19" if "vgg" in rec.lower() else "densenet121"
        p = PAPER_TABLE1[paper]
        won, pwon = _winner(fe, tv, _num(ms[_TV].get("n"))), _winner(
            p[_FE][0], p[_TV][0], 1000)
        rel = ("as" if won == pwon else "the reverse of" if "tie" not in (won, pwon)
               else "unlike")
        here.append(f"{_SAYS[won]} on {plain(rec)} rec. (fluid-elastic {fe:.1f}% vs TV "
                    f"{tv:.1f}%), {rel} the paper's {_PAPER_REC[paper]} rec")
        used.append(paper)
    if not here:
        return ""
    paper_part = "; ".join(
        f"{_SAYS[_winner(PAPER_TABLE1[m][_FE][0], PAPER_TABLE1[m][_TV][0], 1000)]} on "
        f"{_PAPER_REC[m]} rec. (fluid-elastic {PAPER_TABLE1[m][_FE][0]}% vs TV "
        f"{PAPER_TABLE1[m][_TV][0]}%)" for m in dict.fromkeys(used))
    chance = {c[0] for c in map(table1_chance, clfs) if c}
    floor = (f" Chance (a guess): top-1 0.1% in the paper (1000 classes), "
             f"{' / '.join(f'{c:g}%' for c in sorted(chance))} here." if chance else "")
    return (f"Paper (top-1 of the other network): {paper_part}; here: {'; '.join(here)}."
            + floor)


def read_image(path: str | Path) -> Any:
    """An image file as an RGB PIL image, None when it does not read as one."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            return im.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def relabel_montage(path: str | Path, rows: Sequence[Mapping[str, Any]],
                    size: int = 30) -> Any:
    """The Table 1 examples montage (one row per row of the file: a direction's original,
    then each method's reconstructions, with ~10 px labels on a white column at the left)
    with its labels redrawn at ``size`` px from ``rows`` (label, reconstructing network,
    classifier), as a PIL image; None when its layout does not match the rows."""
    from PIL import Image, ImageDraw, ImageFont

    img = read_image(path)
    try:
        big, small = ImageFont.load_default(size=size), ImageFont.load_default(size=size * 4 // 5)
    except (OSError, TypeError):  # a Pillow without scalable default font
        return None
    n = len(rows)
    if img is None:
        return None
    w, h = img.size
    if not n or h % n:
        return None
    rh = h // n
    grey = np.asarray(img.convert("L"))
    left = next((w - k * rh for k in range(1, w // rh + 1)
                 if all((grey[r * rh + rh // 4:(r + 1) * rh, :w - k * rh] == 255).all()
                        for r in range(n))), None)
    if left is None:
        return None
    lines = [[(_text(r.get("label")) or _text(r.get("method")), big),
              (("to invert with " if r.get("method") == "original" else "inverted with ")
               + _pair(r)[0], small), (f"classified by {_pair(r)[1]}", small)] for r in rows]
    draw = ImageDraw.Draw(img)
    col = 16 + max(draw.textbbox((0, 0), t, font=f)[2] for ls in lines for t, f in ls)
    out = Image.new("RGB", (col + w - left, h), "white")
    out.paste(img.crop((left, 0, w, h)), (col, 0))
    draw = ImageDraw.Draw(out)
    for r, ls in enumerate(lines):
        y = r * rh + 8
        for k, (text, font) in enumerate(ls):
            draw.text((8, y), text, fill=(0, 0, 0) if k == 0 else (80, 80, 80), font=font)
            y += font.size + 8
    return out
