"""A team's import-string model is found beside its demons-viz.toml: the package needs no
PYTHONPATH of its own (a fresh interpreter started in another folder, as a server is)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NET = '''
import torch.nn as nn


def make():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 3))
'''

TOML = '''
[[model]]
name = "team_tiny"
source = "teamnets_beside.tiny:make"
input_size = 16
channels = 1
classes = ["a", "b", "c"]
'''

SCRIPT = '''
from viz_core import models
from viz_core.config import RunConfig
from viz_core.engine import run_to_end
m = models.open_model("team_tiny")
print("classes", m.classes)
r = run_to_end(RunConfig(model="team_tiny", target=1, steps=3), m, keep_frames=False)
print("steps", r.final.step)
'''


def _python(code: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_team_package_beside_the_toml_opens_without_pythonpath(tmp_path):
    team = tmp_path / "team"
    (team / "teamnets_beside").mkdir(parents=True)
    (team / "teamnets_beside" / "__init__.py").write_text("")
    (team / "teamnets_beside" / "tiny.py").write_text(NET)
    (team / "demons-viz.toml").write_text(TOML)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "DEMONS_VIZ_MODELS": str(team / "demons-viz.toml")}
    r = _python(SCRIPT, elsewhere, env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "classes ['a', 'b', 'c']" in r.stdout and "steps 3" in r.stdout
    # the same import string outside the team's list still needs the package on the path,
    # and says so
    r = _python("from viz_core import models\n"
                "models.open_model('teamnets_beside.tiny:make', input_size=16, channels=1)",
                elsewhere, {k: v for k, v in env.items() if k != "DEMONS_VIZ_MODELS"})
    assert r.returncode != 0 and "PYTHONPATH" in r.stderr, r.stderr[-2000:]
