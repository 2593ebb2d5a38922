"""The Paper presets page's words (no Streamlit): each picture's caption, the one-line
summary of a run of several batches (finished, stopped, not run), what the paper found
beside what the offline version shows (:data:`FINDINGS`), and the Table 1 results read
from their files: a caption per file, the paper-vs-here sentence, readable montage labels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.results import verdict_parts
from dashboard.runs import RunRecord

__all__ = ["FINDINGS", "caption", "read_image", "relabel_montage", "summary", "table1_captions",
           "table1_comparison"]

#: Per paper figure: what the paper found (and where: Fig. 1 caption and Sec. 4.1's first
#: paragraph; Fig. 2 caption and Sec. 4.1's second; Sec. 4.1's third for Fig. 4), what the
#: offline version's run shows (``tests/test_presets_paper_findings.py`` reruns and checks).
FINDINGS: dict[str, tuple[str, str]] = {
    "fig1": (
        "Sobolev filters give crisper details than Gaussian ones; fluid demons give only "
        "fine details, elastic and fluid-elastic demons coarse and fine ones (Fig. 1 "
        "caption; Sec. 4.1).",
        "in the offline run (fmnist_vgg, Ankle boot) each Sobolev picture has sharper edges "
        "(a larger total variation, eq. 19) than the Gaussian one of its column; of the six "
        "demons pictures the fluid ones have the smallest share of energy at coarse scales, "
        "the elastic and fluid-elastic ones the largest (mostly coarse structure); Gaussian "
        "elastic and fluid-elastic reach a lower class probability than every other "
        "picture."),
    "fig2": (
        "Elastic and fluid-elastic Sobolev schemes give images with more scales than fluid "
        "demons or TV, on every architecture; additional regularization via octaves and "
        "jitter \"does not yield significant improvements\" (Fig. 2 caption; Sec. 4.1).",
        "in the offline run (Bag, one image and seed each), without octaves the elastic "
        "and fluid-elastic pictures carry at least twice the share of coarse-scale energy "
        "of the fluid and TV ones, on both networks; octaves + jitter raise the "
        "independent judge's probability of Bag for the elastic and fluid-elastic "
        "pictures of both networks, an improvement the paper did not see."),
    "fig4": (
        "Fluid demons give many high-frequency features (the least clear reconstructions "
        "from the deep conv5 block), TV keeps some structure even for deeper layers, "
        "fluid-elastic Sobolev gives the smoothest, most natural-looking ones (Sec. 4.1, on "
        "Fig. 4).",
        "in the offline run (fmnist_vgg, one Ankle boot) fluid Sobolev is the noisiest "
        "from both layers (the largest share of high frequencies) and fluid-elastic Sobolev "
        "the smoothest (the smallest); TV keeps the most structure from block2 (the highest "
        "SSIM with the original) but not from block4, where all three keep little and "
        "fluid-elastic's SSIM is the highest."),
}


def caption(rec: RunRecord, i: int, what: str) -> str:
    """A cell's caption: its named figure (``what``: the relative feature error
    ||Phi(u) - Phi(u0)|| / ||Phi(u0)|| of an inversion, eq. 3, or the target activation of
    AM, eq. 4), the model's probability of the target class and the independent judge's
    verdict (as on Compare), the first degenerate-result warning
    (:mod:`viz_core.image_checks`), and the step."""
    a = rec.activation[-1][i] if rec.activation else float("nan")
    parts = [f"{rec.labels[i]} · {what} {a:.3g}"]
    parts += verdict_parts(rec.verdicts[i] if i < len(rec.verdicts) else [])
    warned = rec.warnings[i] if i < len(rec.warnings) else []
    if warned:
        parts.append("⚠ " + warned[0].split(":")[0])  # e.g. "flat black", "saturated"
    return " · ".join(parts + [f"step {rec.step}/{rec.total}"])


def _count(n: int, what: str, noun: bool = False) -> str:
    """'1 batch finished', '2 batches finished', '2 stopped'."""
    return f"{n} {'batch' if n == 1 else 'batches'} {what}" if noun else f"{n} {what}"


def summary(recs: list[RunRecord], n: int, seconds: float) -> tuple[float, str]:
    """The progress bar of a run that ended: its share done and one line, e.g. "stopped
    during batch 2 of 4, 4.1 s after Run: 1 batch finished, 1 stopped, 2 not run".
    ``seconds`` run from the Run click to the last picture; a run of one batch gives no
    time, as its status already gives the engine's ("done: 200 steps in 2.6 s"), and two
    different times side by side read as a contradiction."""
    by = {s: [i for i, r in enumerate(recs) if r.status == s]
          for s in ("done", "stopped", "diverged", "error")}
    t = f"{seconds:.1f} s after Run"
    stopped = by["stopped"]
    part = sum(recs[i].step / max(recs[i].total, 1) for i in stopped)
    value = min(1.0, (len(recs) - len(stopped) + part) / max(n, 1))
    if len(by["done"]) == n:
        return value, ("the batch finished" if n == 1
                       else f"all {n} batches finished, {t}")
    if n == 1 and stopped:
        r = recs[0]
        return value, f"stopped at step {r.step} of {r.total}"
    head = (f"stopped during batch {stopped[0] + 1} of {n}, {t}" if stopped
            else f"ended {t}")
    counts = [(len(by["done"]), "finished"), (len(stopped), "stopped"),
              (len(by["diverged"]), "diverged"), (len(by["error"]), "failed"),
              (n - len(recs), "not run")]
    said = [(k, w) for k, w in counts if k]
    return value, head + ": " + ", ".join(_count(k, w, noun=j == 0)
                                          for j, (k, w) in enumerate(said))


# ----------------------------------------------------------------------------- Table 1 files

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
    from viz_core.presets import PAPER_TABLE1

    by: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in rows:
        by.setdefault(_text(r.get("direction")), {})[_text(r.get("method"))] = r
    here, used = [], []
    for ms in by.values():
        if _TV not in ms or _FE not in ms:
            continue
        fe, tv = _num(ms[_FE].get("top1")), _num(ms[_TV].get("top1"))
        if fe is None or tv is None:
            continue
        rec = _pair(ms[_TV])[0]
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
    return f"Paper (top-1 of the other network): {paper_part}; here: {'; '.join(here)}."


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
