"""Offline presets: structure, and the figures they promise on a CI-sized subset.

The figures are the real ones (``scripts/check_offline_presets.py`` checks all classes and
ten images): target-class probability >= 0.9 for every tested class and scheme (on the
uint8 pre-image), and inversion from fmnist_vgg's preset layer with a normalised loss
< 0.1 for the best scheme. Subset: three classes including the hardest one (Sneaker,
the lowest probability of the full table for both models), and two shipped samples
(Fashion-MNIST test images 6 and 4, the two highest losses of the best scheme in the full
table), with the presets' own 200 steps. About 30 s on one CPU thread.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest
import torch

from viz_core import models
from viz_core.config import RunConfig
from viz_core.engine import check_batchable, load_reference, run_to_end
from viz_core.errors import VizError
from viz_core.judging import quantize
from viz_core.kernel_fitting import fit_parameter
from viz_core.objectives import make_objective
from viz_core.offline_presets import (
    OFFLINE_MODELS,
    OFFLINE_SCHEMES,
    offline_batch,
    offline_config,
    preset_rows,
    task_preset,
)

ROOT = Path(__file__).resolve().parents[1]
CI_CLASSES = [4, 7, 9]   # Coat, Sneaker (the hardest), Ankle boot (Sneaker's rival)
CI_IMAGES = ["6_coat.png", "4_shirt.png"]


@pytest.fixture(scope="module")
def loaded() -> dict:
    return {name: models.load_model(name, device="cpu") for name in OFFLINE_MODELS}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One CPU thread: on a shared 2-core runner two threads that wait on each other were
    3-10x slower than one (measured: 460 vs 50 ms per step of a 27-run batch)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)



# ----------------------------------------------------------------------------- structure

@pytest.mark.parametrize("model", OFFLINE_MODELS)
@pytest.mark.parametrize("task", ["am", "inversion"])
def test_every_scheme_validates_and_all_run_as_one_batch(model, task):
    cfgs = offline_batch(model, task)
    assert len(cfgs) == len(OFFLINE_SCHEMES) * (10 if task == "am" else 1)
    check_batchable(cfgs)
    for c in cfgs:
        assert c.model == model and c.task == task and c.seed == 0
        assert c.total_steps == task_preset(model, task).steps
        assert all(o.scale == 1.0 for o in c.schedule)  # pre-image stays 64 x 64
        again = RunConfig.from_json(c.to_json())
        assert again.to_dict() == c.to_dict()
    if task == "inversion":
        assert {c.layer for c in cfgs} == {task_preset(model, task).layer}
        assert all(Path(c.image).is_file() for c in cfgs)
    else:
        assert [c.target for c in cfgs[:10]] == list(range(10))


@pytest.mark.parametrize("model", OFFLINE_MODELS)
def test_schemes_put_the_kernels_in_the_right_slots(model):
    for key in OFFLINE_SCHEMES:
        c = offline_config(model, key, "am", target=0)
        fluid = c.fluid.kind if c.fluid else None
        elastic = c.elastic.kind if c.elastic else None
        kind = key.rsplit("_", 1)[-1]
        assert fluid == (kind if key.startswith("fluid") else None), key
        assert elastic == (kind if "elastic" in key else None), key
        assert (c.tv > 0) == (key == "tv")
        if key == "tv":  # explicit TV stays stable: tau lambda / eps <= 1/4
            assert max(o.tau for o in c.schedule) / 255 * c.tv / c.tv_eps <= 0.25
        for k in (c.fluid, c.elastic):
            if k is not None and k.kind in ("gaussian", "sobolev"):
                assert k.param is None and k.size % 2 == 1  # fitted to its size


def test_preset_rows_document_every_scheme():
    rows = preset_rows("fmnist_vgg", "am")
    assert [r["key"] for r in rows] == list(OFFLINE_SCHEMES)
    es = next(r for r in rows if r["key"] == "elastic_sobolev")
    assert es["size"] == "9" and es["param"] == f"gamma {fit_parameter('sobolev', 9):.3g}"
    assert es["tau"] == "10 / 5 / 2" and es["steps"] == "120 + 50 + 30"


def test_unknown_names_and_missing_target_are_viz_errors():
    with pytest.raises(VizError):
        offline_config("vgg19", "plain", "am", target=0)
    with pytest.raises(VizError):
        offline_config("fmnist_vgg", "nope", "am", target=0)
    with pytest.raises(VizError):
        offline_config("fmnist_vgg", "plain", "dream", target=0)
    with pytest.raises(VizError):
        offline_config("fmnist_vgg", "plain", "am")


def test_old_scheme_spellings_still_resolve():
    for old, new in (("fluid-sobolev", "fluid_sobolev"), ("spectral", "fluid_spectral"),
                     ("fluid-elastic-gaussian", "fluid_elastic_gaussian"), ("none", "plain")):
        a = offline_config("fmnist_vgg", old, "am", target=3)
        assert a.to_dict() == offline_config("fmnist_vgg", new, "am", target=3).to_dict()


# ----------------------------------------------------------------------------- figures

@pytest.mark.slow
@pytest.mark.parametrize("model", OFFLINE_MODELS)
def test_am_reaches_probability_09_for_every_scheme(loaded, model):
    m = loaded[model]
    cfgs = offline_batch(model, "am", CI_CLASSES)
    t0 = time.perf_counter()
    res = run_to_end(cfgs, m, keep_frames=False, every=cfgs[0].total_steps)
    print(f"{model}: {len(cfgs)} runs x {cfgs[0].total_steps} steps in "
          f"{time.perf_counter() - t0:.1f} s")
    assert not any(res.final.diverged)
    with torch.no_grad():
        for images in (torch.from_numpy(res.final.images), quantize(res.final.images)):
            p = torch.softmax(m.net(m.normalize(images)), dim=1).numpy()
            got = {(c.name, c.target): float(p[i, c.target]) for i, c in enumerate(cfgs)}
            low = {k: round(v, 3) for k, v in got.items() if v < 0.9}
            assert not low, f"{model}: below 0.9: {low}"


@pytest.mark.slow
@pytest.mark.parametrize("sample", CI_IMAGES)
def test_inversion_preset_below_01_for_the_best_scheme(loaded, sample):
    m = loaded["fmnist_vgg"]
    image = str(models.assets_dir() / "samples" / "fmnist" / sample)
    cfgs = offline_batch("fmnist_vgg", "inversion", image=image)
    assert {c.layer for c in cfgs} == {"block2"} and {c.optimizer for c in cfgs} == {"adam"}
    res = run_to_end(cfgs, m, keep_frames=False, every=cfgs[0].total_steps)
    assert not any(res.final.diverged)
    ref = load_reference(cfgs[0], m)
    obj = make_objective(m, [c.target_spec(m.spec.default_layer) for c in cfgs], ref)
    loss = {}
    with torch.no_grad():
        for label, images in (("float", torch.from_numpy(res.final.images)),
                              ("uint8", quantize(res.final.images))):
            d, _ = obj(images)
            loss[label] = dict(zip((c.name for c in cfgs), d.tolist()))
        start, _ = obj(torch.from_numpy(res.frames[0].images))
    best = min(loss["float"], key=loss["float"].get)
    print(f"{sample}: best {best} {loss['float'][best]:.4f}")
    assert loss["float"][best] < 0.1 and loss["uint8"][best] < 0.1, loss
    assert start.min().item() > 0.5  # the start is far from the image's features


@pytest.mark.slow
def test_check_script_prints_and_writes_the_tables(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "check_offline_presets", ROOT / "scripts" / "check_offline_presets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "offline.md"
    rc = mod.main(["--models", "fmnist_vgg", "--classes", "1", "--images", "1",
                   "--schemes", "plain", "fluid-sobolev", "--presets", "--quiet",
                   "--out", str(out)])
    assert rc == 0
    text = out.read_text()
    printed = capsys.readouterr().out
    for needle in ("| 1 Trouser |", "Sobolev fluid", "**min (uint8)**", "block2",
                   "**mean**", "Best scheme", "Goal >= 0.9: met"):
        assert needle in text and needle in printed, needle
    assert "| elastic_sobolev |" not in text and "| Sobolev elastic | sobolev | 9 |" in text
    json.dumps(mod.preset_rows("fmnist_resnet", "inversion"))


def _check_script():
    spec = importlib.util.spec_from_file_location(
        "check_offline_presets", ROOT / "scripts" / "check_offline_presets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_check_script_judges_the_paper_presets_offline_class_pictures(tmp_path, capsys):
    """The Paper presets' offline class pre-images are checked with the independent judge
    (QA: Fig. 1's offline pictures on fmnist_vgg were recognised by it in none of 8)."""
    mod = _check_script()
    out = tmp_path / "presets.md"
    rc = mod.main(["--tasks", "--presets", "simonyan", "yosinski", "--quiet",
                   "--out", str(out)])
    text = out.read_text()
    assert rc == 0, text
    assert "## fmnist_vgg" not in text  # the tuned presets skipped
    for key in ("simonyan", "yosinski"):
        assert f"| {key} | fmnist_resnet_robust | fmnist_resnet_robust | 1 of 1 |" in text
    assert "judge (fmnist_lenet_judge, Sec. 3.2)" in text and "chance: 1 of 10" in text
    # the same settings on the standard VGG, as before: the judge recognises neither
    rc = mod.main(["--tasks", "--presets", "simonyan", "yosinski", "--preset-model",
                   "fmnist_vgg", "--quiet", "--out", str(out)])
    assert rc == 1 and "| simonyan | fmnist_resnet_robust | fmnist_vgg | 0 of 1 |" in \
        out.read_text()


def test_the_committed_results_show_every_preset_batch_recognised():
    text = (ROOT / "results" / "offline_presets.md").read_text()
    section = text[text.index("### Paper presets, offline class pre-images"):]
    assert "Goal (>= 75% of each batch): met" in section
    assert "| fig1 | fmnist_resnet_robust, class 9 'Ankle boot' | fmnist_resnet_robust | " \
        "8 of 8 |" in section
    assert section.count("| fig2 |") >= 4 and "Command: `python scripts/check_offline" in text


def test_robust_variants_use_their_architectures_presets():
    from viz_core.offline_presets import offline_config

    std = offline_config("fmnist_vgg", "fluid_elastic_sobolev", "am", target=1)
    rob = offline_config("fmnist_vgg_robust", "fluid_elastic_sobolev", "am", target=1)
    assert rob.model == "fmnist_vgg_robust"
    assert (rob.steps, rob.step_size, rob.elastic) == (std.steps, std.step_size, std.elastic)
    assert offline_config("fmnist_resnet_robust", "tv", "inversion").layer == "layer2"
