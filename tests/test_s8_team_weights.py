"""A team's entry may name a state_dict as its network's weights (``weights`` in
demons-viz.toml): the dashboard's "pretrained" and the CLI's default then run those
weights, and "random" still means random. The uploader's and the program error's words
point there (they had promised a route that did not exist)."""

from __future__ import annotations

import pytest
import torch

from tests.own_nets import branchy
from viz_core import models
from viz_core.errors import VizError


def _team(tmp_path, monkeypatch, weights_line: str) -> None:
    toml = tmp_path / "demons-viz.toml"
    toml.write_text('[[model]]\nname = "team_branchy"\nsource = "tests.own_nets:branchy"\n'
                    f'input_size = 32\nchannels = 1\n{weights_line}', encoding="utf-8")
    monkeypatch.setenv(models.TEAM_ENV, str(toml))


def _first_weight(lm) -> torch.Tensor:
    return next(p for p in lm.net.parameters()).detach().clone()


def test_an_entrys_state_dict_is_the_networks_own_weights(tmp_path, monkeypatch):
    trained = branchy()
    with torch.no_grad():
        for prm in trained.parameters():
            prm.add_(0.5)  # "trained": other weights than the factory's
    torch.save(trained.state_dict(), tmp_path / "state.pt")
    _team(tmp_path, monkeypatch, 'weights = "state.pt"\n')  # relative to the toml file
    entry = models.team_models()["team_branchy"]
    assert entry.weights == str((tmp_path / "state.pt").resolve())
    want = next(p for p in trained.parameters()).detach()
    for asked in (None, "pretrained", "default"):
        lm = models.open_model("team_branchy", weights=asked)
        torch.testing.assert_close(_first_weight(lm), want)
        assert lm.pretrained and "state.pt" in lm.label
    rand = models.open_model("team_branchy", weights="random")
    assert not rand.pretrained
    assert not torch.equal(_first_weight(rand), want)


def test_without_weights_the_factory_keeps_its_own(tmp_path, monkeypatch):
    _team(tmp_path, monkeypatch, "")
    assert models.team_models()["team_branchy"].weights is None
    lm = models.open_model("team_branchy")
    torch.testing.assert_close(_first_weight(lm), next(branchy().parameters()).detach())


def test_a_bad_weights_entry_is_one_clear_line(tmp_path, monkeypatch):
    _team(tmp_path, monkeypatch, "weights = 3\n")
    with pytest.raises(VizError, match="weights must be the path of a state_dict file"):
        models.team_models()
    _team(tmp_path, monkeypatch, 'weights = "gone.pt"\n')
    with pytest.raises(VizError, match="gone.pt"):
        models.open_model("team_branchy")


def test_the_words_point_to_a_route_that_exists(tmp_path):
    import inspect

    from dashboard import model_controls

    src = inspect.getsource(model_controls)
    assert "a state_dict or a TorchScript file: list it in demons-viz.toml" not in src
    assert "a state_dict there as the weights of its network's import string" in \
        " ".join(src.split()).replace('" "', "")
    bad = tmp_path / "x.pt2"
    torch.save(branchy().state_dict(), bad)
    with pytest.raises(VizError, match=r"a state_dict as weights= of its network's import "
                                       r"string, or list either in demons-viz.toml"):
        models.open_model(str(bad))


def test_a_second_upload_is_listed_beside_the_first(dash, tmp_path, monkeypatch):
    """Names typed under an upload replace its entry; another file uploaded in the same box
    is another entry (it had replaced the first one, which vanished from the box)."""
    from pathlib import Path

    from dashboard import programs
    from tests.own_nets import three_class_program

    monkeypatch.setattr(programs, "upload_dir", lambda: tmp_path / "uploads")
    first, second = tmp_path / "first.pt2", tmp_path / "second.pt2"
    three_class_program(first)
    three_class_program(second, ["x", "y", "z"])  # another file (it carries names)
    at = dash.open("pages/1_Playground.py", steps=2, every=2)
    up = at.file_uploader(key="pg_pt2_file")
    up.upload("first.pt2", first.read_bytes(), "application/octet-stream").run()
    at.text_area(key="pg_pt2_classes").input("a\nb\nc").run()  # replaces first's entry
    at.file_uploader(key="pg_pt2_file").upload("second.pt2", second.read_bytes(),
                                               "application/octet-stream").run()
    dash.no_exception(at)
    names = [o.split("  ")[0] for o in at.selectbox(key="pg_model").options
             if "uploaded program" in o]
    assert sorted(names) == ["first.pt2", "second.pt2"], names
    assert Path(at.session_state["pg_model"]).name == "second.pt2"


def test_the_grid_line_without_a_judge_says_why_and_names_the_measure():
    """Compare under the grid, for a class pre-image nobody independent judged: one's own
    network has no judge (the shipped one knows Fashion-MNIST); a Fashion-MNIST model's
    judge is merely not on this server; the best is named by the run's own measure."""
    import numpy as np

    from dashboard.results import Verdict, grid_summary
    from dashboard.runs import RunRecord
    from viz_core.config import RunConfig

    def record(model: str) -> RunRecord:
        cfg = RunConfig(model=model, task="am", target=2, class_score="log_prob")
        rec = RunRecord(["no regularization", "TV"], [cfg.to_json()] * 2, model, 4)
        rec.activation = [np.asarray([-0.959, -1.2])]
        rec.verdicts = [[Verdict("net", [("c", 0.4)], 0.38, {"target": "c", "chance": 1 / 3,
                                                           "role": "model"})]] * 2
        return rec

    own = grid_summary(record("own_three.pt2"))
    assert own.startswith("No independent judge of this network's classes: the shipped "
                          "judge knows Fashion-MNIST's."), own
    assert "Highest target log-probability: no regularization -0.959." in own
    zoo = grid_summary(record("fmnist_vgg"))
    assert zoo.startswith("No independent judge of this model's classes on this server "
                          "(fmnist_lenet_judge)."), zoo
