"""The layers import one way (pages -> dashboard -> viz_core; scripts -> viz_core), read
from the source with ``ast`` so that the rule stays true without running anything."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What the library never imports, not even inside a function (its figures are plain
#: plotly.js specifications, viz_core.figures).
LIBRARY_FORBIDDEN = ("dashboard", "views", "pages", "scripts", "app", "streamlit", "plotly")


def imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level?) for every import in ``path``, including
    ``importlib.import_module("x")`` and ``__import__("x")`` with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id == "__import__"))):
            names = [node.args[0].value]
        out += [(n, id(node) in top) for n in names]
    return out


def _root(module: str) -> str:
    return module.split(".")[0]


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_parser_sees_every_kind_of_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import a.b\nfrom c import d\nimport importlib\n"
                 "def g():\n    import plotly\n    importlib.import_module('dashboard.x')\n"
                 "    __import__('streamlit')\n")
    assert sorted(imports(f)) == sorted([("a.b", True), ("c", True), ("importlib", True),
                                         ("plotly", False), ("dashboard.x", False),
                                         ("streamlit", False)])


@pytest.mark.parametrize("path", _files("viz_core"), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_viz_core_imports_no_front_end(path):
    rel = path.relative_to(ROOT).as_posix()
    bad = []
    for module, _ in imports(path):
        if _root(module) in LIBRARY_FORBIDDEN:
            bad.append(module)
    assert not bad, f"{rel} imports {bad}"


@pytest.mark.parametrize("path", _files("scripts"), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_scripts_never_import_the_dashboard(path):
    bad = [m for m, _ in imports(path) if _root(m) in ("dashboard", "views", "pages",
                                                      "streamlit")]
    assert not bad, f"{path.name} imports {bad}"


def test_sweeps_and_evaluation_depend_one_way():
    """Evaluation may use the sweeps' executors; the sweeps never import evaluation."""
    for path in _files("viz_core/sweeps"):
        bad = [m for m, _ in imports(path) if m.startswith("viz_core.evaluation")]
        assert not bad, f"{path.name} imports {bad}"


def test_the_rule_catches_a_violation(tmp_path):
    """The check fails on a library module that imports the dashboard lazily."""
    f = tmp_path / "bad.py"
    f.write_text("def f():\n    from dashboard.plots import table1_figure\n")
    assert [m for m, _ in imports(f) if _root(m) in LIBRARY_FORBIDDEN] == ["dashboard.plots"]
