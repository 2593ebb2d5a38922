"""Uploaded ``.pt2`` programs in links and in the loader: a link opens only a program of the
server's upload folder (never any other file on its disk, ``..`` or not), carries a
path-free token, and a program the tool cannot use says why in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from dashboard import programs
from dashboard.urlstate import decode, encode
from viz_core import models
from viz_core.errors import VizError


class _Net(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 4, 3, padding=1)
        self.head = nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x).mean(dim=(2, 3)))


def _program(path: Path, channels: int = 1, h: int = 16, w: int = 16) -> Path:
    program = torch.export.export(_Net(channels).eval(), (torch.rand(1, channels, h, w),))
    torch.export.save(program, str(path))
    return path


@pytest.fixture
def uploads(tmp_path, monkeypatch) -> Path:
    """The server's upload folder, here a fresh one."""
    root = tmp_path / "uploads"
    monkeypatch.setattr(programs, "upload_dir", lambda: root)
    return root


def _climb(root: Path) -> str:
    """``root/../../..`` up to ``/``."""
    return "/".join([str(root)] + [".."] * (len(root.resolve().parts) - 1))


# ----------------------------------------------------------------------------- the folder

def test_only_files_of_the_upload_folder_are_programs(tmp_path, uploads):
    outside = _program(tmp_path / "rgb32.pt2")
    saved = programs.save_program(outside.read_bytes(), "my net.pt2")
    assert Path(saved).parent.parent == uploads and Path(saved).name == "my_net.pt2"
    assert programs.uploaded_program(saved) == saved
    assert programs.uploaded_program(str(outside)) is None
    assert programs.uploaded_program(_climb(uploads) + str(outside)) is None
    assert programs.uploaded_program(str(uploads / ".." / "rgb32.pt2")) is None
    assert programs.uploaded_program(str(Path(saved).with_name("other.pt2"))) is None
    link = Path(saved).parent / "link.pt2"
    link.symlink_to(outside)
    assert programs.uploaded_program(str(link)) is None


def test_a_link_carries_a_token_not_the_servers_path(tmp_path, uploads):
    saved = programs.save_program(_program(tmp_path / "tiny.pt2").read_bytes(), "tiny.pt2")
    q = encode({"model": saved}, {"model": "fmnist_vgg"})
    assert q["model"] == f"upload:{Path(saved).parent.name}/tiny.pt2"
    assert str(uploads) not in q["model"]
    values, notices = decode(q, {"model": "fmnist_vgg"})
    assert values["model"] == saved and not notices
    assert programs.program_from_token("upload:../../etc/x.pt2") == "upload:../../etc/x.pt2"
    assert encode({"model": str(tmp_path / "tiny.pt2")}, {"model": "x"})["model"] \
        == str(tmp_path / "tiny.pt2")  # not an upload: no token, and refused by the page


# ----------------------------------------------------------------------------- the loader

@pytest.mark.parametrize("channels", [1, 3])
def test_a_non_square_program_says_it_needs_square_inputs(tmp_path, channels):
    file = _program(tmp_path / "odd.pt2", channels, 17, 23)
    with pytest.raises(VizError, match=r"takes 17x23 images; the tool needs square inputs "
                                       r"\(HxH\): export it at a square size"):
        models.open_model(str(file))


def test_a_program_s_input_shape_is_read_from_it(tmp_path):
    model = models.open_model(str(_program(tmp_path / "gray17.pt2", 1, 17, 17)))
    assert (model.spec.channels, model.spec.input_size) == (1, 17)
    assert list(model.classes) == [f"class {i}" for i in range(10)]


def test_a_file_that_is_not_a_program_says_so(tmp_path):
    bad = tmp_path / "corrupt.pt2"
    bad.write_bytes(b"not a zip archive")
    with pytest.raises(VizError) as err:
        models.open_model(str(bad))
    assert str(err.value) == ("corrupt.pt2 is not a torch.export program (.pt2): File is not "
                              "a zip file. Export it with torch.export.save (see the README); "
                              "a state_dict or a TorchScript file is no program: give a "
                              "TorchScript file as model=, a state_dict as weights= of its "
                              "network's import string, or list either in demons-viz.toml (a "
                              "state_dict as an entry's weights)")


def test_a_state_dict_given_as_a_program_points_nowhere_the_user_cannot_see(tmp_path):
    """torch's message ends in "Please check the warnings above", which a dashboard user
    never sees: the sentence is dropped, and where a state_dict goes is said."""
    sd = tmp_path / "weights.pt2"
    torch.save({"w": torch.zeros(2)}, str(sd))
    with pytest.raises(VizError) as err:
        models.open_model(str(sd))
    assert "warnings above" not in str(err.value)
    assert "a state_dict or a TorchScript file is no program" in str(err.value)


# ----------------------------------------------------------------------------- the page

def _warnings(dash, at) -> str:
    return " ".join(dash.shown(w.value) for w in at.warning)


