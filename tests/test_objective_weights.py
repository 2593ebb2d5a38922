"""Weights of composable objectives (eqs. 1-4 combined with + - *): a weight that is not a
finite number or too large for single precision is refused by the parser, naming the weight
and where it is; an objective whose every term has weight 0 is refused (nothing to
optimise), while a zero-weighted term beside a non-zero one stays allowed."""

from __future__ import annotations

import pytest

from viz_core.cli import main
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.objectives import channel, diversity, parse_objective
from viz_core.objectives.algebra import MAX_WEIGHT, weight_problem


@pytest.mark.parametrize("text,shown,pos", [
    ("nan*channel(block3,5)", "'nan'", 1),
    ("inf*channel(block3,5)", "'inf'", 1),
    ("-inf*channel(block3,5)", "'inf'", 2),
    ("1e999*channel(block3,5)", "'1e999'", 1),
    ("1e300*channel(block3,5)", "'1e300'", 1),
    ("channel(block3,5) * NaN", "'NaN'", 21),
    ("channel(block3,5) - 1e300*diversity(block3)", "'1e300'", 21),
    ("1e200*1e200*channel(block3,5)", "'1e200'", 1),
    ("1e4*1e4*channel(block3,5)", "'1e4*1e4'", 1),
    ("channel(a,1) + 1e4*(1e4*channel(b,2))", "'1e4*(1e4*channel(b,2))'", 16),
])
def test_a_weight_that_is_not_finite_or_overflows_is_refused_where_it_is(text, shown, pos):
    with pytest.raises(VizError) as err:
        parse_objective(text)
    msg = str(err.value)
    assert "\n" not in msg and err.value.field == "objective"
    assert f"weight {shown}" in msg or shown in msg, msg
    assert f"at character {pos}" in msg, msg
    assert "finite" in msg or "too large" in msg


@pytest.mark.parametrize("text", ["0*channel(block3,5)", "-0*channel(block3,5)",
                                  "0*channel(block3,5) + 0*diversity(block3)",
                                  "channel(block3,5) - channel(block3,5)",
                                  "0.1*channel(a,1) + 0.2*channel(a,1) - 0.3*channel(a,1)"])
def test_every_term_weighted_zero_is_nothing_to_optimise(text):
    with pytest.raises(VizError, match="nothing to optimise") as err:
        parse_objective(text)
    assert err.value.field == "objective" and "\n" not in str(err.value)
    with pytest.raises(VizError, match="nothing to optimise"):
        RunConfig(model="fmnist_vgg", objective=text).validate()


@pytest.mark.parametrize("text", ["channel(block3,5) + 0*channel(block3,3)",
                                  "channel(block3,5) - 0*diversity(block3)",
                                  f"{MAX_WEIGHT:g}*channel(block3,5)",
                                  "1e-8*channel(block3,5)",
                                  "channel(a,1) - channel(a,1) + channel(a,2)"])
def test_finite_and_partly_zero_weights_stay_allowed(text):
    term = parse_objective(text)
    assert parse_objective(str(term)) == term


def test_non_finite_numbers_as_arguments_are_refused_at_parse_time():
    with pytest.raises(VizError, match="'vector' of direction must be finite"):
        parse_objective("direction(block3, [nan, 1])")


def test_python_algebra_refuses_the_same_weights(tiny_model):
    assert weight_problem(1.0) is None and weight_problem(-MAX_WEIGHT) is None
    assert "finite" in weight_problem(float("inf"))
    for k in (float("nan"), float("inf"), 1e300):
        with pytest.raises(VizError, match="weight"):
            k * channel("conv2", 1)
    with pytest.raises(VizError, match="weight"):
        channel("conv2", 1) - 1e200 * (1e200 * diversity("conv2"))
    # a term built in Python with every weight 0 is refused when it is bound to a model
    with pytest.raises(VizError, match="nothing to optimise"):
        (0 * channel("conv2", 1)).bind(tiny_model)
    (channel("conv2", 1) + 0 * channel("conv2", 2)).bind(tiny_model)


@pytest.mark.parametrize("objective,words", [
    ("nan*channel(block3,5)", ["'nan'", "character 1"]),
    ("1e300*channel(block3,5)", ["'1e300'", "character 1"]),
    ("0*channel(block3,5)", ["nothing to optimise"]),
])
def test_cli_refuses_before_the_run_on_one_line(tmp_path, capsys, objective, words):
    out = tmp_path / "o.png"
    assert main(["visualize", "--model", "fmnist_vgg", "--objective", objective, "--steps",
                 "2", "--quiet", "--no-store", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    for w in words:
        assert w in err, err
    assert "diverged" not in err and "no gradient" not in err and not out.exists()
