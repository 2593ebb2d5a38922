"""The examples in the docstrings (``>>>``) of the core and the dashboard glue are run, so
that they stay true."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for pkg in ("viz_core", "dashboard") for p in (ROOT / pkg).rglob("*.py")
    if ">>>" in p.read_text(encoding="utf-8"))


def test_the_examples_are_found():
    assert {"dashboard.streaming", "dashboard.page", "viz_core.cli.common"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name.removesuffix(".__init__"))
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name}: no example ran"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"

