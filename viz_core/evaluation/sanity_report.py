"""Reading the model-randomisation sanity check (:mod:`viz_core.evaluation.sanity`,
Adebayo et al. 2018): the spread over seeds, a verdict that states its uncertainty, and
the CSV / Markdown / JSON / PNG files.

Per scheme the reference band is the similarity of two trained pre-images with different
seeds (mean +- std over the seed pairs). A randomisation step is *below* it when its band
(mean +- std over seeds) lies entirely under the reference band. The verdict:

* **depends on learned weights**: with every layer random, SSIM and Spearman are both
  below the reference band (the verdict names the first cascade step that is below);
* **the regularizer draws it**: with every layer random, both overlap the reference band;
* **inconclusive**: the two measures disagree, the trained pictures of two seeds are
  hardly alike (SSIM < :data:`~viz_core.evaluation.sanity.MIN_REFERENCE`), or the
  randomised network is nearly constant (its logit spread below
  :data:`~viz_core.evaluation.sanity.CONSTANT_RATIO` of the trained one's).
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import numpy as np

from viz_core.evaluation.sanity import CONSTANT_RATIO, MIN_REFERENCE
from viz_core.machine import load_average, machine_description

MEASURES = ("ssim", "spearman", "grad_ssim", "grad_spearman", "logit_std")
CSV_FIELDS = ("scheme", "mode", "step", "layer", "seed") + MEASURES


def _band(vals: list[float]) -> dict:
    return {"mean": statistics.fmean(vals),
            "std": statistics.stdev(vals) if len(vals) > 1 else 0.0, "n": len(vals)}


def summarise(result: dict) -> dict:
    """``summary``: one row per (scheme, mode, step) with mean / std over seeds of every
    measure; ``verdicts``: scheme -> (kind, sentence); ``verdict``: the overall paragraph."""
    groups: dict[tuple, list[dict]] = {}
    for r in result["rows"]:
        groups.setdefault((r["scheme"], r["mode"], r["step"], r["layer"]), []).append(r)
    summary = []
    for (scheme, mode, step, layer), rows in groups.items():
        item = {"scheme": scheme, "mode": mode, "step": step, "layer": layer}
        for m in MEASURES:
            item[m] = _band([r[m] for r in rows])
        summary.append(item)
    verdicts = {s: scheme_verdict(summary, s, result["logit_spread"]) for s in result["schemes"]}
    return {"summary": summary, "verdicts": verdicts,
            "verdict": overall_verdict(verdicts, result)}


def _below(band: dict, ref: dict) -> bool:
    return band["mean"] + band["std"] < ref["mean"] - ref["std"]


def _fmt(b: dict) -> str:
    return f"{b['mean']:.2f} +- {b['std']:.2f}"


def scheme_verdict(summary: list[dict], scheme: str, spreads: dict) -> tuple[str, str]:
    """(kind, sentence) for one scheme; kind is ``weights``, ``regularizer`` or
    ``inconclusive``."""
    rows = [r for r in summary if r["scheme"] == scheme]
    ref = next(r for r in rows if r["mode"] == "seed")
    mode = "cascade" if any(r["mode"] == "cascade" for r in rows) else "independent"
    steps = sorted((r for r in rows if r["mode"] == mode), key=lambda r: r["step"])
    if not steps:
        return "inconclusive", f"{scheme}: inconclusive (no randomised network ran)"
    last = steps[-1]
    trained = spreads["trained"]
    if last["logit_std"]["mean"] < CONSTANT_RATIO * trained:
        return "inconclusive", (
            f"{scheme}: inconclusive: the randomised network is nearly constant (logit "
            f"spread {last['logit_std']['mean']:.2g} against {trained:.2g} trained)")
    if ref["ssim"]["mean"] < MIN_REFERENCE:
        return "inconclusive", (
            f"{scheme}: inconclusive: two seeds of the trained network already give unlike "
            f"pictures (SSIM {_fmt(ref['ssim'])})")
    below = {m: _below(last[m], ref[m]) for m in ("ssim", "spearman")}
    where = "every layer random" if mode == "cascade" else f"{last['layer']} random"
    nums = "; ".join(f"{name} {_fmt(ref[m])} (new seed) -> {_fmt(last[m])} ({where})"
                     for m, name in (("ssim", "SSIM"), ("spearman", "Spearman")))
    if all(below.values()):
        first = next(r for r in steps if _below(r["ssim"], ref["ssim"])
                     and _below(r["spearman"], ref["spearman"]))
        by = (f"below the seed-to-seed band from step {first['step']} (randomised down to "
              f"{first['layer']})" if mode == "cascade" else f"at {first['layer']}")
        return "weights", f"{scheme}: depends on learned weights: {nums}; {by}"
    if not any(below.values()):
        return "regularizer", (f"{scheme}: the regularizer draws it: randomising leaves the "
                               f"picture as similar as a new seed does: {nums}")
    return "inconclusive", f"{scheme}: inconclusive: SSIM and Spearman disagree: {nums}"


def overall_verdict(verdicts: dict[str, tuple[str, str]], result: dict) -> str:
    """One paragraph: the counts, every scheme's sentence and the logit spreads."""
    kinds = [k for k, _ in verdicts.values()]
    sp = result["logit_spread"]
    spread = ", ".join(f"{k} {v:.3g}" for k, v in sp.items())
    head = (f"{kinds.count('weights')} of {len(kinds)} schemes depend on the learned weights, "
            f"{kinds.count('regularizer')} "
            f"{'is' if kinds.count('regularizer') == 1 else 'are'} drawn by the regularizer, "
            f"{kinds.count('inconclusive')} inconclusive (mean +- std over "
            f"{result['seeds']} seeds; 'below' = the bands do not overlap).")
    return (head + " Logit spread across real images (std over images, mean over classes): "
            f"{spread}. " + " ".join(s + "." for _, s in verdicts.values()))


