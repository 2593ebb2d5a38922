"""Table 1's test (Sec. 3.2) on every inversion, wherever it runs: the model and the
independent judge classify the reconstruction, against the original's class (a shipped
sample's dataset label, else the class each network sees in the original)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from dashboard.navigation import page_path
from viz_core import models
from viz_core.config import RunConfig
from viz_core.images import load_image
from viz_core.judging import classify, quantize, verdicts
from viz_core.store.capture import batch_verdicts

ANKLE_BOOT = Path(__file__).resolve().parents[1] / "assets/samples/fmnist/0_ankle_boot.png"
PG = page_path("playground")


@pytest.fixture(scope="module")
def vgg():
    return models.load_model("fmnist_vgg_robust")


def _original(model) -> np.ndarray:
    t, _ = load_image(str(ANKLE_BOOT), model.spec.input_size, model.spec.channels)
    return t.numpy()


def test_without_a_label_the_target_is_what_the_network_sees_in_the_original(vgg):
    ref = _original(vgg)
    noise = np.random.default_rng(0).random((2, 1, 64, 64), dtype=np.float32)
    images = np.concatenate([ref, noise[:1]])
    vs = verdicts(vgg, images, [None, None], "model", originals=ref)
    seen = int(classify(vgg, quantize(ref)).argmax())
    for v in vs:
        assert v["target_from"] == "original"
        assert v["target"] == vgg.classes[seen] == v["original"][0]
        assert v["chance"] == pytest.approx(0.1)
    # the original itself is recognised as itself, with its own probability
    assert vs[0]["target_prob"] == pytest.approx(vs[0]["original"][1])
    assert vs[0]["top"][0][0] == vgg.classes[seen]


def test_a_label_is_the_target_even_where_the_network_sees_another_class(vgg):
    ref = _original(vgg)
    seen = int(classify(vgg, quantize(ref)).argmax())
    other = (seen + 1) % 10
    (v,) = verdicts(vgg, ref, [other], "judge", originals=ref)
    assert v["target_from"] == "label" and v["target"] == vgg.classes[other]
    assert v["original"][0] == vgg.classes[seen] and v["target_prob"] < v["original"][1]


def test_batch_verdicts_judge_an_inversion_on_the_samples_label(vgg):
    judge = models.load_model("fmnist_lenet_judge")
    cfg = RunConfig(model=vgg.spec.name, task="inversion", image=str(ANKLE_BOOT))
    ref = _original(vgg)
    ((mv, jv),) = batch_verdicts([cfg], vgg, ref, judge, ref)
    assert (mv["role"], jv["role"]) == ("model", "judge")
    assert mv["target"] == jv["target"] == "Ankle boot"
    assert mv["target_from"] == jv["target_from"] == "label"
    # without the reference there is nothing to judge an inversion against
    assert batch_verdicts([cfg], vgg, ref, judge) == [[]]


def test_a_judge_of_other_classes_gives_no_target_for_an_am_class(vgg):
    """A judge with another class list (here: the same network, classes renamed) cannot
    say how likely the model's class is: its top classes only."""
    import copy

    other = copy.copy(vgg)
    other.classes = [f"c{i}" for i in range(10)]
    cfg = RunConfig(model=vgg.spec.name, target=3)
    img = np.full((1, 1, 64, 64), 0.5, np.float32)
    ((mv, jv),) = batch_verdicts([cfg], vgg, img, other)
    assert mv["target"] == vgg.classes[3] and mv["target_prob"] is not None
    assert jv["target"] is None and jv["target_prob"] is None and jv["top"][0][0][0] == "c"


def test_the_cli_prints_and_stores_an_inversions_verdicts(tmp_path, capsys):
    """visualize on an inversion: the model's and the judge's verdicts, against the
    sample's label; a user's copy of the same image (no label) against the original."""
    from viz_core.cli import main

    own = tmp_path / "my_photo.png"
    shutil.copyfile(ANKLE_BOOT, own)
    store = tmp_path / "runs.sqlite"
    for image, source in ((str(ANKLE_BOOT), "label"), (str(own), "original")):
        js = tmp_path / f"{source}.json"
        code = main(["visualize", "--model", "fmnist_vgg_robust", "--task", "inversion",
                     "--image", image, "--steps", "6", "--out", str(tmp_path / "x.png"),
                     "--json", str(js), "--store", str(store), "--quiet"])
        assert code == 0
        err = capsys.readouterr().err
        vs = json.loads(js.read_text())["verdicts"]
        assert [v["role"] for v in vs] == ["model", "judge"]
        assert {v["target_from"] for v in vs} == {source}
        if source == "label":
            assert all(v["target"] == "Ankle boot" for v in vs)
            assert "the original's class Ankle boot" in err
        else:
            assert all(v["target"] == v["original"][0] for v in vs)
            assert "its top class on the original, " in err
        assert "judge fmnist_lenet_judge" in err
    from viz_core.store import RunStore

    runs = [RunStore(store).get(r.id) for r in RunStore(store).list()]
    assert len(runs) == 2
    for r in runs:
        assert r.config["layer"] == "block4"  # the layer it ran at (History showed "-")
        assert r.floors["judge_target_prob"] == pytest.approx(0.1)
        judge = next(v for v in r.verdicts if v["role"] == "judge")
        assert r.metrics["judge_target_prob"] == pytest.approx(judge["target_prob"])
        assert r.metrics["judge_hit"] == float(judge["top"][0][0] == judge["target"])


def test_the_playground_shows_an_inversions_verdicts(dash):
    at = dash.open(PG, task="inversion", steps=4, every=2)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    text = "\n".join(m.value for m in at.markdown)
    assert "probability of Ankle boot, the original's class" in text
    assert "the original, as fmnist_" in text


def test_judge_model_takes_the_configs_device_by_default():
    from viz_core.store.capture import judge_model

    j = judge_model(RunConfig(target=3))  # before: VizError: unknown device None
    assert j.spec.name == "fmnist_lenet_judge" and str(j.device) == "cpu"
    assert judge_model(RunConfig(model="fmnist_vgg", task="inversion",
                                 image=str(ANKLE_BOOT))).spec.name == "fmnist_lenet_judge"
    assert judge_model(RunConfig(channel=3, layer="block2")) is None


def test_the_cli_says_what_loading_did_to_the_image(tmp_path, capsys):
    """A colour, non-square image for a grey network: the dashboard's notes, as `note:`
    lines (QA: the CLI converted and cropped without a word)."""
    from PIL import Image

    from viz_core.cli import main

    img = tmp_path / "colour.png"
    Image.fromarray((np.random.default_rng(0).random((48, 64, 3)) * 255).astype("uint8")) \
        .save(img)
    assert main(["visualize", "--model", "fmnist_vgg", "--task", "inversion", "--image",
                 str(img), "--steps", "2", "--out", str(tmp_path / "x.png"), "--no-store",
                 "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"note: {img}: colour converted to grey" in err
    assert "centre-cropped from 64x48 to a square" in err
