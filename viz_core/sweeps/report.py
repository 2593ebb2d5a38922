"""Reading a sweep's table: the columns worth printing, text / Markdown tables, the spread
of each metric over a set of cells (seed variance) and the model randomization verdict.

The randomization test (Adebayo et al. 2018, applied to feature visualization): if the
pre-images of a randomly initialised network are as structured as those of the trained
one (similar coarse share, high-frequency share and total variation), then the regularizer,
not the network, draws the picture. Structure is compared through the metrics of Sec. 3:
the coarse share (the long-wavelength energy the elastic schemes keep, Sec. 2.2 and 4.1),
the high-frequency share and the TV (eq. 19); for AM, the independent judge's top-1 and
target probability say whether the picture shows the class at all.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from viz_core.metrics import metric_keys


def cell_metrics() -> list[str]:
    """The numeric metrics of a cell, in the order they are printed: every key of
    :data:`viz_core.metrics.METRICS` except the yes / no ``judge_hit``."""
    return [k for k in metric_keys() if k != "judge_hit"]


#: What this comparison cannot say (it is a summary, not a test).
CAVEAT = ("Three summary statistics of one seed, against a fully re-initialised network "
          "(which can be nearly constant): a hint, not a test. The model-randomisation test "
          "with cascading and independent randomisation, seeds, SSIM / Spearman and the "
          "random network's logit spread is `demons-viz sanity` "
          "(viz_core.evaluation.sanity).")
#: Metrics a random network could mimic if the regularizer draws the picture.
STRUCTURE_METRICS = ("coarse_fraction", "hf_fraction", "total_variation")


def _present(rows: Sequence[dict], key: str) -> bool:
    return any(r.get(key) is not None for r in rows)


def columns(rows: Sequence[dict], axes: Sequence[str] = ()) -> list[str]:
    """The printable columns: the cell id, the axes, the weights when random cells exist,
    and the metrics that have a value in some row (an inversion's activation once, as its
    feature error; the judge's target probability with its chance level beside it), then
    the judge's top-1 and, for an inversion, the class it is judged
    against (the original's).

    >>> columns([{"task": "inversion", "activation": 0.4, "feature_error": 0.4}], ["layer"])
    ['cell_id', 'layer', 'feature_error']
    """
    cols = ["cell_id", *axes]
    if any(r.get("random_weights") for r in rows) and "weights" not in cols:
        cols.append("weights")
    cols += [m for m in cell_metrics() if _present(rows, m)]
    if "judge_target_prob" in cols and _present(rows, "judge_chance"):  # its floor beside it
        cols.insert(cols.index("judge_target_prob") + 1, "judge_chance")
    if "feature_error" in cols and all(r.get("task") == "inversion" for r in rows):
        cols.remove("activation")  # an inversion's activation is its feature error (eq. 3)
    if _present(rows, "judge_top1_class"):
        cols.append("judge_top1_class")
    if _present(rows, "judge_target_class") and any(r.get("task") == "inversion"
                                                    for r in rows):
        cols.append("judge_target_class")  # the original's class (Table 1's test)
    if _present(rows, "diverged"):
        cols.append("diverged")
    return cols


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def format_table(rows: Sequence[dict], cols: Sequence[str], markdown: bool = False) -> str:
    """A fixed-width text table (or a Markdown table) of ``cols``."""
    cells = [[_fmt(r.get(c)) for c in cols] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines)
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def spread(rows: Sequence[dict], metrics: Sequence[str] | None = None) -> dict[str, dict]:
    """Mean, standard deviation, min and max of each metric (default: :func:`cell_metrics`)
    over ``rows`` (e.g. 8 seeds)."""
    out = {}
    for m in cell_metrics() if metrics is None else metrics:
        vals = [float(r[m]) for r in rows if r.get(m) is not None and math.isfinite(r[m])]
        if not vals:
            continue
        out[m] = {"mean": statistics.fmean(vals),
                  "std": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                  "min": min(vals), "max": max(vals), "n": len(vals)}
    return out


def randomization_verdict(rows: Sequence[dict], by: str = "scheme",
                          tolerance: float = 0.25) -> tuple[list[dict], str]:
    """Compare trained and random-weights cells per ``by`` value (e.g. per scheme).

    A scheme's random pictures count as "as structured as the trained ones" when every
    structure metric of the random cell is within ``tolerance`` (relative) of the trained
    cell's. Returns one dict per scheme (trained and random values, relative differences,
    ``alike``) and a one-paragraph verdict in numbers.
    """
    groups: dict[str, dict[str, dict]] = {}
    for r in rows:
        key = str(r.get(by))
        groups.setdefault(key, {})["random" if r.get("random_weights") else "trained"] = r
    out = []
    for key, pair in groups.items():
        if "trained" not in pair or "random" not in pair:
            continue
        t, rnd = pair["trained"], pair["random"]
        item = {by: key}
        rel = []
        for m in STRUCTURE_METRICS + ("judge_target_prob",):
            if t.get(m) is None or rnd.get(m) is None:
                continue
            item[f"{m}_trained"], item[f"{m}_random"] = t[m], rnd[m]
            if m in STRUCTURE_METRICS:
                d = abs(rnd[m] - t[m]) / max(abs(t[m]), 1e-12)
                item[f"{m}_rel_diff"] = d
                rel.append(d)
        item["alike"] = bool(rel) and max(rel) <= tolerance
        out.append(item)
    if not out:
        return out, "no scheme has both a trained and a random-weights cell"
    alike = [i[by] for i in out if i["alike"]]
    parts = []
    for i in out:
        nums = ", ".join(f"{m.replace('_', ' ')} {i[f'{m}_trained']:.3g} vs {i[f'{m}_random']:.3g}"
                         for m in STRUCTURE_METRICS if f"{m}_trained" in i)
        if "judge_target_prob_trained" in i:
            nums += (f", judge's target probability {i['judge_target_prob_trained']:.3g} vs "
                     f"{i['judge_target_prob_random']:.3g}")
        parts.append(f"{i[by]}: {nums} (trained vs random)")
    if alike:
        head = (f"Random weights give pictures as structured as trained ones for "
                f"{', '.join(alike)} (every structure metric within {tolerance:.0%}).")
    else:
        head = (f"For every scheme, some structure metric of the random-weights picture "
                f"differs by more than {tolerance:.0%} from the trained one.")
    return out, head + " " + "; ".join(parts) + ". " + CAVEAT


def grid_of(rows: Sequence[dict], axes: Sequence[str]) -> tuple[list, list, dict]:
    """The two-axis layout of ``rows``: row values, column values (in sweep order; one
    column when there is a single axis) and ``(row value, column value) -> row``."""
    a = axes[0] if axes else None
    b = axes[1] if len(axes) > 1 else None
    rv = list(dict.fromkeys(r.get(a) for r in rows)) if a else [None]
    cv = list(dict.fromkeys(r.get(b) for r in rows)) if b else [None]
    cells = {(r.get(a) if a else None, r.get(b) if b else None): r for r in rows}
    return rv, cv, cells


#: A montage's mark of a cell a Stop ended (as the Sweeps page's heatmap marks it): a
#: dashed grey frame around its picture, dashes of this many pixels.
STOPPED_COLOR, _DASH = "#888888", 4


def step_reached(row: dict) -> str:
    """The step a Stop ended a cell at, of its steps.

    >>> step_reached({"stopped": True, "steps_done": 7, "steps": 40})
    'step 7 / 40'
    """
    return f"step {row.get('steps_done')} / {row.get('steps')}"


def montage(root, rows: Sequence[dict], axes: Sequence[str], scale: int = 2,
            pad: int = 4, label_h: int = 14):
    """A PIL montage of the cells' PNGs on the grid of the first two axes, under a line that
    names them ("rows: gamma; columns: step_size"), each picture captioned with its values
    (random-weights cells marked ``RANDOM``). A cell a Stop ended
    (its values are those of an unfinished run) is framed dashed grey, with "stopped at
    step k / n" under its picture; a row with such a cell gets the room its notes need."""
    from pathlib import Path

    from PIL import Image, ImageDraw

    rv, cv, cells = grid_of(rows, axes)
    pics = {k: Image.open(Path(root) / r["png"]).convert("RGB") for k, r in cells.items()}
    side = max(p.width for p in pics.values()) * scale
    font = ImageDraw.Draw(Image.new("RGB", (1, 1))).getfont()
    notes = {k: _wrap(["stopped", "at", *step_reached(r).split(" ", 1)], font, side)
             for k, r in cells.items() if r.get("stopped")}  # "7 / 40" on one line
    line_h = int(font.getbbox("Stopped 0/9 gy")[3]) + 1
    extra = [max((len(notes.get((a, b), ())) for b in cv), default=0) for a in rv]
    extra = [n * line_h + 3 if n else 0 for n in extra]  # room for the row's notes
    w = len(cv) * (side + pad) + pad
    two = len(axes) > 1 and bool(axes[1])
    named = [f"{'rows' if two else 'cells'}: {axes[0]}" + (";" if two else "")] + (
        [f"columns: {axes[1]}"] if two else [])
    title = _wrap(" ".join(named).split(" "), font, w - 2 * pad)
    head = len(title) * line_h + pad  # the axes' names above the grid
    h = head + len(rv) * (side + label_h + pad) + pad + sum(extra)
    out = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(out)
    for k, line in enumerate(title):
        draw.text((pad, pad + k * line_h), line, fill="black", font=font)
    for i, a in enumerate(rv):
        for j, b in enumerate(cv):
            if (a, b) not in pics:
                continue
            x = pad + j * (side + pad)
            y = head + pad + i * (side + label_h + pad) + sum(extra[:i])
            out.paste(pics[(a, b)].resize((side, side), Image.NEAREST), (x, y + label_h))
            r = cells[(a, b)]
            text = ",".join(_fmt(v) for v in (a, b) if v is not None)
            if r.get("random_weights") and "weights" not in axes[:2]:
                text += " RANDOM"
            draw.text((x, y), text[: max(4, side // 6)], fill="black")
            top = y + label_h
            if (a, b) in notes:
                _dashed_box(draw, (x - 2, top - 2, x + side + 1, top + side + 1))
                for k, line in enumerate(notes[(a, b)]):
                    draw.text((x, top + side + 3 + k * line_h), line, fill="black", font=font)
    return out


def _wrap(words: Sequence[str], font, width: int) -> list[str]:
    """``words`` in lines no wider than ``width`` pixels where the words allow."""
    lines: list[str] = []
    for word in words:
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def _dashed_box(draw, box: tuple[int, int, int, int]) -> None:
    """A 2-pixel dashed rectangle ``box`` (x0, y0, x1, y1, inclusive) on ``draw``."""
    x0, y0, x1, y1 = box
    for start in range(x0, x1 + 1, 2 * _DASH):
        end = min(start + _DASH - 1, x1)
        for y in (y0, y1 - 1):
            draw.rectangle((start, y, end, y + 1), fill=STOPPED_COLOR)
    for start in range(y0, y1 + 1, 2 * _DASH):
        end = min(start + _DASH - 1, y1)
        for x in (x0, x1 - 1):
            draw.rectangle((x, start, x + 1, end), fill=STOPPED_COLOR)
