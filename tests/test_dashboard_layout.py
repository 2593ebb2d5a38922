"""The dashboard's modules by job: the plain-data ones import without Streamlit, and no
module looks at the disk (weights, presets) when it is imported - defaults are computed on
first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAIN = ["dashboard.runs", "dashboard.urlstate", "dashboard.messages", "dashboard.samples",
         "dashboard.scheme_names", "dashboard.settings.playground", "dashboard.settings.compare",
         "dashboard.settings.explainers", "dashboard.settings.checks", "dashboard.navigation",
         "dashboard.results", "dashboard.streaming", "dashboard.engine_worker"]


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_plain_modules_import_without_streamlit():
    code = f"import sys\nfor m in {PLAIN!r}: __import__(m)\nprint('streamlit' in sys.modules)"
    assert _python(code) == "False"


def test_no_weights_are_looked_at_on_import_only_on_first_use():
    code = """
import viz_core.models as models
calls = []
real = models.weights_status
models.weights_status = lambda name: calls.append(name) or real(name)
import dashboard.settings.playground as pg, dashboard.settings.compare as cmp
import dashboard.sweeps_view as sv
print(len(calls))
d = pg.playground_defaults()
assert cmp.compare_defaults()["model"] == d["model"] == sv.sweep_defaults()["model"]
print(len(calls) > 0, d["model"] in (pg.DASHBOARD_MODEL, pg.DEFAULT_MODEL))
"""
    assert _python(code).split() == ["0", "True", "True"]


def test_defaults_are_read_only():
    code = """
from dashboard.settings.playground import playground_defaults
try:
    playground_defaults()["steps"] = 1
except TypeError:
    print("read-only")
"""
    assert _python(code) == "read-only"


def test_pandas_is_imported_whole_before_any_page_runs():
    """plotly and Streamlit look pandas up in ``sys.modules`` without importing it: the
    module every page imports first (``app.py``'s) imports it, so that no session's chart
    meets a half-imported pandas while another session's thread imports it."""
    out = _python("import sys; import dashboard.page; m = sys.modules.get('pandas'); "
                  "print(m is not None and hasattr(m, 'Series'))")
    assert out.strip().splitlines()[-1] == "True", out
