"""Writers and readers of evaluation results: CSV, Markdown, JSON and an example grid
(PNG) of the Table 1 protocol (Sec. 3.2), and the committed CSVs read back (e.g. by the
dashboard's chart). The interactive chart (HTML, :func:`viz_core.figures.table1_figure`,
plotly optional) is handed to :func:`write_table1` as a writer."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from viz_core.errors import VizError
from viz_core.evaluation.floors import floors_section
from viz_core.images import to_uint8
from viz_core.machine import machine_description
from viz_core.metrics import LEGACY_KEYS, METRICS, metric_keys, metric_label
from viz_core.tables import markdown_table

__all__ = ["AM_COLUMNS", "INVERSION_COLUMNS", "ROW_COLUMNS", "SAMPLE_COLUMNS",
           "am_transfer_markdown", "examples_png", "fmt", "inversion_markdown",
           "metrics_markdown", "pct", "read_table1_csv", "table1_markdown", "to_csv",
           "write_recognisability", "write_table1"]

#: Table 1's row columns around the metrics (:func:`row_columns` puts every image metric of
#: :data:`viz_core.metrics.METRICS` between them).
ROW_COLUMNS = ["direction", "rec_model", "rec_layer", "cls_model", "method", "label", "n",
               "steps", "step_size", "top1", "top5", "clean_top1", "clean_top5", "self_top1",
               "rel_error", "diverged", "seconds"]
SAMPLE_COLUMNS = ["direction", "method", "image", "id", "label", "pred", "top1", "top5",
                  "rel_error", "psnr", "ssim", "diverged"]


def fmt(v, digits: int = 4) -> str:
    """A number for a table cell (NaN and None: empty).

    >>> fmt(0.123456), fmt(float("nan")), fmt(None), fmt(float("-inf")), fmt("diverged")
    ('0.1235', '', '', '-inf', 'diverged')
    """
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.{digits}g}"
    return str(v)


def row_columns() -> list[str]:
    """The columns of a Table 1 results file: :data:`ROW_COLUMNS` with the image metrics
    after ``rel_error``."""
    i = ROW_COLUMNS.index("rel_error") + 1
    return ROW_COLUMNS[:i] + metric_keys("image", "reference") + ROW_COLUMNS[i:]


def to_csv(rows: list[dict], columns: list[str] | None = None) -> str:
    """``rows`` as CSV (default columns: :func:`row_columns`)."""
    columns = row_columns() if columns is None else columns
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([fmt(r.get(c, ""), 6) for c in columns])
    return buf.getvalue()


def read_table1_csv(path: str | Path) -> list[dict]:
    """Rows of a ``table1*.csv`` written by :func:`write_table1` (numbers as floats), e.g.
    to redraw the Table 1 chart on the dashboard. Method keys are read as written (older
    files used the same canonical keys); older metric columns get their registry key
    (:data:`viz_core.metrics.LEGACY_KEYS`: ``tv`` is now ``total_variation``)."""
    p = Path(path)
    if not p.is_file():
        raise VizError(f"results file {str(p)!r} does not exist", field="results")
    rows = []
    with p.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            row: dict = {}
            for k, v in r.items():
                k = LEGACY_KEYS.get(k, k)
                try:
                    row[k] = float(v) if k not in ("direction", "rec_model", "rec_layer",
                                                   "cls_model", "method", "label") else v
                except (TypeError, ValueError):
                    row[k] = float("nan") if v == "" else v
            rows.append(row)
    missing = {"direction", "method", "label", "top1", "top5"} - set(rows[0] if rows else {})
    if missing:
        raise VizError(f"{p.name} is not a Table 1 results file (missing columns "
                       f"{', '.join(sorted(missing))})", field="results")
    return rows


def pct(v: float | None) -> str:
    """A percentage for a table cell (NaN / None: empty)."""
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1f}%"


def table1_markdown(rows: list[dict]) -> str:
    """The paper's Table 1 layout: methods x (direction: top-1, top-5)."""
    directions = list(dict.fromkeys(r["direction"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    by = {(r["direction"], r["method"]): r for r in rows}
    head = "| method | " + " | ".join(
        f"{d.split(' -> ')[0]} rec. -> {d.split(' -> ')[1]} top-1 | top-5" for d in directions)
    lines = [head + " |", "|---|" + "---:|---:|" * len(directions)]
    for m in methods:
        cells = []
        label = next(r["label"] for r in rows if r["method"] == m)
        if m == "original":
            label = "original images (classifier's accuracy)"
        for d in directions:
            r = by.get((d, m))
            cells += [pct(r["top1"]), pct(r["top5"])] if r else ["", ""]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def metrics_markdown(rows: list[dict]) -> str:
    """Per direction and method: the reconstruction metrics (means over the N images)."""
    keys = ["direction", "label", "self_top1", "rel_error",
            *(k for k in metric_keys("image", "reference") if any(k in r for r in rows)),
            "diverged"]
    head = ["direction", "method", "A's top-1", "rel. feature error",
            *(metric_label(k) for k in keys[4:-1]), "diverged"]
    body = [[pct(r.get(k)) if k == "self_top1" else fmt(r.get(k), 3) for k in keys]
            for r in rows]
    return markdown_table(head, body)

def metric_notes(rows: list[dict]) -> str:
    """What each image metric in ``rows`` measures, from the registry."""
    return "; ".join(f"{METRICS[k].label}: {METRICS[k].note}" for k in metric_keys("image")
                     if any(k in r for r in rows))


#: The row labels' height in the examples montage (Pillow's default font was ~10 px).
LABEL_PX = 18


def examples_png(examples: dict, path: str | Path, scale: int | None = None) -> None:
    """A grid of the first reconstructions: per direction, rows = original + methods
    (small images are enlarged ``scale`` times, default 2 below 128 px)."""
    tiles = []
    for d, ex in examples.items():
        for key, imgs in ex.items():
            tiles.append((f"{d}: {key}", [to_uint8(im) for im in imgs]))
    if not tiles:
        return
    h, w = tiles[0][1][0].shape[:2]
    scale = scale or (2 if max(h, w) < 128 else 1)
    font = ImageFont.load_default(size=LABEL_PX)  # readable where the PNG is shown
    label_w = 8 + max(int(font.getlength(label)) for label, _ in tiles)
    cols = max(len(t[1]) for t in tiles)
    mode = "L" if all(im.ndim == 2 for _, ims in tiles for im in ims) else "RGB"
    canvas = Image.new(mode, (label_w + cols * w * scale, len(tiles) * h * scale), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (label, imgs) in enumerate(tiles):
        draw.text((4, r * h * scale + 4), label, fill="black", font=font)
        for c, im in enumerate(imgs):
            pil = Image.fromarray(im).convert(mode).resize((w * scale, h * scale),
                                                            Image.NEAREST)
            canvas.paste(pil, (label_w + c * w * scale, r * h * scale))
    canvas.save(path, optimize=True)


def write_table1(result: dict, out_dir: str | Path, stem: str, command: str = "",
                 per_sample: bool = False,
                 html: Callable[[list[dict], Path], None] | None = None) -> list[Path]:
    """Write ``<stem>.csv``, ``.md``, ``.json`` (settings, timing, machine) and
    ``_examples.png``; ``_samples.csv`` with ``per_sample``; ``.html`` with ``html(rows,
    path)`` (the front end's chart writer)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = result["rows"]
    total = sum(result["seconds"].values())
    s = result["settings"]
    paths = []
    p = out / f"{stem}.csv"
    p.write_text(to_csv(rows), encoding="utf-8")
    paths.append(p)
    if per_sample:
        p = out / f"{stem}_samples.csv"
        p.write_text(to_csv(result["samples"], SAMPLE_COLUMNS), encoding="utf-8")
        paths.append(p)
    steps = rows[0]["steps"] if rows else s["steps"]
    taus = ", ".join(f"{d}: {r['step_size']:g}" for d, r in
                     {r["direction"]: r for r in rows}.items())
    md = [f"# Table 1 protocol (Baust et al. Sec. 3.2) on {result['images']}, "
          f"N = {s['n']}", ""]
    if command:
        md += ["Command:", "", f"    {command}", ""]
    md += [f"Settings: {steps} iterations, step size tau ({taus}; 0-255 units per step, "
           f"mean|g| normalisation), kernel size {s['kernel_size']} (sigma / gamma fitted), "
           f"TV lambda {s['tv']:g} (eps {s['tv_eps']:g}), no octaves or jitter, seed "
           f"{s['seed']}, {s['batch_images']} images x {len(s['methods'])} methods per batch, "
           f"{s['precision']}, BatchNorm folded: {s['fuse']}, concurrent batches (workers): "
           f"{s['workers']}. Reconstructions are quantised to 8 bits before "
           "classification.", "",
           f"Machine: {machine_description()}. Time: "
           + ", ".join(f"{d} {v / 60:.1f} min" for d, v in result["seconds"].items())
           + f", total {total / 60:.1f} min (wall {result.get('wall_seconds', total) / 60:.1f} "
           f"min); torch threads per worker {result.get('threads')}; 1-min load average at "
           f"start / end {result.get('load_average')}.", "",
           "## Top-1 / top-5 of the other network on the reconstructions", "",
           table1_markdown(rows), "",
           "## Reconstruction metrics (means over the N images)", "",
           "A's top-1: the reconstructing network's own accuracy on its reconstructions; rel. "
           "feature error: ||Phi(u) - Phi0|| / ||Phi0|| at the end; "
           + metric_notes(rows) + ".", "",
           metrics_markdown(rows), ""]
    if result.get("floors"):
        md += floors_section(result["floors"])
    p = out / f"{stem}.md"
    p.write_text("\n".join(md), encoding="utf-8")
    paths.append(p)
    if html is not None:
        p = out / f"{stem}.html"
        html(rows, p)
        paths.append(p)
    meta = {"settings": s, "images": result["images"], "seconds": result["seconds"],
            "total_seconds": total, "wall_seconds": result.get("wall_seconds"),
            "load_average": result.get("load_average"), "threads": result.get("threads"),
            "machine": machine_description(), "command": command,
            "rows": rows, "floors": result.get("floors")}
    p = out / f"{stem}.json"
    p.write_text(json.dumps(meta, indent=2, default=_json_default) + "\n", encoding="utf-8")
    paths.append(p)
    if result.get("examples"):
        p = out / f"{stem}_examples.png"
        examples_png(result["examples"], p)
        paths.append(p)
    return paths


def _json_default(o):
    if isinstance(o, float) and not math.isfinite(o):
        return str(o)
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)



# ----------------------------------------------------------------------------- recognisability

AM_COLUMNS = ["direction", "model", "judge", "twin", "scheme", "label", "classes", "seeds",
              "top1_judge", "judge_recognised_mean", "judge_recognised_min", "conf_judge",
              "top1_other", "recognised_mean", "recognised_min", "top1_self", "conf_self",
              "conf_other", "chance_top1", "flat_class", "flat_recognised", "diverged"]
AM_SAMPLE_COLUMNS = ["direction", "scheme", "seed", "target", "pred_judge", "pred_other",
                     "pred_self", "conf_judge", "conf_self", "conf_other", "diverged"]
INVERSION_COLUMNS = ["direction", "model", "judge", "twin", "layer", "scheme", "label", "n",
                     "best", "psnr", "ssim", "top1_judge", "top5_judge", "top1_other",
                     "top5_other", "rel_error", "flat_value", "flat_psnr", "flat_ssim",
                     "chance_top1", "chance_top5", "clean_top1_judge", "clean_top1_other"]


def _recognised(r: dict, prefix: str) -> str:
    return f"{r[prefix + 'recognised_mean']:.1f} / {r[prefix + 'recognised_min']}"


def am_transfer_markdown(rows: list[dict]) -> str:
    """AM transfer per direction and scheme: the independent judge's verdict, then the twin
    network's (same data and recipe) and the model's own, with the floors in every row
    (chance, and the classes the judge gives a flat image: 1 of 10)."""
    lines = ["| direction | scheme | independent judge: classes recognised (mean / worst "
             "seed) | judge's top-1 | twin network (same data and recipe): classes "
             "recognised | own top-1 | own confidence | chance top-1 | flat image |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        flat = r.get("flat_recognised", "")
        lines.append(f"| {r['direction']} | {r['label']} | "
                     f"{_recognised(r, 'judge_')} of {r['classes']} | "
                     f"{pct(r['top1_judge'])} | {_recognised(r, '')} of {r['classes']} | "
                     f"{pct(r['top1_self'])} | {fmt(r['conf_self'], 3)} | "
                     f"{pct(r['chance_top1'])} | {flat} of {r['classes']} |")
    return "\n".join(lines)


def inversion_markdown(rows: list[dict], best_only: bool = True) -> str:
    """Inversion quality per direction and layer (the best scheme by PSNR, or all), with
    the flat-image floor, the chance levels and the judge's accuracy on the originals."""
    lines = ["| direction | layer | scheme | PSNR dB | SSIM | judge's top-1 | judge's top-5 | "
             "twin's top-1 | flat image PSNR | flat image SSIM | chance top-1 | chance top-5 | "
             "judge's top-1 on originals |", "|---|---|---|" + "---:|" * 10]
    for r in rows:
        if best_only and not r["best"]:
            continue
        lines.append(f"| {r['direction']} | {r['layer']} | {r['label']} | {fmt(r['psnr'], 3)} "
                     f"| {fmt(r['ssim'], 2)} | {pct(r['top1_judge'])} | "
                     f"{pct(r['top5_judge'])} | {pct(r['top1_other'])} | "
                     f"{fmt(r['flat_psnr'], 3)} | "
                     f"{fmt(r['flat_ssim'], 2)} | {pct(r['chance_top1'])} | "
                     f"{pct(r['chance_top5'])} | {pct(r['clean_top1_judge'])} |")
    return "\n".join(lines)


def write_recognisability(result: dict, out_dir: str | Path, stem: str, command: str = "",
                          settings: str = "", date: str = "") -> list[Path]:
    """Write ``<stem>_am.csv``, ``<stem>_am_samples.csv``, ``<stem>_inversion.csv`` (the
    parts that ran) and ``<stem>.md`` (command, machine, date, settings, tables)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    md = [f"# Recognisability benchmark: {stem}", ""]
    if command:
        md += ["Command:", "", f"    {command}", ""]
    md += [f"Machine: {machine_description()}." + (f" Date: {date}." if date else ""), ""]
    if settings:
        md += [settings, ""]
    for key, columns, name in (("am", AM_COLUMNS, "am"),
                               ("am_samples", AM_SAMPLE_COLUMNS, "am_samples"),
                               ("inversion", INVERSION_COLUMNS, "inversion")):
        if result.get(key):
            p = out / f"{stem}_{name}.csv"
            p.write_text(to_csv(result[key], columns), encoding="utf-8")
            paths.append(p)
    if result.get("am"):
        judge = result["am"][0]["judge"]
        md += ["## AM transfer: class pre-images (8-bit) classified by the independent judge",
               "",
               f"Independent judge: {judge} (another architecture family, its own training "
               "run and split, standard training). Twin network: the other network of the "
               "pair, trained on the same data with the same recipe (it shares the model's "
               "features and over-reads its pictures). Top-1 over the classes and seeds; "
               "classes recognised: of the classes, per seed (mean and worst seed); own: "
               "the network the pre-image was made for; confidence: its softmax probability "
               "of the target class. Floors: chance (10 % of classes) and a flat image at the "
               "training set's mean intensity, which the judge reads as one class ("
               f"{result['am'][0].get('flat_class', '?')}), so it is 'recognised' for 1 of "
               "the classes.", "",
               am_transfer_markdown(result["am"]), ""]
    if result.get("inversion"):
        md += [f"## Inversion quality, best scheme per layer (by PSNR) on {result['images']}",
               "", "Floors a reconstruction has to beat: a flat image at the set's mean "
               "intensity (its PSNR and SSIM against each original), and chance levels. "
               f"All schemes: {stem}_inversion.csv.", "",
               inversion_markdown(result["inversion"]), ""]
    p = out / f"{stem}.md"
    p.write_text("\n".join(md), encoding="utf-8")
    paths.append(p)
    return paths
