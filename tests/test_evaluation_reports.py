"""Writers and readers of evaluation results (viz_core.evaluation.reports), including the
committed results files."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from viz_core.errors import VizError
from viz_core.evaluation.reports import (
    ROW_COLUMNS,
    fmt,
    pct,
    read_table1_csv,
    row_columns,
    table1_markdown,
    to_csv,
)
from viz_core.schemes import SCHEME_REGISTRY, TABLE1_SCHEMES

RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_committed_table1_csv_loads_with_registry_keys():
    rows = read_table1_csv(RESULTS / "table1_offline.csv")
    methods = {r["method"] for r in rows}
    assert methods == {"original", *TABLE1_SCHEMES}
    assert methods - {"original"} <= set(SCHEME_REGISTRY)
    assert all(isinstance(r["top1"], float) and 0 <= r["top1"] <= 100 for r in rows)
    md = table1_markdown(rows)
    assert "original images (classifier's accuracy)" in md
    assert md.count("\n") == 1 + len(methods)  # header, rule, one line per method


def test_older_table1_files_read_with_the_registry_keys():
    """The committed files call the total variation ``tv``; read back it is the metric
    ``total_variation`` (``tv`` is the TV weight everywhere else), with the same numbers."""
    path = RESULTS / "table1_offline.csv"
    raw = next(csv.DictReader(path.open(encoding="utf-8")))
    assert "tv" in raw  # the file as committed
    row = read_table1_csv(path)[0]
    assert "tv" not in row and row["total_variation"] == float(raw["tv"])
    assert set(row_columns()) <= set(row)


def test_csv_round_trip_and_formatting(tmp_path):
    row = {c: 1.0 for c in ROW_COLUMNS} | {"direction": "a -> b", "method": "tv",
                                           "label": "total variation", "psnr": math.inf,
                                           "self_top1": math.nan}
    p = tmp_path / "t.csv"
    p.write_text(to_csv([row]))
    back = read_table1_csv(p)[0]
    assert back["method"] == "tv" and back["psnr"] == math.inf and math.isnan(back["self_top1"])
    assert fmt(math.nan) == "" and fmt(0.123456, 3) == "0.123" and pct(12.34) == "12.3%"
    with pytest.raises(VizError, match="does not exist"):
        read_table1_csv(tmp_path / "missing.csv")
