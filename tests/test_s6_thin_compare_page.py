"""The Compare schemes page stays thin (widgets and layout): its logic lives in
dashboard/compare_page.py and is tested here without a browser or a Streamlit server."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dashboard import compare_page as cp
from dashboard.results import Verdict
from dashboard.runs import RunRecord
from dashboard.scheme_names import CELLS
from dashboard.settings.compare import compare_defaults
from viz_core.errors import VizError

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "pages" / "2_Compare_schemes.py"


def _configs(**over):
    s = dict(compare_defaults(), task="am", octaves_on=False, **over)
    configs, exc = cp.grid_configs(s, None, None)
    assert exc is None
    return configs


def _record(n: int = 2, floor: float | None = None) -> RunRecord:
    rng = np.random.default_rng(0)
    rec = RunRecord(labels=[f"cell {i}" for i in range(n)], configs=[], model_label="m x",
                    total=2, steps=[0, 2], objective=[np.zeros(n), np.ones(n)],
                    activation=[np.zeros(n), np.arange(n) + 0.5],
                    images=rng.random((n, 1, 16, 16)).astype(np.float32))
    if floor is not None:
        rec.floors["feature_error"] = floor
    return rec


def test_the_page_is_thin():
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 260, len(lines)
    assert len((ROOT / "dashboard" / "compare_page.py").read_text().splitlines()) <= 400
    src = "\n".join(lines)
    for moved in ("def _tv_warnings", "def _caption", "def _verdict_columns", "def _grids",
                  "tv_stability_warning", "radial_power_spectrum", "image_metrics"):
        assert moved not in src, moved


def test_paper_grids_load_as_settings_cells_and_a_message():
    grids = cp.grids()
    first = next(iter(grids))
    assert first.startswith("Fig. 1 · ") and all(" · " in k for k in grids)
    assert cp.NO_GRID not in grids
    s, cells, msg = cp.grid_choice(first)
    assert cells == [c for c in s["cells"].split(",") if c] and set(cells) <= set(CELLS)
    assert msg.startswith(f"loaded {first}.")


def test_unreadable_cells_fall_back_to_the_whole_grid():
    assert cp.cells_or_all("nonsense, tv") == list(CELLS)
    assert cp.cells_or_all("tv,plain") == ["tv", "plain"]


def test_sidebar_words_and_the_kernel_size_bound():
    assert cp.robust_help(None).endswith("as well")
    assert cp.robust_help("fmnist_vgg").endswith("as well (fmnist_vgg)")
    assert [cp.kernel_size_max(s) for s in (2, 8, 28, 29, 64, 224)] == [3, 7, 27, 29, 31, 31]


def test_tv_warnings_name_the_cell_and_are_said_once():
    assert cp.tv_warnings(_configs(tv=0.01, step_size=0.5)) == {}
    warned = cp.tv_warnings(_configs(tv=3.0, step_size=5.0))
    (warn, words), = warned.items()
    assert "eqs. 19-20" in warn and words == f"TV: {warn}"
    rec = _record()
    assert not cp.tv_said(warned, [rec])
    rec.warnings = [[], [warn]]
    assert cp.tv_said(warned, [rec]) and not cp.tv_said({}, [rec])


def test_settings_that_make_no_grid_give_the_error_and_no_configs():
    configs, exc = cp.grid_configs(dict(compare_defaults(), cells="nonsense"), None, None)
    assert configs == [] and isinstance(exc, VizError) and exc.field == "cells"


def test_intro_and_the_first_reason_not_to_run():
    configs = _configs()
    text = cp.intro(configs, None)
    assert text.startswith("#### ") and "the schemes of the paper's Fig. 1" in text
    assert cp.intro([], None).startswith("the schemes of the paper's Fig. 1")
    model = SimpleNamespace(label="net", classes=None, spec=SimpleNamespace(default_layer=None))
    assert "**net** · the schemes" in cp.intro(configs, model)
    assert cp.run_error(None, None, "am", None) == ("the model could not be loaded "
                                                    "(see the sidebar)")
    assert cp.run_error("bad", None, "am", None) == "bad"
    assert cp.run_error(None, model, "inversion", None).startswith("no valid image")
    assert cp.run_error(None, model, "inversion", np.zeros(1)) is None


def test_grid_rows_keep_fig1_order_and_name_the_baselines():
    assert cp.grid_rows({"tv": 1}) == [("Baselines (not in Fig. 1)", ("tv", "plain"))]
    rows = cp.grid_rows(dict.fromkeys(CELLS))
    assert [t for t, _ in rows][-1] == "Baselines (not in Fig. 1)" and len(rows) == 3
    assert cp.waiting_caption("tv", "").endswith(" - waiting for Run")
    assert "a batch of 8 cells" in cp.open_help(8)


def test_a_cell_opens_in_the_playground_with_its_settings():
    q = cp.playground_link(_configs(cells="tv", tv=0.5)[0])
    assert all(isinstance(v, str) for v in q.values())
    assert (q["scheme"], q["tv_on"], q["tv"]) == ("plain", "1", "0.5")
    q = cp.playground_link(_configs(cells="fluid_gaussian")[0])
    assert (q["scheme"], q["f_kind"]) == ("fluid", "gaussian")


def test_restored_records_are_kept_only_for_the_same_cells():
    configs = _configs(cells="tv,plain")
    rec = _record()
    rec.configs = [c.to_json() for c in configs]
    assert cp.matching_records([rec], ["tv", "plain"]) == [rec]
    assert cp.matching_records([rec], ["plain", "tv"]) == []
    assert cp.matching_records([], ["tv"]) == []


def test_captions_prefer_the_judge_and_the_table_has_both_verdicts():
    rec = _record()
    rec.verdicts = [[Verdict("m", [("cat", 0.6)], 0.1, {"role": "model", "target": "dog"}),
                     Verdict("j", [("dog", 0.9)], 0.9, {"role": "judge", "target": "dog"})],
                    []]
    cap = cp.caption(rec, 0, "tv", "target activation", "std")
    assert cap.startswith("std · ") and "judge: dog 90%" in cap
    assert "model:" not in cp.caption(rec, 1, "fluid_sobolev", "target activation")
    assert cp.verdict_columns(rec, 0) == {"model sees": "cat 60% (dog 10%)",
                                          "judge sees": "dog 90%"}
    assert cp.verdict_columns(rec, 5) == {}
    assert cp.model_tag(rec, 2) == "m" and cp.model_tag(rec, 1) == ""


def test_metrics_rows_and_spectra_one_per_cell_then_the_floor():
    rec = _record(floor=0.9)
    rec.verdicts = [[Verdict("j", [("dog", 0.9)], None, {"role": "judge"})], []]
    rows, series = cp.metrics_rows(rec, "error")
    assert [r["scheme"] for r in rows] == ["cell 0", "cell 1", "a flat image (floor)"]
    assert [r["error"] for r in rows] == [0.5, 1.5, 0.9]
    assert rows[2]["judge sees"] == "-" and rows[2][cp.HF] == 0.0
    assert all(0 <= r[cp.HF] <= 1 and r[cp.TV] >= 0 for r in rows)
    assert [s[0] for s in series] == ["cell 0", "cell 1"]
    assert len(series[0][1]) == len(series[0][2])


def test_summary_lines_name_the_model_of_a_pair(monkeypatch):
    monkeypatch.setattr(cp.results, "grid_summary", lambda r: "" if r.total == 0 else "3 of 8")
    a, b = _record(floor=0.5), _record()
    b.model_label = "robust y"
    assert cp.summary_lines([a]) == [(0, "3 of 8", cp.FEATURE_ERROR_HELP)]
    assert cp.summary_lines([a, b]) == [(0, "**m**: 3 of 8", cp.FEATURE_ERROR_HELP),
                                        (1, "**robust**: 3 of 8", None)]
    b.total = 0
    assert [m for m, _, _ in cp.summary_lines([a, b])] == [0]


@pytest.mark.parametrize("n", [1, 2])
def test_one_job_per_model_on_its_own_network(n):
    configs = _configs(cells="tv,plain")
    runs = [SimpleNamespace(label=f"net{i}", spec=SimpleNamespace(name=f"n{i}"))
            for i in range(n)]
    jobs = cp.build_jobs(configs, runs, None, lambda m, name: [m, name])
    assert [j.title for j in jobs] == [f"net{i}" for i in range(n)]
    assert all(c.model == f"n{i}" for i, j in enumerate(jobs) for c in j.configs)
    assert jobs[-1].judges == [runs[-1], f"n{n - 1}"] and jobs[0].model is runs[0]


def test_loading_a_paper_grid_on_the_page_sets_its_cells_and_says_so(dash):
    """The page's "Load a paper grid" callback, through the moved :func:`grid_choice`."""
    from dashboard.navigation import page_path

    key = next(k for k in cp.grids() if k.startswith("Fig. 2 · offline"))
    at = dash.open(page_path("compare"), task="am", steps=2)
    dash.no_exception(at)
    at.selectbox(key="cmp_grid").set_value(key).run()
    dash.no_exception(at)
    s, cells, _ = cp.grid_choice(key)
    assert at.selectbox(key="cmp_grid").value == cp.NO_GRID
    assert at.multiselect(key="cmp_cells_list").value == cells
    assert any(dash.shown(i.value).startswith(f"loaded {key}.") for i in at.sidebar.info)
    assert at.slider(key="cmp_size").value == s["size"]
