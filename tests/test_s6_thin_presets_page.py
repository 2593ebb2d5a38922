"""The Paper presets page is layout (QA pass 6): what it computed itself (where each picture
of a batch goes, the progress words, the clock, the job with its judges, the links, the
weights notice, the tuned batch, the Table 1 results files) lives in
``dashboard/presets_page.py``, unit-tested here without a browser. What the page shows is
unchanged (the Paper presets page tests)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from dashboard import presets_page as pp
from dashboard import resources
from dashboard.navigation import page_path
from dashboard.text import plain
from viz_core import presets
from viz_core.datasets import FMNIST_CLASSES
from viz_core.errors import VizError
from viz_core.samples import sample_paths

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "pages" / "5_Paper_presets.py"
T1 = ROOT / "results" / "table1_offline.csv"  # committed: a missing file fails


def test_the_page_only_lays_out():
    src = PAGE.read_text(encoding="utf-8")
    assert len(src.splitlines()) <= 260  # was 390
    imports = set(re.findall(r"^(?:import|from) (\S+)", src, re.M))
    assert not imports & {"os", "time", "json", "pandas", "viz_core.errors",
                          "dashboard.resources", "dashboard.urlstate"}, imports
    for logic in ("perf_counter", "read_csv", "get_model", "verdict_models", "Classifier(",
                  "is_numeric_dtype", "DEMONS_VIZ_RESULTS", "encode("):
        assert logic not in src, logic
    assert len((ROOT / "dashboard" / "presets_page.py").read_text().splitlines()) <= 400


def test_fig1_keeps_the_papers_rows_and_an_inversion_shows_its_reference_first():
    fig1 = presets.fig1().offline[0]
    ref, cells, rows = pp.grid_layout(fig1)
    assert ref is None and cells == list(fig1.configs)
    assert rows == list(fig1.rows) and [n for _, n in rows] == [3, 3, 2]
    # rows that do not add up to the cells: untitled rows of COLS
    odd = dataclasses.replace(fig1, rows=(("one", 3),))
    assert pp.grid_layout(odd)[2] == [("", pp.COLS), ("", pp.COLS)]
    inv = presets.fig4().offline[0]
    ref, cells, rows = pp.grid_layout(inv, cols=2)
    assert ref == inv.configs[0].image and Path(ref).is_file()
    assert cells[0] is None and cells[1:] == list(inv.configs)
    assert rows == [("", 2)] * -(-(len(inv.configs) + 1) // 2)
    gone = dataclasses.replace(inv, configs=[dataclasses.replace(c, image=None)
                                             for c in inv.configs])
    assert pp.grid_layout(gone)[0] is None


def test_the_progress_words_and_the_clock():
    rec = SimpleNamespace(step=5, total=10)
    assert pp.progress(1, 4, rec, "VGG") == (0.375, "batch 2 of 4: VGG, step 5 of 10")
    assert pp.progress(0, 1, SimpleNamespace(step=3, total=0), "x")[0] == 1.0  # capped
    clock = pp.start_clock()
    assert clock["shown"] == clock["start"]
    pp.mark_shown(clock)
    assert clock["shown"] >= clock["start"]
    assert pp.elapsed({"start": 1.0, "shown": 3.5}, []) == 2.5
    recs = [SimpleNamespace(elapsed=1.0), SimpleNamespace(elapsed=2.0)]
    assert pp.elapsed({}, recs) == 3.0 and pp.elapsed(None, recs) == 3.0


def test_a_stop_marks_every_picture_of_the_batches_not_run():
    batches = presets.fig2().offline[:3]
    done = SimpleNamespace(status="done")
    assert pp.stopped_cells([done], batches) == []
    cells = pp.stopped_cells([done, SimpleNamespace(status="stopped")], batches)
    assert [(b, j) for b, j, _ in cells] == [(2, j) for j in range(len(batches[2].configs))]
    name = batches[2].configs[0].name
    assert cells[0][2] == f"{name} - not run: the run was stopped before this batch"


def test_a_verdict_of_the_papers_classifier_opens_the_table():
    def verdict(role):
        return SimpleNamespace(data={"role": role})

    assert not pp.has_classifier(SimpleNamespace(verdicts=[[verdict("model")]]))
    assert pp.has_classifier(SimpleNamespace(verdicts=[[verdict("judge")],
                                                       [verdict("classifier")]]))


def test_a_job_loads_its_model_when_it_starts_and_adds_the_papers_classifier(monkeypatch):
    loaded = []

    def get_model(name, weights="pretrained", device="auto"):
        loaded.append((name, weights, device))
        if name == "gone":
            raise VizError("weights went missing")
        return SimpleNamespace(spec=SimpleNamespace(name=name), name=name)

    monkeypatch.setattr(resources, "get_model", get_model)
    monkeypatch.setattr(resources, "verdict_models", lambda m, name: [m])
    monkeypatch.setattr(resources, "available", lambda names: True)
    batch = presets.table1().offline[0]
    job = pp.job(batch)
    assert job.title == batch.title and job.configs == list(batch.configs)
    assert loaded == []  # nothing loads before the job starts
    model = job.load()
    c0 = batch.configs[0]
    assert loaded == [(c0.model, "pretrained", c0.device)]
    judges = job.judges(model)
    assert judges[0] is model and len(judges) == 2  # the model, the paper's classifier
    assert loaded[-1][0] == batch.classifier
    gone = pp.job(dataclasses.replace(batch, classifier="gone"))
    assert gone.judges(model) == [model]  # a classifier that cannot load says nothing
    monkeypatch.setattr(resources, "available", lambda names: False)
    assert pp.job(batch).judges(model) == [model]
    rnd = dataclasses.replace(batch, configs=[dataclasses.replace(c0, weights="random")])
    pp.job(rnd).load()
    assert loaded[-1][1] == "random"


def test_open_sends_a_preset_to_its_page_with_its_settings():
    fig1 = presets.fig1()
    page, params = pp.open_target(fig1, fig1.offline[0])
    assert page == page_path("compare") and params["tv"] == "0.3"
    simonyan = presets.get_preset("simonyan")
    page, params = pp.open_target(simonyan, simonyan.offline[0])
    assert page == page_path("playground") and params["target"] == str(
        simonyan.offline[0].configs[0].target)
    assert all(isinstance(v, str) for v in params.values())


def test_findings_weights_and_missing_images(monkeypatch):
    found = pp.findings("fig1")
    assert found.startswith("**Paper:** ") and "  \n**Here:** In the offline run" in found
    assert pp.findings("simonyan") is None
    monkeypatch.setattr(resources, "available", lambda names: "vgg19" not in names)
    monkeypatch.setattr(resources, "model_status", lambda m: "missing")
    fig1 = presets.fig1()
    ok, caption = pp.paper_version_caption(fig1)
    assert not ok and caption.startswith("Paper version: needs the weights (vgg19: missing)")
    assert caption.endswith(f"Offline version: {', '.join(fig1.offline_models)}.")
    notice = pp.weights_notice(presets.all_presets())
    assert notice.startswith("The ImageNet weights of vgg19 are not on this machine")
    monkeypatch.setattr(resources, "available", lambda names: True)
    assert pp.weights_notice(presets.all_presets()) is None
    assert pp.paper_version_caption(fig1)[0]
    fig4 = presets.fig4()
    assert pp.missing_images(fig4) == [] and pp.missing_images_warning(fig4) is None
    b = fig4.offline[0]
    lost = dataclasses.replace(fig4, offline=[dataclasses.replace(b, configs=[
        dataclasses.replace(c, image="/nowhere/b.png") for c in b.configs])])
    assert pp.missing_images(lost) == ["/nowhere/b.png"]
    assert pp.missing_images_warning(lost) == ("Sample image missing on this machine: "
                                               "/nowhere/b.png")
    assert pp.variant_batches(fig4, pp.VARIANTS["off"]) is fig4.offline
    assert pp.variant_batches(fig4, pp.VARIANTS["pap"]) is fig4.batches


def test_the_tuned_batch_and_the_settings_its_run_belongs_to():
    batch, settings = pp.tuned_batch("fmnist_vgg", "am", target=3)
    assert batch.title == f"fmnist_vgg: class 3 ({FMNIST_CLASSES[3]})" and len(batch.configs) == 9
    assert settings == {"model": "fmnist_vgg", "task": "activation maximization",
                        "target": f"3 ({FMNIST_CLASSES[3]})"}
    image = sample_paths(1)[0]
    batch, settings = pp.tuned_batch("fmnist_vgg", "inversion", image=image)
    # the preset's own layer, a middle block (it read "from its deepest block": block4)
    assert batch.title.endswith(f"inversion of {Path(image).name} from block2")
    assert {c.layer for c in batch.configs} == {"block2"}
    assert settings == {"model": "fmnist_vgg", "task": "feature inversion", "image": image}
    with pytest.raises(VizError):
        pp.tuned_batch("fmnist_vgg", "am")


def test_the_results_folder_is_read_when_the_tab_draws(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMONS_VIZ_RESULTS", str(tmp_path))
    assert pp.results_dir() == tmp_path
    monkeypatch.delenv("DEMONS_VIZ_RESULTS")
    assert pp.results_dir() == ROOT / "results"
    assert pp.table1_files(tmp_path / "none") == []
    for name in ("table1_b.csv", "table1_a.csv", "table1_a_samples.csv", "other.csv"):
        (tmp_path / name).write_text("x\n1\n")
    assert [f.name for f in pp.table1_files(tmp_path)] == ["table1_a.csv", "table1_b.csv"]


def test_the_settings_recorded_beside_a_results_file(tmp_path):
    csv = tmp_path / "table1_x.csv"
    assert pp.json_settings(csv) == {}
    csv.with_suffix(".json").write_text('{"settings": {"precision": "fp32"}}')
    assert pp.json_settings(csv) == {"precision": "fp32"}
    for bad in ("not json", "[1, 2]", '{"settings": 3}'):
        csv.with_suffix(".json").write_text(bad)
        assert pp.json_settings(csv) == {}


def test_a_malformed_file_is_reported_and_the_others_read(tmp_path):
    good = tmp_path / "table1_a.csv"
    good.write_text(T1.read_text())
    bad = tmp_path / "table1_*b.csv"
    bad.write_bytes(b"")  # pandas: no columns to parse
    frames, errors = pp.read_tables([good, bad])
    assert list(frames) == [good]
    assert len(errors) == 1 and errors[0].startswith(plain("cannot read table1_*b.csv as a"))
    line, caps = pp.table1_captions(frames)
    assert line == "" and set(caps) == {"table1_a.csv"}


def test_the_chart_the_table_and_the_montage_of_a_results_file(tmp_path):
    df = pd.read_csv(T1)
    fig, problem = pp.table1_chart(T1.name, df)
    assert problem is None and any(t.type == "bar" for t in fig.data)
    assert pp.table1_chart("x.csv", pd.DataFrame({"a": [1]})) == (None, None)
    words = df.assign(top1="n/a")
    fig, problem = pp.table1_chart("t.csv", words)
    assert fig is None and problem == plain("no chart for t.csv: its top1 column holds "
                                            "values that are not numbers; the table is below")
    short, full = pp.shown_table(df, False), pp.shown_table(df, True)
    assert len(short.columns) < len(full.columns) == len(df.columns)
    assert "method" in short.columns
    rows = df.to_dict("records")
    image, problem = pp.montage(T1, rows)
    assert problem is None and image is not None
    assert pp.montage(tmp_path / "table1_none.csv", rows) == (None, None)
    (tmp_path / "table1_x_examples.png").write_bytes(b"not a png")
    image, problem = pp.montage(tmp_path / "table1_x.csv", rows)
    assert image is None and problem == plain("cannot read table1_x_examples.png as an image")


def test_the_pages_sentences():
    assert pp.table1_line().startswith("Table 1 of the paper (top-1 / top-5 %, 1000 ImageNet")
    assert presets.paper_table1_text() in pp.table1_line()
    assert "u ← Ke * (u − τ Kf * ∇D(u))" in pp.INTRO
    from dashboard.settings.labels import TASK_LABELS  # one set of task names, every page

    assert TASK_LABELS == {"am": "activation maximization", "inversion": "feature inversion"}
    assert not hasattr(pp, "TASK_NAMES")