def test_a_link_cannot_open_a_file_outside_the_upload_folder(dash, tmp_path, uploads):
    from dashboard.settings.playground import playground_defaults

    outside = str(_program(tmp_path / "rgb32.pt2", 3, 32, 32))
    default = playground_defaults()["model"]
    for name in (outside, _climb(uploads) + outside):
        at = dash.open("pages/1_Playground.py", model=name)
        dash.no_exception(at)
        assert at.session_state["pg_model"] == default
        said = _warnings(dash, at)
        assert "'rgb32.pt2' is not available here" in said and "upload it again" in said
        box = at.selectbox(key="pg_model")
        assert "uploaded program" not in " ".join(str(o) for o in box.options)


def test_a_link_to_an_uploaded_program_opens_it(dash, tmp_path, uploads):
    saved = programs.save_program(_program(tmp_path / "tiny.pt2").read_bytes(), "tiny.pt2")
    token = f"upload:{Path(saved).parent.name}/tiny.pt2"
    at = dash.open("pages/1_Playground.py", model=token)
    dash.no_exception(at)
    assert at.session_state["pg_model"] == saved
    assert not dash.errors(at)
    assert at.query_params["model"] in (token, [token])
    assert at.selectbox(key="pg_target").options[:2] == ["class 0", "class 1"]


def test_a_corrupt_upload_says_what_to_do(dash, uploads):
    saved = programs.save_program(b"not a zip archive", "corrupt.pt2")
    at = dash.open("pages/1_Playground.py", model=saved)
    dash.no_exception(at)
    said = " ".join(dash.errors(at))
    assert ("corrupt.pt2 is not a torch.export program (.pt2): File is not a zip file. "
            "Export it with torch.export.save (see the README); a state_dict or a TorchScript "
            "file is no program") in said
    assert "'random' weights" not in said
    # nothing to run: no "Press Run to start" beside the reason
    assert not any("Press **Run**" in i.value for i in at.info)
    assert any("Nothing to run" in c.value for c in at.caption)


def test_a_half_written_program_on_the_command_line_is_one_line(tmp_path):
    """torch.export logs its own traceback of a damaged archive; the CLI says one line."""
    import os
    import subprocess
    import sys

    whole = _program(tmp_path / "whole.pt2")
    half = tmp_path / "half.pt2"
    data = whole.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-m", "viz_core", "visualize", "--model", str(half), "--steps", "2",
         "--out", str(tmp_path / "x.png"), "--no-store"], capture_output=True, text=True,
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(root)}, timeout=300)
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in out.stderr, out.stderr
    assert len(lines) == 1 and "is not a torch.export program" in lines[0], out.stderr


def test_a_run_of_an_uploaded_program_records_its_token(dash, tmp_path, uploads,
                                                         monkeypatch):
    """The run JSON the dashboard writes (store, downloads) names an uploaded program by
    its token, not the server's path; the CLI says what such a name is."""
    import json

    from viz_core.store import RunStore

    monkeypatch.setenv("DEMONS_VIZ_STORE", str(tmp_path / "runs.sqlite"))
    saved = programs.save_program(_program(tmp_path / "tiny.pt2").read_bytes(), "tiny.pt2")
    token = f"upload:{Path(saved).parent.name}/tiny.pt2"
    at = dash.open("pages/1_Playground.py", model=token, steps=3, every=3)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    store = RunStore(str(tmp_path / "runs.sqlite"))
    (run,) = [store.get(r.id) for r in store.list()]
    assert run.config["model"] == token and str(uploads) not in json.dumps(run.config)
    (rec,) = at.session_state["pg_records"]
    assert json.loads(rec.json())["model"] == token and str(uploads) not in rec.json()
    with pytest.raises(VizError, match="uploaded to a dashboard, known only to that server"):
        models.open_model(token)


def test_sweeps_offer_this_sessions_upload_and_take_it_from_the_playground(tmp_path, uploads,
                                                                           dash):
    """The Sweeps page offers the models the Playground offers (the zoo, the team's, this
    session's uploads): "Take the Playground's current setting" keeps an uploaded program
    (before, it fell back to the default model with the server's path in a notice)."""
    from dashboard.model_controls import UPLOADED
    from dashboard.settings.playground import playground_defaults

    saved = programs.save_program(_program(tmp_path / "net.pt2").read_bytes(), "net.pt2")
    at = dash.open("pages/6_Sweeps.py")
    at.session_state[UPLOADED] = [saved]
    at.session_state["pg__saved"] = {**playground_defaults(), "model": saved, "target": 3}
    at.button(key="sw_take").click().run()
    dash.no_exception(at)
    assert at.session_state["sw_model"] == saved and at.session_state["sw_target"] == 3
    shown = " ".join(w.value for w in at.warning) + " ".join(i.value for i in at.info)
    assert "not available" not in shown and str(uploads) not in shown
    assert any(o.startswith("net.pt2  (uploaded program")
               for o in at.selectbox(key="sw_model").options)
