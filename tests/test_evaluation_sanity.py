"""The model-randomisation sanity check (viz_core.evaluation.sanity, sanity_report and
``demons-viz sanity``): randomisation really changes the network without making it
constant, the cascade order, the similarity measures, the verdict and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from viz_core import models
from viz_core.cli import main
from viz_core.evaluation import sanity as sn
from viz_core.evaluation.recognisability import shipped_imageset
from viz_core.evaluation.sanity_report import scheme_verdict, summarise


@pytest.fixture(scope="module")
def vgg():
    return models.load_model("fmnist_vgg")


@pytest.fixture(scope="module")
def real(vgg):
    iset = shipped_imageset(vgg.classes)
    return iset.load(range(len(iset)), 64, 1), [int(v) for v in iset.labels]


def test_groups_and_cascade_order(vgg):
    groups = sn.layer_groups(vgg)
    assert groups == ["block1", "block2", "block3", "block4", "fc"]
    steps = sn.cascade_steps(groups)
    assert steps[0] == ["fc"] and steps[1] == ["fc", "block4"]
    assert steps[-1] == ["fc", "block4", "block3", "block2", "block1"]
    assert [len(s) for s in steps] == [1, 2, 3, 4, 5]


def test_randomised_layer_changes_outputs_and_leaves_the_rest(vgg, real):
    x, _ = real
    before = {k: v.clone() for k, v in vgg.net.state_dict().items()}
    r = sn.randomised(vgg, ["block1"], seed=0, bn="reestimate", images=x)
    # the shared model is untouched
    assert all(torch.equal(before[k], v) for k, v in vgg.net.state_dict().items())
    sd = r.net.state_dict()
    assert not torch.equal(sd["block1.conv1.weight"], before["block1.conv1.weight"])
    assert torch.equal(sd["fc.weight"], before["fc.weight"])
    assert torch.equal(sd["block3.bn2.running_var"], before["block3.bn2.running_var"])
    assert not torch.allclose(sn.logits(r, x), sn.logits(vgg, x), atol=1e-3)
    assert not r.pretrained and "RANDOM block1" in r.label


def test_same_seed_same_random_group_in_cascade_and_independent(vgg, real):
    x, _ = real
    a = sn.randomised(vgg, ["fc"], seed=1, bn="keep")
    b = sn.randomised(vgg, ["fc", "block4"], seed=1, bn="keep")
    c = sn.randomised(vgg, ["fc"], seed=2, bn="keep")
    assert torch.equal(a.net.fc.weight, b.net.fc.weight)
    assert not torch.equal(a.net.fc.weight, c.net.fc.weight)


def test_reestimated_network_is_not_constant_but_reset_is(vgg, real):
    x, _ = real
    groups = sn.layer_groups(vgg)
    trained = sn.logit_spread(vgg, x)
    alive = sn.logit_spread(sn.randomised(vgg, groups, 0, "reestimate", x), x)
    dead = sn.logit_spread(sn.randomised(vgg, groups, 0, "reset", x), x)
    assert trained > 0.5
    assert alive > 30 * sn.CONSTANT_RATIO * trained and alive > 1000 * dead
    assert dead < sn.CONSTANT_RATIO * trained            # the old check's network
    # re-estimated BatchNorm of block4 really normalises its random convolution's output
    r = sn.randomised(vgg, ["block4"], 0, "reestimate", x)
    with torch.no_grad():
        feats = r.features("block4.bn2")(r.normalize(x))
    assert 0.5 < float(feats.std()) < 2.0


def test_unknown_group_and_bn_mode_are_one_line_errors(vgg):
    from viz_core.errors import VizError

    with pytest.raises(VizError, match="unknown layer group 'block9'"):
        sn.randomised(vgg, ["block9"], bn="keep")
    with pytest.raises(VizError, match="BatchNorm mode"):
        sn.randomised(vgg, ["fc"], bn="bogus")
    with pytest.raises(VizError, match="real images"):
        sn.randomised(vgg, ["fc"], bn="reestimate")


def test_similarity_measures():
    rng = np.random.default_rng(0)
    a = rng.random((3, 1, 32, 32))
    same = sn.similarity(a, a)
    assert np.allclose(same["ssim"], 1.0) and np.allclose(same["spearman"], 1.0)
    assert np.allclose(sn.spearman(a, 1 - a), -1.0)
    assert np.allclose(sn.spearman(a, a**3), 1.0)           # ranks, not values
    other = sn.similarity(a, rng.random((3, 1, 32, 32)))
    assert np.all(np.abs(other["spearman"]) < 0.1) and np.all(other["ssim"] < 0.2)
    # ties at average ranks: [1, 2, 2, 3] vs [1, 2, 3, 4] -> 0.9487 (Pearson of the ranks)
    r = sn.spearman(np.array([[1, 2, 2, 3]]), np.array([[1, 2, 3, 4]]))
    assert r[0] == pytest.approx(0.9486833, abs=1e-6)
    flat = np.full((1, 4), 0.5)
    assert sn.spearman(flat, flat)[0] == 1.0
    assert sn.spearman(flat, np.array([[0.1, 0.2, 0.3, 0.4]]))[0] == 0.0


def test_saliency_is_normalised_and_depends_on_weights(vgg, real):
    x, labels = real
    imgs = x[:2]
    s = sn.saliency(vgg, imgs, labels[:2])
    assert s.shape == (2, 1, 64, 64) and np.allclose(s.reshape(2, -1).max(1), 1.0)
    r = sn.randomised(vgg, sn.layer_groups(vgg), 0, "reestimate", x)
    assert sn.similarity(s, sn.saliency(r, imgs, labels[:2]))["spearman"].mean() < 0.9


def _summary(ref, last, spread_last=0.5, mode="cascade"):
    def band(m, s):
        return {"mean": m, "std": s, "n": 3}
    rows = [{"scheme": "x", "mode": "seed", "step": 0, "layer": "seed 1",
             **{k: band(*ref) for k in ("ssim", "spearman")}, "logit_std": band(1.0, 0)}]
    for i, v in enumerate(last, start=1):
        rows.append({"scheme": "x", "mode": mode, "step": i, "layer": f"g{i}",
                     **{k: band(*v) for k in ("ssim", "spearman")},
                     "logit_std": band(spread_last, 0)})
    return rows


def test_verdict_kinds():
    spreads = {"trained": 1.0}
    kind, text = scheme_verdict(_summary((0.6, 0.05), [(0.55, 0.05), (0.2, 0.05)]), "x", spreads)
    assert kind == "weights" and "from step 2 (randomised down to g2)" in text
    assert "0.60 +- 0.05 (new seed) -> 0.20 +- 0.05" in text
    kind, _ = scheme_verdict(_summary((0.6, 0.05), [(0.58, 0.05), (0.55, 0.05)]), "x", spreads)
    assert kind == "regularizer"
    kind, text = scheme_verdict(_summary((0.6, 0.05), [(0.2, 0.05)], spread_last=1e-5), "x",
                                spreads)
    assert kind == "inconclusive" and "nearly constant" in text
    kind, text = scheme_verdict(_summary((0.02, 0.01), [(0.01, 0.0)]), "x", spreads)
    assert kind == "inconclusive" and "unlike" in text


def test_run_sanity_small(vgg, real):
    x, labels = real
    st = sn.SanitySettings(schemes=["plain", "fluid_elastic_gaussian"], classes=[7], seeds=2,
                           steps=4, modes=("cascade",))
    seen = []
    res = sn.run_sanity(vgg, x, labels, st, progress=seen.append)
    assert res["cascade"] == ["fc", "block4", "block3", "block2", "block1"]
    assert seen[:2] == ["seed 0: trained", "seed 1: trained"]
    rows = res["rows"]
    assert len(rows) == 2 * 2 + 5 * 2 * 2          # seed references + cascade x seeds x schemes
    assert {r["mode"] for r in rows} == {"seed", "cascade"}
    assert all(-1 <= r["ssim"] <= 1 and -1 <= r["spearman"] <= 1 for r in rows)
    assert res["pictures"]["trained"].shape == (2, 1, 64, 64)
    assert set(res["verdicts"]) == {"plain", "fluid_elastic_gaussian"}
    assert "Logit spread" in res["verdict"] and "all random, BN reset" in res["verdict"]
    refs = [r for r in res["summary"] if r["mode"] == "seed"]
    assert len(refs) == 2 and all(r["ssim"]["n"] == 2 for r in refs)   # one band per scheme
    again = summarise(res)
    assert again["verdict"] == res["verdict"]


def test_cli_sanity_writes_files(tmp_path, capsys):
    rc = main(["sanity", "--schemes", "plain", "--classes", "1", "--seeds", "2", "--steps", "3",
               "--modes", "cascade", "--threads", "1", "--out", str(tmp_path), "--name", "s",
               "--quiet"])
    assert rc == 0
    for suffix in (".csv", ".md", ".json", "_cascade.png"):
        assert (tmp_path / f"s{suffix}").is_file()
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["command"].startswith("demons-viz sanity") and data["seeds"] == 2
    md = (tmp_path / "s.md").read_text()
    assert "Machine:" in md and "## Verdict" in md and "| cascade | 5 | block1 |" in md
    assert "of 1 schemes depend" in capsys.readouterr().out


@pytest.mark.parametrize("argv, needle", [
    (["sanity", "--seeds", "1"], "seeds must be >= 2"),
    (["sanity", "--classes", "a,b"], "comma-separated integers"),
    (["sanity", "--classes", "10", "--out", "/tmp"], "out of range"),
    (["sanity", "--schemes", "bogus"], "unknown scheme"),
    (["sanity", "--modes", "upward"], "unknown randomisation mode"),
    (["sanity", "--bn", "nope"], "invalid choice"),
    (["sanity", "--labels", "x.txt"], "--labels needs --images"),
])
def test_cli_sanity_bad_input(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_committed_check_loads_with_a_row_per_scheme(tmp_path, vgg, real):
    from viz_core.evaluation.sanity_report import cascade_rows, load_sanity, write_sanity

    x, labels = real
    st = sn.SanitySettings(schemes=["plain", "tv"], classes=[1], seeds=2, steps=3,
                           modes=("cascade",))
    res = sn.run_sanity(vgg, x, labels, st)
    write_sanity(res, tmp_path, "sanity_fmnist_vgg")
    assert load_sanity(tmp_path, "fmnist_resnet") is None
    data = load_sanity(tmp_path, "fmnist_vgg")
    rows = cascade_rows(data)
    assert [s for s, _ in rows] == ["plain", "tv"]
    # trained + 5 cascade steps of 128 px (scale 2) with 4 px gaps
    assert all(im.size == (6 * (128 + 4) + 4, 128) for _, im in rows)
    row0 = np.asarray(rows[0][1], dtype=float)[:, 4:132] / 255
    assert np.allclose(row0, np.kron(res["pictures"]["trained"][0, 0], np.ones((2, 2))),
                       atol=1 / 255)
