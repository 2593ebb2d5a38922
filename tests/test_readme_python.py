"""The README's Python examples run as written (a README example that fails is a defect the
reader meets first). ``my_net`` is the reader's own network: a small CNN here; the Lucent
block is the comparison, not ours, and is left out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from torch import nn

from viz_core import models

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


class _Mine(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

    def forward(self, x):
        return self.head(self.block(x))


def test_the_readme_has_its_python_examples():
    assert len(BLOCKS) >= 3, "the README's Python examples went missing"


@pytest.mark.parametrize("code", [b for b in BLOCKS if "lucent" not in b],
                         ids=lambda b: b.splitlines()[0][:40])
def test_a_readme_python_example_runs(code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # files it writes (runs.sqlite) stay in the test's folder
    code = code.replace("steps=40", "steps=4")  # the same calls, fewer steps
    ns = {"my_net": _Mine().eval()}
    try:
        exec(compile(code, "README.md", "exec"), ns)
    finally:
        models.unregister("mine")
    if "differing_settings" in code:
        out = capsys.readouterr().out
        assert "{'step_size': [2.0, 5.0]}" in out and "judge_target_prob" in out
