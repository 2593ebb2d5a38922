"""Models and their relations (viz_core.zoo): architecture, twins, judge, presets' family,
asked of one registry by every consumer (benchmarks, sweeps, gallery, presets)."""

from __future__ import annotations

import pytest

from viz_core import zoo
from viz_core.errors import VizError
from viz_core.evaluation import protocol, recognisability
from viz_core.offline_presets import OFFLINE_PRESET_MODELS, PRESETS, task_preset
from viz_core.sweeps import cells

OFFLINE = ["fmnist_vgg", "fmnist_resnet", "fmnist_vgg_robust", "fmnist_resnet_robust"]


def test_pairs_are_two_architectures_of_one_recipe():
    assert zoo.pair("offline") == ("fmnist_vgg", "fmnist_resnet")
    assert zoo.pair("robust") == ("fmnist_vgg_robust", "fmnist_resnet_robust")
    assert zoo.pair("imagenet") == ("vgg19", "densenet121")
    for name in zoo.PAIR_NAMES:
        a, b = zoo.pair(name)
        sa, sb = zoo.get_spec(a), zoo.get_spec(b)
        assert sa.architecture != sb.architecture and sa.robust == sb.robust
        assert zoo.twin_of(a) == b and zoo.twin_of(b) == a
    with pytest.raises(VizError, match="unknown pair"):
        zoo.pair("mystery")
    # the benchmarks read their pairs from the zoo
    assert recognisability.PAIRS == {p: zoo.pair(p) for p in ("offline", "robust")}
    assert protocol.PAIRS["imagenet"] == (("vgg19", "block5_conv1"),
                                          ("densenet121", "conv5_block12_0_bn"))
    assert protocol.PAIRS["robust"] == (("fmnist_vgg_robust", None),
                                        ("fmnist_resnet_robust", None))


@pytest.mark.parametrize("name", OFFLINE)
def test_robust_and_standard_twins_share_the_architecture(name):
    spec = zoo.get_spec(name)
    robust, standard = zoo.twin_of(name, "robust"), zoo.twin_of(name, "standard")
    assert (robust == name) == spec.robust and (standard == name) == (not spec.robust)
    assert zoo.get_spec(robust).robust and not zoo.get_spec(standard).robust
    assert zoo.get_spec(robust).architecture == zoo.get_spec(standard).architecture
    assert zoo.twin_of(zoo.twin_of(name, "robust"), "standard") == standard
    with pytest.raises(VizError, match="twin kind"):
        zoo.twin_of(name, "cousin")


@pytest.mark.parametrize("name", OFFLINE)
def test_the_judge_is_independent_of_both_pairs(name):
    judge = zoo.judge_for(name)
    assert judge == zoo.OFFLINE_JUDGE
    js = zoo.get_spec(judge)
    assert js.role == "judge" and not js.robust and js.pair == "" and js.presets == ""
    # another architecture family than the model and its twin of the pair
    twin = zoo.twin_of(name)
    assert js.architecture not in {zoo.get_spec(name).architecture,
                                   zoo.get_spec(twin).architecture}
    assert judge not in (name, twin)
    # the sweeps' "auto" judge is the same network
    assert cells.resolve_judge("auto", name) == judge
    assert zoo.judge_for(judge) is None  # a judge is not judged


def test_imagenet_models_have_no_offline_judge_and_pages_list_no_judge():
    assert zoo.judge_for("vgg19") is None and zoo.twin_of("vgg19") == "densenet121"
    assert zoo.twin_of("resnet18") is None and zoo.twin_of("resnet18", "robust") is None
    visual = zoo.visualised_models("offline")
    assert zoo.OFFLINE_JUDGE not in visual and set(OFFLINE) <= set(visual)


def test_presets_family():
    assert OFFLINE_PRESET_MODELS == OFFLINE
    for name in OFFLINE:
        assert zoo.presets_of(name) == name and name in PRESETS
    # the robust twins keep their architecture's schedule but maximise the log-probability
    for name in ("fmnist_vgg_robust", "fmnist_resnet_robust"):
        base = zoo.twin_of(name, "standard")
        assert task_preset(name, "am").class_score == "log_prob"
        assert task_preset(name, "am").stages == task_preset(base, "am").stages
    with pytest.raises(VizError, match="no offline preset"):
        task_preset(zoo.OFFLINE_JUDGE, "am")
