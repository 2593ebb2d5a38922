"""Mirror a stored run to MLflow (the ``[tracking]`` extra), for teams that run a tracking
server: params from the configuration, the final metrics, the curves as metrics over the
steps, the pre-image (PNG), its trajectory (GIF) and the run JSON as artifacts, and tags
for model, scheme and task. Imported only when a tracking URI is set."""

from __future__ import annotations

import io
import json
import tempfile
import time
from pathlib import Path

from viz_core.errors import VizError
from viz_core.store.compare import flat_settings, run_json
from viz_core.store.records import CURVE_KEYS, RunRecord

EXPERIMENT = "demons-viz"
_STATUS = {"done": "FINISHED", "stopped": "KILLED", "diverged": "FAILED", "error": "FAILED"}
_MAX_PARAM = 500  # MLflow's limit on a parameter value's length


def _client(uri: str):
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise VizError('MLflow tracking needs mlflow: pip install -e ".[tracking]"',
                       field="tracking_uri") from None
    return MlflowClient(tracking_uri=uri)


def artifact_location(uri: str) -> str | None:
    """For a local SQLite tracking store, artifacts go beside its file (``mlartifacts/``)
    rather than into the current folder; a server decides for itself (None)."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).resolve().parent
                / "mlartifacts").as_uri()
    return None


def _experiment(client, uri: str, name: str = EXPERIMENT) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location(uri))
    except Exception:  # noqa: BLE001 - another writer created it first
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


def link(uri: str, experiment_id: str, run_id: str) -> str:
    """Where the run is shown: the tracking server's page, or ``URI#run`` for a local
    store (``mlflow ui --backend-store-uri URI`` shows it)."""
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    return f"{uri}#experiments/{experiment_id}/runs/{run_id}"


def _gif(record: RunRecord) -> bytes | None:
    from PIL import Image

    pngs = [png for _, png in record.frames] + ([record.image] if record.image else [])
    if len(pngs) < 2:
        return None
    imgs = [Image.open(io.BytesIO(p)).convert("RGB") for p in pngs]
    side = max(max(i.size) for i in imgs)
    imgs = [i.resize((side, side), Image.NEAREST) for i in imgs]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=300,
                 loop=0)
    return buf.getvalue()


def log_run(record: RunRecord, uri: str) -> str:
    """Log ``record`` to the MLflow tracking store at ``uri``; returns the run's link."""
    from mlflow.entities import Metric, Param, RunTag

    client = _client(uri)
    eid = _experiment(client, uri)
    tags = {"model": record.model, "scheme": record.scheme, "task": record.task,
            "status": record.status, "demons_viz.run_id": record.id,
            "mlflow.runName": f"{record.scheme} {record.id}"}
    if record.group_id:
        tags["demons_viz.group"] = record.group_id
    for t in record.tags:
        tags[f"tag.{t}"] = "1"
    run = client.create_run(eid, start_time=int(record.started * 1000),
                            tags={k: str(v)[:5000] for k, v in tags.items()})
    rid = run.info.run_id
    params = [Param(k, str(v)[:_MAX_PARAM]) for k, v in flat_settings(record.config).items()
              if v is not None]
    params += [Param("model_label", record.model_label[:_MAX_PARAM]),
               Param("weights_hash", record.weights_hash or "-"),
               Param("demons_viz_version", record.version or "-")]
    now = int(time.time() * 1000)
    metrics = []
    steps = record.curves.get("step", [])
    for key in CURVE_KEYS:
        for s, v in zip(steps, record.curves.get(key, [])):
            if v is not None:
                metrics.append(Metric(key, float(v), now, int(s)))
    last = int(steps[-1]) if steps else 0
    for key, v in record.metrics.items():
        if v is not None and not (key in CURVE_KEYS and record.curves.get(key)):
            metrics.append(Metric(key, float(v), now, last))
    for i in range(0, len(params), 100):
        client.log_batch(rid, params=params[i:i + 100])
    for i in range(0, len(metrics), 1000):
        client.log_batch(rid, metrics=metrics[i:i + 1000])
    client.log_batch(rid, tags=[RunTag("demons_viz.floors", json.dumps(record.floors))])
    with tempfile.TemporaryDirectory() as tmp:
        files = {"run.json": json.dumps(run_json(record), indent=1).encode()}
        if record.image:
            files["preimage.png"] = record.image
        gif = _gif(record)
        if gif:
            files["trajectory.gif"] = gif
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
            client.log_artifact(rid, str(Path(tmp) / name))
    client.set_terminated(rid, _STATUS[record.status], end_time=int(record.ended * 1000))
    return link(uri, eid, rid)
