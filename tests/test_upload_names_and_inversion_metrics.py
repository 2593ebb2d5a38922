"""Two QA defects: Compare's inversion cells are stored with the metrics and floors of a
Playground inversion run (the relative feature error of eqs. 2-3 included, as the CLI and
the sweeps store it), and an uploaded program keeps the name the user gave it (any script)
in the model box, the link, the stored run and the History."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dashboard import programs
from dashboard.navigation import page_path
from viz_core.datasets import FMNIST_CLASSES
from viz_core.store import RunStore

PG, CMP, HISTORY = page_path("playground"), page_path("compare"), "pages/7_History.py"
ANKLE_BOOT = Path(__file__).resolve().parents[1] / "assets/samples/fmnist/0_ankle_boot.png"


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    """A fresh store for this test (the dashboard's cached store is per path)."""
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(path))
    return RunStore(path)


# ----------------------------------------------------------------------------- metrics

def _stored(store: RunStore, command: str) -> list:
    return [r for r in (store.get(x.id) for x in store.list()) if r.command == command]


def test_compare_inversion_cells_carry_the_playground_runs_metrics_and_floors(store, dash):
    at = dash.open(PG, task="inversion", steps=4, every=2)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    at = dash.open(CMP, steps=4, every=2, cells="sobolev-fluid-elastic,tv")
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    (pg,) = _stored(store, "dashboard playground")
    cells = _stored(store, "dashboard compare")
    assert len(cells) == 2 and pg.task == "inversion"
    for r in [pg, *cells]:
        assert r.task == "inversion"
        # the relative feature error ||Phi(u) - Phi0|| / ||Phi0||: the inversion's activation
        assert r.metrics["feature_error"] == pytest.approx(r.metrics["activation"])
        assert 0 < r.metrics["feature_error"] < 10
        assert r.metrics["psnr"] is not None and r.metrics["ssim"] is not None
        assert set(r.metrics) == set(pg.metrics) and r.floors == pg.floors
        # the flat image's PSNR / SSIM, and chance for the model's and the judge's
        # probability of the original's class (Table 1's test on the inversion)
        assert set(r.floors) == {"psnr", "ssim", "feature_error", "model_target_prob",
                                 "judge_target_prob"}
        assert r.floors["judge_target_prob"] == pytest.approx(0.1)
        judge = next(v for v in r.verdicts if v["role"] == "judge")
        assert judge["target"] == "Ankle boot" and judge["target_from"] == "label"
        assert judge["original"][0] in FMNIST_CLASSES and 0 < judge["original"][1] <= 1
        assert r.metrics["judge_target_prob"] == pytest.approx(judge["target_prob"])
    # side by side in the History: no blank where the other run has a value
    at = dash.open(HISTORY, runs=",".join([pg.id, cells[0].id]))
    dash.no_exception(at)
    table = at.dataframe[2].value
    row = table[table["metric"] == "rel. feature error"].iloc[0]
    values = [v for k, v in row.items() if k not in ("metric", "floor")]
    assert len(values) == 2 and "-" not in values


def test_an_activation_maximisation_run_has_no_feature_error(store, dash):
    at = dash.open(CMP, task="am", steps=2, every=2, cells="tv")
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    (r,) = _stored(store, "dashboard compare")
    assert r.task == "am" and "feature_error" not in r.metrics and "psnr" not in r.metrics


def test_the_cli_record_of_an_inversion_has_the_feature_error():
    """record_run (the CLI's writer) stores the feature error beside PSNR / SSIM too."""
    from viz_core import engine, models
    from viz_core.config import RunConfig
    from viz_core.store.capture import record_run

    model = models.load_model("fmnist_vgg")
    cfg = RunConfig(model="fmnist_vgg", task="inversion", image=str(ANKLE_BOOT), steps=2,
                    every=2)
    ref = engine.load_reference(cfg, model)
    final = list(engine.run(cfg, model, reference=ref))[-1]
    rec = record_run(cfg, model, final, reference=ref)
    assert rec.metrics["feature_error"] == pytest.approx(float(final.activation[0]))
    assert {"psnr", "ssim", "grad_norm"} <= set(rec.metrics)
    # the model's verdict on the original's class (no judge given): its floor is chance
    assert set(rec.floors) == {"psnr", "ssim", "feature_error", "model_target_prob"}
    (v,) = rec.verdicts
    assert v["role"] == "model" and v["target_from"] == "label" and v["target"] == "Ankle boot"


# ----------------------------------------------------------------------------- uploads

class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x).mean(dim=(2, 3)))


@pytest.fixture(scope="module")
def program_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("net") / "net.pt2"
    torch.export.save(torch.export.export(_Net().eval(), (torch.rand(1, 1, 16, 16),)),
                      str(path))
    return path.read_bytes()


