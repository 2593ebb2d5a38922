"""Paper presets, Table 1: each reconstruction is captioned with the verdict of the network
that classifies it in the paper's test (the other network of the pair, Sec. 3.2), beside
the model's and the independent judge's, and a stored run keeps it (role "classifier",
while ``judge_target_prob`` stays the independent judge's). An inversion's captions name
the original's top class and the judge's probability of the original's class. The Table 1
results tab captions each file from its contents, says "paper: ...; here: ..." from the
CSV, and redraws the examples montage's labels at a readable size.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from dashboard import preset_view, table1_view
from dashboard.navigation import page_path
from dashboard.results import Verdict, verdict_parts
from dashboard.runs import Classifier, RunRecord
from viz_core import models, presets
from viz_core.store import RunRecord as StoredRun
from viz_core.store import RunStore

PP = page_path("presets")
ROOT = Path(__file__).resolve().parents[1]
SIDE = 64


# --------------------------------------------------------------------------- the classifier

def test_table1_batches_name_the_papers_classifier():
    t1 = presets.table1()
    assert [b.classifier for b in t1.batches] == ["densenet121", "vgg19"]
    assert [(b.configs[0].model, b.classifier) for b in t1.offline] == [
        ("fmnist_vgg", "fmnist_resnet"), ("fmnist_resnet", "fmnist_vgg")]
    for b in t1.batches + t1.offline:
        assert f"(classified by {b.classifier})".lower() in b.title.lower()
    assert all(b.classifier is None for p in presets.all_presets() if p.key != "table1"
               for b in p.batches + p.offline)


def test_a_run_record_gets_and_stores_the_classifiers_verdict():
    batch = presets.table1().offline[0]
    vgg, resnet = models.load_model("fmnist_vgg"), models.load_model("fmnist_resnet")
    judge = models.load_model("fmnist_lenet_judge")
    from viz_core.engine import load_reference

    ref = load_reference(batch.configs[0], vgg).numpy()
    rec = RunRecord([c.name for c in batch.configs], [c.to_json() for c in batch.configs],
                    "fmnist_vgg", 300, reference=ref, judges=[vgg, judge, Classifier(resnet)])
    n = len(batch.configs)
    rec.add(SimpleNamespace(step=300, objective=np.zeros(n), activation=np.full(n, 0.3),
                            grad_norm=None, images=np.repeat(ref, n, 0), diverged=[None] * n,
                            elapsed=1.0, done=True, stopped=False))
    rec.finish()
    for vs in rec.verdicts:  # the original itself: every network sees an Ankle boot
        assert [(v.model, v.data["role"]) for v in vs] == [
            ("fmnist_vgg", "model"), ("fmnist_lenet_judge", "judge"),
            ("fmnist_resnet", "classifier")]
        assert vs[2].target == "Ankle boot" and vs[2].data["target_from"] == "label"
    parts = preset_view.caption(rec, 0, "rel. feature error")
    assert " · judge: " in parts and "feature error 0." in parts  # one verdict, the error
    assert "original" not in parts  # what they see in the original: once, under the grid
    row = preset_view.detail_rows(rec, "rel. feature error")[0]  # every verdict in full
    assert row["fmnist_resnet sees"].startswith("Ankle boot (") and "judge sees" in row
    line = preset_view.recognised_line(rec)
    assert line.startswith(f"{n} of {n} recognised by the independent judge "
                           "(fmnist_lenet_judge; chance: 1 of 10); "
                           f"{n} of {n} recognised by fmnist_resnet, the paper's classifier "
                           "(chance: 1 of 10), as the original's class (Ankle boot). In the "
                           "original: model sees Ankle boot ("), line
    assert "judge sees Ankle boot (" in line and "fmnist_resnet sees Ankle boot (" in line
    # stored: the classifier's verdict is kept, the judge metric stays the judge's
    stored = [dict(v.data) for v in rec.verdicts[0]]
    run = StoredRun(config=json.loads(rec.configs[0]), model="fmnist_vgg", task="inversion",
                    scheme="tv", status="done", started=0.0, ended=1.0, verdicts=stored)
    assert [v["role"] for v in run.verdicts] == ["model", "judge", "classifier"]
    assert run.metrics["judge_target_prob"] == pytest.approx(stored[1]["target_prob"])


def test_verdict_parts_name_the_originals_class_and_the_judges_probability_of_it():
    orig = {"original": ["Sandal", 0.85], "target_from": "label", "target": "Ankle boot"}
    parts = verdict_parts([
        Verdict("fmnist_vgg", [("Sandal", 0.9)], 0.04, {**orig, "role": "model"}),
        Verdict("fmnist_lenet_judge", [("Sneaker", 0.6)], 0.03, {**orig, "role": "judge"}),
        Verdict("fmnist_lenet_judge", [("Ankle boot", 0.7)], 0.7, {**orig, "role": "judge"})])
    # the model's own miss in the same form as the others' (QA: "Ankle boot 4%" hid it)
    assert parts[0] == "model sees Sandal (90%; Ankle boot 4%) (original: Sandal 85%)"
    assert parts[1].endswith("sees Sneaker (60%; Ankle boot 3%) (original: Sandal 85%)")
    assert parts[2].endswith("sees Ankle boot (70%) (original: Sandal 85%)")  # top = target


def _fake_stream(configs, model, record, draw, **_):
    """The engine's stand-in: one final frame of grey pictures."""
    n = len(configs)
    record.add(SimpleNamespace(step=record.total, objective=np.zeros(n),
                               activation=np.full(n, 0.5), grad_norm=None,
                               images=np.full((n, 1, SIDE, SIDE), 0.5, np.float32),
                               diverged=[None] * n, elapsed=0.1, done=True, stopped=False))
    draw(record, None, True)
    return record


