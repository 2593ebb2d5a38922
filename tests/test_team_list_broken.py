"""A team's model list (demons-viz.toml) that cannot be read blocks its own names only:
zoo models, network files and the CLI's model list go on, and a name that only the list
could know says why it is unknown."""

from __future__ import annotations

import pytest

from viz_core import models
from viz_core.cli import main as cli_main
from viz_core.errors import VizError


@pytest.fixture(params=["invalid", "missing"])
def broken_list(request, tmp_path, monkeypatch):
    """$DEMONS_VIZ_MODELS names a file that is not TOML, or one that does not exist;
    returns the words of the list's own error."""
    p = tmp_path / "demons-viz.toml"
    if request.param == "invalid":
        p.write_text("[[model\nname = 'x'\n", encoding="utf-8")
        words = "is not valid TOML"
    else:
        words = "which does not exist"
    monkeypatch.setenv(models.TEAM_ENV, str(p))
    return words


def test_a_zoo_model_opens_and_is_known(broken_list):
    lm = models.open_model("fmnist_vgg")
    assert lm.spec.name == "fmnist_vgg"
    assert models.is_known_name("fmnist_vgg")
    assert models.contract_not_applying("fmnist_vgg") == models.CONTRACT
    with pytest.raises(VizError, match="input_size does not apply to fmnist_vgg"):
        models.open_model("fmnist_vgg", input_size=32)


def test_a_name_only_the_list_could_know_says_why(broken_list):
    assert not models.is_known_name("team_net")
    with pytest.raises(VizError) as err:
        models.open_model("team_net")
    text = str(err.value)
    assert text.startswith("unknown model 'team_net'")
    assert "The team's model list cannot be read" in text and broken_list in text
    entries, error = models.team_models_or_error()
    assert entries == {} and broken_list in str(error)


def test_the_cli_lists_the_zoo_and_warns(broken_list, capsys):
    assert cli_main(["models"]) == 0
    out, err = capsys.readouterr()
    assert "fmnist_vgg" in out and "vgg19" in out
    assert err.startswith("warning: the team's models are not listed:") and broken_list in err


def test_the_cli_runs_a_zoo_model(broken_list, tmp_path, capsys):
    out = tmp_path / "x.png"
    assert cli_main(["visualize", "--model", "fmnist_vgg", "--target", "1", "--steps", "2",
                     "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    assert cli_main(["visualize", "--model", "team_net", "--steps", "2",
                     "--out", str(tmp_path / "y.png")]) == 2
    assert "The team's model list cannot be read" in capsys.readouterr().err


def test_a_readable_list_still_names_its_models(tmp_path, monkeypatch):
    p = tmp_path / "demons-viz.toml"
    p.write_text("[[model]]\nname = 'team_net'\nsource = 'timm:resnet18'\n", encoding="utf-8")
    monkeypatch.setenv(models.TEAM_ENV, str(p))
    entries, error = models.team_models_or_error()
    assert error is None and list(entries) == ["team_net"]
    assert models.is_known_name("team_net")


def test_the_playground_says_why_and_runs_a_zoo_model(broken_list, dash):
    at = dash.open("pages/1_Playground.py", steps=2, every=1)
    dash.no_exception(at)
    assert any(broken_list in e.value for e in at.error)  # under the model box
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    assert any("done: 2 steps" in s.value for s in at.success), [s.value for s in at.success]
