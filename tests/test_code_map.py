"""The README's code map names every module of the two packages (the developers' guide:
keep the code map true)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def code_map() -> str:
    """The code map: the README's block from ``app.py`` to ``scripts/``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\napp.py ")
    return text[start:text.index("\nscripts/ ", start)]


def test_every_module_of_dashboard_and_viz_core_is_named_in_the_code_map():
    names = code_map()
    missing = [str(f.relative_to(ROOT)) for pkg in ("dashboard", "viz_core")
               for f in sorted((ROOT / pkg).rglob("*.py"))
               if f.stem not in ("__init__", "__main__")
               and not re.search(rf"\b{re.escape(f.stem)}\b", names)]
    assert not missing, f"modules the README's code map does not name: {missing}"


def test_every_page_file_is_named_in_the_code_map_or_the_navigation():
    nav = (ROOT / "dashboard" / "navigation.py").read_text(encoding="utf-8")
    missing = [f.name for f in sorted((ROOT / "pages").glob("*.py")) if f.name not in nav]
    assert not missing, missing
