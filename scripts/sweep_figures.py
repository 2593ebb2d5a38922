"""Figures of a finished sweep: the montage (PNG), a heatmap of one metric (HTML), the table
(Markdown) and, for a sweep with a weights axis, the model-randomization verdict.

    python scripts/sweep_figures.py results/sweeps/regularization_path --metric activation
"""

from __future__ import annotations

import argparse
from pathlib import Path

from viz_core.figures import heatmap_figure, write_html
from viz_core.sweeps import SweepStore
from viz_core.sweeps.report import columns, format_table, randomization_verdict, spread


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--metric", default="activation")
    ap.add_argument("--scale", type=int, default=2, help="montage upscaling")
    args = ap.parse_args()
    store = SweepStore(args.dir)
    sweep = store.load_sweep()
    rows = store.rows()
    axes = [a.name for a in sweep.axes]
    root = Path(args.dir)
    from viz_core.sweeps.report import montage

    montage(root, rows, axes, scale=args.scale).save(root / "montage.png")
    write_html(heatmap_figure(rows, axes, args.metric), root / f"heatmap_{args.metric}.html",
               title=f"{root.name}: {args.metric}")
    text = [format_table(rows, columns(rows, axes), markdown=True)]
    if "weights" in axes:
        by = next((a for a in axes if a != "weights"), "scheme")
        _, verdict = randomization_verdict(rows, by=by)
        text += ["", "**Verdict.** " + verdict]
    if "seed" in axes:
        text += ["", format_table([{"metric": m, **v} for m, v in spread(rows).items()],
                                  ["metric", "mean", "std", "min", "max", "n"], markdown=True)]
    (root / "table.md").write_text("\n".join(text) + "\n", encoding="utf-8")
    print(f"wrote {root / 'montage.png'}, heatmap_{args.metric}.html, table.md")


if __name__ == "__main__":
    main()
