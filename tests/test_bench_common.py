"""What every benchmark script shares (bench/common.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_benchmarks_keep_their_runs_out_of_the_users_history(tmp_path):
    """bench/common.py points DEMONS_VIZ_STORE at a store of its own when it is unset (a
    benchmark's pages would otherwise fill the History of whoever runs it), and keeps a
    store the caller set."""
    import os
    import subprocess
    import sys

    code = ("import os, sys; sys.path.insert(0, 'bench'); import common; "
            "print(os.environ['DEMONS_VIZ_STORE'])")
    env = {k: v for k, v in os.environ.items() if k != "DEMONS_VIZ_STORE"}
    env["HOME"] = str(tmp_path)
    own = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                         capture_output=True, check=True).stdout.strip()
    assert own.endswith("runs.sqlite") and "demons-viz-bench-" in own
    assert not own.startswith(str(tmp_path))
    kept = subprocess.run([sys.executable, "-c", code], cwd=ROOT, text=True, check=True,
                          env={**env, "DEMONS_VIZ_STORE": str(tmp_path / "mine.sqlite")},
                          capture_output=True).stdout.strip()
    assert kept == str(tmp_path / "mine.sqlite")


@pytest.mark.parametrize("script", ["first_run.py", "dashboard_messages.py"])
def test_a_bench_script_finds_the_dashboard_package_with_the_repository_on_pythonpath(script):
    """With PYTHONPATH naming the repository (as the README's commands do), bench/ still
    comes first on the path of a script run from it: ``import dashboard`` must find the
    package, not bench/dashboard.py."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(root / "bench" / script), "--help"],
                         env={**os.environ, "PYTHONPATH": str(root)}, cwd=root,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "usage:" in out.stdout
