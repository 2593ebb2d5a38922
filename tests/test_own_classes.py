"""The class names of an own ``.pt2`` program (QA: an upload's verdicts read "class 1 36%"):
a ``<name>.classes.txt`` beside the file or a ``classes.txt`` saved in the program names its
logits, as ``--classes FILE`` does; the dashboard's upload writes the names it is given
beside the program. And a module Python cannot import says how to make it importable, not
to try other weights."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dashboard import programs
from tests.own_nets import three_class_program
from viz_core import models
from viz_core.cli import main
from viz_core.errors import VizError
from viz_core.models.file_source import classes_path

FRUIT = ["Apple", "Banana", "Cherry"]


@pytest.fixture
def uploads(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "uploads"
    monkeypatch.setattr(programs, "upload_dir", lambda: root)
    return root


def test_a_program_alone_numbers_its_classes(tmp_path):
    assert models.open_model(str(three_class_program(tmp_path / "net.pt2"))).classes == \
        ["class 0", "class 1", "class 2"]


def test_a_sidecar_names_the_classes_and_a_given_list_wins(tmp_path):
    path = three_class_program(tmp_path / "net.pt2")
    classes_path(path).write_text("Apple\n\n Banana \nCherry\n", encoding="utf-8")
    assert classes_path(path).name == "net.classes.txt"
    model = models.open_model(str(path))
    assert model.classes == FRUIT and "net.classes.txt" in model.spec.description
    assert models.open_model(str(path), classes=["a", "b", "c"]).classes == ["a", "b", "c"]


def test_names_saved_in_the_program_name_its_classes(tmp_path):
    path = three_class_program(tmp_path / "net.pt2", saved=FRUIT)
    assert models.open_model(str(path)).classes == FRUIT
    classes_path(path).write_text("A\nB\nC\n")  # the sidecar beside it comes first
    assert models.open_model(str(path)).classes == ["A", "B", "C"]


def test_a_wrong_count_names_the_file_not_its_folder(tmp_path):
    path = three_class_program(tmp_path / "net.pt2")
    classes_path(path).write_text("Apple\nBanana\n")
    with pytest.raises(VizError) as err:
        models.open_model(str(path))
    text = str(err.value)
    assert err.value.field == "classes" and "2 class names" in text and "3 logits" in text
    assert "net.classes.txt" in text and str(tmp_path) not in text


def test_the_cli_verdict_names_the_sidecars_classes(tmp_path, capsys):
    path = three_class_program(tmp_path / "net.pt2")
    classes_path(path).write_text("\n".join(FRUIT))
    code = main(["visualize", "--model", str(path), "--target", "1", "--steps", "2",
                 "--out", str(tmp_path / "b.png"), "--no-store"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Banana" in out.out + out.err and "class 1" not in out.out + out.err


def test_an_upload_with_class_names_is_its_own_model(tmp_path, uploads):
    data = three_class_program(tmp_path / "net.pt2").read_bytes()
    bare = programs.save_program(data, "qa tiny.pt2")
    # without names: the folder and the file as before (old links keep working)
    assert Path(bare).parent.name == hashlib.sha256(data).hexdigest()[:16]
    assert not classes_path(bare).exists()
    named = programs.save_program(data, "qa tiny.pt2",
                                  classes=programs.class_names_text("Apple, Banana, Cherry"))
    assert named != bare and Path(named).name == "qa_tiny.pt2"
    assert classes_path(named).read_text(encoding="utf-8") == "Apple\nBanana\nCherry\n"
    assert programs.uploaded_program(named) == named
    assert programs.program_from_token(programs.program_token(named)) == named
    assert models.open_model(named).classes == FRUIT
    assert models.open_model(bare).classes == ["class 0", "class 1", "class 2"]
    # the same names again: the same model; other names: another one
    assert programs.save_program(data, "qa tiny.pt2", classes=FRUIT) == named
    assert programs.save_program(data, "qa tiny.pt2", classes=["x", "y", "z"]) != named


def test_typed_class_names_are_cleaned_and_bounded():
    assert programs.class_names_text("Apple\r\nBan\x00ana\n\n") == ["Apple", "Banana"]
    assert programs.class_names_text("a" * 500) == ["a" * programs.MAX_CLASS_CHARS]
    with pytest.raises(VizError, match="demons-viz.toml"):
        programs.class_names_text("\n".join(["x"] * (programs.MAX_CLASSES + 1)))


def test_a_module_python_cannot_import_says_how_to_fix_it(tmp_path, monkeypatch):
    with pytest.raises(VizError) as err:
        models.open_model("qa_no_such_module_here:make_net", input_size=16, channels=1)
    text = str(err.value)
    assert "PYTHONPATH" in text and "restart" in text and "random" not in text
    assert err.value.field == "model"
    # a package the module needs is an install, not a path
    (tmp_path / "needs_dep_here.py").write_text("import qa_missing_dep_xyz\n"
                                                "def f():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(VizError, match="needs 'qa_missing_dep_xyz': install it"):
        models.open_model("needs_dep_here:f", input_size=16, channels=1)