def sanity_markdown(result: dict, command: str = "", date: str = "") -> str:
    """The result file: command, machine, settings, verdict, logit spreads, curves."""
    s = result
    md = [f"# Sanity check: model randomisation of `{s['model']}`", "",
          "Adebayo et al. 2018's cascading and independent randomisation, applied to the "
          "class pre-images of the tuned presets (`viz_core/evaluation/sanity.py`).", ""]
    if command:
        md += ["Command:", "", f"    {command}", ""]
    load = s.get("load_average")
    md += [f"Machine: {machine_description()}." + (f" Date: {date}." if date else "")
           + (f" 1-min load average at start / end: {load}." if load else "")
           + (f" Wall time: {s['wall_seconds'] / 60:.1f} min." if "wall_seconds" in s else ""),
           "",
           f"Settings: schemes {', '.join(s['schemes'])}; classes "
           f"{', '.join(s['class_names'])}; {s['seeds']} seeds (start noise, jitter and random "
           f"weights); {s['steps'] or 'the presets'} steps; class score {s['class_score']}; "
           f"BatchNorm of randomised layers: {s['bn']} ({s['n_images']} real images); layer "
           f"groups bottom to top: {', '.join(s['groups'])}.", "",
           "Floors: the reference is the similarity of two trained pre-images with "
           "different seeds; a randomised network must fall below it (bands of mean +- std "
           "that do not overlap) to show that the picture depends on the learned weights. "
           "Gradients: |dS/dx| of the class score at a real image of the class, trained vs "
           "randomised (1.0 for the trained network itself).", "",
           "## Verdict", "", s["verdict"], "",
           "## Logit spread", "", "| network | std of logits across real images |",
           "|---|---:|"]
    md += [f"| {k} | {v:.3g} |" for k, v in s["logit_spread"].items()]
    for scheme in s["schemes"]:
        md += ["", f"## {scheme}", "", s["verdicts"][scheme][1] + ".", "",
               "| mode | step | randomised (down to) | SSIM | Spearman | grad SSIM | "
               "grad Spearman | logit std |", "|---|---:|---|---:|---:|---:|---:|---:|"]
        for r in (r for r in s["summary"] if r["scheme"] == scheme):
            md.append(f"| {r['mode']} | {r['step']} | {r['layer']} | " + " | ".join(
                _fmt(r[m]) if m != "logit_std" else f"{r[m]['mean']:.3g}" for m in MEASURES)
                + " |")
    return "\n".join(md) + "\n"


def cascade_montage(result: dict, scale: int = 2, pad: int = 4):
    """A PIL image: one row per scheme, trained then each cascade step (seed 0, first
    class), grey pre-images side by side."""
    from PIL import Image

    cols = ["trained"] + [c for c in result["cascade"] if c in result["pictures"]]
    pics = [np.asarray(result["pictures"][c]) for c in cols]
    n, _, h, w = pics[0].shape
    out = Image.new("L", (len(cols) * (w * scale + pad) + pad, n * (h * scale + pad) + pad), 255)
    for j, arr in enumerate(pics):
        for i in range(n):
            im = Image.fromarray((arr[i].mean(0) * 255).round().clip(0, 255).astype(np.uint8))
            out.paste(im.resize((w * scale, h * scale), Image.NEAREST),
                      (pad + j * (w * scale + pad), pad + i * (h * scale + pad)))
    return out


def write_sanity(result: dict, out: Path, stem: str, command: str = "",
                 date: str = "") -> list[Path]:
    """``<stem>.csv`` (every seed), ``.md``, ``.json`` (everything but pictures) and
    ``_cascade.png`` (rows: schemes; columns: trained, then the cascade)."""
    out = Path(out)
    paths = [out / f"{stem}.csv", out / f"{stem}.md", out / f"{stem}.json",
             out / f"{stem}_cascade.png"]
    with paths[0].open("w", newline="") as f:
        w = csv.DictWriter(f, CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(result["rows"])
    paths[1].write_text(sanity_markdown(result, command, date))
    data = {k: v for k, v in result.items() if k != "pictures"}
    size = int(np.asarray(result["pictures"]["trained"]).shape[-1])
    data["montage"] = {"file": paths[3].name, "size": size, "scale": 2, "pad": 4,
                       "columns": ["trained"] + [c for c in result["cascade"]
                                                 if c in result["pictures"]]}
    data.update(command=command, date=date, machine=machine_description(),
                load_average_end=load_average())
    paths[2].write_text(json.dumps(data, indent=1, default=float) + "\n")
    cascade_montage(result).save(paths[3])
    return paths


def load_sanity(folder: str | Path, model: str) -> dict | None:
    """The committed check of ``model`` (``<folder>/sanity_<model>.json``), or None."""
    path = Path(folder) / f"sanity_{model}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    data["montage_path"] = str(path.with_name(data.get("montage", {}).get(
        "file", f"sanity_{model}_cascade.png")))
    return data


def cascade_rows(data: dict) -> list[tuple[str, object]]:
    """(scheme, PIL image of its row: trained, then each cascade step) from the committed
    montage of :func:`load_sanity`'s ``data``."""
    from PIL import Image

    pad = data.get("montage", {}).get("pad", 4)
    n = len(data["schemes"])
    with Image.open(data["montage_path"]) as im:
        full = im.convert("L")
    side = (full.height - pad) // n - pad
    return [(scheme, full.crop((0, pad + i * (side + pad), full.width,
                                pad + i * (side + pad) + side)))
            for i, scheme in enumerate(data["schemes"])]