@pytest.fixture
def uploads(tmp_path, monkeypatch) -> Path:
    """The server's upload folder, here a fresh one."""
    root = tmp_path / "uploads"
    monkeypatch.setattr(programs, "upload_dir", lambda: root)
    return root


@pytest.mark.parametrize("name", ["réseau_été.pt2", "模型.pt2"])
def test_an_upload_keeps_its_name_on_disk_in_its_token_and_its_link(name, uploads,
                                                                    program_bytes):
    from dashboard.urlstate import decode, encode

    saved = programs.save_program(program_bytes, name)
    assert Path(saved).name == name and Path(saved).parent.parent == uploads
    assert programs.uploaded_program(saved) == saved
    token = programs.program_token(saved)
    assert token == f"upload:{Path(saved).parent.name}/{name}"
    assert programs.program_from_token(token) == saved
    q = encode({"model": saved}, {"model": "fmnist_vgg"})
    assert q["model"] == token
    values, notices = decode(q, {"model": "fmnist_vgg"})
    assert values["model"] == saved and not notices


def test_a_name_is_made_safe_for_the_disk_not_mangled(uploads, program_bytes):
    # decomposed accents (as macOS sends them) are composed; folders, separators and
    # invisible marks go; ASCII punctuation and spaces become "_" (as before)
    assert Path(programs.save_program(program_bytes, "re\u0301seau.pt2")).name == "réseau.pt2"
    assert programs.program_stem("../x/mon réseau [v2].pt2") == "mon_réseau__v2_"
    assert programs.program_stem("a\u202e\u0000b.pt2") == "a_b"
    assert programs.program_stem("é" * 300 + ".pt2") == "é" * programs.MAX_STEM_CHARS
    assert len(programs.program_stem("🙂" * 60).encode()) <= programs.MAX_STEM_BYTES
    # a link's token names only what an upload could be called: nothing else resolves
    for bad in ("upload:0123456789abcdef/a b.pt2", "upload:0123456789abcdef/..pt2",
                "upload:0123456789abcdef/a\u202eb.pt2", "upload:0123456789abcdef/x/../y.pt2"):
        assert programs.program_from_token(bad) == bad
        assert programs.uploaded_program(bad) is None


def test_the_model_box_the_stored_run_and_the_history_show_the_users_name(
        store, dash, uploads, program_bytes):
    name = "模型.pt2"
    saved = programs.save_program(program_bytes, name)
    token = programs.program_token(saved)
    at = dash.open(PG, model=token, steps=2, every=2)
    dash.no_exception(at)
    assert at.session_state["pg_model"] == saved
    box = at.selectbox(key="pg_model")
    assert any(str(o).startswith(f"{name}  (uploaded program ") for o in box.options)
    assert at.query_params["model"] in (token, [token])
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    (run,) = [store.get(r.id) for r in store.list()]
    assert run.model == token and run.model_label == "模型 (exported program)"
    # the History: its table, its model filter and the caption of the run
    at = dash.open(HISTORY)
    dash.no_exception(at)
    assert list(at.dataframe[0].value["model"]) == [f"{name} (uploaded {token[7:13]})"]
    at.selectbox(key="hi_model").set_value(token).run()
    dash.no_exception(at)
    assert list(at.dataframe[0].value["id"]) == [run.id]
    at = dash.open(HISTORY, runs=run.id)
    dash.no_exception(at)
    assert any(dash.shown(c.value).startswith("模型 (exported program)") for c in at.caption)


def test_program_label_leaves_other_models_and_ascii_names_alone():
    assert programs.program_label("fmnist_vgg", "fmnist_vgg (offline)") == \
        "fmnist_vgg (offline)"
    assert programs.program_label("upload:0123456789abcdef/net.pt2", "net (exported program)") \
        == "net (exported program)"
    assert programs.program_label("/tmp/u/0123456789abcdef/réseau_été.pt2",
                                  "r_seau__t_ (exported program, RANDOM weights, seed 0)") \
        == "réseau_été (exported program, RANDOM weights, seed 0)"


def test_the_loader_labels_a_program_by_its_file_name(tmp_path, program_bytes):
    """The model's label (the Playground's header line, the downloads' caption, the CLI's
    result line) keeps the file's own name; the registry name stays ASCII."""
    from viz_core import models

    path = tmp_path / "réseau_été.pt2"
    path.write_bytes(program_bytes)
    m = models.load_exported(path, input_size=16, channels=1)
    assert m.label.startswith("réseau_été (exported program")
    assert m.spec.name == "réseau_été"  # the verdicts' and tables' name of the model
    from viz_core.judging import verdicts

    assert verdicts(m, np.zeros((1, 1, 16, 16), np.float32), [0], "model")[0]["model"] \
        == "réseau_été"
