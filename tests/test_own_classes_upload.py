"""The Playground's .pt2 upload with class names (QA: verdicts read "class 1 36%"): the
names typed under the uploader go with the program, the verdicts name the classes, and
names typed later replace the upload's entry in the model box. A module Python cannot
import is not offered random weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import programs
from tests.own_nets import three_class_program

PG = "pages/1_Playground.py"


@pytest.fixture
def store(tmp_path, monkeypatch):
    from viz_core.store import RunStore

    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(path))
    return RunStore(path)


@pytest.fixture
def uploads(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "uploads"
    monkeypatch.setattr(programs, "upload_dir", lambda: root)
    return root


def test_class_names_typed_with_an_upload_name_the_verdicts(store, dash, uploads, tmp_path):
    path = tmp_path / "qa_tiny.pt2"
    three_class_program(path)
    at = dash.open(PG, steps=2, every=2)
    at.file_uploader(key="pg_pt2_file").upload("qa_tiny.pt2", path.read_bytes(),
                                                "application/octet-stream").run()
    dash.no_exception(at)
    bare = at.session_state["pg_model"]
    assert Path(bare).name == "qa_tiny.pt2"
    at.text_area(key="pg_pt2_classes").input("Apple\nBanana\nCherry").run()
    dash.no_exception(at)
    named = at.session_state["pg_model"]
    assert named != bare and programs.uploaded_program(named) == named
    box = at.selectbox(key="pg_model")
    ours = [o for o in box.options if o.startswith("qa_tiny.pt2")]  # replaced, not added
    assert ours == [f"qa_tiny.pt2  (uploaded program {Path(named).parent.name[:6]})"]
    at.selectbox(key="pg_target").set_value(1).run()
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    (run,) = [store.get(r.id) for r in store.list()]
    said = " ".join(str(v) for v in run.verdicts)
    assert "Banana" in said and "class 1" not in said


def test_a_module_that_cannot_be_imported_is_not_offered_random_weights(dash, tmp_path,
                                                                        monkeypatch):
    toml = tmp_path / "demons-viz.toml"
    toml.write_text('[[model]]\nname = "qa_tiny"\nsource = "qa_module_nowhere:make_net"\n'
                    "input_size = 32\nchannels = 1\n")
    monkeypatch.setenv("DEMONS_VIZ_MODELS", str(toml))
    at = dash.open(PG, model="qa_tiny")
    dash.no_exception(at)
    said = " ".join(dash.errors(at))
    assert "PYTHONPATH" in said and "restart" in said and "random" not in said, said
    assert "choose another model" in said.lower()
