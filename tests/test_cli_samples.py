"""``demons-viz visualize --samples N``: N seeds of one configuration run as one batch of
the engine, so that a ``diversity`` term (Gram similarity across the batch, Olah et al.,
Distill 2017) acts; the pre-images side by side in the PNG and GIF, per-sample results in
the printed line and the run JSON. Also the output names checked against their format,
and the model-contract flags a timm model refuses."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from viz_core.cli import build_parser, main
from viz_core.store import RunStore

OBJ = "channel(block3,3) - {w}*diversity(block3)"


def _run(tmp_path, name: str, *extra: str) -> list[str]:
    return ["visualize", "--model", "fmnist_vgg", "--steps", "6", "--step-size", "5",
            "--quiet", "--device", "cpu", "--out", str(tmp_path / f"{name}.png"), *extra]


def test_diversity_weight_changes_the_samples(tmp_path, capsys):
    """The README's example: with 2 samples the weight acts (it gave byte-identical
    pictures for every weight with the one sample the CLI ran)."""
    pngs = []
    for w in ("0", "100"):
        js = tmp_path / f"w{w}.json"
        assert main(_run(tmp_path, f"w{w}", "--objective", OBJ.format(w=w), "--samples", "2",
                         "--no-store", "--json", str(js))) == 0
        line = json.loads(capsys.readouterr().out)
        assert line["samples"] == 2 and [r["seed"] for r in line["sample_results"]] == [0, 1]
        run = json.loads(js.read_text())
        assert run["samples"] == 2 and run["seed"] == 0
        assert [r["target_activation"] for r in run["sample_results"]] == \
            [r["target_activation"] for r in line["sample_results"]]
        pngs.append(np.asarray(Image.open(tmp_path / f"w{w}.png")))
    assert pngs[0].shape == (64, 128)  # two 64x64 pre-images side by side
    assert not np.array_equal(pngs[0], pngs[1])
    # the two samples differ (their seeds), and each half is that sample's pre-image
    assert not np.array_equal(pngs[0][:, :64], pngs[0][:, 64:])


def test_samples_are_the_single_runs_of_their_seeds_without_diversity(tmp_path, capsys):
    """Without a coupling term each sample of the batch is the run of its own seed."""
    assert main(_run(tmp_path, "batch", "--objective", "channel(block3,3)", "--samples", "2",
                     "--seed", "4", "--no-store")) == 0
    per = json.loads(capsys.readouterr().out)["sample_results"]
    assert main(_run(tmp_path, "alone", "--objective", "channel(block3,3)", "--seed", "5",
                     "--no-store")) == 0
    alone = json.loads(capsys.readouterr().out)
    assert per[1]["seed"] == 5
    assert per[1]["target_activation"] == pytest.approx(alone["target_activation"], rel=1e-4)
    batch = np.asarray(Image.open(tmp_path / "batch.png"), dtype=int)
    single = np.asarray(Image.open(tmp_path / "alone.png"), dtype=int)
    assert np.abs(batch[:, 64:] - single).max() <= 1


def test_gif_store_and_config_replay_of_a_batch(tmp_path, capsys):
    store = tmp_path / "runs.sqlite"
    js, gif = tmp_path / "d.json", tmp_path / "d.gif"
    assert main(_run(tmp_path, "d", "--objective", OBJ.format(w="1"), "--samples", "3",
                     "--every", "2", "--gif", str(gif), "--json", str(js),
                     "--store", str(store))) == 0
    line = json.loads(capsys.readouterr().out)
    ids = [r["run_id"] for r in line["sample_results"]]
    assert line["run_id"] == ids[0] and len(set(ids)) == 3
    with Image.open(gif) as g:
        assert g.size == (192, 64) and g.n_frames >= 3
    assert "3 samples" in Image.open(tmp_path / "d.png").text["samples"]
    runs = [RunStore(store).get(i, frames=False) for i in ids]
    assert len({r.group_id for r in runs}) == 1 and runs[0].group_id
    assert [r.config["seed"] for r in runs] == [0, 1, 2]
    # --config replays the batch (the JSON records its samples)
    assert main(["visualize", "--config", str(js), "--out", str(tmp_path / "again.png"),
                 "--quiet", "--no-store"]) == 0
    assert json.loads(capsys.readouterr().out)["samples"] == 3
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "d.png").read_bytes()


def test_diversity_with_one_sample_is_one_warning(tmp_path, capsys):
    assert main(_run(tmp_path, "one", "--objective", OBJ.format(w="0.1"), "--no-store")) == 0
    cap = capsys.readouterr()
    warnings = [x for x in cap.err.splitlines() if x.startswith("warning:")]
    assert len(warnings) == 1 and "--samples 2" in warnings[0]
    assert "samples" not in json.loads(cap.out)  # one sample: the line as before
    assert Image.open(tmp_path / "one.png").size == (64, 64)
    # a 0-weighted diversity term is off: nothing to warn about
    assert main(_run(tmp_path, "off", "--objective", OBJ.format(w="0"), "--no-store")) == 0
    assert "warning:" not in capsys.readouterr().err


def test_samples_of_random_weights_are_one_line(tmp_path, capsys):
    """With --weights random the seed draws the network: no batch of seeds."""
    extra = ["--objective", "channel(block3,3)", "--weights", "random"]
    assert main(_run(tmp_path, "x", "--samples", "2", "--no-store", *extra)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "random" in err, err
    assert not (tmp_path / "x.png").exists()
    assert main(_run(tmp_path, "x", "--samples", "0", "--no-store")) == 2
    assert "--samples must be" in capsys.readouterr().err


def _single(tmp_path, name: str, seed: int, *extra: str) -> np.ndarray:
    assert main(_run(tmp_path, name, "--seed", str(seed), "--no-store", *extra)) == 0
    return np.asarray(Image.open(tmp_path / f"{name}.png"))


@pytest.mark.parametrize("extra", [
    ["--target", "2", "--steps", "20", "--fluid", "sobolev"],  # drifted in a batch
    ["--objective", "channel(block3,3)", "--jitter", "2"],  # jitter
    ["--target", "7", "--octaves", "1.0:4:5,1.2:3:2", "--steps", "7"],  # octaves (their
    # total replaces _run's --steps 6, which the stages would leave unused: refused)
])
def test_samples_of_a_plain_target_or_a_moving_canvas_are_each_as_alone(tmp_path, capsys,
                                                                        extra):
    """``--samples 2`` of a plain class target (it needed --objective) and of a jittered or
    octave run (it needed a diversity term) runs: each sample is exactly the picture its
    seed gives alone (a batch's rounding grew to 38/255 over 20 steps), side by side, with
    its own verdicts and its own row in the JSON and the GIF."""
    assert main(_run(tmp_path, "two", "--samples", "2", "--seed", "0", "--no-store",
                     "--gif", str(tmp_path / "two.gif"), "--every", "2", *extra)) == 0
    out = capsys.readouterr()
    line = json.loads(out.out.strip().splitlines()[-1])
    assert [r["seed"] for r in line["sample_results"]] == [0, 1]
    both = np.asarray(Image.open(tmp_path / "two.png"))
    alone = [_single(tmp_path, f"s{s}", s, *extra) for s in (0, 1)]
    assert both.shape[1] == 2 * alone[0].shape[1]
    w = alone[0].shape[1]
    for i, a in enumerate(alone):
        assert np.array_equal(both[:, i * w:(i + 1) * w], a)
    assert not np.array_equal(alone[0], alone[1])
    gif = Image.open(tmp_path / "two.gif")
    assert gif.size == (2 * w, alone[0].shape[0]) and gif.n_frames > 2
    if "--target" in extra:  # a class target: the model's and the judge's verdicts
        roles = [[v["role"] for v in r["verdicts"]] for r in line["sample_results"]]
        assert roles == [["model", "judge"]] * 2
        assert out.err.count("judge fmnist_lenet_judge: top ") == 2


@pytest.mark.parametrize("flag,name", [("--out", "x.jpg"), ("--out", "x.gif"),
                                       ("--gif", "x.png"), ("--gif", "x.mp4")])
def test_an_output_name_of_another_format_is_refused_first(tmp_path, capsys, flag, name):
    argv = ["visualize", "--model", "no_such_model", "--steps", "1", "--quiet", "--no-store"]
    if flag == "--out":
        argv += ["--out", str(tmp_path / name)]
    else:
        argv += ["--out", str(tmp_path / "ok.png"), "--gif", str(tmp_path / name)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{flag} " in err and name in err
    assert "no_such_model" not in err  # refused before the model is looked up
    assert not (tmp_path / name).exists() and not (tmp_path / "ok.png").exists()


def test_matching_suffixes_in_any_case_are_written(tmp_path, capsys):
    out, gif = tmp_path / "UP.PNG", tmp_path / "t.GIF"
    assert main(["visualize", "--model", "fmnist_vgg", "--steps", "2", "--quiet",
                 "--no-store", "--out", str(out), "--gif", str(gif)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and gif.read_bytes()[:3] == b"GIF"


@pytest.mark.parametrize("flag,value", [("--input-size", "64"), ("--channels", "1"),
                                        ("--mean", "0.5"), ("--std", "0.2")])
def test_timm_models_refuse_contract_flags(tmp_path, capsys, flag, value):
    """Refused from the flags alone (timm need not be installed): the output was 224x224
    whatever --input-size said."""
    assert main(["visualize", "--model", "timm:resnet18", "--weights", "random", flag, value,
                 "--steps", "1", "--quiet", "--no-store", "--out",
                 str(tmp_path / "t.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err and "timm models use their own input size" in err


def test_input_size_help_names_the_exported_size():
    sub = build_parser("visualize")._subparsers._group_actions[0].choices["visualize"]
    text = " ".join(sub.format_help().split())
    assert "default 224)" not in text
    assert "a .pt2 program was exported with" in text and "timm" in text


def test_metrics_replays_a_samples_run_as_its_batch(tmp_path, capsys):
    """`metrics d.json` of a `visualize --samples N` run measures the N samples of the batch
    (their own numbers), not one seed-0 run without the batch's diversity."""
    import json

    js = tmp_path / "d.json"
    assert main(["visualize", "--model", "fmnist_vgg", "--objective",
                 "channel(block3,3) - 0.1*diversity(block3)", "--samples", "3", "--steps",
                 "4", "--out", str(tmp_path / "d.png"), "--json", str(js), "--no-store",
                 "--quiet", "--device", "cpu"]) == 0
    capsys.readouterr()
    want = [r["final_objective"] for r in json.loads(js.read_text())["sample_results"]]
    assert main(["metrics", str(js), "--quiet", "--threads", "1"]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines()
            if ln.startswith("| ") and " (d) sample " in ln]  # scheme (file) sample i
    assert [float(ln.split("|")[2]) for ln in rows] == [float(f"{w:.4g}") for w in want]


def test_samples_run_apart_keep_no_pre_images_between_first_and_last():
    """Without a GIF, samples run one after another keep the pre-images of their first and
    last frames only (64 samples at 224 px kept every frame, ~0.8 GB); every frame's
    numbers still reach ``progress`` (the curves), and the result is the same."""
    from viz_core import engine, models
    from viz_core.cli.samples import run_samples, sample_configs
    from viz_core.config import RunConfig

    model = models.load_model("fmnist_vgg", "random")
    cfgs = sample_configs(RunConfig(model="fmnist_vgg", target=1, steps=6, every=2,
                                    seed=3), 2)
    seen: list = []
    light = run_samples(cfgs, model, every=2, keep_frames=False, progress=seen.append)
    assert [f.step for f in seen] == [0, 2, 4, 6]
    assert [f.images is None for f in seen] == [False, True, True, False]
    assert all(len(f.objective) == 2 for f in seen)
    assert [f.step for f in light.frames] == [0, 6] and light.final.images.shape[0] == 2
    full = run_samples(cfgs, model, every=2, keep_frames=True, progress=lambda f: None)
    assert all(f.images is not None for f in full.frames) and len(full.frames) == 4
    assert np.array_equal(full.final.images, light.final.images)
    alone = engine.run_to_end(cfgs[1], model, every=2).final.images[0]
    assert np.array_equal(light.final.images[1], alone)
