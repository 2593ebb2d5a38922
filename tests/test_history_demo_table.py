"""The History page as a demo person meets it: the table's first columns tell runs apart
(when, from where, model, the target by its class name, scheme, the judge's verdict; the
run id last) under plain headers; a class target by name for any model with class names;
the comparison names the classes and writes octaves as their stages."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard import history_view as hv
from dashboard.run_history import table_rows
from viz_core.images import png_bytes
from viz_core.store import RunRecord, RunStore

HISTORY = "pages/7_History.py"
JUDGE = [{"role": "judge", "model": "fmnist_lenet_judge", "top": [["Sneaker", 0.88]],
          "target": "Sneaker", "target_prob": 0.88, "chance": 0.1}]


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(path))
    return RunStore(path)


def _png(seed: int) -> bytes:
    return png_bytes(np.random.default_rng(seed).random((1, 28, 28), dtype=np.float32))


def _add(store: RunStore, i: int, config: dict, **kw) -> str:
    return store.add(RunRecord(config={"model": "fmnist_vgg", **config},
                               model=config.get("model", "fmnist_vgg"),
                               task=config.get("task", "am"), scheme="fluid_sobolev",
                               started=1e9 + i, ended=1e9 + i + 1, image=_png(i), **kw))


def test_the_first_columns_tell_runs_apart_under_plain_headers(store, dash):
    """QA: at 1280 px only the columns up to a cut "target" showed; the page that made a
    run, the judge and the tags were off-screen even at 1920, headers were raw keys
    (hf_fraction, judge_hit) and an AM run's PSNR read "None"."""
    _add(store, 0, {"task": "am", "target": 7}, verdicts=JUDGE, group_id="presets ed249279ab",
         command="dashboard presets", metrics={"objective": -1.0, "hf_fraction": 0.2})
    _add(store, 1, {"task": "inversion", "layer": "block2"}, metrics={"psnr": 20.0},
         command="demons-viz visualize --task inversion")
    at = dash.open(HISTORY)
    dash.no_exception(at)
    table = at.dataframe[0]
    order = list(table.proto.column_order)
    assert order[:7] == ["thumb", "started", "origin", "model", "target", "scheme", "verdict"]
    assert order[-1] == "id"
    config = json.loads(table.proto.columns)
    assert config["hf_fraction"]["label"] == "HF fraction"  # the metric registry's label
    assert config["psnr"]["label"] == "PSNR dB" and config["verdict"]["label"] == \
        "judge's verdict"
    assert "judge_hit" not in order  # the verdict column says it
    assert table.proto.placeholder == "-"  # an AM run's PSNR is blank, not "None"
    df = table.value
    assert list(df["origin"]) == ["CLI", "Paper presets ed2492"]
    assert list(df["verdict"]) == ["", "✓ Sneaker 88%"]
    assert list(df["target"])[1] == "7 · Sneaker, logit"
    assert list(df["task"]) == ["inversion", "activation max."]
    # a metric no listed run has is left out: AM runs only, no PSNR column
    at.selectbox(key="hi_task").set_value("am").run()
    assert "psnr" not in list(at.dataframe[0].proto.column_order)
    assert "hf_fraction" in list(at.dataframe[0].proto.column_order)


def test_the_table_grows_with_its_rows_up_to_a_limit():
    """QA: the table was fixed at ~11 rows with empty space below it at 1080 px."""
    assert hv.table_height(3) < hv.table_height(14) < hv.table_height(40)
    assert hv.table_height(14) == hv.ROW_PX * 15 + 3  # every row, no inner scroll
    assert hv.table_height(40) == hv.table_height(500)  # then it scrolls


def test_a_class_target_goes_by_its_name_for_any_model(store, tmp_path, monkeypatch):
    """QA: a model registered through demons-viz.toml with class names showed "class 1,
    log-probability"; the name comes from the run's verdicts, else from the model's
    description (the team list) when that needs no weights."""
    toml = tmp_path / "demons-viz.toml"
    toml.write_text('[[model]]\nname = "qa_fruit"\nsource = "mypkg.nets:make"\n'
                    'classes = ["Apple", "Banana", "Cherry"]\n', encoding="utf-8")
    monkeypatch.setenv("DEMONS_VIZ_MODELS", str(toml))
    mine = [{"role": "model", "model": "qa_own", "top": [["Banana", 0.5]],
             "target": "Banana", "target_prob": 0.5, "chance": 0.33}]
    nameless = [{"role": "model", "model": "t.pt2", "top": [["class 1", 0.5]],
                 "target": "class 1", "target_prob": 0.5}]
    runs = [RunRecord(config={"model": "qa_own", "task": "am", "target": 1,
                              "class_score": "log_prob"}, model="qa_own", task="am",
                      scheme="tv", verdicts=mine),
            RunRecord(config={"model": "qa_fruit", "task": "am", "target": 2}, model="qa_fruit",
                      task="am", scheme="tv"),
            RunRecord(config={"model": "/x/t.pt2", "task": "am", "target": 1},
                      model="/x/t.pt2", task="am", scheme="tv", verdicts=nameless)]
    for r in runs:
        store.add(r)
    listed = store.list(configs=True, verdicts=True, sort="started", descending=False)
    assert [row["target"] for row in table_rows(listed, [])] == [
        "1 · Banana, log-probability", "2 · Cherry, logit", "class 1, logit"]
    assert [row["verdict"] for row in table_rows(listed, [])][0] == "model: ✓ Banana 50%"


def test_the_comparison_names_classes_and_octave_stages(store, dash, capsys):
    """QA: "target 1 vs 7", and octaves as a raw nested list."""
    a = _add(store, 0, {"task": "am", "target": 1, "steps": 200,
                        "octaves": [[1.0, 120, 10.0], [1.2, 50, 5.0], [1.0, 30, 2.0]]})
    b = _add(store, 1, {"task": "am", "target": 7, "steps": 200, "octaves": None})
    at = dash.open(HISTORY, runs=f"{a},{b}")
    dash.no_exception(at)
    diff = at.dataframe[1].value
    assert list(diff.loc["target"]) == ["1 · Trouser", "7 · Sneaker"]
    assert list(diff.loc["octaves"]) == [
        "x1.0 120 steps tau 10; x1.2 50 steps tau 5; x1.0 30 steps tau 2", "-"]
    # the command line's comparison says the same
    from viz_core.cli import main

    capsys.readouterr()
    assert main(["history", "--store", str(store.path), "compare", a, b]) == 0
    out = capsys.readouterr().out
    assert "target\t1 · Trouser\t7 · Sneaker" in out
    assert "x1.2 50 steps tau 5" in out
