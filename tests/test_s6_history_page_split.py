"""The History page is thin (pages stay layout): the selection's state, the tags and note
form, delete with undo and the "store changed since drawn" check live in
``dashboard.history_edit``, the table's columns in ``dashboard.history_table``; every
module stays within 400 lines. What they do is unchanged (the History page tests), and
the moved pieces work on their own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dashboard import history_edit as he
from viz_core.images import png_bytes
from viz_core.store import RunRecord, RunStore

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "pages" / "7_History.py"
MODULES = ["dashboard/history_edit.py", "dashboard/history_table.py",
           "dashboard/history_view.py", "dashboard/run_history.py",
           "viz_core/cli/history.py"]


def test_the_page_is_layout_and_every_module_fits_400_lines():
    text = PAGE.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200  # was 332
    for logic in ("st.form(", "st.fragment", ".set_tags(", ".set_note(", ".delete(",
                  ".restore(", "store_stamp", "st.query_params", "PIL"):
        assert logic not in text, logic
    for m in MODULES:
        assert len((ROOT / m).read_text(encoding="utf-8").splitlines()) <= 400, m


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("DEMONS_VIZ_STORE", str(path))
    return RunStore(path)


def _add(store: RunStore, i: int, side: int = 28) -> str:
    cfg = {"model": "fmnist_vgg", "task": "am", "target": 3, "steps": 10, "seed": i}
    img = png_bytes(np.random.default_rng(i).random((1, side, side), dtype=np.float32))
    return store.add(RunRecord(config=cfg, model="fmnist_vgg", task="am", scheme="plain",
                               started=1e9 + i, ended=1e9 + i + 1, image=img))


def test_the_selected_runs_show_at_one_scale(store):
    runs = [store.get(_add(store, 0, 28)), store.get(_add(store, 1, 56))]
    runs.append(RunRecord(config={}, model="m", task="am", scheme="plain"))  # no picture
    pics = he.same_scale(runs)
    assert pics[2] is None
    assert pics[0].width == pics[1].width == 224  # 28 px x8 and 56 px x4


def test_loading_the_selection_says_which_runs_are_gone(store, dash):
    """A run removed for good and one deleted elsewhere, through the page: warnings, no
    error; the deleted one is still shown, marked."""
    a, b = _add(store, 0), _add(store, 1)
    at = dash.open("pages/7_History.py", runs=f"{a},{b}")
    dash.no_exception(at)
    other = RunStore(store.path)  # another tab, the CLI
    other.delete([b])
    other.purge([a])
    at.run()
    dash.no_exception(at)
    warnings = dash.shown(" ".join(w.value for w in at.warning))
    assert f"{a} was removed from the store for good" in warnings
    assert f"Run {b} was deleted (in another tab)" in warnings
    captions = [i.proto.imgs[0].caption for i in at.image]
    assert captions == [f"{b} · deleted (done)"]