def _captions(at) -> list[str]:
    return [i.proto.imgs[0].caption for i in at.image if i.proto.imgs]


def test_table1_captions_give_the_classifiers_verdict(dash, monkeypatch, tmp_path):
    from dashboard import run_panel

    monkeypatch.setenv("DEMONS_VIZ_STORE", str(tmp_path / "runs.sqlite"))
    monkeypatch.setattr(run_panel, "stream", _fake_stream)
    at = dash.open(PP)
    at.button(key="pp_table1_off").click().run(timeout=300)
    dash.no_exception(at)
    caps = [c for c in _captions(at) if " · error " in c]
    assert len(caps) == 6, _captions(at)
    assert all(" · judge: " in c for c in caps)  # the classifiers' verdicts: in the tables
    lines = [m.value for m in at.markdown if "recognised by the independent judge" in m.value]
    assert len(lines) == 2, lines  # one under each batch's grid
    assert "recognised by fmnist_resnet, the paper's classifier (chance: 1 of 10)" in lines[0]
    assert "recognised by fmnist_vgg, the paper's classifier (chance: 1 of 10)" in lines[1]
    runs = RunStore(tmp_path / "runs.sqlite").list()
    assert len(runs) == 6
    for r in runs:
        roles = {v["role"]: v for v in RunStore(tmp_path / "runs.sqlite").get(r.id).verdicts}
        assert set(roles) == {"model", "judge", "classifier"}
        assert roles["classifier"]["model"] == ("fmnist_resnet" if r.model == "fmnist_vgg"
                                                else "fmnist_vgg")


def test_a_classifier_without_weights_is_not_mentioned(dash, monkeypatch, tmp_path):
    """As the paper version's ImageNet classifier when its weights are missing."""
    import dataclasses

    from dashboard import run_panel

    monkeypatch.setenv("DEMONS_VIZ_STORE", str(tmp_path / "runs.sqlite"))
    monkeypatch.setattr(run_panel, "stream", _fake_stream)
    t1 = presets.table1()
    assert models.weights_status("densenet121") != "offline"
    off = [dataclasses.replace(b, classifier="densenet121") for b in t1.offline[:1]]
    monkeypatch.setitem(presets._FACTORIES, "table1",
                        lambda: dataclasses.replace(t1, offline=off))
    at = dash.open(PP)
    at.button(key="pp_table1_off").click().run(timeout=300)
    dash.no_exception(at)
    assert not dash.errors(at)
    caps = [c for c in _captions(at) if " · error " in c]
    assert len(caps) == 3 and not any("densenet121" in c for c in caps)
    assert all(" · judge: " in c for c in caps)
    lines = [m.value for m in at.markdown if "recognised by" in m.value]
    assert len(lines) == 1 and "densenet121" not in lines[0]


# --------------------------------------------------------------------------- the results tab

@pytest.fixture
def results(tmp_path, monkeypatch) -> Path:
    for name in ("table1_offline", "table1_offline_tau2", "table1_robust"):
        for ext in (".csv", ".json"):
            shutil.copy(ROOT / "results" / f"{name}{ext}", tmp_path / f"{name}{ext}")
    monkeypatch.setenv("DEMONS_VIZ_RESULTS", str(tmp_path))
    return tmp_path


