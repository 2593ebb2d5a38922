"""A class target a zoo model lacks is refused when the sweep is validated (the logits of
the data term, eq. 4): on the Sweeps page next to its control with Run disabled, and by
``demons-viz sweep`` in one line (exit 2) before any cell runs. A sweep that fails at run
time (a model whose classes are known only once loaded) leaves no pending cells or Stop
button on the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from viz_core.cli import main
from viz_core.errors import VizError

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGE = "pages/6_Sweeps.py"
BASE = ["--model", "fmnist_vgg", "--task", "am", "--steps", "2", "--elastic", "sobolev",
        "--judge", "none", "--quiet", "--threads", "1", "--no-store"]


# ----------------------------------------------------------------------------- CLI

@pytest.mark.parametrize("args, says", [
    (["--target", "3", "--axis", "target=7,12"],
     "error: axis 'target': class index 12 out of range 0..9 for fmnist_vgg"),
    (["--target", "12", "--axis", "seed=1,2"],
     "error: class index 12 out of range 0..9 for fmnist_vgg (--target)"),
])
def test_cli_refuses_a_class_the_model_lacks_before_any_cell_runs(
        tmp_path, capsys, monkeypatch, args, says):
    import viz_core.cli.sweep as cli_sweep

    def no_run(*a, **kw):
        raise AssertionError("the sweep started: the class was not checked at validation")

    monkeypatch.setattr(cli_sweep, "run_sweep", no_run)
    out = tmp_path / "D"
    rc = main(["sweep", *BASE, *args, "--out", str(out)])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2 and lines == [says], err
    assert not out.exists()


# ----------------------------------------------------------------------------- page

def _page(dash, **params) -> AppTest:
    at = dash.open(PAGE, **params)
    assert not at.exception, [e.value for e in at.exception]
    return at


def _said(elements) -> list[str]:
    return [e.value.replace("\\", "") for e in elements]  # plain(): markdown escaped


@pytest.mark.parametrize("params, says", [
    ({"axis1": "target", "values1": "7,12", "axis2": "none"},
     "axis 'target': class index 12 out of range 0..9 for fmnist_vgg"),
    ({"target": 12, "axis1": "seed", "values1": "1,2", "axis2": "none"},
     "class index 12 out of range 0..9 for fmnist_vgg"),
])
def test_page_refuses_a_class_the_model_lacks_before_run(dash, params, says):
    at = _page(dash, model="fmnist_vgg", steps=3, **params)
    assert at.button(key="sw_run").disabled
    side = _said(at.sidebar.error)
    assert len(side) == 1 and side[0] == says, side  # next to its control, no flag
    assert not any("cells ·" in c.value for c in at.caption)


def test_a_failed_sweep_leaves_nothing_pending(dash, monkeypatch):
    """The first batch finishes, then the sweep fails (as a model loaded only at run time
    may): the finished cell is shown, the other says it was not run, no "waiting ..." or
    Stop button stays behind."""
    import viz_core.sweeps as sweeps

    real = sweeps.run_sweep

    class Boom(Exception):
        pass

    def failing(sweep, out, executor, *, progress, **kw):
        def first_only(p):
            progress(p)
            if p.result is not None:
                raise Boom()

        try:
            return real(sweep, out, executor, progress=first_only, **kw)
        except Boom:
            raise VizError("class index 12 out of range 0..9", field="target") from None

    monkeypatch.setattr(sweeps, "run_sweep", failing)
    at = _page(dash, steps=3, axis1="weights", values1="trained,random", axis2="none")
    at.button(key="sw_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["sw_result"]["status"] == "error"
    assert any("failed after 1 of 2 cells" in e for e in _said(at.error))
    captions = [c.value for c in at.caption]
    assert not any("waiting" in c for c in captions), captions
    assert "not run (the sweep failed)" in captions
    assert len([c for img in at.image for c in img.captions]) == 1
    assert not [b for b in at.button if b.key == "sw_stop"]


def test_a_sweep_failing_at_once_leaves_no_placeholders(dash, monkeypatch):
    import viz_core.sweeps as sweeps

    def failing(sweep, out, executor, *, progress, **kw):
        raise VizError("class index 12 out of range 0..9", field="target")

    monkeypatch.setattr(sweeps, "run_sweep", failing)
    at = _page(dash, steps=3, axis1="seed", values1="1,2", axis2="none")
    at.button(key="sw_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("failed after 0 of 2 cells" in e for e in _said(at.error))
    assert not any("waiting" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == "sw_stop"]
    assert not at.get("progress")
