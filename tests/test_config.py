"""RunConfig: validation with one error type, JSON round trip."""

import math

import pytest

from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.kernels import KernelSpec
from viz_core.transforms import Octave, parse_octaves


def test_json_round_trip_keeps_every_field():
    cfg = RunConfig(model="fmnist_vgg", target=3, fluid=KernelSpec("sobolev", 0.4, 9, 2),
                    elastic=KernelSpec("gaussian", None, 11), tv=0.1, elastic_every=4,
                    octaves=[Octave(1.0, 10, 5.0), Octave(1.2, 5, 2.0)], jitter=0.1,
                    seed=9, unit=None, every=3, name="cell")
    text = cfg.to_json(final_objective=-1.5, seconds=2.0)
    back = RunConfig.from_json(text)
    assert back == cfg
    assert RunConfig.from_json(back.to_json()) == cfg


def test_optimizer_round_trips_and_old_jsons_load_as_demons():
    cfg = RunConfig(target=2, optimizer="adam", adam_betas=(0.8, 0.99), adam_eps=1e-6,
                    step_size=3.0)
    back = RunConfig.from_json(cfg.to_json())
    assert back == cfg and back.adam_betas == (0.8, 0.99)
    old = {k: v for k, v in RunConfig(target=2).to_dict().items()
           if k not in ("optimizer", "adam_betas", "adam_eps")}
    loaded = RunConfig.from_dict(old)
    assert loaded.optimizer == "demons" and loaded.adam_betas == (0.9, 0.999)


def test_schedule_defaults_to_one_octave():
    cfg = RunConfig(target=1, steps=7, step_size=3.0)
    assert cfg.schedule == [Octave(1.0, 7, 3.0)]
    assert RunConfig(target=1, octaves=parse_octaves("1:3:1,1.1:4:2")).total_steps == 7


@pytest.mark.parametrize("kw,field", [
    ({"step_size": -1.0}, "step_size"), ({"step_size": math.nan}, "step_size"),
    ({"step_size": math.inf}, "step_size"), ({"step_size": 0.0}, "step_size"),
    ({"tv": -0.5}, "tv"), ({"tv": math.nan}, "tv"), ({"steps": 0}, "steps"),
    ({"task": "dream"}, "task"), ({"jitter": -1}, "jitter"), ({"device": "tpu"}, "device"),
    ({"target": None}, "target"), ({"layer": "conv1"}, "channel"),
    ({"fluid": KernelSpec("gaussian", -2.0)}, "sigma"),
    ({"elastic": KernelSpec("sobolev", None, 8)}, "kernel_size"),
    ({"elastic": KernelSpec("spectral", 1.0)}, "elastic"),
    ({"octaves": []}, None), ({"elastic_every": 0}, "elastic_every"),
    ({"optimizer": "sgd"}, "optimizer"), ({"adam_betas": (0.9, 1.0)}, "adam_betas"),
    ({"adam_betas": (0.9,)}, "adam_betas"), ({"adam_eps": 0.0}, "adam_eps"),
])
def test_bad_values_raise_viz_error_naming_the_field(kw, field):
    base = {"target": 1}
    base.update(kw)
    if "octaves" in kw:
        with pytest.raises(VizError):
            parse_octaves("")
        return
    with pytest.raises(VizError) as err:
        RunConfig(**base).validate()
    assert err.value.field == field
    assert str(err.value)


@pytest.mark.parametrize("text", ["", "1.0:100", "a:b:c", "1.0:10:0", "9:10:1", "1:-3:1"])
def test_malformed_octaves(text):
    with pytest.raises(VizError):
        parse_octaves(text)


def test_bad_json_is_a_viz_error():
    for text in ["{", "[]", '{"steps": "many", "target": 1}', '{"fluid": "blur:2", "target": 1}']:
        with pytest.raises(VizError):
            RunConfig.from_json(text)


def test_kernels_given_as_text_or_dicts_are_parsed_and_others_refused():
    """``RunConfig(fluid="sobolev")``, the README's KIND[:PARAM] form, in Python as in a run
    JSON (before: AttributeError: 'str' object has no attribute 'kind')."""
    c = RunConfig(target=3, fluid="sobolev:0.38",
                  elastic={"kind": "gaussian", "param": 1.0, "size": 9})
    assert c.fluid == KernelSpec("sobolev", 0.38, 11)
    assert c.elastic == KernelSpec("gaussian", 1.0, 9)
    assert c.validate() is c
    with pytest.raises(VizError, match="fluid must be a KernelSpec"):
        RunConfig(fluid=3)
    with pytest.raises(VizError, match="not a number"):
        RunConfig(elastic="sobolev:wide")


def test_numpy_integers_are_integers():
    """A notebook's ``np.int64(1)`` (an argmax, an index from an array) is a class index
    like 1 (QA: "target must be an integer, got np.int64(1)")."""
    import numpy as np

    c = RunConfig(target=np.int64(3), seed=np.int32(2)).validate()
    assert (c.target, c.seed) == (3, 2) and type(c.target) is int and type(c.seed) is int
    u = RunConfig(layer="block2", channel=np.int64(1), unit=(np.int64(0), np.int64(2)))
    assert u.validate().unit == (0, 2) and type(u.channel) is int
    with pytest.raises(VizError, match="target must be an integer"):
        RunConfig(target=1.5).validate()
    with pytest.raises(VizError, match="target must be an integer"):
        RunConfig(target=True).validate()