def test_each_results_file_is_captioned_and_compared_with_the_paper(dash, results):
    at = dash.open(PP)
    dash.no_exception(at)
    caps = [dash.shown(c.value) for c in at.caption]
    assert any(c.startswith("The 3 files differ in") and "tau" in c for c in caps), caps
    tau2 = next(c for c in caps if "**tau 2**" in c)
    assert "**N images per direction 100**" in tau2 and "**precision bf16**" in tau2
    assert any("fmnist_vgg_robust block4 -> fmnist_resnet_robust" in c for c in caps)
    md = [dash.shown(m.value) for m in at.markdown]
    main = next(m for m in md if m.startswith("Paper (top-1") and "49.7%" in m)
    assert "TV beats fluid-elastic Sobolev on VGG19 rec. (fluid-elastic 13.8% vs TV 44.0%)" \
        in main
    assert ("here: fluid-elastic Sobolev beats TV on fmnist_vgg rec. (fluid-elastic 49.7% "
            "vs TV 11.5%), the reverse of the paper's VGG19 rec") in main
    # the floor beside the numbers (QA: no chance level anywhere)
    assert main.endswith("Chance (a guess): top-1 0.1% in the paper (1000 classes), 10% here.")
    assert any("chance 0.1 / 0.5 % among 1000 classes" in m for m in md)
    robust = next(m for m in md if m.startswith("Paper (top-1") and "82.5%" in m)
    assert "tie (within sampling noise) on fmnist_vgg_robust rec." in robust


def test_the_sentence_is_read_from_the_csv(dash, results):
    """Numbers come from the file at run time: a changed file gives another sentence."""
    csv = results / "table1_offline.csv"
    lines = csv.read_text().splitlines()
    k = next(i for i, line in enumerate(lines)
             if line.startswith("fmnist_vgg -> fmnist_resnet") and ",tv,total" in line)
    cells = lines[k].split(",")
    cells[9] = "77.7"  # TV's top-1
    lines[k] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")
    at = dash.open(PP)
    md = [dash.shown(m.value) for m in at.markdown]
    assert any("TV beats fluid-elastic Sobolev on fmnist_vgg rec. (fluid-elastic 49.7% vs TV "
               "77.7%), as the paper's VGG19 rec" in m for m in md), md


def test_the_montage_labels_are_redrawn_readably(results):
    import pandas as pd

    png = ROOT / "results" / "table1_offline_examples.png"
    rows = pd.read_csv(results / "table1_offline.csv").to_dict("records")
    old = np.asarray(Image.open(png).convert("L"))
    new = table1_view.relabel_montage(png, rows)
    assert new is not None
    out = np.asarray(new.convert("L"))
    rh = old.shape[0] // len(rows)
    # the pictures are kept as they were, right of a new label column
    assert np.array_equal(out[:, -(old.shape[1] - 260):], old[:, 260:])
    col = out.shape[1] - (old.shape[1] - 260)

    def text_height(img: np.ndarray, width: int) -> int:
        dark = np.where((img[8:rh // 3, :width] < 128).any(1))[0]  # the first text line
        return int(dark.max() - dark.min() + 1) if dark.size else 0

    assert text_height(old, 260) <= 10 and text_height(out, col) >= 18
    # a montage whose rows do not match the file is shown as it is
    assert table1_view.relabel_montage(png, rows[:5]) is None


def test_table1_settings_of_a_sparse_file_say_so():
    line, caps = table1_view.table1_captions({"a.csv": table1_view.table1_settings(
        [{"direction": "x -> y", "method": "tv", "top1": 0.6}])})
    assert line == "" and caps["a.csv"] == "its settings are not recorded in the file"
    assert table1_view.table1_comparison([{"direction": "x -> y", "method": "tv",
                                           "top1": 0.6}]) == ""


def test_a_results_tab_with_odd_files_shows_no_traceback(dash, tmp_path, monkeypatch):
    (tmp_path / "table1_odd.csv").write_text(
        "direction,rec_model,cls_model,method,label,n,top1,top5\n"
        "a -> b,,b,tv,TV,abc,50,60\na -> b,a,b,fluid_elastic_sobolev,FE,abc,x,70\n")
    (tmp_path / "table1_odd.json").write_text("{not json")
    (tmp_path / "table1_odd_examples.png").write_bytes(b"\x89PNG broken")
    monkeypatch.setenv("DEMONS_VIZ_RESULTS", str(tmp_path))
    at = dash.open(PP)
    dash.no_exception(at)
    assert not dash.errors(at)
    said = [dash.shown(w.value) for w in at.warning]
    assert any("cannot read table1_odd_examples.png as an image" in w for w in said), said
    caps = [dash.shown(c.value) for c in at.caption]
    assert "networks a -> b" in caps, caps  # an empty cell and a word for N are left out
