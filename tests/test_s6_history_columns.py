"""The History table at 1280x720: the judge's verdict showed cut ("✗ Bag 43%; Ankle
bo...") at its 140 px, and the "from" column cut a long sweep title after its first
words. The first columns now share what 1280 px leave beside the sidebar (the table is
820 px wide there, 34 of them the tick column), the verdict first and in full (after a ✗
only the target's probability, the target column names the target), and a long "from"
text is shortened in its middle, its end kept. Checked in Chromium at 1280x720 and
1920x1080; here through AppTest's column configuration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard import history_table as ht
from viz_core.images import png_bytes
from viz_core.store import RunRecord, RunStore

HISTORY = "pages/7_History.py"
HEAD = ["thumb", "started", "origin", "model", "target", "scheme", "verdict"]
SWEEP = "regularization_path_of_the_ankle_boot_with_gaussian_fluid_kernels"


def _verdict(role: str, top: str, p: float, target: str, tp: float) -> list[dict]:
    return [{"role": role, "model": "net", "top": [[top, p]], "target": target,
             "target_prob": tp, "chance": 0.1}]


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(path))
    s = RunStore(path)
    png = png_bytes(np.random.default_rng(0).random((1, 28, 28), dtype=np.float32))
    runs = [  # (model, scheme, command, group, verdicts)
        ("fmnist_resnet_robust", "fluid_elastic_sobolev", "dashboard playground", "",
         _verdict("judge", "T-shirt/top", 0.45, "Ankle boot", 0.12)),
        ("fmnist_vgg", "fluid_gaussian", "demons-viz sweep --out x", f"sweep {SWEEP} a1b2c3",
         _verdict("judge", "Bag", 0.43, "Ankle boot", 0.05)),
        ("fmnist_vgg", "plain", "demons-viz visualize", "",
         _verdict("model", "Shirt", 0.43, "Ankle boot", 0.12)),
        ("fmnist_vgg", "plain", "demons-viz visualize", "",
         _verdict("judge", "Sneaker", 0.88, "Sneaker", 0.88)),
    ]
    for i, (model, scheme, command, group, verdicts) in enumerate(runs):
        s.add(RunRecord(config={"model": model, "task": "am", "target": 9}, model=model,
                        task="am", scheme=scheme, command=command, group_id=group,
                        started=1.9e9 - 60 * i, ended=1.9e9 - 60 * i + 1, verdicts=verdicts,
                        metrics={"objective": -1.0}, image=png))
    return s


def _table(dash):
    at = dash.open(HISTORY)
    dash.no_exception(at)
    table = at.dataframe[0]
    return table.value, json.loads(table.proto.columns)


def test_the_first_columns_fit_beside_the_sidebar_at_1280_with_the_verdict_in_full(
        store, dash):
    df, config = _table(dash)
    widths = {k: config[k]["width"] for k in HEAD}
    assert sum(widths.values()) <= ht.HEAD_PX == 820 - 34  # measured in Chromium
    verdicts = list(df["verdict"])
    assert verdicts == ["✗ T-shirt/top 45% (12%)", "✗ Bag 43% (5%)",
                        "model: ✗ Shirt 43% (12%)", "✓ Sneaker 88%"]
    assert all(ht.text_px(v) <= widths["verdict"] for v in verdicts)  # none cut
    assert "brackets" in config["verdict"]["help"]  # what the bracket means
    # the others get at least what their header needs, or LEAST_PX
    assert all(widths[k] >= min(ht.LEAST_PX, ht.text_px(ht.COLUMNS[k][0])) for k in HEAD)


def test_a_long_sweep_title_is_shortened_in_its_middle_to_its_column(store, dash):
    df, config = _table(dash)
    origin = list(df["origin"])[1]
    head, tail = origin.split("…")  # its start and its end, both
    full = f"CLI sweep {SWEEP}"
    assert len(head) >= 6 and len(tail) >= 4 and full.startswith(head) and full.endswith(tail)
    assert ht.text_px(origin) <= config["origin"]["width"]
    assert list(df["origin"])[0] == "Playground"  # a short one as it is
    assert list(df["id"])[1] in {r.id for r in store.list(group=f"sweep {SWEEP} a1b2c3")}


def test_the_verdict_takes_its_width_first_and_the_widest_others_give_way():
    rows = [{"started": "today 16:20", "origin": "CLI sweep " + "x" * 80,
             "model": "fmnist_resnet_robust", "target": "9 · Ankle boot, logit",
             "scheme": "Sobolev fluid-elastic", "verdict": "✗ T-shirt/top 45% (12%)"}]
    w = ht.head_widths(rows)
    assert w["verdict"] == int(ht.text_px(rows[0]["verdict"]))
    assert sum(w.values()) == ht.HEAD_PX  # everything the screen has, no more
    assert w["origin"] < ht.text_px(rows[0]["origin"])  # the widest gives way
    short = [{**rows[0], "origin": "CLI", "model": "fmnist_vgg"}]
    assert ht.head_widths(short)["target"] == int(ht.text_px("9 · Ankle boot, logit"))
    very = [{**rows[0], "verdict": "model: ✗ " + "Very long class name " * 5}]
    assert ht.head_widths(very)["verdict"] == ht.VERDICT_PX  # at most


@pytest.mark.parametrize("text, chromium", [  # canvas measureText, 14px 'Source Sans'
    ("✗ T-shirt/top 45%; Ankle boot 12%", 198.6), ("✓ Sneaker 88%", 87.3),
    ("9 · Ankle boot, logit", 111.3), ("fmnist_resnet_robust", 126.0),
    ("Sobolev fluid-elastic", 118.3), ("Paper presets ed2492", 125.4),
    ("Sweep gamma x step_size, 14:05", 189.9), ("2025-12-07 07:45", 98.5),
])
def test_text_widths_are_within_a_few_percent_of_chromiums(text, chromium):
    drawn = ht.text_px(text) - 18  # the cell's padding and 2 px spare
    assert abs(drawn - chromium) <= 0.05 * chromium


def test_a_verdict_without_numbers_stays_as_it_was():
    nan = [{"role": "judge", "top": [["Bag", float("nan")]], "target": "Coat",
            "target_prob": float("nan")}]
    assert ht.verdict_cell(nan) == "no verdict (NaN/Inf)"
    assert ht.verdict_cell([]) == ""
    assert ht.fit_text("", 50) == ""
