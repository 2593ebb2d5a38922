"""The MLflow mirror, against a local SQLite tracking store (no server): params, metrics
with the curves as steps, artifacts, tags; a failing mirror keeps the run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from viz_core.images import png_bytes
from viz_core.store import RunRecord, RunStore

mlflow = pytest.importorskip("mlflow")


def _record() -> RunRecord:
    rng = np.random.default_rng(1)
    return RunRecord(
        config={"model": "fmnist_vgg", "task": "am", "target": 3, "step_size": 5.0,
                "fluid": {"kind": "gaussian", "param": 1.0, "size": 11}, "elastic": None},
        model="fmnist_vgg", task="am", scheme="fluid demons", status="stopped",
        model_label="fmnist_vgg (Fashion-MNIST weights)", weights_hash="abc",
        metrics={"objective": -2.0, "total_variation": 0.25, "psnr": None},
        curves={"step": [0, 10, 20], "objective": [0.0, -1.0, -2.0],
                "activation": [0.0, 1.0, 2.0], "grad_norm": [3.0, None, 1.0]},
        image=png_bytes(rng.random((1, 8, 8), dtype=np.float32)),
        frames=[(10, png_bytes(rng.random((1, 8, 8), dtype=np.float32)))], tags=["good"],
        group_id="g1")


def test_every_stored_run_is_logged_to_mlflow(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    store = RunStore(tmp_path / "runs.sqlite")
    assert store.tracking_uri == uri
    rec = _record()
    store.add(rec)
    assert not store.mlflow_error, store.mlflow_error
    link = store.get(rec.id).mlflow
    assert link.startswith(uri + "#experiments/")
    run_id = link.rsplit("/", 1)[-1]
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.data.params["step_size"] == "5.0" and run.data.params["fluid.kind"] == "gaussian"
    assert run.data.tags["model"] == "fmnist_vgg" and run.data.tags["scheme"] == "fluid demons"
    assert run.data.tags["task"] == "am" and run.data.tags["demons_viz.run_id"] == rec.id
    assert run.info.status == "KILLED"  # a stopped run
    hist = client.get_metric_history(run_id, "objective")
    assert [(m.step, m.value) for m in sorted(hist, key=lambda m: m.step)] == [
        (0, 0.0), (10, -1.0), (20, -2.0)]
    assert [m.step for m in client.get_metric_history(run_id, "grad_norm")] == [0, 20]
    assert run.data.metrics["total_variation"] == 0.25 and "psnr" not in run.data.metrics
    names = {a.path for a in client.list_artifacts(run_id)}
    assert names == {"preimage.png", "trajectory.gif", "run.json"}
    got = client.download_artifacts(run_id, "run.json", str(tmp_path))
    assert json.loads(open(got).read())["step_size"] == 5.0
    assert (tmp_path / "mlartifacts").is_dir()  # beside the tracking database


def test_a_failing_mirror_keeps_the_run(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite", tracking_uri="nosuchscheme://x")
    rec = _record()
    store.add(rec)
    assert store.mlflow_error.startswith("MLflow:")
    assert store.get(rec.id).mlflow == "" and store.count() == 1


def test_without_a_tracking_uri_mlflow_is_not_imported(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    code = ("import sys; from viz_core.store import RunStore, RunRecord; "
            f"s = RunStore({str(tmp_path / 'r.sqlite')!r}); "
            "s.add(RunRecord(config={}, model='m', task='am', scheme='plain GD')); "
            "print('mlflow' in sys.modules)")
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert out.strip() == "False"


def test_cli_tracking_uri_logs_the_visualize_run(tmp_path, monkeypatch, capsys):
    import json as _json

    from viz_core.cli import main

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'ml.db'}"
    assert main(["visualize", "--model", "fmnist_vgg", "--target", "2", "--steps", "2",
                 "--quiet", "--out", "a.png", "--store", "runs.sqlite",
                 "--tracking-uri", uri]) == 0
    run_id = _json.loads(capsys.readouterr().out.splitlines()[-1])["run_id"]
    link = RunStore(tmp_path / "runs.sqlite").get(run_id).mlflow
    run = mlflow.tracking.MlflowClient(tracking_uri=uri).get_run(link.rsplit("/", 1)[-1])
    assert run.data.tags["demons_viz.run_id"] == run_id and run.data.params["target"] == "2"
